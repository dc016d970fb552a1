"""Idle Web Connector polls per second against the app under gunicorn (not a test).

An idle poll is what every company's Web Connector does about once a minute whether or not there
is work: serverVersion, clientVersion, authenticate, answered "none" (nothing to do). At scale it
is the call pattern that dominates: 100,000 companies polling every minute make ~1,670 polls/s.
Each load process plays many companies (its share of `--tenants`, in turn), on one keep-alive
connection or a new one per poll (`--reconnect`). Also prints PostgreSQL's cost per poll, read
from its statistics views around each measurement: transactions committed (each statement is its
own, the server runs in autocommit), WAL bytes written and WAL flushes (durable commits).

    python bench/polls.py                            # embedded Postgres, or DATABASE_URL
    python bench/polls.py --concurrency 4 --duration 10 --tenants 1000 --auth-only
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from sessions import STRINGS, Client, element, envelope  # noqa: E402

from qbwc_server.admin import tenants  # noqa: E402
from qbwc_server.admin.settings import set_pull_settings  # noqa: E402
from qbwc_server.config import load_settings  # noqa: E402
from qbwc_server.db import resolve_database_url, upgrade_to_head  # noqa: E402
from qbwc_server.sync import schedule  # noqa: E402
from qbwc_server.testing import (  # noqa: E402
    backend_pids,
    cpu_seconds,
    process_tree,
    spawn_gunicorn,
    wait_until_settled,
)
from qbwc_server.webconnector import statements as sql  # noqa: E402
from qbwc_server.webconnector.auth import generate_password, hash_generated  # noqa: E402
from qbwc_server.webconnector.client import source_key  # noqa: E402

PREFIX = "benchpoll-"


def login_envelope(username: str, password: str) -> bytes:
    return envelope("authenticate", element("strUserName", username) + element("strPassword", password))


def poll(client: Client, login: bytes, *, auth_only: bool) -> None:
    """One idle poll as the Web Connector makes it; raises unless the answer is "none"."""
    if not auth_only:
        client.post("serverVersion", client.server_version)
        client.post("clientVersion", client.client_version)
    answer = client.post("authenticate", login)
    items = [m.group(1) or b"" for m in STRINGS.finditer(answer)]  # the floor app's: ["", "none", "60"]
    if len(items) < 2 or items[1] != b"none":
        raise RuntimeError(f"authenticate gave {items!r}, not an idle answer")


def load_process(args: tuple[str, list[tuple[str, str]], float, bool, bool, mp.Queue, Any]) -> None:  # type: ignore[type-arg]
    """One load process: its companies poll in turn from `start` (a barrier all pass once warmed
    up, the parent too, which reads the counters first) until the time is up."""
    url, logins, duration, reconnect, auth_only, results, start_line = args
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    client = Client(host, int(port), "/qbwc", logins[0][0], logins[0][1], "")
    envelopes = [login_envelope(username, password) for username, password in logins]
    for login in envelopes[:3]:  # warm-up: the connection, the worker's statements
        poll(client, login, auth_only=auth_only)
    start_line.wait()  # every client warmed up, the counters read
    latencies: list[float] = []
    deadline = time.perf_counter() + duration
    cpu = time.process_time()
    i = 0
    while (start := time.perf_counter()) < deadline:
        if reconnect:
            client.reconnect()
        poll(client, envelopes[i % len(envelopes)], auth_only=auth_only)
        latencies.append(time.perf_counter() - start)
        i += 1
    results.put((latencies, time.process_time() - cpu))


def listens(pid: int, port: int) -> bool:
    """Whether process `pid` holds the socket listening on loopback `port`. spawn_gunicorn picks
    a free port and waits for /healthz there; when another benchmark's server took that port
    first, gunicorn keeps retrying its bind while the other server answers: the figures would be
    someone else's."""
    wanted = f"0100007F:{port:04X}"
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "0A":  # LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) in inodes:
                return True
        except OSError:
            continue
    return False


def switches_and_split(pids: list[int]) -> tuple[int, float, float]:
    """Context switches (every thread's, voluntary or not), user and system CPU seconds of these
    processes: where a poll's CPU goes beyond the code itself (hand-offs between threads and
    processes, system calls). The split is tick-sampled: a proportion, not a total."""
    switches, user, system = 0, 0, 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        user, system = user + int(fields[11]), system + int(fields[12])
        for task in tasks:
            try:
                status = (task / "status").read_text()
            except OSError:
                continue
            switches += sum(
                int(line.split()[1])
                for line in status.splitlines()
                if line.endswith("ctxt_switches", 0, line.find(":"))
            )
    tick = os.sysconf("SC_CLK_TCK")
    return switches, user / tick, system / tick


