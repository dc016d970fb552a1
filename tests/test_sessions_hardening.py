"""Hardening of the Web Connector session: login throttling that strangers cannot turn into a
lockout, an absolute session lifetime, pooled connections that survive a PostgreSQL restart, and
text from outside that can neither forge nor flood a log line.

Real PostgreSQL throughout; protocol tests go over real HTTP. Timing claims are asserted as
work done (argon2 verifications counted by a spy), never by the clock.
"""

from __future__ import annotations

import dataclasses
import os
import select
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from qbwc_server.admin import tenants
from qbwc_server.app import create_app
from qbwc_server.config import Settings
from qbwc_server.db import (
    DatabaseError,
    Prepared,
    SingleStatements,
    _import_embedded_postgres,
    make_engine,
    start_embedded_postgres,
    stop_embedded_postgres,
    upgrade_to_head,
)
from qbwc_server.logsafe import safe
from qbwc_server.testing import BackgroundServer
from tests.conftest import TenantCredentials
from tests.test_protocol import authenticate, enqueue_raw, hcp, receive, send_request
from tests.wire import call

ADMIN_PASSWORD = "correct horse battery staple"
ATTACKER = "198.51.100.66"
OFFICE = "203.0.113.10"

# -- 6. pooled connections after a PostgreSQL restart --------------------------------------------


@dataclasses.dataclass
class RestartablePostgres:
    data_dir: Path
    url: str

    def restart(self) -> None:
        embedded = _import_embedded_postgres(self.data_dir)
        user = "embedded_postgres" if os.geteuid() == 0 else None  # as db.stop_embedded_postgres
        embedded.pg_ctl(
            ["-w", "-m", "fast", "restart"], pgdata=self.data_dir / "pgdata", user=user, timeout=60
        )


@pytest.fixture(scope="module")
def restartable_postgres() -> Iterator[RestartablePostgres]:
    """A throwaway PostgreSQL of this test's own, to restart: never the shared one."""
    data_dir = Path(tempfile.mkdtemp(prefix="qbwc-restart-pg-"))
    try:
        url = start_embedded_postgres(data_dir)
        upgrade_to_head(url)
        yield RestartablePostgres(data_dir, url)
    finally:
        stop_embedded_postgres(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


def _one_of_each(url: str, creds: TenantCredentials, engine: Engine) -> list[str]:
    """A whole session, and a connectionError on another (each pool gets used)."""
    enqueue_raw(engine, creds.id)
    ticket = authenticate(url, creds)[0]
    answers = [ticket, send_request(url, ticket, hcp()), str(receive(url, ticket))]
    answers.append(call(url, "getLastError", ("ticket", ticket)).text("getLastError") or "(empty)")
    answers.append(call(url, "closeConnection", ("ticket", ticket)).text("closeConnection"))
    enqueue_raw(engine, creds.id)
    other = authenticate(url, creds)[0]
    answers.append(
        call(
            url,
            "connectionError",
            ("ticket", other),
            ("hresult", "0x80040408"),
            ("message", "could not start"),
        ).text("connectionError")
    )
    return answers


@pytest.mark.slow
@pytest.mark.protocol
def test_pooled_connections_survive_a_postgresql_restart(restartable_postgres, tmp_path) -> None:
    pg = restartable_postgres
    settings = Settings(database_url=pg.url, data_dir=tmp_path, public_url="https://qbwc.example.com/qbwc")
    engine = make_engine(pg.url)
    with engine.begin() as conn:
        info, password = tenants.add_tenant(conn, "kilo", "kilo-qbwc")
        pulls_off = '{"pull_intervals": {"default": 0}}'
        conn.execute(
            text("UPDATE tenants SET settings = CAST(:s AS jsonb) WHERE id = :id"),
            {"s": pulls_off, "id": info.id},
        )
    creds = TenantCredentials(info.id, info.name, info.username, password or "")
    with BackgroundServer(create_app(settings, engine)) as served:
        before = _one_of_each(served.url, creds, engine)
        assert before[0] and before[-1] == "done"

        pg.restart()  # every pooled connection is now dead

        after = _one_of_each(served.url, creds, engine)
        assert after[0] and all(after), after
        assert int(after[2]) > 0 and after[-1] == "done"
    engine.dispose()


#: Kills its own connection the first time it runs (a sequence is not rolled back), then succeeds.
DIES_ONCE = """
    SELECT CASE WHEN nextval('qbwc_test_once') = 1 THEN pg_terminate_backend(pg_backend_pid())
                ELSE true END AS ok
"""
ONCE = Prepared("qbwc_test_once", DIES_ONCE)
ONCE_RETRIED = Prepared("qbwc_test_once_retried", DIES_ONCE, retry_safe=True)


def kill_backend(engine: Engine, pid: int, fileno: int) -> None:
    """End a backend from the server's side, and wait until its client socket has heard of it
    (the backend leaves pg_stat_activity a moment before its socket closes)."""
    with engine.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid}).scalar_one()
    poller = select.poll()
    poller.register(fileno, select.POLLIN)
    assert poller.poll(10_000), "the server never closed the connection"


