"""How long the health answers take with a deployment's history behind them (not a test):
`tenants_health` (GET /tenants, `qbwc-server status`: one statement for every tenant) and
`tenant_health` (GET /status of one tenant), with N tenants each holding S past sessions and J
jobs (a tenth of them waiting for an admin).

    python bench/health.py                                   # 100 tenants x 3000 sessions x 2000 jobs
    python bench/health.py --tenants 20 --sessions 500 --jobs 500 --repeat 20

The database is DATABASE_URL (else the embedded one), migrated to head; tenants named `hbench-*`
are deleted first and at the end. Never point it at a production database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qbwc_server.admin.health import tenant_health, tenants_health  # noqa: E402
from qbwc_server.config import load_settings  # noqa: E402
from qbwc_server.db import make_engine, resolve_database_url, upgrade_to_head  # noqa: E402

PREFIX = "hbench-"


def populate(engine: object, tenants: int, sessions: int, jobs: int) -> None:
    """The tenants, their sessions (a day's polls apart) and their jobs, in a few statements."""
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(text("DELETE FROM tenants WHERE name LIKE :p"), {"p": PREFIX + "%"})
        conn.execute(
            text("""
                INSERT INTO tenants (name, username, password_kind, password_hash, last_seen_at)
                SELECT :p || n, :p || n || '-qb', 'token', 'x', now() FROM generate_series(1, :n) n
            """),
            {"p": PREFIX, "n": tenants},
        )
        conn.execute(
            text("""
                INSERT INTO qbwc_sessions (ticket, tenant_id, state, started_at, last_call_at, closed_at,
                                           summary)
                SELECT md5(t.id || '-' || s), t.id, 'closed', at, at, at, 'Done: pulled 3 customers.'
                FROM tenants t, generate_series(1, :s) s,
                     LATERAL (SELECT now() - s * interval '5 minutes') a(at)
                WHERE t.name LIKE :p
            """),
            {"p": PREFIX + "%", "s": sessions},
        )
        conn.execute(
            text("""
                INSERT INTO jobs (tenant_id, kind, status, finished_at, last_status_code, last_message)
                SELECT t.id, 'qbxml.raw', CASE WHEN j % 10 = 0 THEN 'failed' ELSE 'done' END, now(),
                       CASE WHEN j % 10 = 0 THEN 3100 END, 'The name is already in use.'
                FROM tenants t, generate_series(1, :j) j WHERE t.name LIKE :p
            """),
            {"p": PREFIX + "%", "j": jobs},
        )
    with engine.connect() as conn:  # type: ignore[attr-defined]
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE")
        )  # as autovacuum would


def timed(call: object, repeat: int) -> tuple[float, float]:
    """(median, p95) milliseconds of `call()`."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=3000, help="past sessions per tenant")
    parser.add_argument("--jobs", type=int, default=2000, help="jobs per tenant (a tenth failed)")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    url = resolve_database_url(load_settings())
    upgrade_to_head(url)
    engine = make_engine(url)
    try:
        populate(engine, args.tenants, args.sessions, args.jobs)
        with engine.connect() as conn:
            every = timed(lambda: tenants_health(conn), args.repeat)
            one = timed(lambda: tenant_health(conn, PREFIX + "1"), args.repeat)
        print(f"{args.tenants} tenants x {args.sessions} sessions x {args.jobs} jobs")
        print(
            f"tenants_health (every tenant, one statement): median {every[0]:.1f} ms, p95 {every[1]:.1f} ms"
        )
        print(f"tenant_health (one tenant in full):           median {one[0]:.1f} ms, p95 {one[1]:.1f} ms")
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM tenants WHERE name LIKE :p"), {"p": PREFIX + "%"})
        engine.dispose()


if __name__ == "__main__":
    main()
