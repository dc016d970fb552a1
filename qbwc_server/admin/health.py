"""A tenant's connection health in words: the one answer behind `qbwc-server status`, the API's
`GET /status` and `GET /tenants`, and the status page.

Everything here comes from what the service already records: the tenant's last Web Connector
contact, its sessions and their closing summaries, QuickBooks' host and company preferences, the
queue and the pull cursors. The state is decided once, in admin/status.py, from one statement's
facts (the first of API.md's list that holds), so two faces of a tenant never disagree; this
module says what it means and what to check, and adds the detail of one tenant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection

from qbwc_server.admin import health_reads as reads
from qbwc_server.admin.health_reads import Failure, MappingWait, QuickBooksHost, SessionSummary
from qbwc_server.admin.pulls import pull_states
from qbwc_server.admin.status import (
    DEFAULT_POLL_MINUTES,
    INACTIVE_AFTER_INTERVALS,
    TenantFacts,
    problems_of,
    state_of,
    tenant_facts,
)
from qbwc_server.admin.tenants import get_tenant

__all__ = [
    "DEFAULT_POLL_MINUTES",
    "INACTIVE_AFTER_INTERVALS",
    "STATES",
    "Failure",
    "HealthSummary",
    "MappingWait",
    "PullLag",
    "QuickBooksHost",
    "SessionSummary",
    "TenantHealth",
    "duration_words",
    "tenant_health",
    "tenants_health",
]

#: The states of API.md's GET /status, in the order they are tested (admin/status.state_of).
STATES = (
    "disabled",
    "never_connected",
    "inactive",
    "quickbooks_unavailable",
    "needs_attention",
    "healthy",
    "idle",
)
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
#: A tenant the Web Connector never reached.
NEVER_CONNECTED_CHECKLIST = (
    "Download the tenant's .qwc file (`qbwc-server qwc NAME > NAME.qwc`, or GET /api/v1/qwc).",
    "On the QuickBooks PC, with QuickBooks open as Admin: Web Connector > Add an application > that"
    " file, and allow access when QuickBooks asks.",
    "Type the tenant's password into the Web Connector's Password column, check Auto-Run, Update Selected.",
)
_PASSWORD_CHECK = (
    "The Web Connector is calling with a password that is refused: type the tenant's password into"
    " its Password column again, or issue a new one (`qbwc-server tenant rotate-password NAME`)."
)


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
class HealthSummary:
    """One line of `GET /tenants` and `qbwc-server status`: a tenant's health without its detail."""

    tenant: str
    state: str
    headline: str
    checklist: tuple[str, ...]
    last_contact_at: dt.datetime | None
    #: The last session that ended with closeConnection, with its closing message.
    last_session: SessionSummary | None
    queue: Mapping[str, int]
    #: Jobs waiting for an admin (failed, dead, blocked, unconfirmed held).
    failures_total: int
    problems: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """The API's body: datetimes as RFC 3339 strings."""
        body: dict[str, Any] = _jsonable(asdict(self))
        return body


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
    #: The database's clock when this was read: every age above is measured from it.
    as_of: dt.datetime

    def as_json(self) -> dict[str, Any]:
        """The API's body: datetimes as RFC 3339 strings."""
        body: dict[str, Any] = _jsonable(asdict(self))
        return body


def tenants_health(conn: Connection) -> list[HealthSummary]:
    """Every tenant's health by name, from one statement (admin/status.tenant_facts)."""
    return [_summary(facts) for facts in tenant_facts(conn)]


