"""gunicorn config: `gunicorn -c deploy/gunicorn.conf.py qbwc_server.wsgi:application`.

The values come from qbwc_server/config.py (`GunicornSettings`: the QBWC_* variables README.md
lists, with their defaults and checks), so `qbwc-server serve` runs with the same ones. They
include hooks; keep them if you add hooks of your own: `post_request` replaces a worker grown past
QBWC_WORKER_MAX_RSS_MB after a large call (qbwc_server/webconnector/memory.py); `on_starting`,
`when_ready`, `child_exit` and `on_exit` keep the workers' metric files in a fresh
PROMETHEUS_MULTIPROC_DIR per start and serve QBWC_METRICS_BIND (qbwc_server/metrics_server.py);
`logger_class` logs JSON or text (qbwc_server/logs.py). Override below if you must; a
malformed variable stops gunicorn with one line naming it.
"""

from qbwc_server.config import ConfigError, load_settings

try:
    globals().update(load_settings().gunicorn.options())
except ConfigError as exc:
    raise SystemExit(f"qbwc-server: {exc}") from None