def pg_counters(conn: Connection) -> dict[str, int]:
    """The database's committed transactions, and the cluster's WAL bytes and flushes."""
    conn.execute(text("SELECT pg_stat_clear_snapshot()"))
    row = conn.execute(
        text("""
            SELECT d.xact_commit, w.wal_bytes, w.wal_sync
            FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database()
        """)
    ).one()
    return {"commits": int(row.xact_commit), "wal_bytes": int(row.wal_bytes), "wal_syncs": int(row.wal_sync)}


def make_tenants(conn: Connection, count: int) -> list[tuple[str, str]]:
    """`count` companies with generated passwords, their pulls off and planned (an idle poll finds
    nothing to do), last seen an hour ago: each poll is one a minute after the company's last,
    as in production, never a first contact. Made in bulk from one made the normal way."""
    conn.execute(text("DELETE FROM tenants WHERE name LIKE :p"), {"p": PREFIX + "%"})
    template, password = tenants.add_tenant(conn, f"{PREFIX}0", f"{PREFIX}0")
    set_pull_settings(conn, template.id, intervals={"default": 0})
    schedule.enqueue_due_pulls(conn, template.id, dt.timedelta(days=30))
    logins = [(f"{PREFIX}0", password or "")] + [
        (f"{PREFIX}{i}", generate_password()) for i in range(1, count)
    ]
    rows = [{"n": name, "h": hash_generated(secret)} for name, secret in logins[1:]]
    if rows:
        conn.execute(
            text("""
                INSERT INTO tenants (name, username, password_kind, password_hash, settings)
                SELECT :n, :n, 'token', :h, (SELECT settings FROM tenants WHERE id = :t)
            """),
            [{**row, "t": template.id} for row in rows],
        )
    conn.execute(text("ANALYZE tenants"))  # the plan below must know it has 20,000 rows now, not 1
    columns = [
        c
        for c in conn.execute(
            text("SELECT column_name FROM information_schema.columns WHERE table_name = 'sync_cursors'")
        ).scalars()
        if c != "tenant_id"
    ]
    listed = ", ".join(columns)
    conn.execute(
        text(f"""
            INSERT INTO sync_cursors (tenant_id, {listed})
            SELECT t.id, {", ".join("c." + c for c in columns)} FROM tenants t, sync_cursors c
            WHERE c.tenant_id = :t AND t.name LIKE :p AND t.id <> :t
        """),
        {"t": template.id, "p": PREFIX + "%"},
    )
    conn.execute(
        text("UPDATE tenants SET last_seen_at = now() - interval '1 hour' WHERE name LIKE :p"),
        {"p": PREFIX + "%"},
    )
    return logins


def polled_once(engine: Engine, logins: list[tuple[str, str]]) -> None:
    """Each company's previous poll, a minute before the run: authenticate's look-up as this
    checkout runs it (its function where it has one), so what that poll leaves on the company's
    row (the idle verdict, from migration 0010) is there, as in production."""
    statement = getattr(sql, "AUTH_CALL", sql.AUTH_LOOKUP)
    source = source_key("127.0.0.1")
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        connection.autocommit = True  # each poll's statement commits, as the server's do
        info: dict[str, object] = {}
        for username, password in logins:
            params = {"username": username, "source": source, "ticket": secrets.token_hex(16)}
            statement.run(connection, info, {**params, "digest": hash_generated(password)})
        connection.autocommit = False
    finally:
        raw.close()


