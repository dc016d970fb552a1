"""A tenant's connection health in words: the one answer behind `qbwc-server status`, the API's
`GET /status` and `GET /tenants`, and the status page.

Everything here comes from what the service already records: the tenant's last Web Connector
contact, its sessions and their closing summaries, QuickBooks' host and company preferences, the
queue and the pull cursors. The state is the first of API.md's list that holds, so two faces of
the same tenant can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, text

from qbwc_server.admin.pulls import pull_states
from qbwc_server.admin.status import TenantStatus, tenant_status
from qbwc_server.qbxml.errors import explain_status
from qbwc_server.sync.push import sync_error

#: The states of API.md's GET /status, in the order they are tested.
STATES = (
    "disabled",
    "never_connected",
    "inactive",
    "quickbooks_unavailable",
    "needs_attention",
    "healthy",
    "idle",
)
#: No poll for this many times the .qwc's interval makes a tenant `inactive`.
INACTIVE_AFTER_INTERVALS = 3
#: The .qwc's RunEveryNMinutes when none was recorded (`qbwc-server qwc --every`).
DEFAULT_POLL_MINUTES = 1
#: Most failures one health answer lists (newest first); `failures_total` counts them all.
FAILURES_SHOWN = 50
#: Sessions the page lists.
RECENT_SESSIONS = 10

#: What to check on the QuickBooks PC when the Web Connector could not open QuickBooks.
UNAVAILABLE_CHECKLIST = (
    "The QuickBooks PC is on and awake (not asleep or logged off).",
    "QuickBooks is running with the company file open.",
    "The Web Connector is running and not blocked by a QuickBooks dialog (a message box, an update,"
    " a login prompt): close any open dialog.",
    "In QuickBooks, File > App Management > Update Web Services runs the Web Connector again.",
    "Close the Web Connector with Hide, not Exit, so it keeps running in the background.",
)
#: What to check when the Web Connector stopped polling.
INACTIVE_CHECKLIST = (
    "Is the QuickBooks PC on and awake?",
    "Is the Web Connector running there, with this application's Auto-Run checked?",
    "Can that PC reach this server's address (its AppURL)? The Web Connector's log says why not.",
)


@dataclass(frozen=True)
class Failure:
    """A job that waits for an admin, with QuickBooks' code and our fix."""

    job_id: int
    kind: str
    entity_ref: str | None
    #: failed, dead, blocked, or unconfirmed (a write held until an admin looks in QuickBooks).
    status: str
    quickbooks_code: int | None
    message: str
    fix: str | None
    updated_at: dt.datetime


@dataclass(frozen=True)
class SessionSummary:
    """One Web Connector session as admins read it."""

    #: The ticket's first 8 characters: enough to tell sessions apart, never the ticket.
    ticket_prefix: str
    state: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    #: The closing line closeConnection answered ("Done: pulled 3 customers, …").
    summary: str | None
    #: Why it failed (connectionError) or expired.
    error: str | None


@dataclass(frozen=True)
class PullLag:
    """How far behind QuickBooks one pulled entity may be."""

    entity: str
    last_completed_at: dt.datetime | None
    #: Seconds since that pull last completed; None when it never did.
    lag_seconds: float | None
    off: bool
    last_job_status: str | None


@dataclass(frozen=True)
class QuickBooksHost:
    """What QuickBooks told us of itself and the company (the last session's first calls)."""

    product: str | None
    version: str | None
    country: str | None
    edition: str | None
    qbxml_version: str | None
    company_file: str | None


@dataclass(frozen=True)
class MappingWait:
    """A commerce customer QuickBooks refused (3100: the name is in use) until an admin links it."""

    customer_id: str
    name: str
    message: str | None
    fix: str | None


@dataclass(frozen=True)
class TenantHealth:
    """A tenant's health: the state, what it means, and everything it was decided from."""

    tenant: str
    #: One of STATES.
    state: str
    #: The state in one sentence an admin understands ("QuickBooks could not be opened: …").
    headline: str
    #: What to check, in order, when the state asks for something of the admin; else empty.
    checklist: tuple[str, ...]
    last_contact_at: dt.datetime | None
    #: The .qwc's polling interval in seconds; `inactive` is 3 times this without a poll.
    expected_poll_seconds: int
    #: The last session that ended with closeConnection.
    last_session: SessionSummary | None
    #: Newest first, at most RECENT_SESSIONS.
    recent_sessions: tuple[SessionSummary, ...]
    quickbooks: QuickBooksHost
    #: Jobs per status (statuses without jobs left out).
    queue: Mapping[str, int]
    pulls: tuple[PullLag, ...]
    #: Newest first, at most FAILURES_SHOWN.
    failures: tuple[Failure, ...]
    failures_total: int
    needs_mapping: tuple[MappingWait, ...]
    #: Every problem in one line with its fix (admin/status.py), most blocking first.
    problems: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """The API's body: datetimes as RFC 3339 strings."""
        body: dict[str, Any] = _jsonable(asdict(self))
        return body


def tenant_health(conn: Connection, name_or_username: str, *, now: dt.datetime | None = None) -> TenantHealth:
    """One tenant's health (TenantNotFound if there is none by that name or username)."""
    status = tenant_status(conn, name_or_username)
    return _health(conn, status, now or _now(conn))


