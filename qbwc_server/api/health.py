"""`GET /status` (a tenant's connection health in full) and the admin's `GET /tenants` (every
tenant's health summary, one statement). The work is admin/health.py's, the same as
`qbwc-server status`'s: the two faces never disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

from pydantic import BaseModel, Field

from qbwc_server.admin.health import tenant_health, tenants_health
from qbwc_server.api.routing import ApiReply, Call, Route

State = Literal[
    "disabled", "never_connected", "inactive", "quickbooks_unavailable", "needs_attention", "healthy", "idle"
]


class SessionView(BaseModel):
    """A Web Connector session."""

    ticket_prefix: str = Field(description="The ticket's first 8 characters (never the ticket).")
    state: Literal["open", "closed", "failed", "expired"]
    started_at: dt.datetime
    ended_at: dt.datetime | None
    summary: str | None = Field(description="The closing message closeConnection answered.")
    error: str | None = Field(description="Why it failed (connectionError) or expired.")


class QuickBooksView(BaseModel):
    """What QuickBooks said of itself and the company file."""

    product: str | None
    version: str | None
    country: str | None
    edition: str | None = Field(description="pro, premier, enterprise, accountant or unknown.")
    qbxml_version: str | None
    company_file: str | None = Field(
        description="The file QuickBooks had open in the last session, else the one the tenant expects;"
        " null: whichever is open."
    )


class PullLagView(BaseModel):
    entity: str
    last_completed_at: dt.datetime | None
    lag_seconds: float | None = Field(description="Seconds since the pull last completed; null if never.")
    off: bool
    last_job_status: str | None


class FailureView(BaseModel):
    """A job that waits for an admin."""

    job_id: int
    kind: str
    entity_ref: str | None
    status: Literal["failed", "dead", "blocked", "unconfirmed"]
    quickbooks_code: int | None
    message: str
    fix: str | None
    updated_at: dt.datetime
    record: str | None = Field(description='The commerce record it pushes, e.g. "order WC3001 (o-1)".')


class MappingWaitView(BaseModel):
    """A customer QuickBooks refused for a name in use (3100): link it (POST /customers/{id}/link)."""

    customer_id: str
    name: str
    message: str | None
    fix: str | None


class _Health(BaseModel):
    tenant: str
    state: State = Field(description="The first that holds, in this order: " + ", ".join(get_args(State)))
    headline: str = Field(description="The state in one sentence.")
    checklist: list[str] = Field(description="What to check, in order, when the state asks it of an admin.")
    last_contact_at: dt.datetime | None = Field(description="The Web Connector's last authenticated call.")
    last_session: SessionView | None = Field(description="The last session that ended with closeConnection.")
    queue: dict[str, int] = Field(description="Jobs per status (statuses without jobs left out).")
    failures_total: int = Field(description="Jobs waiting for an admin.")
    problems: list[str] = Field(description="Each problem in one line with its fix, most blocking first.")


class StatusReply(_Health):
    """A tenant's connection health, in full."""

    expected_poll_seconds: int = Field(
        description="How often the tenant's .qwc asks the Web Connector to call; inactive after 3 of them."
    )
    recent_sessions: list[SessionView]
    quickbooks: QuickBooksView
    pulls: list[PullLagView]
    failures: list[FailureView] = Field(description="The newest 50 (failures_total counts them all).")
    needs_mapping: list[MappingWaitView]
    as_of: dt.datetime = Field(description="The server's clock when this was read.")


class TenantHealthView(_Health):
    """One tenant's health, without its detail (GET /tenants/{tenant}/status has it)."""


class TenantsReply(BaseModel):
    data: list[TenantHealthView]


def get_status(call: Call) -> ApiReply:
    assert call.tenant_name is not None  # a tenant route: the scope always names one
    with call.engine.connect() as conn:
        health = tenant_health(conn, call.tenant_name)
    return ApiReply(200, StatusReply.model_validate(health.as_json()).model_dump(mode="json"))


def list_tenants(call: Call) -> ApiReply:
    with call.engine.connect() as conn:
        rows = tenants_health(conn)
    reply = TenantsReply(data=[TenantHealthView.model_validate(row.as_json()) for row in rows])
    return ApiReply(200, reply.model_dump(mode="json"))


ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/status",
        get_status,
        "Connection health: the state, what to check, last contact and session, QuickBooks, queue,"
        " pull lag, failures with their fix",
        response=StatusReply,
    ),
    Route(
        "GET",
        "/tenants",
        list_tenants,
        "Every tenant's health summary (admin token)",
        response=TenantsReply,
        scope="admin",
    ),
)
