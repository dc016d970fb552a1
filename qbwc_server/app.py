"""Builds the WSGI application: SOAP at /qbwc, /healthz; later the API and metrics.

Everything per process is built here once (Spyne app, engine, password verifier); nothing
per request but the request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from spyne.server.wsgi import WsgiApplication
from sqlalchemy import Engine, text

from qbwc_server.config import Settings, load_settings
from qbwc_server.db import make_engine, resolve_database_url
from qbwc_server.webconnector.service import build_soap_application
from qbwc_server.webconnector.session import WebConnectorSessions

log = logging.getLogger(__name__)

SOAP_PATH = "/qbwc"

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class QbwcApp:
    """Routes by path; the Web Connector endpoint answers GET (QBWC's certificate check) with the WSDL."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.sessions = WebConnectorSessions(engine, settings)
        soap = build_soap_application()
        soap.event_manager.add_listener("method_call", self._attach_sessions)
        self.soap = WsgiApplication(soap)

    def _attach_sessions(self, ctx: Any) -> None:
        ctx.udc = self.sessions

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").rstrip("/") or "/"
        if path == SOAP_PATH:
            if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
                environ["QUERY_STRING"] = "wsdl"  # a bare GET gets the WSDL too, with 200
            return self.soap(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            return self._health(start_response)
        if path == "/":  # the .qwc's AppSupport URL: it must answer on the same host
            return _respond(start_response, "200 OK", {"service": "qbwc-server", "web_connector": SOAP_PATH})
        return _respond(
            start_response, "404 Not Found", {"error": "not_found", "message": f"no route {path}"}
        )

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


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> QbwcApp:
    """The app for `settings` (the environment's by default), on `engine` if given."""
    settings = settings or load_settings()
    if engine is None:
        engine = make_engine(resolve_database_url(settings), pool_size=settings.db_pool_size)
    return QbwcApp(engine, settings)
