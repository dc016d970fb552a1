"""Builds the WSGI application: SOAP at /qbwc, the JSON API at /api/v1, /healthz, /readyz, /metrics.

Everything per process is built here once (Spyne app, engine, password verifier); nothing
per request but the request. gunicorn serves it in production (wsgi.py); `BackgroundServer`
serves it from a thread for the demo (and, through testing.py, for tests and benchmarks).
"""

from __future__ import annotations

import codecs
import io
import json
import logging
import re
import socketserver
import threading
import wsgiref.util
from collections.abc import Callable, Iterable, Sequence
from email.message import Message
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sqlalchemy import Engine, text

from qbwc_server import logs, metrics
from qbwc_server.api.app import build_api
from qbwc_server.api.routing import Route
from qbwc_server.api.status_page import build_status_page
from qbwc_server.config import Settings, load_settings
from qbwc_server.db import make_engine, resolve_database_url
from qbwc_server.metrics_scrape import MetricsEndpoint
from qbwc_server.webconnector import faults
from qbwc_server.webconnector.body import BodyError, read_body
from qbwc_server.webconnector.client import remember_client_address
from qbwc_server.webconnector.fastpath import FastPath
from qbwc_server.webconnector.health import CallHealth, Readiness
from qbwc_server.webconnector.memory import LARGE_BODY, AfterLargeCall
from qbwc_server.webconnector.service import build_soap_application, build_soap_server, build_wsdl
from qbwc_server.webconnector.session import WebConnectorSessions

log = logging.getLogger(__name__)

