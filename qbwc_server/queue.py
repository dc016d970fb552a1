"""The Postgres job queue: enqueue, claim, finish, fail, retry, reclaim.

Knows jobs and their states, nothing of SOAP or qbXML. Every function takes the caller's
`Connection`, so a response is applied and its job finished in the caller's one transaction.

Lifecycle:  queued -> sent -> done
                        \\-> queued (retry after backoff) -> ... -> dead (attempts exhausted)
                        \\-> failed (needs an admin)
            a job whose dependency failed or died -> blocked (until that dependency is retried)
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from qbwc_server.db import Prepared
from qbwc_server.errors import QbwcError
from qbwc_server.models import JobStatus


class QueueError(QbwcError):
    """A queue operation that cannot be done as asked (unknown job, wrong state)."""

    code = "conflict"


class FailureOutcome(enum.StrEnum):
    #: Transient: send again after a backoff, until attempts run out (then dead).
    RETRY = "retry"
    #: Retrying will not help until someone fixes the cause; dependents are blocked.
    NEEDS_ADMIN = "needs_admin"
    #: Give up now; dependents are blocked.
    DEAD = "dead"


@dataclass(frozen=True)
class ClaimedJob:
    """A job leased to a session, with what is needed to build its request."""

    id: int
    kind: str
    entity_ref: str | None
    request_body: str | None
    attempts: int
    #: A generated job's parameters (a pull's window and iterator).
    params: dict[str, Any] | None = None


#: Backoff for transient failures: 30 s, 1 min, 2 min, … capped at an hour.
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600


def runnable_condition(job: str, tenant: str, within: str) -> str:
    """SQL that is true when row `job` belongs to `tenant` and could be claimed within `within` seconds.

    Queued, due, and its dependency (if any) done. Written once; the claim, the counts and the
    Web Connector's combined statements all use it, with their own placeholders.
    """
    return f"""
        {job}.tenant_id = {tenant}
        AND {job}.status = 'queued'
        AND {job}.run_after <= now() + make_interval(secs => {within})
        AND ({job}.depends_on IS NULL
             OR EXISTS (SELECT 1 FROM jobs d WHERE d.id = {job}.depends_on AND d.status = 'done'))
    """


_RUNNABLE = runnable_condition("j", ":tenant_id", ":within")


def round_trips_left(job: str) -> str:
    """SQL summing the round trips the matching `job` rows still need: one each, or for a pull
    in the middle of an iterator, its remaining pages. The Web Connector's progress bar uses it."""
    page_size = f"greatest(coalesce(({job}.params ->> 'page_size')::int, 1), 1)"
    pages = f"ceil({job}.iterator_remaining::numeric / {page_size})"
    return f"coalesce(sum(CASE WHEN {job}.iterator_remaining > 0 THEN {pages} ELSE 1 END), 0)::int"


def claim_ctes(tenant: str, ticket: str, guard: str = "true") -> str:
    """The `next` and `claimed` CTEs that lease one runnable job of `tenant` to `ticket`.

    Shared by `claim_next_job` and the Web Connector's one-statement sendRequestXML; `claimed`
    returns the columns of `ClaimedJob`, in order.
    """
    return f"""
        next AS (
            SELECT j.id FROM jobs j
            WHERE {guard} AND {runnable_condition("j", tenant, "0")}
            ORDER BY j.priority, j.id
            LIMIT 1
            FOR UPDATE OF j SKIP LOCKED  -- a concurrent claim skips this row instead of waiting for it
        ),
        claimed AS (
            UPDATE jobs SET status = 'sent', lease_ticket = {ticket}, sent_at = now(),
                            attempts = jobs.attempts + 1, updated_at = now()
            FROM next WHERE jobs.id = next.id
            RETURNING jobs.id, jobs.kind, jobs.entity_ref, jobs.request_body, jobs.attempts, jobs.params
        )
    """


_CLAIM_NEXT = text(f"WITH {claim_ctes(':tenant_id', ':ticket')} SELECT * FROM claimed")

