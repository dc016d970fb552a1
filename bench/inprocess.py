"""What the in-process benchmarks share (bench/calls.py, bench/pull_calls.py,
bench/instrumentation.py): the app on the configured database, its bench tenants, and a SOAP
call through the WSGI app in this thread (no HTTP), so they measure the server's own cost alike.
"""

from __future__ import annotations

import io

from sqlalchemy import text

from qbwc_server.admin import tenants
from qbwc_server.admin.settings import set_pull_settings, set_push_settings
from qbwc_server.admin.tenants import TenantInfo
from qbwc_server.app import QbwcApp, create_app
from qbwc_server.config import load_settings
from qbwc_server.db import resolve_database_url, upgrade_to_head


def app_with_tenants(*names: str) -> tuple[QbwcApp, list[tuple[TenantInfo, str]]]:
    """The app on DATABASE_URL (or the embedded PostgreSQL), migrated, with fresh tenants `names`
    (username = name): no scheduled pulls (only what the bench queues runs) and no live window
    (a session ends when its work is done). Returns each tenant with its password."""
    settings = load_settings()
    url = resolve_database_url(settings)
    upgrade_to_head(url)
    app = create_app(settings.with_database(url))
    made = []
    with app.engine.begin() as conn:
        conn.execute(text("DELETE FROM tenants WHERE name = ANY(:n)"), {"n": list(names)})
        for name in names:
            info, password = tenants.add_tenant(conn, name, name)
            set_pull_settings(conn, info.id, intervals={"default": 0})
            set_push_settings(conn, info.id, live_window_seconds=0)
            made.append((info, password or ""))
    return app, made


def drop_tenants(app: QbwcApp, *names: str) -> None:
    with app.engine.begin() as conn:
        conn.execute(text("DELETE FROM tenants WHERE name = ANY(:n)"), {"n": list(names)})


def post(app: QbwcApp, operation: str, body: bytes) -> bytes:
    """One SOAP call through the WSGI app, with the headers the Web Connector sends."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/qbwc",
        "QUERY_STRING": "",
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "CONTENT_TYPE": "text/xml; charset=utf-8",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_SOAPACTION": f'"http://developer.intuit.com/{operation}"',
    }
    return b"".join(app(environ, lambda status, headers, exc_info=None: None))
