"""Prepared statements behind a real PgBouncer in transaction mode (prepared.Prepared, POOLED).

Each server session PgBouncer lends may or may not hold a statement: a fresh one does not, one
another client used does. Whatever the session, the statement runs once and answers right.
Skipped without the `pgbouncer` binary, except under CI (.ci/run installs it).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions
import pytest

from qbwc_server.db import POOLED, Prepared
from qbwc_server.testing import PgBouncer, find_pgbouncer

pytestmark = [pytest.mark.slow]

PROBE = "SELECT %(n)s::int + 1 AS n, '100%' AS percent, %(n)s::int * 2 AS twice"


def bouncer(admin_url: str, directory: Path, pool_size: int) -> PgBouncer:
    if find_pgbouncer() is None:
        reason = "pgbouncer is not installed (apt-get install pgbouncer): the pooler tests need it"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return PgBouncer(admin_url, directory, pool_size=pool_size)


@pytest.fixture
def pooled(pg_admin_url: str, database_url: str, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """`pooled(pool_size)`: (PgBouncer, connect) where `connect()` is a new autocommit psycopg2
    connection to the test's database through it. All closed after."""
    opened: list[Any] = []

    def start(pool_size: int) -> tuple[PgBouncer, Callable[[], Any]]:
        running = bouncer(pg_admin_url, tmp_path / f"pgbouncer{len(opened)}", pool_size)
        opened.append(running)
        url = running.url(database_url).replace("+psycopg2", "")

        def connect() -> Any:
            connection = psycopg2.connect(url)
            connection.autocommit = True
            opened.append(connection)
            return connection

        return running, connect

    yield start
    for each in reversed(opened):
        each.close()


def backend(connection: Any) -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return int(cur.fetchone()[0])


