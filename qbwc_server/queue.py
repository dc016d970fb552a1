"""The Postgres job queue: enqueue, claim, settle, release, retry, cancel.

Knows jobs and their states, nothing of SOAP or of qbXML text. Every function takes the
caller's `Connection`, so an answer is applied and its job settled in the caller's one
transaction. Each transition is written once, here; the Web Connector's one-statement calls
reuse the SQL fragments (`runnable_condition`, `claim_ctes`, `complete_cte`).

    queued ──claim──> sent ──answered──> done | failed | dead | blocked | queued (retry, backoff)
       ^               │   └─answered, but what QuickBooks did cannot be read (a write)─> unconfirmed
       └─unanswered, a read┘
                        └─unanswered, a write─> unconfirmed ─ look_up: claimed again to look first
                                                            └ hold: an admin resends or cancels
    blocked: held until something happens (a dependency failed or waits; QuickBooks lacks what it needs)

Outcomes (`qbxml.errors.Outcome`) map to statuses in one place, `settle`.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from qbwc_server.db import Prepared
from qbwc_server.errors import QbwcError
from qbwc_server.models import IfUnanswered, JobStatus
from qbwc_server.models.queue import CLAIMABLE
from qbwc_server.qbxml.errors import Outcome


class QueueError(QbwcError):
    """A queue operation that cannot be done as asked (unknown job, wrong state)."""

    code = "conflict"


#: The columns a claimed job is read with, by name: a new one is added here and in ClaimedJob.
JOB_COLUMNS = ("id", "tenant_id", "kind", "entity_ref", "request_body", "attempts", "params", "if_unanswered")
#: SQL for ClaimedJob.unconfirmed on a sent job `j` (the claim marks a look-up in its params).
LOOKING_UP = "coalesce((j.params ->> 'looking_up')::boolean, false)"


@dataclass(frozen=True)
class ClaimedJob:
    """A job leased to a session, with what is needed to build its request."""

    id: int
    tenant_id: int
    kind: str
    entity_ref: str | None = None
    request_body: str | None = None
    attempts: int = 1
    #: A generated job's parameters (a pull's window and iterator, a push's plan).
    params: dict[str, Any] | None = None
    if_unanswered: str = IfUnanswered.RESEND.value
    #: Claimed from `unconfirmed`: look in QuickBooks for what the lost write did before anything else.
    unconfirmed: bool = False

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ClaimedJob:
        return cls(**{name: row[name] for name in (*JOB_COLUMNS, "unconfirmed")})

    @property
    def writes(self) -> bool:
        """Whether sending it may change QuickBooks (its outcome must never be guessed)."""
        return self.if_unanswered != IfUnanswered.RESEND


class Action(enum.StrEnum):
    #: Finished: the answer is applied.
    DONE = "done"
    #: Another round trip at once (the next page of an iterator); this attempt succeeded.
    CONTINUE = "continue"
    #: Start over at once (QuickBooks forgot the iterator); the attempt still counts.
    RESTART = "restart"
    #: QuickBooks said no, or its answer was unusable: `outcome` says what happens next.
    FAIL = "fail"
    #: A write was answered, but what QuickBooks did cannot be read from the answer.
    UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class JobResult:
    """What an answer does to its job: the one value every handler returns."""

    action: Action
    #: For FAIL: retry (backoff), wait for a dependency (blocked), needs an admin, or dead.
    outcome: Outcome = Outcome.DONE
    message: str | None = None
    status_code: int | None = None
    #: Kept on the job (raw jobs: the answer is the result).
    response_xml: str | None = None
    #: The job's parameters from now on (None keeps them).
    params: dict[str, Any] | None = None
    #: Mirror rows this round trip inserted or changed.
    records: int = 0
    #: Records an iterator still holds (CONTINUE).
    remaining: int | None = None

    @classmethod
    def fail(cls, outcome: Outcome, message: str, status_code: int | None = None) -> JobResult:
        return cls(Action.FAIL, outcome, message, status_code)


#: Backoff for transient failures: 30 s, 1 min, 2 min, … capped at an hour.
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
#: Statuses whose dependents are held back (blocked) until they are retried.
HOLDING = ("failed", "dead", "blocked")
#: Where a failed job goes, by outcome; RETRY is decided in SQL (queued, or dead at the cap).
_HELD_BY = {
    Outcome.WAIT_FOR_DEPENDENCY: JobStatus.BLOCKED,
    Outcome.NEEDS_ADMIN: JobStatus.FAILED,
    Outcome.DEAD: JobStatus.DEAD,
}


def runnable_condition(job: str, tenant: str, within: str) -> str:
    """SQL that is true when row `job` belongs to `tenant` and could be claimed within `within` seconds.

    Claimable (queued, or unconfirmed and to be looked up), due, and every dependency done.
    Written once; the claim, the counts and the Web Connector's combined statements use it.
    """
    claimable = CLAIMABLE.replace("status", f"{job}.status").replace("if_unanswered", f"{job}.if_unanswered")
    return f"""
        {job}.tenant_id = {tenant}
        AND {claimable}
        AND {job}.run_after <= now() + make_interval(secs => {within})
        AND NOT EXISTS (SELECT 1 FROM job_dependencies dep JOIN jobs d ON d.id = dep.depends_on_id
                        WHERE dep.job_id = {job}.id AND d.status <> 'done')
    """


def round_trips_left(job: str) -> str:
    """SQL summing the round trips the matching `job` rows still need: one each, or for a pull
    in the middle of an iterator, its remaining pages. The Web Connector's progress bar uses it."""
    page_size = f"greatest(coalesce(({job}.params ->> 'page_size')::int, 1), 1)"
    pages = f"ceil({job}.iterator_remaining::numeric / {page_size})"
    return f"coalesce(sum(CASE WHEN {job}.iterator_remaining > 0 THEN {pages} ELSE 1 END), 0)::int"


