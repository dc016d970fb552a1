"""The idle poll's verdict: a tenant found with nothing to do is answered from its row alone
until its next job or pull falls due, and never once work has come since (migration 0010).

The Web Connector's view must not change: work that arrives after an idle poll, in any of the
ways work arrives, starts a session on the very next poll. Over real HTTP, like the Web Connector.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text

from qbwc_server.admin import jobs as admin_jobs
from qbwc_server.sync import raw, schedule
from qbwc_server.webconnector import statements as sql
from qbwc_server.webconnector.session import WebConnectorSessions
from tests.conftest import TenantCredentials
from tests.test_protocol import CUSTOMER_QUERY, authenticate, enqueue_raw


def verdict(engine: Engine, tenant_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text("""
                SELECT idle_until, idle_until = 'infinity' AS forever, idle_epoch, work_epoch,
                       coalesce(idle_until > now() AND idle_epoch = work_epoch, false) AS holds
                FROM tenants WHERE id = :t
            """),
            {"t": tenant_id},
        ).one()
    return dict(row._mapping)


def run(engine: Engine, statement: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def idle_poll(url: str, creds: TenantCredentials) -> list[str]:
    answer = authenticate(url, creds)
    assert answer[:2] == ["", "none"], answer
    return answer


def first_contact(url: str, creds: TenantCredentials) -> None:
    """A tenant's first poll plans its pulls (all off here); the verdict comes from the next."""
    idle_poll(url, creds)


def starts_a_session(url: str, creds: TenantCredentials) -> bool:
    ticket = authenticate(url, creds)[0]
    return len(ticket) == 32


def test_an_idle_poll_notes_until_when_nothing_is_due_and_the_next_poll_trusts_it(
    server, tenant: TenantCredentials, engine: Engine
) -> None:
    first_contact(server.url, tenant)
    assert verdict(engine, tenant.id)["idle_until"] is None
    idle_poll(server.url, tenant)
    noted = verdict(engine, tenant.id)
    assert noted["holds"] and noted["forever"], noted  # nothing queued, pulls off: nothing falls due
    # What the verdict stands for: a job written without the triggers (as no code path can) is
    # not seen until the verdict ends; this is what spares the idle poll the queue's probes.
    run(engine, "ALTER TABLE jobs DISABLE TRIGGER USER")
    try:
        enqueue_raw(engine, tenant.id)
    finally:
        run(engine, "ALTER TABLE jobs ENABLE TRIGGER USER")
    idle_poll(server.url, tenant)
    run(engine, "UPDATE tenants SET idle_until = now() - interval '1 second' WHERE id = :t", t=tenant.id)
    assert starts_a_session(server.url, tenant)


def test_a_job_queued_after_an_idle_poll_starts_a_session_on_the_next(
    server, tenant: TenantCredentials, engine: Engine
) -> None:
    first_contact(server.url, tenant)
    idle_poll(server.url, tenant)
    enqueue_raw(engine, tenant.id)
    assert not verdict(engine, tenant.id)["holds"]
    assert starts_a_session(server.url, tenant)


def test_a_job_due_later_sets_the_wait_and_ends_the_verdict_when_it_falls_due(
    server, tenant: TenantCredentials, engine: Engine
) -> None:
    first_contact(server.url, tenant)
    job = enqueue_raw(engine, tenant.id)
    run(engine, "UPDATE jobs SET run_after = now() + interval '2 seconds' WHERE id = :j", j=job)
    first = idle_poll(server.url, tenant)
    assert first[2] in ("1", "2"), first  # the Web Connector comes back when it falls due
    assert verdict(engine, tenant.id)["holds"]
    assert idle_poll(server.url, tenant)[2] in ("1", "2")  # from the verdict: the same answer
    time.sleep(2.2)
    assert starts_a_session(server.url, tenant)


def retried(engine: Engine, job: int) -> None:
    with engine.begin() as conn:
        admin_jobs.retry_job(conn, job)  # what `jobs retry` and the status page's button run


#: What keeps a queued job from running, and what makes it runnable again.
MADE_RUNNABLE: dict[str, tuple[str, Callable[[Engine, int], None]]] = {
    "due-sooner": (
        "UPDATE jobs SET run_after = now() + interval '1 hour' WHERE id = :j",
        lambda engine, job: run(engine, "UPDATE jobs SET run_after = now() WHERE id = :j", j=job),
    ),
    "failed-then-retried": ("UPDATE jobs SET status = 'failed', finished_at = now() WHERE id = :j", retried),
    "unconfirmed-then-looked-up": (
        "UPDATE jobs SET status = 'unconfirmed', if_unanswered = 'hold' WHERE id = :j",
        lambda engine, job: run(engine, "UPDATE jobs SET if_unanswered = 'look_up' WHERE id = :j", j=job),
    ),
}