def executions(connection: Any, statement: Prepared) -> int:
    """How often the server session `connection` is lent now has run `statement` (0: never prepared)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT coalesce(sum(generic_plans + custom_plans), 0) FROM pg_prepared_statements"
            " WHERE name = %s",
            (statement.server_name,),
        )
        return int(cur.fetchone()[0])


def wait_for_no_servers(running: PgBouncer, database: str) -> None:
    """Until PgBouncer has noticed that its server connections to `database` are gone."""
    deadline = time.monotonic() + 10
    while any(row["database"] == database for row in running.show("SERVERS")):
        assert time.monotonic() < deadline, running.show("SERVERS")
        time.sleep(0.05)


def test_statements_are_prepared_once_per_server_session_and_again_on_a_new_one(
    pooled: Callable[..., Any], database_url: str, admin_engine: Any
) -> None:
    """One server session behind PgBouncer serves three clients: the first client's miss prepares
    the statement there, and every later EXECUTE from any client reuses it. Once PostgreSQL ends
    that session (a restart, pg_terminate_backend, PgBouncer's server_lifetime), the next one
    lacks the statement, and the first call there prepares it again: never an error."""
    running, connect = pooled(1)
    probe = Prepared("qbwc_probe", PROBE)
    clients = [connect() for _ in range(3)]
    for n in range(9):
        assert probe.run(clients[n % 3], dict(POOLED), {"n": n}) == [
            {"n": n + 1, "percent": "100%", "twice": 2 * n}
        ]
    assert executions(clients[0], probe) == 9, "prepared once, then executed by every client"
    before = backend(clients[0])
    database = database_url.rsplit("/", 1)[1]
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )
    wait_for_no_servers(running, database)
    for n in range(4):
        assert probe.run(clients[n % 3], dict(POOLED), {"n": n}) == [
            {"n": n + 1, "percent": "100%", "twice": 2 * n}
        ]
    assert backend(clients[1]) != before, "a new server session"
    assert executions(clients[2], probe) == 4
    # RECONNECT (admin console): PgBouncer replaces its server connections as they come free.
    with contextlib.closing(
        psycopg2.connect(host="127.0.0.1", port=running.port, user=running.user, dbname="pgbouncer")
    ) as admin:
        admin.autocommit = True
        admin.cursor().execute(f"RECONNECT {database}")
    for n in range(3):
        assert probe.run(clients[n], dict(POOLED), {"n": n})[0]["n"] == n + 1
    assert executions(clients[0], probe) == 3


def test_two_releases_with_different_statement_texts_share_a_server_session(
    pooled: Callable[..., Any],
) -> None:
    """Nodes of two releases on one pooler: the same statement name with a new text is another
    statement on the server (its name holds the text's digest), so neither runs the other's."""
    _running, connect = pooled(1)
    old = Prepared("qbwc_probe", "SELECT %(n)s::int + 1 AS n")
    new = Prepared("qbwc_probe", "SELECT %(n)s::int + 100 AS n, 'new' AS release")
    assert old.server_name != new.server_name
    nodes = [connect(), connect()]
    for n in range(4):
        assert old.run(nodes[0], dict(POOLED), {"n": n}) == [{"n": n + 1}]
        assert new.run(nodes[1], dict(POOLED), {"n": n}) == [{"n": n + 100, "release": "new"}]
    assert executions(nodes[0], old) == 4 and executions(nodes[1], new) == 4


class Recording(psycopg2.extensions.cursor):  # type: ignore[misc]
    """A cursor that notes each statement's first word and outcome, and runs `between` once after
    the first failure (what other clients do meanwhile)."""

    said: list[str]
    between: list[Callable[[], None]]

    def execute(self, sql: str, values: Any = None) -> None:
        try:
            super().execute(sql, values)
        except psycopg2.Error as exc:
            self.said.append(f"{sql.split()[0]} {exc.pgcode}")
            while self.between:
                self.between.pop()()
            raise
        self.said.append(f"{sql.split()[0]} ok")


def test_a_statement_another_client_prepared_meanwhile_is_executed(pooled: Callable[..., Any]) -> None:
    """Two server sessions, S1 holding the statement and S2 not. The call's EXECUTE lands on S2
    (26000); meanwhile S1 comes free and S2 is taken, so its PREPARE; EXECUTE lands on S1, which
    already has it (42P05). Neither ran anything: it EXECUTEs again and gets its rows on S1."""
    _running, connect = pooled(2)
    probe = Prepared("qbwc_probe", PROBE)
    holder, other, caller = connect(), connect(), connect()
    holder.autocommit = other.autocommit = False
    holder.cursor().execute("SELECT 1")  # holds a server session in its transaction
    s2 = backend(holder)
    assert probe.run(connect(), dict(POOLED), {"n": 1})[0]["n"] == 2  # prepared on the other, S1
    other.cursor().execute("SELECT 1")  # holds S1 ...
    s1 = backend(other)
    assert s1 != s2 and executions(other, probe) == 1
    holder.commit()  # ... so the caller's EXECUTE lands on S2

    def meanwhile() -> None:  # ... until the caller's EXECUTE missed on S2; then S2 is held, S1 free
        holder.cursor().execute("SELECT 1")
        other.commit()

    Recording.said, Recording.between = [], [meanwhile]
    caller.cursor_factory = Recording
    assert probe.run(caller, dict(POOLED), {"n": 5}) == [{"n": 6, "percent": "100%", "twice": 10}]
    assert Recording.said == ["EXECUTE 26000", "PREPARE 42P05", "EXECUTE ok"]
    assert backend(holder) == s2
    holder.commit()


def test_two_names_for_one_text_share_its_prepared_statement_directly(database_url: str) -> None:
    """Directly on PostgreSQL a connection prepares by the text's digest: a second name for the
    same text executes what the first prepared, never PREPAREs it twice (42P05)."""
    one, other = Prepared("qbwc_one", PROBE), Prepared("qbwc_other", PROBE)
    info: dict[str, Any] = {}
    with contextlib.closing(psycopg2.connect(database_url.replace("+psycopg2", ""))) as connection:
        connection.autocommit = True
        assert one.run(connection, info, {"n": 1})[0]["n"] == 2
        assert other.run(connection, info, {"n": 2})[0]["n"] == 3
        assert executions(connection, one) == 2
