"""The JSON API under load (not a test; not in CI). One subcommand per part:

    python bench/api.py lists                                  # 100,000 customers, limit 100 and 1000
    python bench/api.py lists --customers 20000 --limits 100 500 1000 --server thread

`lists`: seeds one tenant with `--customers` customers (one ship-to address each, QuickBooks-like
fields, spread over a year of `updated_at`) beside a second tenant of a tenth the size, then pages
through `GET /api/v1/customers` to the end over HTTP (one kept-alive connection, as a syncing
client does) for each `--limit`, and prints rows/s and the p50/p95/max time of a page, plus the
plan PostgreSQL picks for a page in the middle of the tenant (it must be the keyset index scan).

Works in its own scratch database (--database, default qbwc_bench_api) on the server of
--admin-url, created at the start and dropped at the end (unless --keep). Served by gunicorn with
deploy/gunicorn.conf.py (`--server thread`: the app in this process). A part added later (the
status page's render time, bench/status_render.py) registers itself in PARTS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from sqlalchemy import Engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import status_render  # noqa: E402  (bench/ is on sys.path when this file runs)

from qbwc_server.admin import tenants  # noqa: E402
from qbwc_server.admin.list_views import LISTINGS  # noqa: E402
from qbwc_server.admin.listings import page_sql  # noqa: E402
from qbwc_server.admin.tokens import issue_tenant_token  # noqa: E402
from qbwc_server.app import create_app  # noqa: E402
from qbwc_server.config import Settings  # noqa: E402
from qbwc_server.db import make_engine, upgrade_to_head  # noqa: E402
from qbwc_server.testing import BackgroundServer, scratch_database, spawn_gunicorn  # noqa: E402

#: One INSERT … SELECT per tenant: customers as a pull leaves them (about 1 kB a row).
SEED_CUSTOMERS = """
    INSERT INTO customers (tenant_id, qb_list_id, edit_sequence, name, full_name, company_name,
                           first_name, last_name, email, phone, bill_address, ship_address,
                           customer_type_name, terms_name, sales_rep_code, sales_tax_code_name,
                           balance, total_balance, credit_limit, account_number, custom_fields,
                           qb_time_created, qb_time_modified, updated_at)
    SELECT :t, to_hex(2147483648 + n) || '-1732541234', '1732541234', 'Customer ' || n,
           'Customer ' || n, 'Company ' || n || ' LLC', 'Ann', 'Lee', 'buyer' || n || '@example.com',
           '404-555-' || lpad((n % 10000)::text, 4, '0'),
           jsonb_build_object('addr1', n || ' Peachtree St NE', 'city', 'Atlanta', 'state', 'GA',
                              'postal_code', '30303', 'country', 'US'),
           jsonb_build_object('addr1', n || ' Dock Rd', 'city', 'Macon', 'state', 'GA',
                              'postal_code', '31201', 'country', 'US'),
           'Wholesale', 'Net 30', 'AD', 'Non', (n % 977) * 1.25, (n % 977) * 1.25, 10000,
           'C' || lpad(n::text, 7, '0'), jsonb_build_object('Rep Code', 'A' || n % 9),
           now() - interval '400 days', now() - interval '400 days',
           now() - make_interval(secs => (:n - n) * 31536000.0 / :n)
    FROM generate_series(1, :n) AS n
"""
SEED_SHIP_TOS = """
    INSERT INTO customer_ship_addresses (tenant_id, customer_id, position, name, is_default, addr1,
                                         city, state, postal_code, country)
    SELECT tenant_id, id, 0, 'Warehouse', true, '9 Dock Rd', 'Macon', 'GA', '31201', 'US'
    FROM customers WHERE tenant_id = :t
"""


def seed(engine: Engine, name: str, customers: int) -> int:
    """A tenant with `customers` customers and their ship-to addresses; returns its id."""
    with engine.begin() as conn:
        info, _ = tenants.add_tenant(conn, name, f"{name}-qbwc")
        conn.execute(text(SEED_CUSTOMERS), {"t": info.id, "n": customers})
        conn.execute(text(SEED_SHIP_TOS), {"t": info.id})
    return info.id


@contextmanager
def served(url: str, kind: str) -> Iterator[str]:
    """The app's base URL: gunicorn as deployed, or a thread of this process."""
    if kind == "thread":
        engine = make_engine(url)
        settings = Settings(
            database_url=url, data_dir=Path(tempfile.mkdtemp()), public_url="https://q.example/qbwc"
        )
        with BackgroundServer(create_app(settings, engine)) as server:
            yield server.base_url
        engine.dispose()
        return
    process, base_url = spawn_gunicorn(url, options=["--log-level", "warning"])
    try:
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def page_through(base_url: str, token: str, limit: int) -> tuple[int, float, list[float]]:
    """One pass over /customers: (rows, seconds, seconds per page), checking every row once."""
    split = urlsplit(base_url)
    connection = http.client.HTTPConnection(split.hostname or "127.0.0.1", split.port, timeout=60)
    headers = {"Authorization": f"Bearer {token}"}
    query, rows, seen_last, times = urlencode({"limit": limit}), 0, None, []
    started = time.perf_counter()
    while True:
        before = time.perf_counter()
        connection.request("GET", f"/api/v1/customers?{query}", headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"page {len(times) + 1}: {response.status} {body[:300]!r}")
        page = json.loads(body)
        times.append(time.perf_counter() - before)
        rows += len(page["data"])
        if page["data"]:
            assert page["data"][0]["qb_list_id"] != seen_last, "a row came twice"
            seen_last = page["data"][-1]["qb_list_id"]
        if page["next_cursor"] is None:
            break
        query = urlencode({"cursor": page["next_cursor"]})
    connection.close()
    return rows, time.perf_counter() - started, times


