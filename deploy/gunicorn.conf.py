"""gunicorn config: `gunicorn -c deploy/gunicorn.conf.py qbwc_server.wsgi:application`.

The settings live in the package (qbwc_server/gunicorn_conf.py) so `qbwc-server serve` uses the
same ones; override below, or through the QBWC_* environment variables they read.
"""

from qbwc_server.gunicorn_conf import *  # noqa: F403