def claim_ctes(tenant: str, ticket: str, batch_sizes: str | None, guard: str = "true") -> str:
    """The CTEs that lease the next runnable jobs of `tenant` to `ticket`, as `claimed`.

    The first runnable job (priority, then age) decides the kind; up to that kind's batch size
    (`batch_sizes`: SQL for a jsonb object kind -> count, 1 when absent) jobs of that kind go in
    one message, each `*Rq` carrying its job id as requestID. With `batch_sizes` None (no kind
    batches) the claim is one index probe for one job. `claimed` returns JOB_COLUMNS and
    `unconfirmed`.
    """
    runnable = runnable_condition("j", tenant, "0")
    returning = ", ".join(f"jobs.{column}" for column in JOB_COLUMNS)
    if batch_sizes is None:
        pick = f"""
        next AS (
            SELECT j.id, j.status = 'unconfirmed' AS unconfirmed FROM jobs j
            WHERE {guard} AND {runnable} ORDER BY j.priority, j.id LIMIT 1
            FOR UPDATE OF j SKIP LOCKED  -- a concurrent claim skips this row instead of waiting
        ),"""
    else:
        pick = f"""
        head AS (
            SELECT j.kind FROM jobs j WHERE {guard} AND {runnable} ORDER BY j.priority, j.id LIMIT 1
        ),
        next AS (
            SELECT j.id, j.status = 'unconfirmed' AS unconfirmed FROM jobs j
            WHERE {runnable} AND j.kind = (SELECT kind FROM head)
            ORDER BY j.priority, j.id
            LIMIT (SELECT coalesce(({batch_sizes} ->> kind)::int, 1) FROM head)
            FOR UPDATE OF j SKIP LOCKED  -- a concurrent claim skips these rows instead of waiting
        ),"""
    return (
        pick
        + f"""
        claimed AS (
            UPDATE jobs SET status = 'sent', lease_ticket = {ticket}, sent_at = now(),
                            attempts = jobs.attempts + 1, updated_at = now(),
                            -- the answer must be read as a look-up's: remember it on the job
                            params = CASE WHEN NOT next.unconfirmed THEN jobs.params - 'looking_up'
                                     ELSE coalesce(jobs.params, '{{}}'::jsonb) || '{{"looking_up": true}}' END
            FROM next WHERE jobs.id = next.id
            RETURNING {returning}, next.unconfirmed
        )
    """
    )


_CLAIM = text(f"""
    WITH {claim_ctes(":tenant_id", ":ticket", "CAST(:batch_sizes AS jsonb)")}
    SELECT * FROM claimed ORDER BY id
""")

