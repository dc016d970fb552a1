"""What a person does to a job: retry it (an unconfirmed write only with `resend`) or cancel it."""

from __future__ import annotations

from sqlalchemy import Connection, text

from qbwc_server.models import JobStatus
from qbwc_server.queue.jobs import QueueError
from qbwc_server.queue.settle import block_dependents

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