def test_a_connection_killed_while_idle_is_replaced_before_use(database_url, engine) -> None:
    single = SingleStatements(database_url, max_connections=1)
    pid = Prepared("qbwc_test_pid", "SELECT pg_backend_pid() AS pid")
    first = single.one(pid, {})
    assert first is not None
    kill_backend(engine, first["pid"], single._idle.queue[-1].fileno())

    again = single.one(pid, {})  # not retry-safe, yet it never went out on the dead connection
    assert again is not None and again["pid"] != first["pid"]
    single.close()


def test_a_pooled_engine_connection_killed_while_idle_is_replaced_before_use(database_url, engine) -> None:
    pooled = make_engine(database_url, pool_size=1)
    with pooled.connect() as conn:
        first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        fileno = conn.connection.dbapi_connection.fileno()  # type: ignore[union-attr]
    kill_backend(engine, first, fileno)

    with pooled.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != first
    pooled.dispose()


def test_a_statement_whose_connection_died_under_it_is_retried_only_when_that_is_harmless(
    database_url, engine
) -> None:
    single = SingleStatements(database_url, max_connections=1)
    with engine.begin() as conn:
        conn.execute(text("CREATE SEQUENCE qbwc_test_once"))

    with pytest.raises(DatabaseError):
        single.one(ONCE, {})  # a write, say: whether it happened is unknown, so it is not repeated
    with engine.begin() as conn:
        assert conn.execute(text("SELECT last_value FROM qbwc_test_once")).scalar_one() == 1
        conn.execute(text("ALTER SEQUENCE qbwc_test_once RESTART"))

    assert single.one(ONCE_RETRIED, {}) == {"ok": True}, "a read is asked again on a fresh connection"
    with engine.begin() as conn:
        assert conn.execute(text("SELECT last_value FROM qbwc_test_once")).scalar_one() == 2, "once only"
    single.close()


# -- 7. text from outside in the logs and in what is stored ---------------------------------------

FORGED = "QuickBooks is busy\n2026-11-30 10:00:00 [CRITICAL] qbwc_server: database wiped"


def test_safe_escapes_control_characters_so_nothing_can_forge_a_log_line() -> None:
    escaped = safe(FORGED + "\r\x1b[2J")
    assert "\n" not in escaped and "\r" not in escaped and "\x1b" not in escaped
    assert escaped.startswith("QuickBooks is busy\\n2026-11-30") and escaped.endswith("\\r\\x1b[2J")
    assert safe("line\u2028separator\u202eoverride") == "line\\u2028separator\\u202eoverride"
    assert safe(None) == "" and safe("plain text") == "plain text"


def test_safe_cuts_long_text_with_a_marker() -> None:
    cut = safe("x" * 1_000_000, limit=500)
    assert len(cut) <= 500 and cut.startswith("x" * 400) and "1000000 characters" in cut
    assert len(safe("\n" * 1000, limit=100)) <= 100, "escaping cannot push it past the limit"
    assert safe("y" * 500, limit=500) == "y" * 500
