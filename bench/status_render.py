"""The status page's tenant page, rendered for a tenant with 10k failed jobs (not a test).

A scratch database gets one tenant with `--failures` failed, dead and blocked jobs (kinds and
QuickBooks codes varied, seeded with one INSERT … SELECT generate_series), `--customers`
QuickBooks customers and `--waiting` customers waiting for a mapping (each with its Link form).
An admin logs in over HTTP; then GET /status/tenants/<name> is timed `--requests` times, one
after another, with the login cookie, against the app served from a thread (or gunicorn with
`--gunicorn`). Prints p50/p95/max in ms and the page's size.

    python bench/status_render.py                       # local PostgreSQL at 127.0.0.1:5432
    python bench/status_render.py --failures 100000 --requests 100 --gunicorn

bench/api.py runs it as a subcommand: `add_arguments(parser)`, then `run(args)`.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qbwc_server.admin import tenants, tokens  # noqa: E402
from qbwc_server.app import create_app  # noqa: E402
from qbwc_server.config import Settings  # noqa: E402
from qbwc_server.db import make_engine, upgrade_to_head  # noqa: E402
from qbwc_server.testing import BackgroundServer, scratch_database, spawn_gunicorn  # noqa: E402

TENANT = "bench-status"
#: (kind, status, QuickBooks code, message): what the seeded jobs cycle through.
FAILURES = (
    (
        "orders.push",
        "blocked",
        3140,
        "QuickBooks 3140: no item 'SKU-{n}'. Add the item SKU-{n} in QuickBooks",
    ),
    ("customers.push", "failed", 3100, 'The name "Customer {n}" of the list element is already in use.'),
    ("customers.push", "failed", 3120, "Object {n} specified in the request cannot be found."),
    ("payments.push", "dead", 3000, 'The given object ID {n} in the field "list id" is invalid.'),
    ("orders.push", "failed", 3180, "There was an error when saving a Sales Order transaction {n}."),
)


@dataclass(frozen=True)
class Timing:
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    page_bytes: int

    def __str__(self) -> str:
        return (
            f"tenant page: {self.requests} requests, p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms,"
            f" max {self.max_ms:.1f} ms, {self.page_bytes / 1024:.0f} kB"
        )


def seed(engine: Engine, failures: int, customers: int, waiting: int) -> None:
    """The tenant, its failed jobs, its QuickBooks customers and its customers waiting to be linked."""
    cases = len(FAILURES)
    kinds = "ARRAY[" + ", ".join(f"'{k}'" for k, _, _, _ in FAILURES) + "]"
    statuses = "ARRAY[" + ", ".join(f"'{s}'" for _, s, _, _ in FAILURES) + "]"
    codes = "ARRAY[" + ", ".join(str(c) for _, _, c, _ in FAILURES) + "]"
    messages = "ARRAY[" + ", ".join("'" + m.replace("'", "''") + "'" for _, _, _, m in FAILURES) + "]"
    with engine.begin() as conn:
        tenant, _ = tenants.add_tenant(conn, TENANT, TENANT)
        conn.execute(
            text(f"""
                INSERT INTO jobs (tenant_id, kind, entity_ref, status, attempts, last_status_code,
                                  last_message, finished_at, updated_at)
                SELECT :t, ({kinds})[n % {cases} + 1], n::text, ({statuses})[n % {cases} + 1], 1,
                       ({codes})[n % {cases} + 1], replace(({messages})[n % {cases} + 1], '{{n}}', n::text),
                       CASE WHEN ({statuses})[n % {cases} + 1] IN ('failed', 'dead')
                            THEN now() - n * interval '1 second' END,
                       now() - n * interval '1 second'
                FROM generate_series(1, :n) n
            """),
            {"t": tenant.id, "n": failures},
        )
        conn.execute(
            text("""
                INSERT INTO customers (tenant_id, qb_list_id, name, full_name, sync_state)
                SELECT :t, to_hex(80000000 + n) || '-1234567890', 'Customer ' || n, 'Customer ' || n, 'synced'
                FROM generate_series(1, :n) n
            """),
            {"t": tenant.id, "n": customers},
        )
        conn.execute(
            text("""
                INSERT INTO customers (tenant_id, commerce_id, name, full_name, sync_state, sync_error)
                SELECT :t, 'c-wait-' || n, 'Customer ' || n, 'Customer ' || n, 'needs_mapping',
                       '{"message": "A different QuickBooks customer has this name", "quickbooks_code": 3100,'
                       ' "fix": "Link it or rename it"}'
                FROM generate_series(1, :n) n
            """),
            {"t": tenant.id, "n": waiting},
        )


@contextmanager
def served(url: str, engine: Engine, use_gunicorn: bool) -> Iterator[str]:
    """The app's base URL: gunicorn with deploy/gunicorn.conf.py (one worker), or a thread."""
    if use_gunicorn:
        process, base_url = spawn_gunicorn(url, options=["--workers", "1", "--threads", "2"])
        try:
            yield base_url
        finally:
            process.terminate()
            process.wait(timeout=30)
        return
    settings = Settings(
        database_url=url, data_dir=Path(tempfile.mkdtemp()), public_url="http://127.0.0.1/qbwc"
    )
    with BackgroundServer(create_app(settings, engine)) as server:
        yield server.base_url