_COUNT_RUNNABLE = text(f"SELECT count(*) FROM jobs j WHERE {_RUNNABLE}")

_BLOCK_DEPENDENTS = text("""
    WITH RECURSIVE dependents AS (
        SELECT id FROM jobs WHERE depends_on = :job_id AND status IN ('queued', 'blocked')
        UNION
        SELECT j.id FROM jobs j JOIN dependents ON j.depends_on = dependents.id
        WHERE j.status IN ('queued', 'blocked')
    )
    UPDATE jobs SET status = 'blocked', last_message = :reason, updated_at = now()
    WHERE id IN (SELECT id FROM dependents)
""")

_UNBLOCK_DEPENDENTS = text("""
    WITH RECURSIVE dependents AS (
        SELECT id FROM jobs WHERE depends_on = :job_id AND status = 'blocked'
        UNION
        SELECT j.id FROM jobs j JOIN dependents ON j.depends_on = dependents.id WHERE j.status = 'blocked'
    )
    UPDATE jobs SET status = 'queued', last_message = NULL, updated_at = now()
    WHERE id IN (SELECT id FROM dependents)
""")


def enqueue(
    conn: Connection,
    tenant_id: int,
    kind: str,
    *,
    request_body: str | None = None,
    entity_ref: str | None = None,
    priority: int = 100,
    depends_on: int | None = None,
    run_after: dt.datetime | None = None,
    max_attempts: int = 5,
    params: dict[str, Any] | None = None,
) -> int:
    """Add a job; returns its id. Commits with the caller's transaction (mirror row + job together)."""
    return int(
        conn.execute(
            text("""
                INSERT INTO jobs (tenant_id, kind, request_body, entity_ref, priority, depends_on,
                                  run_after, max_attempts, params, status, last_message)
                SELECT :tenant_id, :kind, :request_body, :entity_ref, :priority, :depends_on,
                       coalesce(:run_after, now()), :max_attempts, CAST(:params AS jsonb),
                       -- a dependency that already failed holds the new job back at once, with why
                       CASE WHEN d.status IN ('failed', 'dead', 'blocked') THEN 'blocked' ELSE 'queued' END,
                       CASE WHEN d.status IN ('failed', 'dead', 'blocked')
                            THEN format('waiting on job %s, which is %s: %s', d.id, d.status, d.last_message)
                       END
                FROM (SELECT 1) one LEFT JOIN jobs d ON d.id = :depends_on
                RETURNING id
            """),
            {
                "tenant_id": tenant_id,
                "kind": kind,
                "request_body": request_body,
                "entity_ref": entity_ref,
                "priority": priority,
                "depends_on": depends_on,
                "run_after": run_after,
                "max_attempts": max_attempts,
                "params": json.dumps(params) if params is not None else None,
            },
        ).scalar_one()
    )


def claim_next_job(conn: Connection, tenant_id: int, ticket: str) -> ClaimedJob | None:
    """Lease the tenant's next runnable job to `ticket` (priority, then age); None if there is none."""
    row = conn.execute(_CLAIM_NEXT, {"tenant_id": tenant_id, "ticket": ticket}).first()
    return ClaimedJob(*row) if row else None


def count_runnable(conn: Connection, tenant_id: int, within_seconds: float = 0) -> int:
    """Jobs that could be claimed now (or within `within_seconds`)."""
    params = {"tenant_id": tenant_id, "within": within_seconds}
    return int(conn.execute(_COUNT_RUNNABLE, params).scalar_one())


def complete_cte(name: str = "done") -> str:
    """A CTE that marks the sent job `%(job_id)s` done with its outcome; returns its id if it was in flight.

    Shared by `complete_job` and the Web Connector's one-statement finish; parameters `job_id`,
    `response_xml`, `status_code`, `message` (psycopg2 style, for `Prepared`).
    """
    return f"""
        {name} AS (
            UPDATE jobs SET status = 'done', finished_at = now(), updated_at = now(),
                            response_xml = coalesce(%(response_xml)s::text, response_xml),
                            last_status_code = %(status_code)s::int, last_message = %(message)s::text
            WHERE id = %(job_id)s::bigint AND status = 'sent'
            RETURNING id
        )
    """


