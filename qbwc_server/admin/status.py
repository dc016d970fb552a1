"""How tenants are doing: their queue by status, their pulls, what landed in their mirror, and
every problem that waits for an admin, each with its fix.

What `qbwc-server status` and `tenant list|show` print, and what the API's status will answer.
The problems are computed here, once, from everything the status shows, so no part of it can
say "none" while another shows jobs needing help or a lockout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, text

from qbwc_server.admin.jobs import job_counts
from qbwc_server.admin.pulls import PullsOverview, hollow_entities, overview, pull_states
from qbwc_server.admin.tenants import ENDED_BY_ADMIN, MIRROR_TABLES, TenantInfo, get_tenant, list_tenants
from qbwc_server.config import TenantSettings
from qbwc_server.sync.schedule import tenant_settings

#: Job statuses that wait for an admin.
NEEDS_ATTENTION = ("failed", "dead", "blocked")


@dataclass(frozen=True)
class TenantSummary:
    """A tenant, its jobs per status, and what needs an admin."""

    tenant: TenantInfo
    jobs: Mapping[str, int]
    #: Unconfirmed writes held for an admin (`jobs retry ID --resend` or `jobs cancel ID`).
    held_writes: int
    settings: TenantSettings
    #: Each problem in one line with its fix; empty when there is none.
    problems: tuple[str, ...]
    #: The first of API.md's status states that holds: disabled, never_connected,
    #: quickbooks_unavailable, needs_attention, healthy.
    state: str

    @property
    def queued(self) -> int:
        return self.jobs.get("queued", 0)

    @property
    def needing_attention(self) -> int:
        """Jobs failed, dead, blocked or held unconfirmed: each waits for an admin."""
        return sum(self.jobs.get(status, 0) for status in NEEDS_ATTENTION) + self.held_writes

    @property
    def locked(self) -> bool:
        """Locked out after repeated bad passwords, now."""
        until = self.tenant.locked_until
        return until is not None and until > dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class TenantStatus(TenantSummary):
    """A tenant in full: its jobs, its problems and how far its pulls got."""

    pulls: PullsOverview


def tenant_summaries(conn: Connection) -> list[TenantSummary]:
    """Every tenant, by name, with its jobs per status and its problems."""
    return [_status(conn, t) for t in list_tenants(conn)]


def tenant_status(conn: Connection, name_or_username: str) -> TenantStatus:
    """One tenant in full (TenantNotFound if there is none by that name or username)."""
    return _status(conn, get_tenant(conn, name_or_username))


def _status(conn: Connection, tenant: TenantInfo) -> TenantStatus:
    jobs = job_counts(conn, tenant.id)
    held = conn.execute(
        text(
            "SELECT count(*) FROM jobs"
            " WHERE tenant_id = :t AND status = 'unconfirmed' AND if_unanswered = 'hold'"
        ),
        {"t": tenant.id},
    ).scalar_one()
    states = pull_states(conn, tenant.id)
    pulls = overview(states, hollow_entities(conn, tenant.id, states))
    settings = tenant_settings(conn, tenant.id)
    partial = TenantStatus(tenant, jobs, held, settings, (), "healthy", pulls)
    problems = tuple(_problems(conn, partial))
    return TenantStatus(tenant, jobs, held, settings, problems, _state(partial, problems), pulls)


def _state(status: TenantStatus, problems: tuple[str, ...]) -> str:
    if status.settings.disabled_at is not None:
        return "disabled"
    if status.tenant.last_seen_at is None:
        return "never_connected"
    if status.tenant.connection_error:
        return "quickbooks_unavailable"
    return "needs_attention" if problems else "healthy"


def _problems(conn: Connection, status: TenantStatus) -> list[str]:
    """Everything that waits for an admin, most blocking first, each with what to run."""
    t, name = status.tenant, status.tenant.name
    found: list[str] = []
    if status.settings.disabled_at is not None:
        found.append(
            f"disabled since {status.settings.disabled_at[:19].replace('T', ' ')}: the Web Connector is"
            f" refused; `qbwc-server tenant enable {name}` lets it in again"
        )
    if status.locked and t.locked_until is not None:
        found.append(
            f"the username is locked out until {t.locked_until:%Y-%m-%d %H:%M:%S} after repeated bad"
            f" passwords; the right password works after that, or `qbwc-server tenant rotate-password {name}`"
        )
    if t.connection_error:
        found.append(t.connection_error)
    else:  # a failed session is how a connection error arrives: said once, above
        session = _last_session_problem(conn, t.id)
        if session:
            found.append(session)
    stuck = sum(status.jobs.get(s, 0) for s in NEEDS_ATTENTION)
    if stuck:
        detail = ", ".join(f"{status.jobs[s]} {s}" for s in NEEDS_ATTENTION if status.jobs.get(s))
        found.append(
            f"{stuck} job{'s' if stuck > 1 else ''} need{'' if stuck > 1 else 's'} help ({detail}):"
            f" `qbwc-server jobs list --tenant {name}`, then `qbwc-server jobs show ID` for the fix"
        )
    if status.held_writes:
        found.append(
            f"{status.held_writes} unconfirmed write(s) wait for you to look in QuickBooks, then"
            " `qbwc-server jobs retry ID --resend` (not there) or `qbwc-server jobs cancel ID` (there)"
        )
    if status.pulls.hollow:
        entities = " ".join(status.pulls.hollow)
        found.append(
            f"{', '.join(status.pulls.hollow)}: the cursor says synced but the mirror is empty;"
            f" run `qbwc-server refresh {name} {entities}`"
        )
    found.extend(
        f"a stored setting is out of bounds and its default applies instead: {reason}"
        f" (`qbwc-server tenant set {name} --pull …` replaces it)"
        for reason in status.settings.ignored
    )
    return found


def _last_session_problem(conn: Connection, tenant_id: int) -> str | None:
    """The tenant's latest session, when it ended without closing (failed, or expired: the Web
    Connector stopped calling mid-session) and no admin ended it."""
    row = conn.execute(
        text("""
            SELECT state, started_at, last_error FROM qbwc_sessions
            WHERE tenant_id = :t ORDER BY started_at DESC, ticket LIMIT 1
        """),
        {"t": tenant_id},
    ).first()
    if row is None or row.state not in ("failed", "expired") or row.last_error in ENDED_BY_ADMIN:
        return None
    started = f"the last Web Connector session (started {row.started_at:%Y-%m-%d %H:%M:%S})"
    if row.state == "expired" or not row.last_error:
        return (
            f"{started} expired: the Web Connector stopped calling mid-session;"
            " its log on the QuickBooks PC says why"
        )
    return f"{started} failed: {row.last_error.splitlines()[0]}"


def mirror_counts(conn: Connection, tenant_id: int) -> dict[str, int]:
    """Rows per mirror table for one tenant, in MIRROR_TABLES' order."""
    return {
        table: conn.execute(
            text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": tenant_id}
        ).scalar_one()
        for table in MIRROR_TABLES
    }
