"""The Postgres job queue against a real database, with real commits seen by several connections.

Each test gets its own database copied from the migrated template, so claims, leases and the
CHECK constraints behave exactly as in production: no mocks, no savepoint rollbacks.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from qbwc_server import queue
from qbwc_server.models import JobStatus
from qbwc_server.qbxml.errors import Outcome
from qbwc_server.queue import Action, JobResult, QueueError
from qbwc_server.queue.stored import response_text
from tests.conftest import TenantCredentials

CUSTOMER_QUERY = '<CustomerQueryRq requestID="1"/>'


# -- helpers ----------------------------------------------------------------------------------


def enqueue(engine: Engine, tenant_id: int, kind: str = "customer.pull", **kwargs: Any) -> int:
    with engine.begin() as conn:
        return queue.enqueue(conn, tenant_id, kind, **kwargs)


def claim(engine: Engine, tenant_id: int, ticket: str = "ticket-1") -> queue.ClaimedJob | None:
    with engine.begin() as conn:
        return queue.claim_next_job(conn, tenant_id, ticket)


def claim_id(engine: Engine, tenant_id: int, ticket: str = "ticket-1") -> int | None:
    job = claim(engine, tenant_id, ticket)
    return job.id if job else None


def job(engine: Engine, job_id: int) -> dict[str, Any]:
    """The job's row, plus `backoff`: seconds from its last update to `run_after`."""
    with engine.connect() as conn:
        row = conn.execute(
            text("""
                SELECT *, extract(epoch FROM run_after - updated_at) AS backoff,
                       run_after > now() AS in_future
                FROM jobs WHERE id = :id
            """),
            {"id": job_id},
        ).one()
    return dict(row._mapping)


def add_session(engine: Engine, tenant_id: int, ticket: str, state: str = "open") -> None:
    """A qbwc_sessions row; non-open sessions get closed_at, as the CHECK requires."""
    closed_at = "now()" if state != "open" else "NULL"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO qbwc_sessions (ticket, tenant_id, state, closed_at)"
                f" VALUES (:ticket, :tenant_id, :state, {closed_at})"
            ),
            {"ticket": ticket, "tenant_id": tenant_id, "state": state},
        )


