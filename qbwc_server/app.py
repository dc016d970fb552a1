"""Builds the WSGI application: SOAP at /qbwc, /healthz; later the API and metrics.

Everything per process is built here once (Spyne app, engine, password verifier); nothing
per request but the request. gunicorn serves it in production (wsgi.py); `BackgroundServer`
serves it from a thread for the demo (and, through testing.py, for tests and benchmarks).
"""

from __future__ import annotations

import io
import json
import logging
import socketserver
import threading
import wsgiref.util
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from xml.sax.saxutils import escape

from spyne.server.wsgi import WsgiApplication
from sqlalchemy import Engine, text

from qbwc_server.config import Settings, load_settings
from qbwc_server.db import make_engine, resolve_database_url
from qbwc_server.webconnector.fastpath import FastPath
from qbwc_server.webconnector.service import build_soap_application, build_wsdl
from qbwc_server.webconnector.session import WebConnectorSessions

log = logging.getLogger(__name__)

SOAP_PATH = "/qbwc"
SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class QbwcApp:
    """Routes by path; the Web Connector endpoint answers GET (QBWC's certificate check) with the WSDL."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.sessions = WebConnectorSessions(engine, settings)
        self.soap_application = build_soap_application(self.sessions)
        self.soap = WsgiApplication(self.soap_application)
        self.fast = FastPath(self.sessions)
        self._wsdl: dict[str, bytes] = {}

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").rstrip("/") or "/"
        if path == SOAP_PATH:
            return self._soap(environ, start_response)
        if path == "/healthz":
            return self._health(start_response)
        if path == "/":  # the .qwc's AppSupport URL: it must answer on the same host
            return _respond(start_response, "200 OK", {"service": "qbwc-server", "web_connector": SOAP_PATH})
        return _respond(
            start_response, "404 Not Found", {"error": "not_found", "message": f"no route {path}"}
        )

    def _soap(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            # The Web Connector GETs the AppURL when an app is added (certificate check): 200 + WSDL.
            return self._serve_wsdl(environ, start_response)
        length = _content_length(environ)
        if not length:
            return _fault(start_response, "Client", "Empty request: expected a SOAP 1.1 envelope")
        body = environ["wsgi.input"].read(length)
        try:
            reply = self.fast.answer(body)
            if reply is not None:
                start_response(
                    "200 OK", [("Content-Type", SOAP_CONTENT_TYPE), ("Content-Length", str(len(reply)))]
                )
                return [reply]
            environ["wsgi.input"] = io.BytesIO(body)  # anything unusual: Spyne, the reference, answers
            return self.soap(environ, start_response)  # type: ignore[no-any-return]
        except Exception:  # the Web Connector must get a SOAP fault, never a traceback or HTML
            log.exception("unhandled error answering the Web Connector")
            return _fault(start_response, "Server", "Internal Error")

    def _serve_wsdl(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        url = wsgiref.util.request_uri(environ, include_query=False)
        wsdl = self._wsdl.get(url)
        if wsdl is None:
            wsdl = build_wsdl(self.soap_application, url)
            if len(self._wsdl) < 16:  # one per address clients use; bounded against Host-header games
                self._wsdl[url] = wsdl
        start_response(
            "200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(wsdl)))]
        )
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [wsdl]

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # the probe must answer, whatever broke
            log.warning("healthz: database unreachable: %s", exc)
            return _respond(start_response, "503 Service Unavailable", {"status": "database unreachable"})
        return _respond(start_response, "200 OK", {"status": "ok"})


def _respond(start_response: StartResponse, status: str, body: dict[str, str]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def _content_length(environ: Environ) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _fault(start_response: StartResponse, code: str, message: str) -> list[bytes]:
    payload = (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<soap11env:Envelope xmlns:soap11env="http://schemas.xmlsoap.org/soap/envelope/"><soap11env:Body>'
        f"<soap11env:Fault><faultcode>soap11env:{code}</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soap11env:Fault></soap11env:Body></soap11env:Envelope>"
    ).encode()
    start_response(
        "500 Internal Server Error",
        [("Content-Type", SOAP_CONTENT_TYPE), ("Content-Length", str(len(payload)))],
    )
    return [payload]


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> QbwcApp:
    """The app for `settings` (the environment's by default), on `engine` if given."""
    settings = settings or load_settings()
    if engine is None:
        engine = make_engine(resolve_database_url(settings), pool_size=settings.db_pool_size)
    return QbwcApp(engine, settings)


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class BackgroundServer:
    """The app on `host` (127.0.0.1) in a daemon thread, stdlib's threaded WSGI server; `url` is
    the SOAP endpoint. Port 0 picks a free one. Not for production: that is gunicorn's job."""

    #: How often the serving thread checks for shutdown: stopping waits up to this long.
    POLL_SECONDS = 0.05

    def __init__(self, app: QbwcApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = make_server(
            host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(self.POLL_SECONDS,), name="qbwc-http", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        return self.base_url + SOAP_PATH

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
