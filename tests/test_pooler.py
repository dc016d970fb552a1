"""Through a real PgBouncer in transaction pooling mode, as several nodes share one PostgreSQL.

A pooler hands a server session to another client after every transaction, so a statement
prepared by one client is on a server session the next client gets: QBWC_DB_POOLER=transaction
prepares statements per server session under versioned names (test_pooler_prepared.py) and sends
no startup `options`.
Skipped without the `pgbouncer` binary, except under CI (.ci/run installs it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from qbwc_server import queue
from qbwc_server.admin import tokens
from qbwc_server.app import create_app
from qbwc_server.config import Settings
from qbwc_server.db import POOLED, Prepared, make_engine
from qbwc_server.models import JobKind
from qbwc_server.simulator import CannedProcessor
from qbwc_server.simulator.generator import generate_company
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from qbwc_server.simulator.webconnector import SessionReport, SimulatedWebConnector
from qbwc_server.simulator.wire import WebConnectorError
from qbwc_server.testing import BackgroundServer, PgBouncer, find_pgbouncer, free_port, spawn_gunicorn
from tests.api_http import call
from tests.conftest import TenantCredentials

pytestmark = [pytest.mark.slow]

QUERY = '<CustomerQueryRq requestID="{n}"><MaxReturned>1</MaxReturned></CustomerQueryRq>'


@pytest.fixture(scope="module")
def pgbouncer(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgBouncer]:
    if find_pgbouncer() is None:
        reason = "pgbouncer is not installed (apt-get install pgbouncer): the pooler tests need it"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    # A small pool: many clients share few server sessions, as behind a real pooler.
    bouncer = PgBouncer(pg_admin_url, tmp_path_factory.mktemp("pgbouncer"), pool_size=4)
    yield bouncer
    bouncer.close()


def transactions_through(bouncer: PgBouncer, database: str) -> int:
    """Transactions PgBouncer has passed to `database` so far."""
    stats = {row["database"]: row for row in bouncer.show("STATS")}
    return int(str(stats[database]["total_xact_count"])) if database in stats else 0


def run(url: str, tenant: TenantCredentials, processor: Any) -> SessionReport:
    connector = SimulatedWebConnector(url, tenant.username, tenant.password, processor, noop_delay=0.02)
    try:
        return connector.run_session()
    except WebConnectorError as exc:  # a node gone under the call: the next poll goes on
        return exc.report  # type: ignore[attr-defined, no-any-return]


def test_sessions_with_pulls_and_a_push_run_through_the_pooler(
    pgbouncer: PgBouncer, settings: Settings, database_url: str, engine: Engine, make_tenant: Any
) -> None:
    database = str(engine.url.database)
    pooled_url = pgbouncer.url(database_url)
    pooled = replace(settings, database_url=pooled_url, db_pooled=True)
    tenant = make_tenant("shop", pulls=True)
    token = tokens.issue_tenant_token(engine, tenant.name)
    books = generate_company(seed=5, customers=6, items=4, sales_orders=0, invoices=0, payments=0)
    quickbooks = SimulatedQuickBooks(books)
    before = transactions_through(pgbouncer, database)
    pooled_engine = make_engine(pooled_url, pooled=True)
    try:
        with BackgroundServer(create_app(pooled, pooled_engine)) as server:
            first = run(server.url, tenant, quickbooks)
            assert first.outcome == "ok", first.errors
            body = {"name": "Pooled Customer", "email": "pooled@example.com"}
            put = call(server.base_url, "PUT", "/api/v1/customers/c-pooled", token=token, body=body)
            assert put.status in (200, 201), put.text
            second = run(server.url, tenant, quickbooks)
            assert second.outcome == "ok", second.errors
            got = call(server.base_url, "GET", "/api/v1/customers/c-pooled", token=token)
    finally:
        pooled_engine.dispose()
    [made] = [c for c in books.customers.values() if c.name == "Pooled Customer"]
    assert got.json["sync"]["state"] == "synced" and got.json["qb_list_id"] == made.list_id
    with engine.connect() as conn:
        pulled = conn.scalar(text("SELECT count(*) FROM customers WHERE qb_list_id IS NOT NULL"))
    assert pulled == len(books.customers)
    assert transactions_through(pgbouncer, database) - before > 20, "the calls went through PgBouncer"


def test_prepared_statements_break_behind_a_transaction_pooler(
    pgbouncer: PgBouncer, database_url: str
) -> None:
    """Why QBWC_DB_POOLER exists: PgBouncer refuses the startup `options` we otherwise send, and a
    statement PREPAREd by one client is on a server session the next client gets. POOLED (the
    setting) executes it there by its versioned name instead."""
    pooled_url = pgbouncer.url(database_url).replace("+psycopg2", "")
    with pytest.raises(psycopg2.OperationalError, match="unsupported startup parameter: options"):
        psycopg2.connect(pooled_url, options="-c timezone=UTC")
    probe = Prepared("qbwc_pooler_probe", "SELECT %(n)s::int + 1 AS n, '100%' AS percent")
    with contextlib.ExitStack() as stack:
        first, second = (stack.enter_context(contextlib.closing(psycopg2.connect(pooled_url))) for _ in "12")
        for connection in (first, second):
            connection.autocommit = True
        assert probe.run(first, {}, {"n": 1}) == [{"n": 2, "percent": "100%"}]
        # PgBouncer hands the second client the server session the first one prepared on.
        with pytest.raises(psycopg2.errors.DuplicatePreparedStatement):
            probe.run(second, {}, {"n": 1})
        assert probe.run(second, dict(POOLED), {"n": 2}) == [{"n": 3, "percent": "100%"}]
        assert probe.run(first, dict(POOLED), {"n": 3}) == [{"n": 4, "percent": "100%"}]


def children(pid: int) -> list[int]:
    """The direct child processes of `pid` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def serving(pid: int, port: int) -> bool:
    """Whether process `pid` holds an established TCP connection on local `port` (a call in flight
    or a session's kept-alive connection), from /proc/net/tcp."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            inodes.add(os.readlink(fd).removeprefix("socket:[").removesuffix("]"))
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01" and fields[9] in inodes:
            return True
    return False


def test_three_nodes_on_one_port_lose_nothing_when_one_is_killed(
    pgbouncer: PgBouncer, database_url: str, engine: Engine, make_tenant: Any, tmp_path: Path
) -> None:
    """Three gunicorn instances share one port (SO_REUSEPORT) and one PgBouncer; six companies
    run sessions at once; one instance is SIGKILLed mid-run. Whatever it cut short is polled again:
    every job ends done and every company's last session closed cleanly."""
    tenants = [make_tenant(f"node{i}") for i in range(6)]
    rounds, per_round = 8, 3
    port = free_port()
    environ = {**os.environ, "QBWC_WORKERS": "1", "QBWC_DB_POOLER": "transaction", "QBWC_DB_POOL_SIZE": "3"}
    nodes: list[subprocess.Popen[bytes]] = []
    logs = [(tmp_path / f"node{i}.log").open("wb") for i in range(3)]
    try:
        for log in logs:
            process, base = spawn_gunicorn(
                pgbouncer.url(database_url), options=["--reuse-port"], environ=environ, output=log, port=port
            )
            nodes.append(process)
        url = base + "/qbwc"
        done_rounds = [0] * len(tenants)
        failures: list[str] = []
        broken: list[str] = []  # sessions the kill cut short, polled again

        def company(index: int) -> None:
            tenant = tenants[index]
            for _ in range(rounds):
                with engine.begin() as conn:
                    for n in range(per_round):
                        body = QUERY.format(n=n)
                        queue.enqueue(conn, tenant.id, JobKind.RAW_QBXML, request_body=body)
                deadline = time.monotonic() + 30
                while (report := run(url, tenant, CannedProcessor())).outcome != "ok":
                    if time.monotonic() > deadline:  # a poll a little later, as the Web Connector would
                        failures.append(f"{tenant.name}: {report.outcome} {report.errors}")
                        return
                    broken.append(report.outcome)
                    time.sleep(0.05)
                done_rounds[index] += 1

        threads = [threading.Thread(target=company, args=(i,)) for i in range(len(tenants))]
        for thread in threads:
            thread.start()
        while sum(done_rounds) < len(tenants) * rounds // 3 and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        victim = nodes[1]
        workers = children(victim.pid)
        deadline = time.monotonic() + 10
        # Until a Web Connector is connected to it, so that it dies mid-session, but never past
        # two thirds of the run: SO_REUSEPORT may send no company there at all.
        while (
            not any(serving(pid, port) for pid in workers)
            and sum(done_rounds) < len(tenants) * rounds * 2 // 3
            and time.monotonic() < deadline
        ):
            time.sleep(0.001)
        for pid in [*workers, victim.pid]:  # the node dies whole
            os.kill(pid, signal.SIGKILL)
        killed_at = sum(done_rounds)
        for thread in threads:
            thread.join(timeout=60)
        assert not failures, failures
        assert killed_at < len(tenants) * rounds, "the node was killed before the run ended"
        assert done_rounds == [rounds] * len(tenants)
        # Whether the kill cut a session short depends on timing (the victim may sit between
        # sessions, or hold an idle keep-alive connection the client simply replaces): `broken`
        # says how often it did; what must hold either way is that nothing was lost.
    finally:
        for process in nodes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=60)
        for log in logs:
            log.close()
    with engine.connect() as conn:
        jobs = dict(conn.execute(text("SELECT status, count(*) FROM jobs GROUP BY status")).all())
        open_sessions = conn.scalar(text("SELECT count(*) FROM qbwc_sessions WHERE state = 'open'"))
        unfinished = conn.execute(
            text(
                "SELECT id, status, attempts, last_status_code, last_message FROM jobs WHERE status <> 'done'"
            )
        ).all()
    # A sendRequestXML whose answer the kill dropped after its lease was committed is resent by
    # the client and gets the same message again: every job ends done, none failed unsent.
    assert not unfinished, unfinished
    assert jobs == {"done": len(tenants) * rounds * per_round}, jobs
    assert open_sessions == 0
    for i in (0, 2):  # the nodes left standing logged no error
        assert "Traceback" not in (tmp_path / f"node{i}.log").read_text(errors="replace")


def test_migrations_go_straight_to_postgres_when_the_url_is_a_pooler(
    pgbouncer: PgBouncer, fresh_database: Any
) -> None:
    """`db upgrade` takes a session-wide advisory lock and timeouts: QBWC_MIGRATIONS_DATABASE_URL
    sends it to PostgreSQL itself while DATABASE_URL names the pooler."""
    direct = fresh_database(None)
    database = str(make_url(direct).database)
    environ = {**os.environ, "DATABASE_URL": pgbouncer.url(direct), "QBWC_DB_POOLER": "transaction"}
    environ["QBWC_MIGRATIONS_DATABASE_URL"] = direct
    upgrade = [sys.executable, "-m", "qbwc_server.cli", "db", "upgrade"]
    done = subprocess.run(upgrade, env=environ, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert transactions_through(pgbouncer, database) == 0, "nothing of the migration went through PgBouncer"
    engine = make_engine(pgbouncer.url(direct), pooled=True)  # and the app reads the result through it
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    finally:
        engine.dispose()
