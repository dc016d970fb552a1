"""Running the WSGI app: gunicorn for `serve`, a threaded stdlib server for demos and tests."""

from __future__ import annotations

import socketserver
import sys
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from qbwc_server.app import QbwcApp


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class BackgroundServer:
    """The app on 127.0.0.1 in a daemon thread; `url` is the SOAP endpoint."""

    def __init__(self, app: QbwcApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = make_server(
            host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="qbwc-http", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        return self.base_url + "/qbwc"

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def run_gunicorn(bind: str | None = None, workers: int | None = None) -> None:
    """Serve `qbwc_server.wsgi:application` with gunicorn and our settings, in this process."""
    from gunicorn.app.wsgiapp import WSGIApplication

    argv = ["qbwc-server serve", "-c", "python:qbwc_server.gunicorn_conf"]
    if bind:
        argv += ["--bind", bind]
    if workers:
        argv += ["--workers", str(workers)]
    sys.argv = [*argv, "qbwc_server.wsgi:application"]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog="qbwc-server serve").run()