def _health(conn: Connection, status: TenantStatus, now: dt.datetime) -> TenantHealth:
    t = status.tenant
    host, raw_settings = _host(conn, t.id)
    poll = _poll_seconds(raw_settings)
    sessions = _sessions(conn, t.id)
    failures, total = _failures(conn, t.id)
    state = _state(status, now, poll, sessions)
    headline, checklist = _words(state, status, poll)
    return TenantHealth(
        tenant=t.name,
        state=state,
        headline=headline,
        checklist=checklist,
        last_contact_at=t.last_seen_at,
        expected_poll_seconds=poll,
        last_session=next((s for s in sessions if s.state == "closed"), None),
        recent_sessions=tuple(sessions),
        quickbooks=host,
        queue=dict(status.jobs),
        pulls=tuple(
            PullLag(
                p.entity,
                p.last_completed_at,
                (now - p.last_completed_at).total_seconds() if p.last_completed_at else None,
                p.off,
                p.last_job_status,
            )
            for p in pull_states(conn, t.id)
        ),
        failures=failures,
        failures_total=total,
        needs_mapping=_needs_mapping(conn, t.id),
        problems=status.problems,
    )


def _state(status: TenantStatus, now: dt.datetime, poll: int, sessions: list[SessionSummary]) -> str:
    if status.state in ("disabled", "never_connected"):
        return status.state
    seen = status.tenant.last_seen_at
    if seen is not None and (now - seen).total_seconds() > INACTIVE_AFTER_INTERVALS * poll:
        return "inactive"
    if status.state in ("quickbooks_unavailable", "needs_attention"):
        return status.state
    busy = any(status.jobs.get(s, 0) for s in ("queued", "sent", "unconfirmed"))
    return "healthy" if busy or (sessions and sessions[0].state == "open") else "idle"


def _words(state: str, status: TenantStatus, poll: int) -> tuple[str, tuple[str, ...]]:
    name = status.tenant.name
    if state == "disabled":
        return f"Disabled: the Web Connector is refused; `qbwc-server tenant enable {name}` lets it in.", ()
    if state == "never_connected":
        return (
            "The Web Connector has never connected: add the .qwc file to it on the QuickBooks PC"
            f" (`qbwc-server qwc {name}`) and enter the password.",
            (),
        )
    if state == "inactive":
        return (
            f"No Web Connector poll for over {INACTIVE_AFTER_INTERVALS * poll // 60} minutes"
            " (it should call every few minutes): is the QuickBooks PC on?",
            INACTIVE_CHECKLIST,
        )
    if state == "quickbooks_unavailable":
        return f"QuickBooks could not be opened: {status.tenant.connection_error}", UNAVAILABLE_CHECKLIST
    if state == "needs_attention":
        return "Something needs an admin: " + "; ".join(status.problems[:1]), ()
    if state == "healthy":
        return "Connected and syncing.", ()
    return "Connected; nothing to do right now.", ()


def _poll_seconds(settings: Mapping[str, Any]) -> int:
    minutes = settings.get("qwc", {}).get("run_every_minutes", DEFAULT_POLL_MINUTES)
    return int(minutes) * 60 if isinstance(minutes, int) and minutes > 0 else DEFAULT_POLL_MINUTES * 60


def _sessions(conn: Connection, tenant_id: int) -> list[SessionSummary]:
    rows = conn.execute(
        text("""
            SELECT left(ticket, 8) AS ticket_prefix, state, started_at, closed_at AS ended_at, summary,
                   CASE WHEN state IN ('failed', 'expired') THEN last_error END AS error
            FROM qbwc_sessions WHERE tenant_id = :t ORDER BY started_at DESC, ticket LIMIT :n
        """),
        {"t": tenant_id, "n": RECENT_SESSIONS},
    )
    return [SessionSummary(**row._mapping) for row in rows]


def _failures(conn: Connection, tenant_id: int) -> tuple[tuple[Failure, ...], int]:
    where = """
        FROM jobs WHERE tenant_id = :t
          AND (status IN ('failed', 'dead', 'blocked') OR (status = 'unconfirmed' AND if_unanswered = 'hold'))
    """
    total = conn.execute(text("SELECT count(*) " + where), {"t": tenant_id}).scalar_one()
    rows = conn.execute(
        text(
            "SELECT id, kind, entity_ref, status, last_status_code, last_message, updated_at "
            + where
            + " ORDER BY updated_at DESC, id DESC LIMIT :n"
        ),
        {"t": tenant_id, "n": FAILURES_SHOWN},
    )
    failures = tuple(
        Failure(
            job_id=row.id,
            kind=row.kind,
            entity_ref=row.entity_ref,
            status=row.status,
            quickbooks_code=row.last_status_code,
            message=row.last_message or "",
            fix=(explain_status(row.last_status_code, row.last_message or "").fix or None)
            if row.last_status_code
            else None,
            updated_at=row.updated_at,
        )
        for row in rows
    )
    return failures, total


def _host(conn: Connection, tenant_id: int) -> tuple[QuickBooksHost, dict[str, Any]]:
    """QuickBooks' host and company as last reported, and the tenant's raw settings."""
    row = conn.execute(
        text("""
            SELECT host_product AS product, host_version AS version, host_country AS country,
                   company_preferences ->> 'edition' AS edition, qbxml_version, company_file, settings
            FROM tenants WHERE id = :t
        """),
        {"t": tenant_id},
    ).one()
    fields = dict(row._mapping)
    settings = fields.pop("settings") or {}
    return QuickBooksHost(**fields), settings


def _needs_mapping(conn: Connection, tenant_id: int) -> tuple[MappingWait, ...]:
    rows = conn.execute(
        text("""
            SELECT commerce_id, name, sync_error FROM customers
            WHERE tenant_id = :t AND sync_state = 'needs_mapping' ORDER BY name, id
        """),
        {"t": tenant_id},
    )
    waits = []
    for row in rows:
        error = sync_error({"sync_error": row.sync_error}) or {}
        waits.append(MappingWait(row.commerce_id or "", row.name, error.get("message"), error.get("fix")))
    return tuple(waits)


def _now(conn: Connection) -> dt.datetime:
    return conn.execute(text("SELECT now()")).scalar_one()  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