_COUNT_RUNNABLE = text(
    f"SELECT count(*) FROM jobs j WHERE {runnable_condition('j', ':tenant_id', ':within')}"
)

_BLOCK_DEPENDENTS = text("""
    WITH RECURSIVE dependents AS (
        SELECT dep.job_id AS id FROM job_dependencies dep WHERE dep.depends_on_id = :job_id
        UNION
        SELECT dep.job_id FROM job_dependencies dep JOIN dependents ON dep.depends_on_id = dependents.id
    )
    UPDATE jobs SET status = 'blocked', last_message = :reason, updated_at = now()
    WHERE id IN (SELECT id FROM dependents) AND status IN ('queued', 'blocked')
""")

_UNBLOCK_DEPENDENTS = text("""
    WITH RECURSIVE dependents AS (
        SELECT dep.job_id AS id FROM job_dependencies dep JOIN jobs j ON j.id = dep.job_id
        WHERE dep.depends_on_id = :job_id AND j.status = 'blocked'
        UNION
        SELECT dep.job_id FROM job_dependencies dep JOIN dependents ON dep.depends_on_id = dependents.id
        JOIN jobs j ON j.id = dep.job_id WHERE j.status = 'blocked'
    )
    UPDATE jobs SET status = 'queued', last_message = NULL, updated_at = now()
    WHERE id IN (SELECT id FROM dependents)
      -- a dependent that also waits on another held job stays blocked
      AND NOT EXISTS (SELECT 1 FROM job_dependencies o JOIN jobs d ON d.id = o.depends_on_id
                      WHERE o.job_id = jobs.id AND o.depends_on_id <> :job_id
                        AND o.depends_on_id NOT IN (SELECT id FROM dependents)
                        AND d.status IN ('failed', 'dead', 'blocked'))
""")


def enqueue(
    conn: Connection,
    tenant_id: int,
    kind: str,
    *,
    request_body: str | None = None,
    entity_ref: str | None = None,
    priority: int = 100,
    depends_on: int | Iterable[int] | None = None,
    run_after: dt.datetime | None = None,
    max_attempts: int = 5,
    params: dict[str, Any] | None = None,
    if_unanswered: IfUnanswered = IfUnanswered.RESEND,
) -> int:
    """Add a job; returns its id. Commits with the caller's transaction (mirror row + job together).

    A job behind a dependency that is already held (failed, dead, blocked) starts blocked, with why.
    """
    dependencies = sorted({depends_on} if isinstance(depends_on, int) else set(depends_on or ()))
    job_id = int(
        conn.execute(
            text("""
                INSERT INTO jobs (tenant_id, kind, request_body, entity_ref, priority, run_after,
                                  max_attempts, params, if_unanswered)
                VALUES (:tenant_id, :kind, :request_body, :entity_ref, :priority, coalesce(:run_after, now()),
                        :max_attempts, CAST(:params AS jsonb), :if_unanswered)
                RETURNING id
            """),
            {
                "tenant_id": tenant_id,
                "kind": kind,
                "request_body": request_body,
                "entity_ref": entity_ref,
                "priority": priority,
                "run_after": run_after,
                "max_attempts": max_attempts,
                "params": json.dumps(params) if params is not None else None,
                "if_unanswered": IfUnanswered(if_unanswered).value,
            },
        ).scalar_one()
    )
    if dependencies:
        held = conn.execute(
            text("""
                WITH added AS (
                    INSERT INTO job_dependencies (job_id, depends_on_id, tenant_id)
                    SELECT :job_id, d.id, d.tenant_id FROM jobs d
                    WHERE d.id = ANY(:ids) AND d.tenant_id = :tenant_id
                    RETURNING depends_on_id
                )
                SELECT d.id, d.status, d.last_message FROM jobs d JOIN added ON added.depends_on_id = d.id
                WHERE d.status IN ('failed', 'dead', 'blocked') ORDER BY d.id LIMIT 1
            """),
            {"job_id": job_id, "ids": dependencies, "tenant_id": tenant_id},
        ).first()
        if held is not None:
            conn.execute(
                text("UPDATE jobs SET status = 'blocked', last_message = :m WHERE id = :id"),
                {"m": f"waiting on job {held.id}, which is {held.status}: {held.last_message}", "id": job_id},
            )
    return job_id