_COMPLETE = Prepared("qbwc_complete_job", f"WITH {complete_cte()} SELECT id FROM done")


def complete_job(
    conn: Connection,
    job_id: int,
    *,
    response_xml: str | None = None,
    status_code: int | None = None,
    message: str | None = None,
) -> None:
    """Mark a sent job done, keeping the response where the job kind stores it.

    Prepared once per connection: it runs on every receiveResponseXML.
    """
    params = {"job_id": job_id, "response_xml": response_xml, "status_code": status_code, "message": message}
    if not _COMPLETE.on(conn, params):
        raise QueueError(f"job {job_id} is not in flight")


def fail_job(
    conn: Connection,
    job_id: int,
    outcome: FailureOutcome,
    message: str,
    *,
    status_code: int | None = None,
    response_xml: str | None = None,
) -> JobStatus:
    """Record a failed attempt and decide what happens next; returns the job's new status."""
    params = {"message": message, "status_code": status_code, "response_xml": response_xml}
    common = (
        "last_message = :message, last_status_code = :status_code, "
        "response_xml = coalesce(:response_xml, response_xml)"
    )
    if outcome is FailureOutcome.RETRY:
        status = conn.execute(
            text(f"""
                UPDATE jobs SET {common},
                    status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
                    finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
                    run_after = now() + least(:base * power(2, greatest(attempts - 1, 0)), :cap)
                                        * interval '1 second',
                    updated_at = now()
                WHERE id = :job_id AND status = 'sent'
                RETURNING status
            """),
            {**params, "job_id": job_id, "base": BACKOFF_BASE_SECONDS, "cap": BACKOFF_CAP_SECONDS},
        ).scalar_one_or_none()
        if status is None:
            raise QueueError(f"job {job_id} is not in flight")
        new_status = JobStatus(status)
    else:
        new_status = JobStatus.FAILED if outcome is FailureOutcome.NEEDS_ADMIN else JobStatus.DEAD
        _update_sent(
            conn,
            job_id,
            f"{common}, status = :status, finished_at = now()",
            {**params, "status": new_status.value},
        )
    if new_status in (JobStatus.FAILED, JobStatus.DEAD):
        block_dependents(conn, job_id, f"waiting on job {job_id}, which {new_status.value}: {message}")
    return new_status


def _update_sent(conn: Connection, job_id: int, assignments: str, params: dict[str, object]) -> None:
    result = conn.execute(
        text(f"UPDATE jobs SET {assignments}, updated_at = now() WHERE id = :job_id AND status = 'sent'"),
        {**params, "job_id": job_id},
    )
    if result.rowcount != 1:
        raise QueueError(f"job {job_id} is not in flight")


def block_dependents(conn: Connection, job_id: int, reason: str) -> int:
    """Hold back every job that (transitively) depends on `job_id`; returns how many."""
    return conn.execute(_BLOCK_DEPENDENTS, {"job_id": job_id, "reason": reason}).rowcount


_RELEASE = """
    UPDATE jobs SET sent_at = NULL, updated_at = now(),
        -- every send counted as an attempt: a job whose sessions keep dying stops at its cap
        status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
        finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
        last_message = CASE WHEN attempts >= max_attempts
            THEN 'sent ' || attempts || ' times without an answer from QuickBooks; gave up'
            ELSE 'the session ended before QuickBooks answered; sent again' END
    WHERE status = 'sent' AND {where}
    RETURNING id, status
"""


def _release(conn: Connection, where: str, params: dict[str, object]) -> int:
    rows = conn.execute(text(_RELEASE.format(where=where)), params).all()
    for job_id, status in rows:
        if status == JobStatus.DEAD:
            block_dependents(
                conn, job_id, f"waiting on job {job_id}, which was sent too often without an answer"
            )
    return len(rows)