@pytest.mark.parametrize("case", MADE_RUNNABLE)
def test_a_job_made_runnable_after_an_idle_poll_starts_a_session_on_the_next(
    server, tenant: TenantCredentials, engine: Engine, case: str
) -> None:
    held, made_runnable = MADE_RUNNABLE[case]
    first_contact(server.url, tenant)
    job = enqueue_raw(engine, tenant.id)
    run(engine, held, j=job)
    idle_poll(server.url, tenant)
    assert verdict(engine, tenant.id)["holds"]
    made_runnable(engine, job)
    assert starts_a_session(server.url, tenant)


def test_a_pull_made_due_after_an_idle_poll_is_planned_on_the_next(
    server, make_tenant, engine: Engine
) -> None:
    creds = make_tenant("puller", pulls=True)
    with engine.begin() as conn:  # the pulls planned and run: nothing due for a while
        schedule.enqueue_due_pulls(conn, creds.id, dt.timedelta(days=30))
        conn.execute(text("DELETE FROM jobs WHERE tenant_id = :t"), {"t": creds.id})
        conn.execute(
            text("UPDATE sync_cursors SET next_due_at = now() + interval '1 hour' WHERE tenant_id = :t"),
            {"t": creds.id},
        )
    idle_poll(server.url, creds)
    assert verdict(engine, creds.id)["holds"]
    run(
        engine,
        "UPDATE sync_cursors SET next_due_at = now() WHERE tenant_id = :t AND entity = 'customers'",
        t=creds.id,
    )
    assert starts_a_session(server.url, creds)


def test_new_settings_end_the_verdict(server, tenant: TenantCredentials, engine: Engine) -> None:
    first_contact(server.url, tenant)
    idle_poll(server.url, tenant)
    before = verdict(engine, tenant.id)
    run(
        engine,
        "UPDATE tenants SET settings = settings || CAST(:s AS jsonb) WHERE id = :t",
        s=json.dumps({"pull_intervals": {"default": 300}}),
        t=tenant.id,
    )
    after = verdict(engine, tenant.id)
    assert after["work_epoch"] == before["work_epoch"] + 1 and not after["holds"]
    run(engine, "UPDATE tenants SET last_seen_at = now() WHERE id = :t", t=tenant.id)
    assert verdict(engine, tenant.id)["work_epoch"] == after["work_epoch"], "only settings count"


def test_a_verdict_taken_before_work_arrived_is_not_trusted(
    server, tenant: TenantCredentials, engine: Engine
) -> None:
    """The race the epoch closes: a look-up whose snapshot missed a job committed meanwhile notes
    the epoch it read, which that job's transaction had already moved past."""
    first_contact(server.url, tenant)
    idle_poll(server.url, tenant)
    enqueue_raw(engine, tenant.id)
    stale = verdict(engine, tenant.id)["work_epoch"] - 1
    run(
        engine,
        "UPDATE tenants SET idle_until = 'infinity', idle_epoch = :e WHERE id = :t",
        e=stale,
        t=tenant.id,
    )
    assert starts_a_session(server.url, tenant)


def test_a_poll_during_an_uncommitted_enqueue_neither_waits_nor_misses_the_job(
    server, tenant: TenantCredentials, engine: Engine
) -> None:
    """The enqueue holds the tenant's row (its epoch moved) until it commits: the poll sees no
    job yet, answers at once, and notes no verdict; the job starts a session once committed."""
    first_contact(server.url, tenant)
    with engine.connect() as conn:
        transaction = conn.begin()
        raw.enqueue_raw(conn, tenant.id, CUSTOMER_QUERY)
        started = time.monotonic()
        idle_poll(server.url, tenant)
        assert time.monotonic() - started < 2, "the poll waited for the enqueue's transaction"
        transaction.commit()
    assert not verdict(engine, tenant.id)["holds"]
    assert starts_a_session(server.url, tenant)


def test_a_bulk_enqueue_moves_the_epoch_once(tenant: TenantCredentials, engine: Engine) -> None:
    """One write of the tenant's row per transaction, not one per job."""
    before = verdict(engine, tenant.id)["work_epoch"]
    with engine.begin() as conn:
        for _ in range(20):
            raw.enqueue_raw(conn, tenant.id, CUSTOMER_QUERY)
    assert verdict(engine, tenant.id)["work_epoch"] == before + 1


def test_a_tenant_with_work_or_a_session_gets_no_verdict(
    server, tenant: TenantCredentials, engine: Engine
) -> None:
    enqueue_raw(engine, tenant.id)
    assert starts_a_session(server.url, tenant)
    assert verdict(engine, tenant.id)["idle_until"] is None


def test_without_the_function_authenticate_uses_the_plain_look_up(
    settings, tenant: TenantCredentials, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Code newer than the database's last `db upgrade` still answers, and says what to run."""
    run(engine, f"DROP FUNCTION {sql.AUTHENTICATE.server_name}")
    sessions = WebConnectorSessions(engine, settings)
    assert sessions.authenticate(tenant.username, tenant.password, "127.0.0.1")[:2] == ["", "none"]
    assert "qbwc-server db upgrade" in caplog.text
    enqueue_raw(engine, tenant.id)
    assert len(sessions.authenticate(tenant.username, tenant.password, "127.0.0.1")[0]) == 32
