"""PostgreSQL's cost per Web Connector session with 1 and 3 nodes behind one PgBouncer, over
10,000 tenants, and no job lost when a node is killed.

Each node is a gunicorn instance (deploy/gunicorn.conf.py) on one shared port (--reuse-port),
QBWC_DB_POOLER=transaction, all through one PgBouncer in transaction mode. The tenants
(`--tenants`, made in bulk as bench/polls.py makes them) are spread over the load processes;
each session is the next tenant's: one raw job queued (directly, not through the nodes), one
session run. Per session it reports the CPU of PostgreSQL's backends serving the nodes (/proc;
the load's own connections excepted), the nodes' CPU, the statements and transactions PgBouncer
passed (SHOW STATS) and the commits PostgreSQL counted for the database, less the load's
enqueue. `3-kill` SIGKILLs one of the three nodes a third of the way in: a session it cut short
is polled again, as the Web Connector would, and at the end every job must be done. Uses a
scratch database (`--database`, qbwc_bench_pooler) on the server of DATABASE_URL (dropped at the end); needs
the `pgbouncer` binary.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/pooler.py
    ... bench/pooler.py --runs 1 3 --tenants 100 --duration 5
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg2
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from polls import make_tenants  # noqa: E402
from sessions import REQUEST, Client, customer_response, element, envelope  # noqa: E402

from qbwc_server.config import load_settings  # noqa: E402
from qbwc_server.db import resolve_database_url, upgrade_to_head  # noqa: E402
from qbwc_server.testing import (  # noqa: E402
    PgBouncer,
    cpu_seconds,
    free_port,
    process_tree,
    scratch_database,
    spawn_gunicorn,
    wait_until_settled,
)

DATABASE = "qbwc_bench_pooler"
LOAD = "bench-load"  # the load processes' application_name: their backends are not the nodes' cost
RUNS = {
    "direct": "1 node, direct, prepared",
    "1": "1 node via PgBouncer",
    "3": "3 nodes via PgBouncer",
    "3-kill": "3 nodes via PgBouncer, 1 killed",
}
Login = tuple[int, str, str]  # tenant id, username, password


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def load_process(args: tuple[str, str, list[Login], str, float, Any]) -> None:
    """One load process: its tenants, one session each in turn, until the time is up. A session
    a dying node cut short is run again (a later poll) until the tenant's job is done."""
    url, direct, logins, response, duration, results = args
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    client = Client(host, int(port), "/qbwc", logins[0][1], logins[0][2], response)
    sessions = broken = 0
    with contextlib.closing(psycopg2.connect(dsn(direct), application_name=LOAD)) as db:
        db.autocommit = True
        cursor = db.cursor()
        cursor.execute(
            "PREPARE bench_enqueue AS INSERT INTO jobs (tenant_id, kind, request_body)"
            " VALUES ($1, 'qbxml.raw', $2)"
        )
        deadline = time.perf_counter() + duration
        while time.perf_counter() < deadline:
            tenant_id, username, password = logins[sessions % len(logins)]
            client.authenticate = envelope(
                "authenticate", element("strUserName", username) + element("strPassword", password)
            )
            cursor.execute("EXECUTE bench_enqueue(%s, %s)", (tenant_id, REQUEST))
            for attempt in range(50):
                try:
                    client.session()
                    break
                except (OSError, RuntimeError):
                    broken += 1
                    client.reconnect()
                    time.sleep(0.05)
                    cursor.execute(
                        "SELECT count(*) FROM jobs WHERE tenant_id = %s AND status <> 'done'", (tenant_id,)
                    )
                    if attempt and cursor.fetchone()[0] == 0:  # the cut session finished it after all
                        break
            sessions += 1
    results.put((sessions, broken))


def pooler_counts(bouncer: PgBouncer | None, database: str) -> tuple[int, int]:
    """(queries, transactions) PgBouncer has passed to the scratch database."""
    if bouncer is None:
        return 0, 0
    stats = {row["database"]: row for row in bouncer.show("STATS")}
    row = stats.get(database, {})
    return int(str(row.get("total_query_count", 0))), int(str(row.get("total_xact_count", 0)))


def postgres_side(direct: str) -> tuple[float, int]:
    """(CPU seconds of the database's backends but the load's and this one, commits so far)."""
    time.sleep(1.5)  # backends report their commit counts at most every second
    with contextlib.closing(psycopg2.connect(dsn(direct))) as db, db.cursor() as cur:
        cur.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND application_name IS DISTINCT FROM %s",
            (LOAD,),
        )
        pids = [int(pid) for (pid,) in cur.fetchall()]
        cur.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        (commits,) = cur.fetchone()
    return cpu_seconds(pids), int(commits)


