"""gunicorn settings for qbwc-server (deploy/gunicorn.conf.py loads these; `serve` uses them directly).

Override with the environment: QBWC_BIND, QBWC_WORKERS, QBWC_THREADS, QBWC_WORKER_TIMEOUT, …
(README.md lists them all).
"""

import multiprocessing
import os

bind = os.environ.get("QBWC_BIND", "127.0.0.1:8000")

# Chosen by measurement (bench/README.md): gthread keeps the Web Connector's connection alive for
# the whole session (sync closes it after every call, and measured slower); two workers per core
# with two threads each, because a kept-alive connection stays with the worker that accepted it and
# several Web Connectors can land on one worker: a second thread lets it overlap their database waits.
worker_class = "gthread"
workers = int(os.environ.get("QBWC_WORKERS", 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("QBWC_THREADS", 2))
worker_connections = int(os.environ.get("QBWC_WORKER_CONNECTIONS", 1000))
# Longer than the .NET client's 100 s idle timeout, so the client, not the server, closes an idle
# connection: a server-side close racing the client's next POST fails that call.
keepalive = int(os.environ.get("QBWC_KEEPALIVE", 120))

# The heartbeat file is touched on every request; keep it in memory, not on disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Must exceed the slowest receiveResponseXML (a large iterator page parsed and applied): a worker
# killed mid-apply loses that response. Pages are bounded (MaxReturned) to stay far below this.
timeout = int(os.environ.get("QBWC_WORKER_TIMEOUT", 300))
graceful_timeout = 60

# The largest qbXML page arrives in one POST; keep headers bounded, bodies are limited at the proxy.
limit_request_line = 8190

# Behind a TLS proxy on the same host: trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("QBWC_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

accesslog = os.environ.get("QBWC_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("QBWC_LOG_LEVEL", "info")
proc_name = "qbwc-server"

# gunicorn >= 25.1 opens a control socket at one fixed path per user, which collides when several
# instances run (tests, benchmarks, more than one deployment); opt in with QBWC_CONTROL_SOCKET.
control_socket = os.environ.get("QBWC_CONTROL_SOCKET") or "unused"
control_socket_disable = not os.environ.get("QBWC_CONTROL_SOCKET")