def tenant_health(conn: Connection, name_or_username: str) -> TenantHealth:
    """One tenant's health in full (TenantNotFound if there is none by that name or username)."""
    [facts] = tenant_facts(conn, get_tenant(conn, name_or_username).id)
    summary = _summary(facts)
    tenant_id, now = facts.tenant.id, facts.now
    return TenantHealth(
        tenant=summary.tenant,
        state=summary.state,
        headline=summary.headline,
        checklist=summary.checklist,
        last_contact_at=summary.last_contact_at,
        expected_poll_seconds=facts.poll_seconds,
        last_session=summary.last_session,
        recent_sessions=reads.sessions(conn, tenant_id, RECENT_SESSIONS),
        quickbooks=reads.quickbooks_host(conn, tenant_id),
        queue=summary.queue,
        pulls=tuple(
            PullLag(
                p.entity,
                p.last_completed_at,
                (now - p.last_completed_at).total_seconds() if p.last_completed_at else None,
                p.off,
                p.last_job_status,
            )
            for p in pull_states(conn, tenant_id)
        ),
        failures=reads.failures(conn, tenant_id, FAILURES_SHOWN),
        failures_total=summary.failures_total,
        needs_mapping=reads.needs_mapping(conn, tenant_id),
        problems=summary.problems,
        as_of=now,
    )


def _summary(facts: TenantFacts) -> HealthSummary:
    problems = problems_of(facts)
    state = state_of(facts, problems)
    headline, checklist = _words(state, facts, problems)
    done = facts.complete_session
    last = None
    if done is not None:
        last = SessionSummary(
            done.ticket_prefix, "closed", done.started_at, done.closed_at, done.summary, None
        )
    failures = sum(facts.jobs.get(s, 0) for s in ("failed", "dead", "blocked")) + facts.held_writes
    return HealthSummary(
        tenant=facts.tenant.name,
        state=state,
        headline=headline,
        checklist=checklist,
        last_contact_at=facts.last_contact_at,
        last_session=last,
        queue=dict(facts.jobs),
        failures_total=failures,
        problems=problems,
    )


def _words(state: str, facts: TenantFacts, problems: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The headline and the checklist of `state`."""
    name, every = facts.tenant.name, duration_words(facts.poll_seconds)
    password = (_PASSWORD_CHECK.replace("NAME", name),) if facts.refused_since_contact else ()
    if state == "disabled":
        return f"Disabled: the Web Connector is refused; `qbwc-server tenant enable {name}` lets it in.", ()
    if state == "never_connected":
        steps = tuple(step.replace("NAME", name) for step in NEVER_CONNECTED_CHECKLIST)
        return (
            "The Web Connector has never connected: add the tenant's .qwc file to it on the QuickBooks PC"
            f" (`qbwc-server qwc {name}`) and enter the password.",
            password + steps,
        )
    if state == "inactive":
        silent = duration_words(int(facts.silent_seconds or 0))
        if password:
            return (
                f"No good Web Connector call for {silent}: it calls with a wrong password"
                f" ({facts.failed_logins} refused since the last good one).",
                password + INACTIVE_CHECKLIST,
            )
        return (
            f"No word from the Web Connector for {silent} (its .qwc asks for a call every {every}):"
            " is the QuickBooks PC on?",
            INACTIVE_CHECKLIST,
        )
    if state == "quickbooks_unavailable":
        error = (
            facts.last_session.last_error if facts.last_session else None
        ) or facts.tenant.connection_error
        said = (error or "no reason given").splitlines()[0]
        return f"The Web Connector could not open QuickBooks on its PC: {said}", UNAVAILABLE_CHECKLIST
    if state == "needs_attention":
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return f"Connected, but something needs an admin: {problems[0]}{more}", password
    last = facts.complete_session
    after = f"; the last session said: {last.summary}" if last is not None and last.summary else "."
    if state == "healthy":
        if facts.last_session is not None and facts.last_session.state == "open":
            return "Connected and syncing: a Web Connector session is running now.", ()
        waiting = sum(facts.jobs.get(s, 0) for s in ("queued", "sent", "unconfirmed")) - facts.held_writes
        return (
            f"Connected and syncing: {waiting} job{'s go' if waiting != 1 else ' goes'} at the Web"
            f" Connector's next call (every {every}){after}",
            (),
        )
    return f"Connected; nothing to do: the Web Connector calls every {every}{after}", ()


def duration_words(seconds: int) -> str:
    """90 -> "1 minute", 7200 -> "2 hours": the largest whole unit, for a sentence."""
    seconds = max(0, seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