def tidy(engine: Engine) -> None:
    """VACUUM ANALYZE what make_tenants rewrote: each run deletes and inserts 20,000 tenants and
    their 320,000 cursors, and with autovacuum off (this machine's cluster) the dead rows piled up
    until the look-up read millions of them (polls fell from hundreds a second to tens)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE tenants, sync_cursors"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument(
        "--tenants",
        type=int,
        default=20000,
        help="companies polling, shared by the clients (default 20,000: each polls about once a minute"
        " at the rates measured here)",
    )
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default 2 per core)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default 2)")
    parser.add_argument("--worker-class", default=None, help="gunicorn worker class (default: the config's)")
    parser.add_argument(
        "--http-parser",
        choices=("auto", "fast", "python"),
        default=None,
        help="gunicorn's request parser (default auto: its C parser, gunicorn_h1c, when installed)",
    )
    parser.add_argument("--reconnect", action="store_true", help="a new TCP connection for every poll")
    parser.add_argument("--auth-only", action="store_true", help="authenticate alone, not the three calls")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="serve bench/floor_app.py (a fixed idle reply, no work) instead of qbwc-server: the HTTP floor",
    )
    args = parser.parse_args()

    database_url = resolve_database_url(load_settings())
    upgrade_to_head(database_url)
    engine = create_engine(database_url)
    print(f"creating {args.tenants} companies …", flush=True)
    with engine.begin() as conn:
        logins = make_tenants(conn, args.tenants)
    polled_once(engine, logins)
    tidy(engine)
    workers = args.workers or 2 * (os.cpu_count() or 1)
    app = "floor_app:application" if args.floor else "qbwc_server.wsgi:application"
    environ = {**os.environ, "QBWC_WORKERS": str(workers)}
    if args.threads:
        environ["QBWC_THREADS"] = str(args.threads)
    options = ["--log-level", "warning", "--pythonpath", str(BENCH)]
    if args.worker_class:
        options += ["--worker-class", args.worker_class]
    if args.http_parser:
        options += ["--http-parser", args.http_parser]
    log = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as gunicorn)
    process, base_url = spawn_gunicorn(database_url, options=options, environ=environ, output=log, app=app)
    wait_until_settled(process.pid)  # every worker booted, not only the first
    if not listens(process.pid, int(base_url.rsplit(":", 1)[1])):
        process.kill()
        raise SystemExit(f"another process answers at {base_url}, not this gunicorn: run again")
    url = base_url + "/qbwc"
    what = "authenticate calls" if args.auth_only else "idle polls (3 calls)"
    print(
        f"gunicorn (pid {process.pid}) {args.worker_class or 'the config'}'s worker, workers={workers}"
        f" threads={args.threads or 'default'};"
        f" {'a new connection per poll' if args.reconnect else 'keep-alive connections'};"
        f" {args.tenants} companies; {os.cpu_count()} cores; load generator on the same machine"
    )
    try:
        for concurrency in args.concurrency:
            shares = [logins[i::concurrency] for i in range(concurrency)]
            results: mp.Queue = mp.Queue()  # type: ignore[type-arg]
            start_line = mp.Barrier(concurrency + 1)
            procs = [
                mp.Process(
                    target=load_process,
                    args=((url, share, args.duration, args.reconnect, args.auth_only, results, start_line),),
                )
                for share in shares
            ]
            with engine.connect() as conn:
                for p in procs:
                    p.start()
                time.sleep(0.5)  # the clients' warm-up opens every pool's connections
                before = pg_counters(conn)
                servers, backends = process_tree(process.pid), backend_pids(conn)
                server_cpu, pg_cpu = cpu_seconds(servers), cpu_seconds(backends)
                detail = switches_and_split(servers)
                start_line.wait(timeout=120)  # the clients start once warmed up (waited for here)
                answers = [results.get(timeout=args.duration + 120) for _ in procs]
                server_cpu, pg_cpu = cpu_seconds(servers) - server_cpu, cpu_seconds(backends) - pg_cpu
                switched, user, system = (
                    b - a for a, b in zip(detail, switches_and_split(servers), strict=True)
                )
                after = pg_counters(conn)
                if sorted(process_tree(process.pid)) != sorted(servers):
                    print("    (gunicorn's workers changed during the measurement: its CPU is short)")
                for p in procs:
                    p.join()
                    if p.exitcode:
                        raise SystemExit(f"a load process failed (exit {p.exitcode})")
            latencies = [lat for lats, _ in answers for lat in lats]
            client_cpu = sum(c for _, c in answers)
            n = len(latencies)
            cost = {k: (after[k] - before[k]) / n for k in before}
            q = statistics.quantiles(latencies, n=20)
            print(
                f"concurrency {concurrency}: {n / args.duration:8.1f} {what}/s"
                f"  (p50 {statistics.median(latencies) * 1000:5.2f} ms,"
                f" p95 {q[18] * 1000:5.2f} ms, {n} polls);"
                f" per poll: {cost['commits']:.2f} commits, {cost['wal_bytes']:.1f} WAL bytes,"
                f" {cost['wal_syncs']:.3f} WAL flushes",
                flush=True,
            )
            print(
                f"    CPU per poll: gunicorn {server_cpu / n * 1e6:.0f} µs, PostgreSQL backends"
                f" {pg_cpu / n * 1e6:.0f} µs, load clients {client_cpu / n * 1e6:.0f} µs;"
                f" gunicorn {user / n * 1e6:.0f} µs user + {system / n * 1e6:.0f} µs system,"
                f" {switched / n:.1f} context switches",
                flush=True,
            )
    finally:
        process.terminate()
        process.wait(timeout=30)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM tenants WHERE name LIKE :p"), {"p": PREFIX + "%"})
        tidy(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
