"""What becomes of a sent job: settled by its answer (`settle`), or taken back without one
(`release_leases`). Every transition of a sent job is written here, once.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Connection, text

from qbwc_server import metrics
from qbwc_server.db import Prepared
from qbwc_server.models import JobStatus
from qbwc_server.qbxml.errors import Outcome
from qbwc_server.queue.jobs import (
    _HELD_BY,
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    HOLDING,
    Action,
    JobResult,
    QueueError,
)
from qbwc_server.queue.sql import complete_cte
from qbwc_server.queue.stored import compress


def completion_params(job_id: int, result: JobResult) -> dict[str, object]:
    """The parameters of `complete_cte` for a DONE result; the answer kept (raw jobs) compressed."""
    return {
        "job_id": job_id,
        "response_gz": _compressed(result),
        "status_code": result.status_code,
        "message": result.message,
        "params": json.dumps(result.params) if result.params is not None else None,
        "records": result.records,
    }


_COMPLETE = Prepared(
    "qbwc_complete_job",
    f"WITH {complete_cte()} SELECT id, kind, extract(epoch FROM now() - created_at)::float8 AS age FROM done",
)


def settle(conn: Connection, job_id: int, result: JobResult) -> JobStatus:
    """Apply what an answer did to sent job `job_id`; returns its new status.

    The one mapping from outcomes to statuses: retry -> queued after a backoff (dead once its
    attempts are spent), wait for a dependency -> blocked, needs an admin -> failed, dead -> dead.
    Jobs that depend on a job now held (failed, dead, blocked) are blocked with the reason.
    """
    if result.action is Action.DONE or (result.action is Action.FAIL and result.outcome is Outcome.DONE):
        done = _COMPLETE.on(conn, completion_params(job_id, result))
        if not done:
            raise QueueError(f"job {job_id} is not in flight")
        if done[0]["kind"].endswith(".push"):  # from the PUT that made it to QuickBooks' answer
            metrics.push_done(done[0]["kind"], done[0]["age"])
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


_DEFER = text("""
    UPDATE jobs SET
        -- a look-up stays one (its write may be in QuickBooks); a job waiting on a held one is held
        status = CASE WHEN coalesce((params ->> 'looking_up')::boolean, false) THEN 'unconfirmed'
                      WHEN EXISTS (SELECT 1 FROM job_dependencies dep JOIN jobs d ON d.id = dep.depends_on_id
                                   WHERE dep.job_id = jobs.id AND d.status IN ('failed', 'dead', 'blocked'))
                      THEN 'blocked' ELSE 'queued' END,
        sent_at = NULL, lease_ticket = NULL, attempts = greatest(attempts - 1, 0),
        run_after = coalesce(CAST(:run_after AS timestamptz), now()),
        params = CASE WHEN CAST(:params AS jsonb) IS NULL THEN params
                      ELSE coalesce(params, '{}'::jsonb) || CAST(:params AS jsonb) END,
        last_message = :message, updated_at = now()
    WHERE id = :job_id AND status = 'sent'
    RETURNING status
""")


def defer(
    conn: Connection,
    job_id: int,
    run_after: dt.datetime | None,
    message: str,
    params: dict[str, object] | None = None,
) -> JobStatus:
    """A leased job its handler chose not to send (yet): nothing reached QuickBooks, so the lease
    is dropped as if it had never been taken — queued again until `run_after` (now when None),
    the attempt given back, `params` merged into the job's. Not the session's job any more: its
    closing message does not count it.
    """
    status = conn.execute(
        _DEFER,
        {
            "job_id": job_id,
            "run_after": run_after,
            "params": json.dumps(params) if params else None,
            "message": message,
        },
    ).scalar_one_or_none()
    if status is None:
        raise QueueError(f"job {job_id} is not in flight")
    return JobStatus(status)


def _update_sent(
    conn: Connection, job_id: int, assignments: str, result: JobResult, **extra: object
) -> JobStatus:
    status = conn.execute(
        text(f"""
            UPDATE jobs SET {assignments}, last_message = :message, last_status_code = :status_code,
                   response_gz = coalesce(CAST(:response_gz AS bytea), response_gz),
                   params = coalesce(CAST(:params AS jsonb), params), records = records + :records,
                   updated_at = now()
            WHERE id = :job_id AND status = 'sent'
            RETURNING status
        """),
        {
            "job_id": job_id,
            "message": result.message,
            "status_code": result.status_code,
            "response_gz": _compressed(result),
            "params": json.dumps(result.params) if result.params is not None else None,
            "records": result.records,
            **extra,
        },
    ).scalar_one_or_none()
    if status is None:
        raise QueueError(f"job {job_id} is not in flight")
    return JobStatus(status)


def _compressed(result: JobResult) -> bytes | None:
    return compress(result.response_xml) if result.response_xml is not None else None


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
    elif status == JobStatus.UNCONFIRMED and not _looks_itself_up(conn, job_id):
        block_dependents(
            conn, job_id, f"waiting on job {job_id}: it may or may not have reached QuickBooks ({reason})"
        )


def _looks_itself_up(conn: Connection, job_id: int) -> bool:
    """Whether an unconfirmed job is claimed again to look in QuickBooks by itself (a push): its
    dependents just wait, queued, for that look-up to settle it — blocking them would leave them
    held once it is done."""
    return bool(
        conn.execute(
            text("SELECT if_unanswered = 'look_up' FROM jobs WHERE id = :id"), {"id": job_id}
        ).scalar()
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
        -- a page whose answer never came (too large for the proxy, too slow for a timeout) is
        -- asked for in halves next time, rather than failing the same way every session
        params = CASE WHEN (params ->> 'page_size')::int > 1
                      THEN jsonb_set(params, '{{page_size}}', to_jsonb((params ->> 'page_size')::int / 2))
                      ELSE params END,
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
            WHEN (params ->> 'page_size')::int > 1 THEN
                'the session ended before QuickBooks answered; asked again in pages of '
                || ((params ->> 'page_size')::int / 2)
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