def report(rows: int, seconds: float, times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return (
        f"{rows:,} rows in {len(times):,} pages, {seconds:.1f} s, {rows / seconds:,.0f} rows/s;"
        f" page p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms,"
        f" first {times[0] * 1000:.1f} ms; p50 of the first tenth {tenth(times[: len(times) // 10])},"
        f" of the last tenth {tenth(times[-(len(times) // 10) :])}"
    )


def tenth(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:.1f} ms" if times else "-"


def middle_plan(engine: Engine, tenant_id: int, limit: int) -> str:
    """EXPLAIN ANALYZE of a page in the middle of the tenant, as the planner picks it."""
    with engine.connect() as conn:
        middle = conn.execute(
            text("""SELECT updated_at, id FROM customers WHERE tenant_id = :t
                    ORDER BY updated_at, id OFFSET (SELECT count(*) / 2 FROM customers WHERE tenant_id = :t)
                    LIMIT 1"""),
            {"t": tenant_id},
        ).one()
        where = ["tenant_id = :tenant", "updated_at < :horizon", "(updated_at, id) > (:after_at, :after_id)"]
        params = {"tenant": tenant_id, "horizon": dt.datetime(2999, 1, 1, tzinfo=dt.UTC), "take": limit + 1,
                  "after_at": middle.updated_at, "after_id": middle.id}  # fmt: skip
        sql = "EXPLAIN (ANALYZE, BUFFERS) " + page_sql(LISTINGS["customers"], where)
        return "\n".join(conn.execute(text(sql), params).scalars())


def run_lists(args: argparse.Namespace) -> None:
    url = scratch_database(args.admin_url, args.database)
    try:
        upgrade_to_head(url)
        engine = make_engine(url)
        started = time.perf_counter()
        tenant_id = seed(engine, "bench-lists", args.customers)
        seed(engine, "bench-other", max(args.customers // 10, 1))
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        print(f"seeded {args.customers:,} customers (+ ship-tos) and a second tenant of a tenth"
              f" in {time.perf_counter() - started:.1f} s")  # fmt: skip
        token = issue_tenant_token(engine, "bench-lists")
        plan = middle_plan(engine, tenant_id, max(args.limits))
        scan = next(line.strip() for line in plan.splitlines() if "Scan" in line and "customers" in line)
        print(f"a page in the middle (limit {max(args.limits)}): {scan}")
        print("  " + next(line.strip() for line in plan.splitlines() if "Execution Time" in line))
        if args.plan:
            print(plan)
        print(f"server: {args.server}; client: one kept-alive connection, pages in sequence")
        with served(url, args.server) as base_url:
            for limit in args.limits:
                for _ in range(args.passes):
                    rows, seconds, times = page_through(base_url, token, limit)
                    if rows != args.customers:
                        raise RuntimeError(f"paged {rows} rows of {args.customers}")
                    print(f"limit {limit:>4}: {report(rows, seconds, times)}")
        engine.dispose()
    finally:
        if not args.keep:
            scratch_database(args.admin_url, args.database, drop_only=True)


def lists_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=100_000, help="customers of the tenant paged")
    parser.add_argument(
        "--limits", type=int, nargs="+", default=[100, 1000], help="page sizes, one pass each"
    )
    parser.add_argument("--passes", type=int, default=1, help="passes per page size (default 1)")
    parser.add_argument("--plan", action="store_true", help="print the whole plan of the middle page")


#: name -> (help, add its arguments, run it). A later part adds its own entry here.
PARTS: dict[
    str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], None]]
] = {
    "lists": ("page through GET /customers over HTTP", lists_arguments, run_lists),
    "status": (
        "render the status page of a tenant with 10k failed jobs over HTTP",
        lambda parser: status_render.add_arguments(parser, common=False),
        lambda args: _run_status(args),
    ),
}


def _run_status(args: argparse.Namespace) -> None:
    args.gunicorn = args.server == "gunicorn"
    status_render.run(args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parts = parser.add_subparsers(dest="part", required=True)
    for name, (summary, add_arguments, _) in PARTS.items():
        sub = parts.add_parser(name, help=summary, description=summary)
        add_arguments(sub)
        sub.add_argument("--server", choices=("gunicorn", "thread"), default="gunicorn")
        sub.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                         help="a database on the server to use (default: local postgres)")  # fmt: skip
        sub.add_argument(
            "--database", default=f"qbwc_bench_api_{name}", help="scratch database, dropped and recreated"
        )
        sub.add_argument("--keep", action="store_true", help="keep the scratch database at the end")
    args = parser.parse_args()
    PARTS[args.part][2](args)


if __name__ == "__main__":
    main()