def time_page(base_url: str, admin_token: str, requests: int) -> Timing:
    """Log in, then GET the tenant page `requests` times over one keep-alive connection."""
    parts = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    try:
        form = urllib.parse.urlencode({"token": admin_token})
        connection.request(
            "POST", "/status/login", body=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        login = connection.getresponse()
        login.read()
        if login.status != 303:
            raise SystemExit(f"login failed: HTTP {login.status}")
        cookie = (login.getheader("Set-Cookie") or "").split(";", 1)[0]
        path = f"/status/tenants/{urllib.parse.quote(TENANT, safe='')}"
        seconds: list[float] = []
        size = 0
        for i in range(requests + 3):  # the first three warm the worker up: not counted
            started = time.perf_counter()
            connection.request("GET", path, headers={"Cookie": cookie})
            reply = connection.getresponse()
            body = reply.read()
            elapsed = time.perf_counter() - started
            if reply.status != 200:
                raise SystemExit(f"GET {path}: HTTP {reply.status}")
            if i >= 3:
                seconds.append(elapsed)
            size = len(body)
    finally:
        connection.close()
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return Timing(len(seconds), cuts[49] * 1000, cuts[94] * 1000, max(seconds) * 1000, size)


def add_arguments(parser: argparse.ArgumentParser, *, common: bool = True) -> None:
    """This benchmark's options; `common=False` leaves out the server and database ones, which
    bench/api.py adds to each of its parts itself."""
    parser.add_argument("--failures", type=int, default=10_000, help="failed jobs (default 10000)")
    parser.add_argument("--customers", type=int, default=5_000, help="QuickBooks customers (default 5000)")
    parser.add_argument("--waiting", type=int, default=20, help="customers waiting to be linked (default 20)")
    parser.add_argument("--requests", type=int, default=200, help="timed page loads (default 200)")
    if not common:
        return
    parser.add_argument(
        "--gunicorn", action="store_true", help="serve with gunicorn (1 worker), not a thread"
    )
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a database on the server to use (default: local postgres)")  # fmt: skip
    parser.add_argument(
        "--database", default="qbwc_bench_status", help="scratch database, dropped and recreated"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database at the end")


def run(args: argparse.Namespace) -> Timing:
    """Seed, serve, time; prints and returns the figures."""
    url = scratch_database(args.admin_url, args.database)
    try:
        upgrade_to_head(url)
        engine = make_engine(url)
        started = time.perf_counter()
        seed(engine, args.failures, args.customers, args.waiting)
        print(
            f"seeded {args.failures} failed jobs, {args.customers} QuickBooks customers,"
            f" {args.waiting} waiting in {time.perf_counter() - started:.1f} s"
        )
        admin_token = tokens.issue_admin_token(engine)
        with served(url, engine, args.gunicorn) as base_url:
            timing = time_page(base_url, admin_token, args.requests)
        engine.dispose()
    finally:
        if not args.keep:
            scratch_database(args.admin_url, args.database, drop_only=True)
    print(timing)
    return timing


def main(argv: list[str] | None = None) -> Timing:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
