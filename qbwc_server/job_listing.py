"""Reading the queue for people: job lists and one job in full (CLI now, the API later)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class JobRow:
    id: int
    tenant: str
    kind: str
    entity_ref: str | None
    priority: int
    status: str
    attempts: int
    max_attempts: int
    depends_on: int | None
    run_after: dt.datetime
    lease_ticket: str | None
    last_status_code: int | None
    last_message: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None
    request_body: str | None
    response_xml: str | None
    params: dict[str, Any] | None = None
    records: int = 0
    iterator_remaining: int | None = None


_SELECT = """
    SELECT j.id, t.name, j.kind, j.entity_ref, j.priority, j.status, j.attempts, j.max_attempts,
           j.depends_on, j.run_after, j.lease_ticket, j.last_status_code, j.last_message,
           j.created_at, j.updated_at, j.finished_at, {bodies}, j.params, j.records, j.iterator_remaining
    FROM jobs j JOIN tenants t ON t.id = j.tenant_id
"""


def list_jobs(
    conn: Connection, *, tenant: str | None = None, status: str | None = None, limit: int = 50
) -> list[JobRow]:
    """Newest first, without the (possibly large) request and response bodies."""
    sql = (
        _SELECT.format(bodies="NULL, NULL")
        + """
        WHERE (CAST(:tenant AS text) IS NULL OR t.name = :tenant OR t.username = :tenant)
          AND (CAST(:status AS text) IS NULL OR j.status = :status)
        ORDER BY j.id DESC LIMIT :limit
    """
    )
    rows = conn.execute(text(sql), {"tenant": tenant, "status": status, "limit": max(1, limit)})
    return [JobRow(*row) for row in rows]


def get_job(conn: Connection, job_id: int) -> JobRow | None:
    row = conn.execute(
        text(_SELECT.format(bodies="j.request_body, j.response_xml") + " WHERE j.id = :id"), {"id": job_id}
    ).first()
    return JobRow(*row) if row else None


def describe(job: JobRow) -> list[tuple[str, str]]:
    """Label/value pairs for a person reading one job."""
    return [
        ("Job", str(job.id)),
        ("Tenant", job.tenant),
        ("Kind", job.kind),
        ("Status", job.status),
        ("Attempts", f"{job.attempts} of {job.max_attempts}"),
        ("Priority", str(job.priority)),
        ("Depends on", str(job.depends_on or "-")),
        ("Run after", str(job.run_after)),
        ("Created", str(job.created_at)),
        ("Finished", str(job.finished_at or "-")),
        ("QB status", str(job.last_status_code if job.last_status_code is not None else "-")),
        ("Message", job.last_message or "-"),
        *_pull_lines(job),
        ("Request", (job.request_body or "-")[:500]),
    ]


def _pull_lines(job: JobRow) -> list[tuple[str, str]]:
    """For a pull: what it asked for, how far its iterator got, what it changed."""
    if job.params is None:
        return []
    since = job.params.get("since")
    lines = [
        ("Pulls", f"changes since {since}" if since else "everything (full refresh)"),
        ("Page size", str(job.params.get("page_size") or "whole list")),
        ("Rows changed", str(job.records)),
    ]
    if job.iterator_remaining:
        lines.append(("Still to read", f"{job.iterator_remaining} records (iterator in progress)"))
    return lines
