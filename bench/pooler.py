"""PostgreSQL's cost per Web Connector session with 1 and 3 nodes behind one PgBouncer.

Each node is a gunicorn instance (deploy/gunicorn.conf.py) on one shared port (--reuse-port),
QBWC_DB_POOLER=transaction, all through one PgBouncer in transaction mode; the load is
bench/sessions.py's (one raw job queued, one session run, per Web Connector). Per session it
reports the statements and transactions PgBouncer passed (SHOW STATS) and the commits PostgreSQL
counted for the database (pg_stat_database, less the one the load's own enqueue makes), against
a direct, prepared run for comparison. Uses a scratch database `qbwc_bench_pooler` on the
server of DATABASE_URL (dropped at the end); needs the `pgbouncer` binary.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/pooler.py
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sessions import customer_response, load_process

from qbwc_server.admin import tenants
from qbwc_server.admin.settings import set_pull_settings, set_push_settings
from qbwc_server.config import load_settings
from qbwc_server.db import resolve_database_url, upgrade_to_head
from qbwc_server.testing import PgBouncer, free_port, scratch_database, spawn_gunicorn

DATABASE = "qbwc_bench_pooler"
WARM_UP = 3  # sessions each load process runs before its clock starts (sessions.load_process)


def commits(direct_url: str) -> int:
    """Transactions PostgreSQL has committed in the scratch database (after the stats flush)."""
    time.sleep(1.5)  # backends report their counts at most every second
    dsn = make_url(direct_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with contextlib.closing(psycopg2.connect(dsn)) as db, db.cursor() as cur:
        cur.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (DATABASE,))
        (value,) = cur.fetchone()
        return int(value) - 1  # this query's own


def pooler_counts(bouncer: PgBouncer | None) -> tuple[int, int]:
    """(queries, transactions) PgBouncer has passed to the scratch database."""
    if bouncer is None:
        return 0, 0
    stats = {row["database"]: row for row in bouncer.show("STATS")}
    row = stats.get(DATABASE, {})
    return int(str(row.get("total_query_count", 0))), int(str(row.get("total_xact_count", 0)))


def measure(
    label: str, url: str, direct: str, bouncer: PgBouncer | None, args: argparse.Namespace, nodes: int = 1
) -> None:
    """One run; statements go unprepared (QBWC_DB_POOLER=transaction) unless `label` says prepared."""
    mode = "none" if "prepared" in label.split() else "transaction"
    environ = {**os.environ, "QBWC_WORKERS": str(args.workers), "QBWC_DB_POOLER": mode}
    port = free_port()
    running = []
    log = tempfile.TemporaryFile()  # noqa: SIM115  (closed at the end of the run)
    try:
        for _ in range(nodes):
            options = ["--reuse-port", "--log-level", "warning"]
            running.append(spawn_gunicorn(url, options=options, environ=environ, output=log, port=port)[0])
        response = customer_response(1)
        before, (queries, xacts) = commits(direct), pooler_counts(bouncer)
        results: mp.Queue = mp.Queue()  # type: ignore[type-arg]
        passwords = args.passwords
        procs = [
            mp.Process(
                target=load_process,
                args=(
                    (
                        f"http://127.0.0.1:{port}/qbwc",
                        direct,
                        f"bench-{i}",
                        passwords[i],
                        response,
                        args.duration,
                        False,
                        results,
                    ),
                ),
            )
            for i in range(args.concurrency)
        ]
        for p in procs:
            p.start()
        timed = sum(len(results.get(timeout=args.duration + 120)) for _ in procs)
        for p in procs:
            p.join()
        sessions = timed + WARM_UP * len(procs)
        committed = commits(direct) - before - sessions  # less each session's enqueue (direct)
        counts = pooler_counts(bouncer)
        queries, xacts = counts[0] - queries, counts[1] - xacts
        through = (
            f"; PgBouncer {queries / sessions:.2f} statements, {xacts / sessions:.2f} transactions"
            if bouncer
            else ""
        )
        print(
            f"{label:<28} {timed / args.duration:7.1f} sessions/s; per session: PostgreSQL"
            f" {committed / sessions:.2f} commits{through}",
            flush=True,
        )
    finally:
        for process in running:
            process.terminate()
        for process in running:
            process.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per node (default 2)")
    args = parser.parse_args()
    admin = resolve_database_url(load_settings())
    direct = scratch_database(admin, DATABASE)
    upgrade_to_head(direct)
    engine = create_engine(direct)
    args.passwords = []
    with engine.begin() as conn:
        for i in range(args.concurrency):
            info, password = tenants.add_tenant(conn, f"bench-{i}", f"bench-{i}")
            set_pull_settings(conn, info.id, intervals={"default": 0})
            set_push_settings(conn, info.id, live_window_seconds=0)
            args.passwords.append(password or "")
    engine.dispose()
    cores = os.cpu_count()
    print(f"concurrency {args.concurrency}, {args.workers} workers per node, {cores} cores, one sitting")
    with tempfile.TemporaryDirectory() as scratch:
        bouncer = PgBouncer(admin, Path(scratch) / "pgbouncer", pool_size=10)
        try:
            measure("1 node, direct, prepared", direct, direct, None, args)
            measure("1 node, direct, unprepared", direct, direct, None, args)
            pooled = bouncer.url(direct)
            measure("1 node via PgBouncer", pooled, direct, bouncer, args)
            measure("3 nodes via PgBouncer", pooled, direct, bouncer, args, nodes=3)
        finally:
            bouncer.close()
            scratch_database(admin, DATABASE, drop_only=True)


if __name__ == "__main__":
    main()
