"""The job queue for admins: list jobs, read one in full, count them, queue raw qbXML, retry
and cancel. The queue's rules (claiming, retries, dependencies) stay in queue.py; this module
reads jobs for people and forwards their decisions to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from qbwc_server import queue
from qbwc_server.admin.tenants import get_tenant
from qbwc_server.errors import QbwcError
from qbwc_server.qbxml.core import request_messages
from qbwc_server.queue.stored import response_text
from qbwc_server.sync import raw

#: Most jobs one listing returns.
MAX_LIST_LIMIT = 10_000


class JobListError(QbwcError, ValueError):
    """A listing asked for fewer than one job or more than MAX_LIST_LIMIT."""

    code = "validation_failed"


class JobNotFound(QbwcError, LookupError):
    """No job has that id."""

    code = "not_found"


@dataclass(frozen=True)
class JobRow:
    """A job as admins read it, with its tenant's name; the bodies only when read one by one."""

    id: int
    tenant: str
    kind: str
    entity_ref: str | None
    priority: int
    status: str
    attempts: int
    max_attempts: int
    #: The jobs it waits for.
    depends_on: list[int]
    run_after: dt.datetime
    lease_ticket: str | None
    last_status_code: int | None
    last_message: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None
    request_body: str | None
    #: QuickBooks' answer (raw jobs), as text however it is stored.
    response_xml: str | None
    params: dict[str, Any] | None = None
    records: int = 0
    iterator_remaining: int | None = None


_SELECT = """
    SELECT j.id, t.name AS tenant, j.kind, j.entity_ref, j.priority, j.status, j.attempts, j.max_attempts,
           ARRAY(SELECT d.depends_on_id FROM job_dependencies d WHERE d.job_id = j.id ORDER BY 1)
               AS depends_on,
           j.run_after, j.lease_ticket, j.last_status_code, j.last_message,
           j.created_at, j.updated_at, j.finished_at, {bodies}, j.params, j.records, j.iterator_remaining
    FROM jobs j JOIN tenants t ON t.id = j.tenant_id
"""


def list_jobs(
    conn: Connection,
    *,
    tenant: str | None = None,
    status: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[JobRow]:
    """Newest first (only jobs older than `before_id`, for the next page), without the (possibly
    large) request and response bodies; TenantNotFound for a tenant that does not exist (an empty
    list would read as "no jobs")."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise JobListError(f"the limit must be from 1 to {MAX_LIST_LIMIT} jobs, got {limit}")
    tenant_id = get_tenant(conn, tenant).id if tenant is not None else None
    sql = (
        _SELECT.format(bodies="NULL AS request_body, NULL AS response_xml")
        + """
        WHERE (CAST(:tenant_id AS bigint) IS NULL OR j.tenant_id = :tenant_id)
          AND (CAST(:status AS text) IS NULL OR j.status = :status)
          AND (CAST(:before_id AS bigint) IS NULL OR j.id < :before_id)
        ORDER BY j.id DESC LIMIT :limit
    """
    )
    params = {"tenant_id": tenant_id, "status": status, "limit": limit, "before_id": before_id}
    rows = conn.execute(text(sql), params)
    return [JobRow(**row._mapping) for row in rows]


def get_job(conn: Connection, job_id: int) -> JobRow:
    """One job in full, with its request and QuickBooks' response."""
    row = conn.execute(
        text(_SELECT.format(bodies="j.request_body, j.response_gz, j.response_xml") + " WHERE j.id = :id"),
        {"id": job_id},
    ).first()
    if row is None:
        raise JobNotFound(f"no job {job_id}")
    fields = dict(row._mapping)
    fields["response_xml"] = response_text(fields.pop("response_gz"), fields["response_xml"])
    return JobRow(**fields)


def job_counts(conn: Connection, tenant_id: int) -> dict[str, int]:
    """Jobs per status for one tenant (statuses without jobs are left out)."""
    rows = conn.execute(
        text("SELECT status, count(*) FROM jobs WHERE tenant_id = :id GROUP BY status"), {"id": tenant_id}
    )
    return {status: n for status, n in rows}


def enqueue_raw(
    conn: Connection, tenant_id: int, request_xml: str, *, max_attempts: int, priority: int = 100
) -> int:
    """Queue a raw qbXML request for the tenant's next session; returns the job id.

    `request_xml` is a whole qbXML document, a bare QBXMLMsgsRq or just the `…Rq` elements; the
    session wraps them in its own envelope. Raises QbxmlParseError for anything else.
    `max_attempts` is the deployment's (Settings.job_max_attempts).
    """
    body = request_messages(request_xml)
    return raw.enqueue_raw(conn, tenant_id, body, priority=priority, max_attempts=max_attempts)


def retry_job(conn: Connection, job_id: int, *, resend: bool = False) -> None:
    """Requeue a failed, dead or blocked job with fresh attempts (QueueError otherwise); an
    unconfirmed write only with `resend`, since QuickBooks may already have done it."""
    queue.retry_job(conn, job_id, resend=resend)


def cancel_job(conn: Connection, job_id: int) -> None:
    """Give up on a job that is not in flight (an unconfirmed one too): it becomes dead (QueueError
    otherwise)."""
    queue.cancel_job(conn, job_id)
