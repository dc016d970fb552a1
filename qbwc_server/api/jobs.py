"""`GET /jobs` (a tenant's jobs, newest first, by status), `GET /jobs/{id}` and
`POST /jobs/{id}/retry`: jobs as the commerce side or an admin reads them.

A job of another tenant is answered exactly as one that does not exist. The work is
admin/jobs.py's (and queue/manual.py's behind it). A page's `next_cursor` carries its filters
(as the list endpoints' do): the next page is `?cursor=…` alone.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import Connection

from qbwc_server.admin import jobs as admin_jobs
from qbwc_server.admin.jobs import JobNotFound, JobRow
from qbwc_server.api.routing import ApiError, ApiReply, Call, Route
from qbwc_server.models import JobStatus
from qbwc_server.qbxml.errors import explain_status
from qbwc_server.queue import QueueError

#: Job ids are PostgreSQL bigints.
_MAX_JOB_ID = 2**63 - 1


class JobSummary(BaseModel):
    """A job as listed: where it stands, what QuickBooks last said of it and what to do about it."""

    id: int
    kind: str
    status: str
    attempts: int
    max_attempts: int
    #: The record the job is for (a push: the mirror row's id; a pull: none).
    entity_ref: str | None
    #: Jobs it waits for.
    depends_on: list[int]
    run_after: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None
    #: QuickBooks' statusCode of the last answer (None before one, or when the failure was not
    #: QuickBooks' own, e.g. a dependency that failed).
    last_status_code: int | None
    last_message: str | None
    #: What to do about `last_status_code`, in plain words (qbxml/errors.py).
    fix: str | None


class JobView(JobSummary):
    """A job in full: with the qbXML request and response a raw job keeps."""

    request: str | None = Field(
        description="The qbXML request kept on the job (raw qbXML jobs). Pulls and pushes build"
        " theirs from the mirror when they are sent and do not keep it: null for them."
    )
    response: str | None = Field(description="QuickBooks' response kept on the job (raw qbXML jobs).")


class RetryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resend: StrictBool = Field(
        default=False,
        description="Send an unconfirmed write again (its answer was lost: QuickBooks may already"
        " have done it). Without it, retrying an unconfirmed job is 409.",
    )


def view(job: JobRow) -> JobView:
    """`job` as the API shows it."""
    return JobView(**summary(job).model_dump(), request=job.request_body, response=job.response_xml)


def summary(job: JobRow) -> JobSummary:
    """`job` as a listing shows it."""
    fix = None
    if job.last_status_code is not None:
        fix = explain_status(job.last_status_code, job.last_message or "").fix or None
    return JobSummary(
        id=job.id,
        kind=job.kind,
        status=job.status,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        entity_ref=job.entity_ref,
        depends_on=job.depends_on,
        run_after=job.run_after,
        created_at=job.created_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
        last_status_code=job.last_status_code,
        last_message=job.last_message,
        fix=fix,
    )


def _own_job(conn: Connection, call: Call) -> JobRow:
    """The call's job, or 404 (for a job of another tenant as well)."""
    raw = call.path["id"]
    not_found = ApiError(404, "not_found", f"no job {raw[:40]}")
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= _MAX_JOB_ID:
        raise not_found
    try:
        job = admin_jobs.get_job(conn, int(raw))
    except JobNotFound:
        raise not_found from None
    if job.tenant != call.tenant_name:
        raise not_found
    return job


def get_job(call: Call) -> ApiReply:
    with call.engine.connect() as conn:
        job = _own_job(conn, call)
    return ApiReply(200, view(job).model_dump(mode="json"))


def retry_job(call: Call) -> ApiReply:
    """Requeue a failed, dead or blocked job; an unconfirmed write only with `{"resend": true}`."""
    body = call.body if isinstance(call.body, RetryBody) else RetryBody()
    with call.engine.begin() as conn:
        job = _own_job(conn, call)
        if job.status == JobStatus.UNCONFIRMED and not body.resend:
            raise ApiError(
                409,
                "conflict",
                f"job {job.id} was sent and QuickBooks' answer was lost, so QuickBooks may already have"
                ' done it: check QuickBooks first, then retry with {"resend": true} to send it again',
                field="resend",
            )
        try:
            admin_jobs.retry_job(conn, job.id, resend=body.resend)
        except QueueError as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        job = admin_jobs.get_job(conn, job.id)
    return ApiReply(200, view(job).model_dump(mode="json"))


#: A page of GET /jobs: how many jobs by default and at most.
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
_STATUSES = tuple(status.value for status in JobStatus)


class JobPage(BaseModel):
    data: list[JobSummary]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= (alone) for the next page; null at the end."
    )


def list_jobs(call: Call) -> ApiReply:
    """The tenant's jobs, newest first, optionally of one status, a page at a time."""
    status, limit, before = _page_query(call.query)
    with call.engine.connect() as conn:
        rows = admin_jobs.list_jobs(
            conn, tenant=call.tenant_name, status=status, limit=limit + 1, before_id=before
        )
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = _cursor({"status": status, "limit": limit, "before": rows[-1].id}) if more else None
    page = JobPage(data=[summary(row) for row in rows], next_cursor=cursor)
    return ApiReply(200, page.model_dump(mode="json"))


def _page_query(query: Mapping[str, str]) -> tuple[str | None, int, int | None]:
    """(status, limit, before id) from the query: the filters, or a cursor alone; else 400."""
    if "cursor" in query:
        others = sorted(name for name in ("status", "limit") if name in query)
        if others:
            raise ApiError(
                400,
                "bad_request",
                f"a cursor carries its filters: send ?cursor= alone, without {others[0]}",
                field=others[0],
            )
        return _read_cursor(query["cursor"])
    status = query.get("status") or None
    if status is not None and status not in _STATUSES:
        raise ApiError(
            400,
            "bad_request",
            f"status must be one of {', '.join(_STATUSES)}, not {status[:40]!r}",
            field="status",
        )
    raw = query.get("limit", str(DEFAULT_LIMIT))
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_LIMIT):
        raise ApiError(
            400,
            "bad_request",
            f"limit must be a whole number from 1 to {MAX_LIMIT}, not {raw[:20]!r}",
            field="limit",
        )
    return status, int(raw), None


def _cursor(state: Mapping[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def _read_cursor(raw: str) -> tuple[str | None, int, int | None]:
    try:
        state = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        status, limit, before = state["status"], state["limit"], state["before"]
        valid = (
            (status is None or status in _STATUSES)
            and isinstance(limit, int)
            and isinstance(before, int)
            and 1 <= limit <= MAX_LIMIT
            and 1 <= before < 2**63
        )
    except (ValueError, binascii.Error, KeyError, TypeError):
        valid = False
    if not valid:
        raise ApiError(400, "bad_request", "the cursor is not one this API gave out", field="cursor")
    return status, int(limit), int(before)


ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/jobs",
        list_jobs,
        "The tenant's jobs, newest first, optionally of one status (a page at a time)",
        response=JobPage,
        query={
            "status": "Only jobs of this status: " + ", ".join(_STATUSES) + ".",
            "limit": f"Jobs per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
            "cursor": "The previous page's next_cursor (alone: it carries the filters).",
        },
    ),
    Route(
        "GET", "/jobs/{id}", get_job, "One job: status, QuickBooks' last answer, the fix", response=JobView
    ),
    Route(
        "POST",
        "/jobs/{id}/retry",
        retry_job,
        "Requeue a failed, dead or blocked job (an unconfirmed write only with resend)",
        body=RetryBody,
        response=JobView,
    ),
)