def make_due(engine: Engine, job_id: int) -> None:
    """Let the backoff pass without waiting for it."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET run_after = now() WHERE id = :id"), {"id": job_id})


def finish(engine: Engine, job_id: int) -> None:
    with engine.begin() as conn:
        queue.settle(conn, job_id, JobResult(Action.DONE, response_xml="<CustomerQueryRs/>", status_code=0))


def fail(engine: Engine, job_id: int, outcome: Outcome, message: str = "boom") -> JobStatus:
    with engine.begin() as conn:
        return queue.settle(conn, job_id, JobResult.fail(outcome, message, 3100))


# -- enqueue and claim ------------------------------------------------------------------------


def test_claim_returns_the_job_and_leases_it_to_the_ticket(engine: Engine, tenant: TenantCredentials) -> None:
    job_id = enqueue(engine, tenant.id, "qbxml.raw", request_body=CUSTOMER_QUERY, entity_ref="cust-7")

    claimed = claim(engine, tenant.id, "ticket-A")

    assert claimed == queue.ClaimedJob(job_id, tenant.id, "qbxml.raw", "cust-7", CUSTOMER_QUERY, attempts=1)
    row = job(engine, job_id)
    assert row["status"] == "sent"
    assert row["lease_ticket"] == "ticket-A"
    assert row["sent_at"] is not None
    assert row["attempts"] == 1
    assert claim(engine, tenant.id, "ticket-A") is None, "a sent job must not be claimed twice"


def test_claim_takes_lowest_priority_first_then_oldest(engine: Engine, tenant: TenantCredentials) -> None:
    late_default = enqueue(engine, tenant.id, priority=100)
    urgent_old = enqueue(engine, tenant.id, priority=10)
    urgent_new = enqueue(engine, tenant.id, priority=10)
    middle = enqueue(engine, tenant.id, priority=50)

    order = [claim_id(engine, tenant.id) for _ in range(5)]

    assert order == [urgent_old, urgent_new, middle, late_default, None]


def test_claim_only_sees_the_sessions_own_tenant(
    engine: Engine, make_tenant: Callable[..., TenantCredentials]
) -> None:
    acme, globex = make_tenant("acme"), make_tenant("globex")
    acme_job = enqueue(engine, acme.id)

    assert claim_id(engine, globex.id) is None
    assert claim_id(engine, acme.id) == acme_job


def test_job_due_later_is_not_claimable_until_then(engine: Engine, tenant: TenantCredentials) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    job_id = enqueue(engine, tenant.id, run_after=later)

    assert claim_id(engine, tenant.id) is None
    make_due(engine, job_id)
    assert claim_id(engine, tenant.id) == job_id


def test_dependent_waits_until_its_dependency_is_done(engine: Engine, tenant: TenantCredentials) -> None:
    customer = enqueue(engine, tenant.id, "customer.push", priority=100)
    order = enqueue(engine, tenant.id, "order.push", priority=1, depends_on=customer)

    assert claim_id(engine, tenant.id) == customer, "the order must wait despite its better priority"
    assert claim_id(engine, tenant.id) is None, "the order must wait while its customer is in flight"
    finish(engine, customer)
    assert claim_id(engine, tenant.id) == order


# -- concurrency ------------------------------------------------------------------------------


def test_concurrent_claims_skip_each_others_locked_job(engine: Engine, tenant: TenantCredentials) -> None:
    first, second = enqueue(engine, tenant.id), enqueue(engine, tenant.id)

    with engine.connect() as a, engine.connect() as b:
        a.begin()
        b.begin()
        # Were the claim to wait on A's row lock instead of skipping it, B fails here, not hangs.
        b.execute(text("SET LOCAL lock_timeout = '5s'"))
        claimed_a = queue.claim_next_job(a, tenant.id, "ticket-A")
        claimed_b = queue.claim_next_job(b, tenant.id, "ticket-B")
        nothing_left = queue.claim_next_job(b, tenant.id, "ticket-B")
        a.commit()
        b.commit()

    assert claimed_a is not None and claimed_b is not None
    assert (claimed_a.id, claimed_b.id) == (first, second)
    assert nothing_left is None
    assert job(engine, first)["lease_ticket"] == "ticket-A"
    assert job(engine, second)["lease_ticket"] == "ticket-B"


def test_job_locked_by_an_uncommitted_claim_comes_back_after_rollback(
    engine: Engine, tenant: TenantCredentials
) -> None:
    only = enqueue(engine, tenant.id)

    with engine.connect() as a, engine.connect() as b:
        a.begin()
        b.begin()
        b.execute(text("SET LOCAL lock_timeout = '5s'"))
        assert queue.claim_next_job(a, tenant.id, "ticket-A") is not None
        assert queue.claim_next_job(b, tenant.id, "ticket-B") is None
        a.rollback()  # e.g. the worker died before sending the request
        b.rollback()

    assert job(engine, only)["status"] == "queued"
    assert claim_id(engine, tenant.id, "ticket-B") == only


def test_many_threads_claiming_at_once_take_every_job_exactly_once(
    engine: Engine, tenant: TenantCredentials
) -> None:
    job_ids = [enqueue(engine, tenant.id, priority=i % 3) for i in range(120)]
    threads = 6  # below the engine's pool of 5 + 5 overflow connections
    start = threading.Barrier(threads)

    def drain(worker: int) -> list[int]:
        ticket, taken = f"ticket-{worker}", []
        start.wait()
        while (claimed := claim(engine, tenant.id, ticket)) is not None:
            taken.append(claimed.id)
        return taken

    with ThreadPoolExecutor(threads) as pool:
        per_worker = list(pool.map(drain, range(threads)))

    claimed = [job_id for taken in per_worker for job_id in taken]
    assert len(claimed) == len(set(claimed)), "some job was claimed by two sessions"
    assert sorted(claimed) == sorted(job_ids)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, lease_ticket FROM jobs WHERE status = 'sent'")).all()
    leases = {row.id: row.lease_ticket for row in rows}
    for worker, taken in enumerate(per_worker):
        assert all(leases[job_id] == f"ticket-{worker}" for job_id in taken)


def test_finishing_a_job_is_part_of_the_callers_transaction(
    engine: Engine, tenant: TenantCredentials
) -> None:
    job_id = enqueue(engine, tenant.id)
    claim(engine, tenant.id)

    with engine.connect() as conn:  # the response is applied, then something fails: all rolled back
        conn.begin()
        queue.settle(conn, job_id, JobResult(Action.DONE, response_xml="<CustomerQueryRs/>", status_code=0))
        conn.rollback()
    assert job(engine, job_id)["status"] == "sent"

    with engine.connect() as conn:  # same pooled connection, now committed
        conn.begin()
        queue.settle(conn, job_id, JobResult(Action.DONE, response_xml="<CustomerQueryRs/>", status_code=0))
        with pytest.raises(QueueError, match="not in flight"):
            queue.settle(conn, job_id, JobResult(Action.DONE))
        conn.commit()
    row = job(engine, job_id)
    answer = response_text(row["response_gz"], row["response_xml"])
    assert (row["status"], answer, row["last_status_code"]) == ("done", "<CustomerQueryRs/>", 0)
    assert row["finished_at"] is not None


# -- failures, retries, cancellation ----------------------------------------------------------


def test_transient_failure_requeues_with_growing_backoff_then_dies(
    engine: Engine, tenant: TenantCredentials
) -> None:
    job_id = enqueue(engine, tenant.id, "customer.push", max_attempts=3)
    dependent = enqueue(engine, tenant.id, "order.push", depends_on=job_id)

    backoffs = []
    for _ in range(2):
        assert claim_id(engine, tenant.id) == job_id
        assert fail(engine, job_id, Outcome.RETRY, "QuickBooks is busy") is JobStatus.QUEUED
        row = job(engine, job_id)
        assert row["status"] == "queued" and row["in_future"], "a retried job must wait its backoff"
        assert claim_id(engine, tenant.id) is None
        backoffs.append(row["backoff"])
        make_due(engine, job_id)

    assert backoffs[0] == queue.BACKOFF_BASE_SECONDS
    assert backoffs[1] > backoffs[0]

    assert claim_id(engine, tenant.id) == job_id
    assert fail(engine, job_id, Outcome.RETRY, "QuickBooks is busy") is JobStatus.DEAD
    row = job(engine, job_id)
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("dead", 3, 3100)
    assert row["finished_at"] is not None
    blocked = job(engine, dependent)
    assert blocked["status"] == "blocked"
    assert f"job {job_id}" in blocked["last_message"] and "QuickBooks is busy" in blocked["last_message"]


def test_needs_admin_fails_the_job_and_blocks_its_dependents_transitively(
    engine: Engine, tenant: TenantCredentials
) -> None:
    customer = enqueue(engine, tenant.id, "customer.push")
    order = enqueue(engine, tenant.id, "order.push", depends_on=customer)
    payment = enqueue(engine, tenant.id, "payment.push", depends_on=order)
    unrelated = enqueue(engine, tenant.id, "customer.pull")

    assert claim_id(engine, tenant.id) == customer
    status = fail(engine, customer, Outcome.NEEDS_ADMIN, "the name is already in use (3100)")

    assert status is JobStatus.FAILED
    row = job(engine, customer)
    assert (row["status"], row["last_message"]) == ("failed", "the name is already in use (3100)")
    for dependent in (order, payment):
        held = job(engine, dependent)
        assert held["status"] == "blocked"
        assert f"job {customer}" in held["last_message"] and "already in use" in held["last_message"]
    assert claim_id(engine, tenant.id) == unrelated
    assert claim_id(engine, tenant.id) is None


def test_job_enqueued_after_its_dependency_failed_is_blocked_with_the_reason(
    engine: Engine, tenant: TenantCredentials
) -> None:
    customer = enqueue(engine, tenant.id, "customer.push")
    claim(engine, tenant.id)
    fail(engine, customer, Outcome.NEEDS_ADMIN, "fix the customer")

    order = enqueue(engine, tenant.id, "order.push", depends_on=customer)

    row = job(engine, order)
    assert row["status"] == "blocked" and f"job {customer}" in (row["last_message"] or ""), (
        "Regression (qbwc_server/queue.py enqueue): a job whose dependency has already failed or died is"
        f" inserted as {row['status']!r} with message {row['last_message']!r}: it cannot run until an"
        " admin retries the dependency, yet it looks like plain queued work with no reason. It should"
        " start 'blocked' with the dependency's failure, like the dependents fail_job blocks"
        " (DESIGN.md, The queue)."
    )


def test_dead_outcome_gives_up_at_once(engine: Engine, tenant: TenantCredentials) -> None:
    job_id = enqueue(engine, tenant.id, max_attempts=5)
    claim(engine, tenant.id)

    assert fail(engine, job_id, Outcome.DEAD, "unsupported request") is JobStatus.DEAD
    assert job(engine, job_id)["status"] == "dead"


def test_failing_or_finishing_a_job_not_in_flight_is_refused(
    engine: Engine, tenant: TenantCredentials
) -> None:
    job_id = enqueue(engine, tenant.id)

    with pytest.raises(QueueError, match="not in flight"), engine.begin() as conn:
        queue.settle(conn, job_id, JobResult.fail(Outcome.RETRY, "late answer"))
    with pytest.raises(QueueError, match="not in flight"), engine.begin() as conn:
        queue.settle(conn, job_id, JobResult(Action.DONE))
    assert job(engine, job_id)["status"] == "queued"


def test_retry_requeues_a_failed_job_with_fresh_attempts_and_unblocks_dependents(
    engine: Engine, tenant: TenantCredentials
) -> None:
    customer = enqueue(engine, tenant.id, "customer.push")
    order = enqueue(engine, tenant.id, "order.push", depends_on=customer)
    payment = enqueue(engine, tenant.id, "payment.push", depends_on=order)
    claim(engine, tenant.id)
    fail(engine, customer, Outcome.NEEDS_ADMIN, "fix the customer")

    with engine.begin() as conn:
        queue.retry_job(conn, customer)

    row = job(engine, customer)
    assert (row["status"], row["attempts"], row["last_message"], row["finished_at"]) == (
        "queued",
        0,
        None,
        None,
    )
    for dependent in (order, payment):
        assert job(engine, dependent)["status"] == "queued"
        assert job(engine, dependent)["last_message"] is None
    claimed = claim(engine, tenant.id)
    assert claimed is not None and (claimed.id, claimed.attempts) == (customer, 1)
    assert claim_id(engine, tenant.id) is None, "the order still waits for its customer to be done"


def test_retry_revives_a_dead_job(engine: Engine, tenant: TenantCredentials) -> None:
    job_id = enqueue(engine, tenant.id, max_attempts=1)
    claim(engine, tenant.id)
    assert fail(engine, job_id, Outcome.RETRY) is JobStatus.DEAD

    with engine.begin() as conn:
        queue.retry_job(conn, job_id)

    claimed = claim(engine, tenant.id)
    assert claimed is not None and (claimed.id, claimed.attempts) == (job_id, 1)


@pytest.mark.parametrize("state", ["queued", "sent", "done"])
def test_retry_refuses_jobs_that_are_not_failed(
    engine: Engine, tenant: TenantCredentials, state: str
) -> None:
    job_id = enqueue(engine, tenant.id)
    if state != "queued":
        claim(engine, tenant.id)
    if state == "done":
        finish(engine, job_id)

    with pytest.raises(QueueError, match="not failed, dead or blocked"), engine.begin() as conn:
        queue.retry_job(conn, job_id)
    assert job(engine, job_id)["status"] == state


def test_cancel_kills_a_queued_job_and_blocks_its_dependents(
    engine: Engine, tenant: TenantCredentials
) -> None:
    customer = enqueue(engine, tenant.id, "customer.push")
    order = enqueue(engine, tenant.id, "order.push", depends_on=customer)

    with engine.begin() as conn:
        queue.cancel_job(conn, customer)

    row = job(engine, customer)
    assert (row["status"], row["last_message"]) == ("dead", "cancelled by an admin")
    held = job(engine, order)
    assert held["status"] == "blocked" and "cancelled" in held["last_message"]
    assert claim_id(engine, tenant.id) is None


def test_cancel_refuses_jobs_in_flight_or_finished(engine: Engine, tenant: TenantCredentials) -> None:
    in_flight = enqueue(engine, tenant.id)
    claim(engine, tenant.id)
    done = enqueue(engine, tenant.id)
    claim(engine, tenant.id)
    finish(engine, done)

    for job_id in (in_flight, done, 999_999):
        with pytest.raises(QueueError), engine.begin() as conn:
            queue.cancel_job(conn, job_id)
    assert job(engine, in_flight)["status"] == "sent"
    assert job(engine, done)["status"] == "done"


# -- leases -----------------------------------------------------------------------------------


def test_release_leases_requeues_only_that_sessions_jobs(engine: Engine, tenant: TenantCredentials) -> None:
    mine = [enqueue(engine, tenant.id), enqueue(engine, tenant.id)]
    theirs = enqueue(engine, tenant.id)
    claim(engine, tenant.id, "ticket-A")
    claim(engine, tenant.id, "ticket-A")
    claim(engine, tenant.id, "ticket-B")

    with engine.begin() as conn:
        released = queue.release_leases(conn, "ticket-A")

    assert released == 2
    for job_id in mine:
        row = job(engine, job_id)
        assert (row["status"], row["sent_at"]) == ("queued", None)
        assert "session ended" in row["last_message"]
    assert job(engine, theirs)["status"] == "sent"
    assert [claim_id(engine, tenant.id, "ticket-C"), claim_id(engine, tenant.id, "ticket-C")] == mine


@pytest.mark.parametrize("dead_state", ["expired", "closed", "failed"])
def test_reclaim_requeues_jobs_of_ended_sessions_but_not_of_the_open_one(
    engine: Engine, tenant: TenantCredentials, dead_state: str
) -> None:
    add_session(engine, tenant.id, "ticket-dead", dead_state)
    add_session(engine, tenant.id, "ticket-live", "open")
    orphaned, live = enqueue(engine, tenant.id), enqueue(engine, tenant.id)
    assert claim_id(engine, tenant.id, "ticket-dead") == orphaned
    assert claim_id(engine, tenant.id, "ticket-live") == live

    with engine.begin() as conn:
        reclaimed = queue.reclaim_expired_leases(conn)

    assert reclaimed == 1
    assert job(engine, orphaned)["status"] == "queued"
    assert job(engine, live)["status"] == "sent"
    reclaimed_job = claim(engine, tenant.id, "ticket-next")
    assert reclaimed_job is not None and reclaimed_job.id == orphaned


def test_a_job_whose_sessions_keep_dying_is_not_sent_past_its_attempt_cap(
    engine: Engine, tenant: TenantCredentials
) -> None:
    job_id = enqueue(engine, tenant.id, max_attempts=2)
    attempts_seen = []
    for session in range(4):  # each session dies with the job in flight (e.g. QuickBooks crashed on it)
        claimed = claim(engine, tenant.id, f"ticket-{session}")
        if claimed is None:
            break
        attempts_seen.append(claimed.attempts)
        with engine.begin() as conn:
            queue.reclaim_expired_leases(conn, tenant.id)

    row = job(engine, job_id)
    assert max(attempts_seen) <= 2, (
        "Regression (qbwc_server/queue.py claim_next_job / reclaim_expired_leases): a reclaimed lease goes"
        " back to 'queued' and the claim never checks attempts against max_attempts, so a job whose"
        f" sessions keep dying is sent again and again: attempts {attempts_seen}, now"
        f" {row['attempts']} of {row['max_attempts']} and still {row['status']!r}. After max_attempts"
        " sends it should stop going out (dead, with the reason, dependents blocked)."
    )


def test_reclaim_for_one_tenant_leaves_other_tenants_alone(
    engine: Engine, make_tenant: Callable[..., TenantCredentials]
) -> None:
    acme, globex = make_tenant("acme"), make_tenant("globex")
    add_session(engine, acme.id, "acme-old", "expired")
    add_session(engine, globex.id, "globex-old", "expired")
    acme_job, globex_job = enqueue(engine, acme.id), enqueue(engine, globex.id)
    claim(engine, acme.id, "acme-old")
    claim(engine, globex.id, "globex-old")

    with engine.begin() as conn:
        assert queue.reclaim_expired_leases(conn, acme.id) == 1

    assert job(engine, acme_job)["status"] == "queued"
    assert job(engine, globex_job)["status"] == "sent"


# -- counting ---------------------------------------------------------------------------------


def test_count_runnable_now_and_within_a_horizon(
    engine: Engine, make_tenant: Callable[..., TenantCredentials]
) -> None:
    acme, globex = make_tenant("acme"), make_tenant("globex")
    in_ten_minutes = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    enqueue(engine, acme.id)
    enqueue(engine, acme.id, run_after=in_ten_minutes)
    waiting_on = enqueue(engine, acme.id, run_after=in_ten_minutes)
    enqueue(engine, acme.id, depends_on=waiting_on)
    enqueue(engine, globex.id)

    with engine.connect() as conn:
        assert queue.count_runnable(conn, acme.id) == 1
        assert queue.count_runnable(conn, acme.id, within_seconds=60) == 1
        assert queue.count_runnable(conn, acme.id, within_seconds=3600) == 3
        assert queue.count_runnable(conn, globex.id) == 1


# -- invariants kept by the database ----------------------------------------------------------


@pytest.mark.parametrize(
    ("assignments", "reason"),
    [
        ("status = 'sent'", "a sent job needs a lease ticket and sent_at"),
        ("status = 'sent', lease_ticket = 't'", "a sent job needs sent_at"),
        ("status = 'done'", "a finished job needs finished_at"),
        ("finished_at = now()", "a queued job cannot be finished"),
        ("status = 'lost'", "unknown status"),
        ("if_unanswered = 'maybe'", "what happens to an unanswered job is one of three rules"),
    ],
)
def test_database_refuses_impossible_job_states(
    engine: Engine, tenant: TenantCredentials, assignments: str, reason: str
) -> None:
    job_id = enqueue(engine, tenant.id)

    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(f"UPDATE jobs SET {assignments} WHERE id = :id"), {"id": job_id})
    assert job(engine, job_id)["status"] == "queued", reason


def test_database_allows_one_open_session_per_tenant(engine: Engine, tenant: TenantCredentials) -> None:
    add_session(engine, tenant.id, "first", "open")
    add_session(engine, tenant.id, "older", "expired")  # ended sessions are unlimited

    with pytest.raises(IntegrityError, match="uq_qbwc_sessions_one_open_per_tenant"):
        add_session(engine, tenant.id, "second", "open")


def test_database_refuses_an_ended_session_without_closed_at(
    engine: Engine, tenant: TenantCredentials
) -> None:
    with pytest.raises(IntegrityError, match="closed_at_matches_state"), engine.begin() as conn:
        conn.execute(
            text("INSERT INTO qbwc_sessions (ticket, tenant_id, state) VALUES ('t', :id, 'closed')"),
            {"id": tenant.id},
        )
