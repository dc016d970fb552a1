"""Running the WSGI app: gunicorn for `serve`, a threaded stdlib server for demos and tests."""

from __future__ import annotations

import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping, Sequence
from typing import IO, Any
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


def spawn_gunicorn(
    database_url: str,
    *,
    options: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    output: int | IO[bytes] = subprocess.PIPE,
    wait_seconds: float = 30.0,
) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn with our settings in a child process on a free loopback port (tests, benchmarks).

    Returns the process and its base URL once /healthz answers; raises with gunicorn's output
    if it exits or stays unhealthy first.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {**(os.environ if environ is None else environ), "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "gunicorn", "-c", "python:qbwc_server.gunicorn_conf"]
    command += [*options, "--bind", f"127.0.0.1:{port}", "qbwc_server.wsgi:application"]
    process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = process.communicate()[0] if output == subprocess.PIPE else b""
            raise RuntimeError(f"gunicorn exited ({process.returncode}): {said.decode(errors='replace')}")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=1) as reply:
                if reply.status == 200:
                    return process, base_url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn did not become healthy in {wait_seconds:.0f} s")


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