def release_leases(conn: Connection, ticket: str) -> int:
    """Put the jobs a session still holds back in the queue (the session ended before their response)."""
    return _release(conn, "lease_ticket = :ticket", {"ticket": ticket})


def reclaim_expired_leases(conn: Connection, tenant_id: int | None = None) -> int:
    """Requeue jobs leased to sessions that are no longer open (closed, expired, failed, or gone)."""
    return _release(
        conn,
        """(CAST(:tenant_id AS bigint) IS NULL OR tenant_id = :tenant_id)
           AND NOT EXISTS (SELECT 1 FROM qbwc_sessions s
                           WHERE s.ticket = jobs.lease_ticket AND s.state = 'open')""",
        {"tenant_id": tenant_id},
    )


def retry_job(conn: Connection, job_id: int) -> None:
    """Requeue a failed, dead or blocked job now, with fresh attempts, and release its dependents."""
    holder = conn.execute(
        text("""
            SELECT d.id, d.status FROM jobs j JOIN jobs d ON d.id = j.depends_on
            WHERE j.id = :job_id AND j.status = 'blocked' AND d.status IN ('failed', 'dead', 'blocked')
        """),
        {"job_id": job_id},
    ).first()
    if holder is not None:  # retrying it alone would only make it wait silently
        raise QueueError(
            f"job {job_id} waits on job {holder.id}, which is {holder.status}: retry job {holder.id}"
        )
    result = conn.execute(
        text("""
            UPDATE jobs SET status = 'queued', attempts = 0, run_after = now(), finished_at = NULL,
                            last_message = NULL, updated_at = now()
            WHERE id = :job_id AND status IN ('failed', 'dead', 'blocked')
        """),
        {"job_id": job_id},
    )
    if result.rowcount != 1:
        raise QueueError(f"job {job_id} does not exist or is not failed, dead or blocked")
    conn.execute(_UNBLOCK_DEPENDENTS, {"job_id": job_id})


def cancel_job(conn: Connection, job_id: int) -> None:
    """Give up on a job that has not finished; its dependents are blocked."""
    result = conn.execute(
        text("""
            UPDATE jobs SET status = 'dead', finished_at = now(), last_message = 'cancelled by an admin',
                            updated_at = now()
            WHERE id = :job_id AND status IN ('queued', 'blocked', 'failed')
        """),
        {"job_id": job_id},
    )
    if result.rowcount != 1:
        raise QueueError(f"job {job_id} does not exist, is in flight, or has already finished")
    block_dependents(conn, job_id, f"waiting on job {job_id}, which was cancelled")


def continue_job(
    conn: Connection, job_id: int, params: dict[str, Any], *, remaining: int | None, records: int, fresh: bool
) -> None:
    """Put a leased job straight back at the head of the queue for its next round trip.

    An iterator page was applied (`fresh`: the attempt succeeded, so the count starts over) or
    the iterator expired and the job starts over (the attempt still counts).
    """
    conn.execute(
        text("""
            UPDATE jobs SET status = 'queued', sent_at = NULL, run_after = now(), priority = 0,
                   params = CAST(:params AS jsonb), iterator_id = CAST(:params AS jsonb) ->> 'iterator_id',
                   iterator_remaining = :remaining, records = records + :records,
                   attempts = CASE WHEN :fresh THEN 0 ELSE attempts END, updated_at = now()
            WHERE id = :id AND status = 'sent'
        """),
        {
            "id": job_id,
            "params": json.dumps(params),
            "remaining": remaining,
            "records": records,
            "fresh": fresh,
        },
    )


def note_records(conn: Connection, job_id: int, params: dict[str, Any], records: int) -> None:
    """Record what the job's last round trip applied, before it is finished."""
    conn.execute(
        text("""
            UPDATE jobs SET params = CAST(:params AS jsonb), records = records + :records,
                   iterator_id = NULL, iterator_remaining = NULL
            WHERE id = :id
        """),
        {"id": job_id, "params": json.dumps(params), "records": records},
    )
