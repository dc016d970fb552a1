"""Server-side cost of each Web Connector call, in process (no HTTP, no gunicorn); not a test.

Drives the real WSGI app with the same envelopes as bench/sessions.py and reports, per operation,
wall time and this thread's CPU time: what the server itself spends, apart from the transport.

    python bench/calls.py                 # DATABASE_URL, or the embedded PostgreSQL
    python bench/calls.py --sessions 1000 --customers 500
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sessions as wire

from qbwc_server.admin import tenants
from qbwc_server.admin.settings import set_pull_settings, set_push_settings
from qbwc_server.app import create_app
from qbwc_server.config import load_settings
from qbwc_server.db import resolve_database_url, upgrade_to_head


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=500, help="sessions to time (default 500)")
    parser.add_argument("--customers", type=int, default=1, help="customers in the response (500 = ~650 kB)")
    args = parser.parse_args()

    settings = load_settings()
    url = resolve_database_url(settings)
    upgrade_to_head(url)
    app = create_app(settings.with_database(url))
    with app.engine.begin() as conn:
        conn.execute(text("DELETE FROM tenants WHERE name = 'bench-calls'"))
        tenant, password = tenants.add_tenant(conn, "bench-calls", "bench-calls")
        set_pull_settings(conn, tenant.id, intervals={"default": 0})  # raw jobs only
        set_push_settings(conn, tenant.id, live_window_seconds=0)  # no live window: ends when done

    timings: dict[str, list[tuple[float, float]]] = defaultdict(list)

    def post(operation: str, body: bytes) -> bytes:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/qbwc",
            "QUERY_STRING": "",
            "SERVER_NAME": "bench",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
            "CONTENT_TYPE": "text/xml; charset=utf-8",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "HTTP_SOAPACTION": f'"http://developer.intuit.com/{operation}"',
        }
        wall, cpu = time.perf_counter(), time.thread_time()
        reply = b"".join(app(environ, lambda status, headers, exc_info=None: None))
        timings[operation].append((time.perf_counter() - wall, time.thread_time() - cpu))
        return reply

    response = wire.customer_response(args.customers)
    client = wire.Client("bench", 80, "/qbwc", "bench-calls", password or "", response)
    client.post = post  # type: ignore[method-assign]

    def run(count: int) -> None:
        for _ in range(count):
            with app.engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO jobs (tenant_id, kind, request_body) VALUES (:t, 'qbxml.raw', :b)"),
                    {"t": tenant.id, "b": wire.REQUEST},
                )
            client.session()

    run(20)  # warm-up: connections, prepared statements
    timings.clear()
    started = time.perf_counter()
    run(args.sessions)
    elapsed = time.perf_counter() - started
    print(
        f"{args.sessions / elapsed:.1f} sessions/s in process (enqueue included),"
        f" {args.customers} customer(s) in the response"
    )
    print(f"{'operation':20} {'wall p50':>10} {'cpu p50':>10}")
    for operation, samples in timings.items():
        wall = statistics.median(s[0] for s in samples) * 1e6
        cpu = statistics.median(s[1] for s in samples) * 1e6
        print(f"{operation:20} {wall:8.0f} µs {cpu:8.0f} µs")
    with app.engine.begin() as conn:
        conn.execute(text("DELETE FROM tenants WHERE name = 'bench-calls'"))


if __name__ == "__main__":
    main()