def claim_jobs(
    conn: Connection, tenant_id: int, ticket: str, batch_sizes: Mapping[str, int] | None = None
) -> list[ClaimedJob]:
    """Lease the tenant's next runnable jobs to `ticket`: one, or a batch of one kind."""
    rows = conn.execute(
        _CLAIM, {"tenant_id": tenant_id, "ticket": ticket, "batch_sizes": json.dumps(batch_sizes or {})}
    ).mappings()
    return [ClaimedJob.from_row(dict(row)) for row in rows]


def claim_next_job(conn: Connection, tenant_id: int, ticket: str) -> ClaimedJob | None:
    """Lease the tenant's next runnable job to `ticket` (priority, then age); None if there is none."""
    claimed = claim_jobs(conn, tenant_id, ticket)
    return claimed[0] if claimed else None


def count_runnable(conn: Connection, tenant_id: int, within_seconds: float = 0) -> int:
    """Jobs that could be claimed now (or within `within_seconds`)."""
    params = {"tenant_id": tenant_id, "within": within_seconds}
    return int(conn.execute(_COUNT_RUNNABLE, params).scalar_one())


def complete_cte(name: str = "done") -> str:
    """A CTE that marks the sent job `%(job_id)s` done with its outcome; returns its id if it was in flight.

    Shared by `settle` and the Web Connector's one-statement finish; parameters `job_id`,
    `response_xml`, `status_code`, `message`, `params`, `records` (psycopg2 style, for `Prepared`).
    """
    return f"""
        {name} AS (
            UPDATE jobs SET status = 'done', finished_at = now(), updated_at = now(),
                            response_xml = coalesce(%(response_xml)s::text, response_xml),
                            last_status_code = %(status_code)s::int, last_message = %(message)s::text,
                            params = coalesce(%(params)s::jsonb, params),
                            records = records + %(records)s::int,
                            iterator_id = NULL, iterator_remaining = NULL
            WHERE id = %(job_id)s::bigint AND status = 'sent'
            RETURNING id
        )
    """


def completion_params(job_id: int, result: JobResult) -> dict[str, object]:
    """The parameters of `complete_cte` for a DONE result."""
    return {
        "job_id": job_id,
        "response_xml": result.response_xml,
        "status_code": result.status_code,
        "message": result.message,
        "params": json.dumps(result.params) if result.params is not None else None,
        "records": result.records,
    }


_COMPLETE = Prepared("qbwc_complete_job", f"WITH {complete_cte()} SELECT id FROM done")


def settle(conn: Connection, job_id: int, result: JobResult) -> JobStatus:
    """Apply what an answer did to sent job `job_id`; returns its new status.

    The one mapping from outcomes to statuses: retry -> queued after a backoff (dead once its
    attempts are spent), wait for a dependency -> blocked, needs an admin -> failed, dead -> dead.
    Jobs that depend on a job now held (failed, dead, blocked) are blocked with the reason.
    """
    if result.action is Action.DONE or (result.action is Action.FAIL and result.outcome is Outcome.DONE):
        if not _COMPLETE.on(conn, completion_params(job_id, result)):
            raise QueueError(f"job {job_id} is not in flight")
        return JobStatus.DONE
    if result.action in (Action.CONTINUE, Action.RESTART):
        _continue(conn, job_id, result)
        return JobStatus.QUEUED
    if result.action is Action.UNCONFIRMED:
        status = _update_sent(
            conn,
            job_id,
            "status = 'unconfirmed', sent_at = NULL, run_after = now()",
            result,
        )
    elif result.outcome is Outcome.RETRY:
        status = _update_sent(
            conn,
            job_id,
            """status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
               finished_at = CASE WHEN attempts >= max_attempts THEN now() END, sent_at = NULL,
               run_after = now() + least(:base * power(2, greatest(attempts - 1, 0)), :cap)
                                   * interval '1 second'""",
            result,
            base=BACKOFF_BASE_SECONDS,
            cap=BACKOFF_CAP_SECONDS,
        )
    else:
        held = _HELD_BY[result.outcome]
        finished = "NULL" if held is JobStatus.BLOCKED else "now()"
        status = _update_sent(
            conn, job_id, f"status = '{held.value}', finished_at = {finished}, sent_at = NULL", result
        )
    _hold_dependents(conn, job_id, status, result.message or "")
    return status


