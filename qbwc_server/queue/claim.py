"""Putting jobs in the queue and taking them out: enqueue (with dependencies), claim, count."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, text

from qbwc_server.models import IfUnanswered
from qbwc_server.queue.jobs import ClaimedJob
from qbwc_server.queue.sql import claim_ctes, runnable_condition

_CLAIM = text(f"""
    WITH {claim_ctes(":tenant_id", ":ticket", "CAST(:batch_sizes AS jsonb)")}
    SELECT * FROM claimed ORDER BY id
""")

_COUNT_RUNNABLE = text(
    f"SELECT count(*) FROM jobs j WHERE {runnable_condition('j', ':tenant_id', ':within')}"
)


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


def dependencies_of(conn: Connection, job_id: int) -> list[int]:
    """The jobs `job_id` waits for, oldest first."""
    return list(
        conn.execute(
            text("SELECT depends_on_id FROM job_dependencies WHERE job_id = :id ORDER BY depends_on_id"),
            {"id": job_id},
        ).scalars()
    )