SOAP_PATH = "/qbwc"
#: Everything under it is the JSON API's (api/app.py), errors included.
API_PREFIX = "/api/"
#: The status page's (api/status_page.py), its own 404s included.
STATUS_PREFIX = "/status"
SOAP_METHODS = "GET, HEAD, POST"

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class QbwcApp:
    """Routes by path; the Web Connector endpoint answers GET (QBWC's certificate check) with the WSDL."""

    def __init__(self, engine: Engine, settings: Settings, api_routes: Sequence[Route] | None = None) -> None:
        self.engine = engine
        self.sessions = WebConnectorSessions(engine, settings)
        self.max_body = settings.gunicorn.max_body_mb * 2**20
        self.body_timeout = settings.gunicorn.body_timeout
        self.max_rss_mb = settings.gunicorn.worker_max_rss_mb
        self.calls = CallHealth()
        self.readiness = Readiness(engine)
        self.metrics = MetricsEndpoint(engine, settings)  # first: it chooses what the calls count into
        self.soap_application = build_soap_application(self.sessions)
        self.soap = build_soap_server(
            self.soap_application, self.max_body, self.calls.record, metrics.soap_call
        )
        self.fast = FastPath(self.sessions, metrics.soap_call)
        self._wsdl: dict[str, bytes] = {}
        self.api = build_api(engine, settings, api_routes)
        self.status_page = build_status_page(engine, settings)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(API_PREFIX):  # one prefix test: the SOAP path pays nothing more
            return self.api(environ, start_response)
        path = path.rstrip("/") or "/"
        if path == SOAP_PATH:
            return self._soap(environ, start_response)
        if path == STATUS_PREFIX or path.startswith(STATUS_PREFIX + "/"):
            return self.status_page(environ, start_response)
        if path == "/healthz":
            return self._health(start_response)
        if path == "/readyz":
            ready, body = self.readiness.check()
            return _respond(start_response, "200 OK" if ready else "503 Service Unavailable", body)
        if path == "/metrics":
            return self.metrics(environ, start_response)
        if path == "/":  # the .qwc's AppSupport URL: it must answer on the same host
            return _respond(start_response, "200 OK", {"service": "qbwc-server", "web_connector": SOAP_PATH})
        return _respond(
            start_response, "404 Not Found", {"error": "not_found", "message": f"no route {path}"}
        )

    def _soap(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        call = logs.CALL.set(logs.NO_CALL)  # the session layer names the tenant and session for the log
        try:
            return self._soap_call(environ, start_response)
        finally:
            logs.CALL.reset(call)

    def _soap_call(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        remember_client_address(environ)  # the login throttle counts failures per client address
        method = environ.get("REQUEST_METHOD")
        if method in ("GET", "HEAD"):
            # The Web Connector GETs the AppURL when an app is added (certificate check): 200 + WSDL.
            return self._serve_wsdl(environ, start_response)
        if method != "POST":
            return faults.respond(
                start_response,
                "405 Method Not Allowed",
                "Client",
                f"{method} is not allowed here: the Web Connector POSTs SOAP 1.1 envelopes",
                [("Allow", SOAP_METHODS)],
            )
        try:
            chunks = read_body(environ, self.max_body, self.body_timeout)
        except BodyError as exc:
            address = faults.loggable(environ.get("REMOTE_ADDR"), 60)
            log.warning("refused a request from %s: %s", address, faults.loggable(exc))
            metrics.soap_call(_operation(environ), metrics.CLIENT_FAULT)
            return faults.respond(start_response, exc.status, "Client", str(exc))
        if not chunks:
            metrics.soap_call(_operation(environ), metrics.CLIENT_FAULT)
            return faults.respond(
                start_response,
                "500 Internal Server Error",
                "Client",
                "Empty request: expected a SOAP 1.1 envelope",
            )
        large = sum(len(chunk) for chunk in chunks) >= LARGE_BODY
        reply = self._answer(environ, start_response, chunks)
        return AfterLargeCall(reply, environ, self.max_rss_mb) if large else reply

    def _answer(
        self, environ: Environ, start_response: StartResponse, chunks: list[bytes]
    ) -> Iterable[bytes]:
        try:
            reply = self.fast.answer(chunks)
        except Exception as exc:  # the Web Connector must get a SOAP fault, never a traceback or HTML
            faults.log_server_error(_operation(environ), exc)
            self.calls.record(False)
            return faults.respond(start_response, "500 Internal Server Error", "Server", "Internal Error")
        if reply is not None:
            self.calls.record(True)
            start_response(
                "200 OK", [("Content-Type", faults.SOAP_CONTENT_TYPE), ("Content-Length", str(len(reply)))]
            )
            return [reply]
        # Anything unusual: Spyne, the reference, answers (and logs and counts its faults).
        body = _utf8_by_byte_order_mark(b"".join(chunks), environ)
        chunks.clear()
        problem = _undecodable(body, environ.get("CONTENT_TYPE", ""))
        if problem:
            faults.log_client_fault(_operation(environ), problem)
            metrics.soap_call(_operation(environ), metrics.CLIENT_FAULT)
            return faults.respond(start_response, "500 Internal Server Error", "Client", problem)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        del body
        try:
            return self.soap(environ, start_response)  # type: ignore[no-any-return]
        except Exception as exc:  # Spyne answers its own faults; what escapes it is an envelope
            # its protocol layer could not take apart (an empty Body, a Header alone, an entity
            # reference in the Body): the client's mistake, one line in the log
            problem = f"the SOAP envelope could not be read ({type(exc).__name__})"
            faults.log_client_fault(_operation(environ), problem)
            metrics.soap_call(_operation(environ), metrics.CLIENT_FAULT)
            return faults.respond(start_response, "500 Internal Server Error", "Client", problem)

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
            log.warning("healthz: database unreachable: %s", faults.loggable(exc))
            return _respond(start_response, "503 Service Unavailable", {"status": "database unreachable"})
        degraded = self.calls.degraded()
        if degraded is not None:
            return _respond(start_response, "503 Service Unavailable", degraded)
        return _respond(start_response, "200 OK", {"status": "ok"})


def _respond(start_response: StartResponse, status: str, body: dict[str, object]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def _operation(environ: Environ) -> str:
    """The operation the SOAPAction names (QBWC always sends it), for log lines only."""
    return str(environ.get("HTTP_SOAPACTION", "")).strip().strip('"').rsplit("/", 1)[-1]


_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DECLARED_ENCODING = re.compile(r"""^(<\?xml[^>]*?)\s+encoding\s*=\s*["'][^"']*["']""")


def _utf8_by_byte_order_mark(body: bytes, environ: Environ) -> bytes:
    """A body that opens with a byte order mark, as UTF-8: the mark says how it is encoded
    whatever the Content-Type's charset (RFC 7303 3.3), and Spyne decodes by the charset."""
    for mark, codec in _BYTE_ORDER_MARKS:
        if body.startswith(mark):
            try:
                text = body.decode(codec)
            except UnicodeDecodeError:
                return body  # not what its mark says: refused below, by the charset
            environ["CONTENT_TYPE"] = "text/xml; charset=utf-8"
            return _DECLARED_ENCODING.sub(r"\1", text, count=1).encode("utf-8")
    return body


def _undecodable(body: bytes, content_type: str) -> str | None:
    """Why Spyne could not decode `body` in the charset the Content-Type names, or None.

    Spyne decodes with that charset before parsing and fails with a bare UnicodeDecodeError
    (a Server fault and a traceback): bad bytes are the client's error.
    """
    charset = Message()
    charset["content-type"] = content_type
    name = charset.get_content_charset()
    if not name:
        return None
    try:
        decoder = codecs.getincrementaldecoder(name)()
    except LookupError:
        return f"unknown charset {name[:40]!r} in Content-Type"
    offset = 0
    try:
        for offset in range(0, len(body), 2**20):  # in pieces: never a second copy of the body
            decoder.decode(body[offset : offset + 2**20])
        decoder.decode(b"", final=True)
    except UnicodeError as exc:  # UnicodeDecodeError, or e.g. UTF-16 without its byte order mark
        at = f" near byte {offset + exc.start}" if isinstance(exc, UnicodeDecodeError) else ""
        return f"the request is not valid {name[:40]}{at}"
    return None


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, api_routes: Sequence[Route] | None = None
) -> QbwcApp:
    """The app for `settings` (the environment's by default), on `engine` if given; the API
    serves `api_routes` instead of the declared ones when given (tests)."""
    settings = settings or load_settings()
    if engine is None:
        url = resolve_database_url(settings)
        engine = make_engine(url, pool_size=settings.db_pool_size, pooled=settings.db_pooled)
    return QbwcApp(engine, settings, api_routes)


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