def _update_sent(
    conn: Connection, job_id: int, assignments: str, result: JobResult, **extra: object
) -> JobStatus:
    status = conn.execute(
        text(f"""
            UPDATE jobs SET {assignments}, last_message = :message, last_status_code = :status_code,
                   response_xml = coalesce(:response_xml, response_xml),
                   params = coalesce(CAST(:params AS jsonb), params), records = records + :records,
                   updated_at = now()
            WHERE id = :job_id AND status = 'sent'
            RETURNING status
        """),
        {
            "job_id": job_id,
            "message": result.message,
            "status_code": result.status_code,
            "response_xml": result.response_xml,
            "params": json.dumps(result.params) if result.params is not None else None,
            "records": result.records,
            **extra,
        },
    ).scalar_one_or_none()
    if status is None:
        raise QueueError(f"job {job_id} is not in flight")
    return JobStatus(status)


def _continue(conn: Connection, job_id: int, result: JobResult) -> None:
    """Put a leased job straight back at the head of the queue for its next round trip.

    A page was applied (CONTINUE: the attempt succeeded, so the count starts over) or the
    iterator expired and the job starts over (RESTART: the attempt still counts).
    """
    updated = conn.execute(
        text("""
            UPDATE jobs SET status = 'queued', sent_at = NULL, run_after = now(), priority = 0,
                   params = coalesce(CAST(:params AS jsonb), params),
                   iterator_id = CAST(:params AS jsonb) ->> 'iterator_id',
                   iterator_remaining = :remaining, records = records + :records,
                   attempts = CASE WHEN :fresh THEN 0 ELSE attempts END,
                   last_message = :message, updated_at = now()
            WHERE id = :id AND status = 'sent'
        """),
        {
            "id": job_id,
            "params": json.dumps(result.params) if result.params is not None else None,
            "remaining": result.remaining,
            "records": result.records,
            "fresh": result.action is Action.CONTINUE,
            "message": result.message,
        },
    ).rowcount
    if updated != 1:
        raise QueueError(f"job {job_id} is not in flight")


def _hold_dependents(conn: Connection, job_id: int, status: JobStatus | str, reason: str) -> None:
    """Block what depends on a job that is now held; an unconfirmed write holds them too until
    it is confirmed, unless a look-up will settle it by itself."""
    if status in HOLDING:
        block_dependents(conn, job_id, f"waiting on job {job_id}, which is {status}: {reason}")
    elif status == JobStatus.UNCONFIRMED:
        block_dependents(
            conn, job_id, f"waiting on job {job_id}: it may or may not have reached QuickBooks ({reason})"
        )


def block_dependents(conn: Connection, job_id: int, reason: str) -> int:
    """Hold back every job that (transitively) depends on `job_id`; returns how many."""
    return conn.execute(_BLOCK_DEPENDENTS, {"job_id": job_id, "reason": reason}).rowcount


_RELEASE = """
    UPDATE jobs SET sent_at = NULL, updated_at = now(), run_after = now(),
        -- a read is simply sent again; a write may have happened: never resent blindly
        status = CASE WHEN if_unanswered <> 'resend' THEN 'unconfirmed'
                      WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
        -- every send counted as an attempt: a job whose sessions keep dying stops at its cap
        finished_at = CASE WHEN if_unanswered = 'resend' AND attempts >= max_attempts THEN now() END,
        -- a look-up that keeps losing its answer waits for an admin instead of looping
        if_unanswered = CASE WHEN if_unanswered = 'look_up' AND attempts >= max_attempts THEN 'hold'
                             ELSE if_unanswered END,
        last_message = CASE
            WHEN if_unanswered = 'look_up' AND attempts < max_attempts THEN
                'sent, but the session ended before QuickBooks answered: it may have been done;'
                || ' QuickBooks is checked before anything is sent again'
            WHEN if_unanswered <> 'resend' THEN
                'sent, but the session ended before QuickBooks answered: it may have been done.'
                || ' Check QuickBooks, then `qbwc-server jobs retry ' || id || ' --resend` to send it'
                || ' again, or `qbwc-server jobs cancel ' || id || '` if it is there'
            WHEN attempts >= max_attempts THEN
                'sent ' || attempts || ' times without an answer from QuickBooks; gave up'
            ELSE 'the session ended before QuickBooks answered; sent again' END
    WHERE status = 'sent' AND {where}
    RETURNING id, status, last_message
"""