def measure(run: str, url: str, direct: str, bouncer: PgBouncer | None, args: argparse.Namespace) -> None:
    nodes = 3 if run.startswith("3") else 1
    mode = "none" if run == "direct" else "transaction"
    environ = {**os.environ, "QBWC_WORKERS": str(args.workers), "QBWC_DB_POOLER": mode}
    port = free_port()
    running: list[subprocess.Popen[bytes]] = []
    log = tempfile.TemporaryFile()  # noqa: SIM115  (closed at the end of the run)
    try:
        for _ in range(nodes):
            options = ["--reuse-port", "--log-level", "warning"]
            running.append(spawn_gunicorn(url, options=options, environ=environ, output=log, port=port)[0])
        for process in running:
            wait_until_settled(process.pid)
        trees = [process_tree(p.pid) for p in running]
        pg_cpu, commits = postgres_side(direct)
        node_cpu = cpu_seconds([pid for tree in trees for pid in tree])
        queries, xacts = pooler_counts(bouncer, args.database)
        results: mp.Queue = mp.Queue()  # type: ignore[type-arg]
        shares = [args.logins[i :: args.concurrency] for i in range(args.concurrency)]
        work = (f"http://127.0.0.1:{port}/qbwc", direct)
        procs = [
            mp.Process(target=load_process, args=((*work, share, args.response, args.duration, results),))
            for share in shares
        ]
        for p in procs:
            p.start()
        killed_cpu = 0.0
        if run == "3-kill":
            time.sleep(args.duration / 3)
            killed_cpu = cpu_seconds(trees[1])  # what it used until now counts
            for pid in trees[1]:  # the node dies whole, master and workers
                os.kill(pid, signal.SIGKILL)
        done = [results.get(timeout=args.duration + 300) for _ in procs]
        for p in procs:
            p.join()
        sessions, broken = sum(d[0] for d in done), sum(d[1] for d in done)
        alive = [pid for i, tree in enumerate(trees) if not (run == "3-kill" and i == 1) for pid in tree]
        node_cpu = cpu_seconds(alive) + killed_cpu - node_cpu
        pg_after, commits_after = postgres_side(direct)
        counts = pooler_counts(bouncer, args.database)
        through = (
            f"; PgBouncer {(counts[0] - queries) / sessions:.2f} statements,"
            f" {(counts[1] - xacts) / sessions:.2f} transactions"
            if bouncer
            else ""
        )
        committed = commits_after - commits - sessions  # less each enqueue
        print(
            f"{RUNS[run]:<32} {sessions / args.duration:6.1f} sessions/s; per session: PostgreSQL"
            f" {(pg_after - pg_cpu) / sessions * 1000:.2f} ms CPU, {committed / sessions:.2f} commits;"
            f" nodes {node_cpu / sessions * 1000:.2f} ms CPU{through}"
            + (f"; {broken} sessions cut short and polled again" if broken else ""),
            flush=True,
        )
        if run == "3-kill":
            check_nothing_lost(direct)
    finally:
        for process in running:
            if process.poll() is None:
                process.terminate()
        for process in running:
            process.wait(timeout=30)
        log.close()


def check_nothing_lost(direct: str) -> None:
    """Every job queued so far ended done, and no Web Connector session is left open."""
    with contextlib.closing(psycopg2.connect(dsn(direct))) as db, db.cursor() as cur:
        cur.execute("SELECT status, count(*) FROM jobs WHERE kind = 'qbxml.raw' GROUP BY status")
        jobs = dict(cur.fetchall())
        cur.execute("SELECT count(*) FROM qbwc_sessions WHERE state = 'open'")
        (open_sessions,) = cur.fetchone()
    print(f"  after the kill: jobs by status {jobs}; sessions left open: {open_sessions}", flush=True)
    if set(jobs) != {"done"} or open_sessions:
        raise SystemExit("a job or a session was lost when the node was killed")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per node (default 2)")
    parser.add_argument("--tenants", type=int, default=10_000, help="companies the sessions spread over")
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS))
    parser.add_argument("--database", default=DATABASE, help=f"scratch database (default {DATABASE})")
    args = parser.parse_args()
    admin = resolve_database_url(load_settings())
    direct = scratch_database(admin, args.database)
    upgrade_to_head(direct)
    engine = create_engine(direct)
    started = time.perf_counter()
    with engine.begin() as conn:
        logins = dict(make_tenants(conn, args.tenants))
        # No live window: a session ends when its job is done.
        no_window = """UPDATE tenants SET settings = settings || '{"push": {"live_window_seconds": 0}}'"""
        conn.execute(text(no_window))
        rows = conn.execute(text("SELECT id, username FROM tenants ORDER BY id")).all()
    args.logins = [(row.id, row.username, logins[row.username]) for row in rows]
    engine.dispose()
    args.response = customer_response(1)
    print(
        f"{len(args.logins)} tenants (made in {time.perf_counter() - started:.1f} s), concurrency"
        f" {args.concurrency}, {args.workers} workers per node, {os.cpu_count()} cores, one sitting",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as scratch:
        bouncer = PgBouncer(admin, Path(scratch) / "pgbouncer", pool_size=10)
        try:
            for run in args.runs:
                if run == "direct":
                    measure(run, direct, direct, None, args)
                else:
                    measure(run, bouncer.url(direct), direct, bouncer, args)
        finally:
            bouncer.close()
            scratch_database(admin, args.database, drop_only=True)


if __name__ == "__main__":
    main()
