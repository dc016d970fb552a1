"""What gunicorn loads: `gunicorn -c deploy/gunicorn.conf.py qbwc_server.wsgi:application`."""

from qbwc_server.app import create_app

application = create_app()