def _release(conn: Connection, where: str, params: dict[str, object]) -> int:
    rows = conn.execute(text(_RELEASE.format(where=where)), params).all()
    for job_id, status, message in rows:
        _hold_dependents(conn, job_id, status, message)
    return len(rows)


def release_leases(conn: Connection, ticket: str) -> int:
    """Take back the jobs a session still holds (it ended before their answers came)."""
    return _release(conn, "lease_ticket = :ticket", {"ticket": ticket})


def reclaim_expired_leases(conn: Connection, tenant_id: int | None = None) -> int:
    """Take back jobs leased to sessions that are no longer open (closed, expired, failed, or gone)."""
    return _release(
        conn,
        """(CAST(:tenant_id AS bigint) IS NULL OR tenant_id = :tenant_id)
           AND NOT EXISTS (SELECT 1 FROM qbwc_sessions s
                           WHERE s.ticket = jobs.lease_ticket AND s.state = 'open')""",
        {"tenant_id": tenant_id},
    )


def retry_job(conn: Connection, job_id: int, *, resend: bool = False) -> None:
    """Requeue a failed, dead or blocked job now, with fresh attempts, and release its dependents.

    An unconfirmed write may already be in QuickBooks: it is sent again only with `resend`.
    """
    holder = conn.execute(
        text("""
            SELECT d.id, d.status FROM jobs j
            JOIN job_dependencies dep ON dep.job_id = j.id JOIN jobs d ON d.id = dep.depends_on_id
            WHERE j.id = :job_id AND j.status = 'blocked'
              AND d.status IN ('failed', 'dead', 'blocked', 'unconfirmed')
            ORDER BY d.id LIMIT 1
        """),
        {"job_id": job_id},
    ).first()
    if holder is not None:  # retrying it alone would only make it wait silently
        raise QueueError(
            f"job {job_id} waits on job {holder.id}, which is {holder.status}: retry job {holder.id}"
        )
    status = conn.execute(text("SELECT status FROM jobs WHERE id = :id"), {"id": job_id}).scalar()
    if status == JobStatus.UNCONFIRMED and not resend:
        raise QueueError(
            f"job {job_id} was sent and its answer lost, so QuickBooks may already have done it: check"
            f" QuickBooks, then `qbwc-server jobs retry {job_id} --resend` to send it again, or"
            f" `qbwc-server jobs cancel {job_id}`"
        )
    result = conn.execute(
        text("""
            UPDATE jobs SET status = 'queued', attempts = 0, run_after = now(), finished_at = NULL,
                            last_message = NULL, updated_at = now(),
                            if_unanswered = CASE WHEN status = 'unconfirmed' AND if_unanswered = 'look_up'
                                                 THEN 'hold' ELSE if_unanswered END
            WHERE id = :job_id AND status IN ('failed', 'dead', 'blocked', 'unconfirmed')
        """),
        {"job_id": job_id},
    )
    if result.rowcount != 1:
        raise QueueError(
            f"job {job_id} does not exist or is not failed, dead or blocked, nor an unconfirmed write"
        )
    conn.execute(_UNBLOCK_DEPENDENTS, {"job_id": job_id})


def cancel_job(conn: Connection, job_id: int) -> None:
    """Give up on a job that is not in flight (an unconfirmed one too); its dependents are blocked."""
    result = conn.execute(
        text("""
            UPDATE jobs SET status = 'dead', finished_at = now(), last_message = 'cancelled by an admin',
                            updated_at = now()
            WHERE id = :job_id AND status IN ('queued', 'blocked', 'failed', 'unconfirmed')
        """),
        {"job_id": job_id},
    )
    if result.rowcount != 1:
        raise QueueError(f"job {job_id} does not exist, is in flight, or has already finished")
    block_dependents(conn, job_id, f"waiting on job {job_id}, which was cancelled")


def dependencies_of(conn: Connection, job_id: int) -> list[int]:
    """The jobs `job_id` waits for, oldest first."""
    return list(
        conn.execute(
            text("SELECT depends_on_id FROM job_dependencies WHERE job_id = :id ORDER BY depends_on_id"),
            {"id": job_id},
        ).scalars()
    )
