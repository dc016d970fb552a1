"""How tenants are doing, read for any number of them in one statement: their queue by status,
their last sessions, their lockout and wrong passwords, their pull cursors; then every problem
that waits for an admin (each with its fix) and the state API.md's GET /status names.

`qbwc-server status`, `tenant list|show`, GET /status, GET /tenants and the status page all
stand on these facts (admin/health.py puts them in words), and the problems and the state are
decided here, once, so no face can say "none" while another shows a problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Connection, text

from qbwc_server.admin.pulls import MIRRORED, PullsOverview, overview, pull_states
from qbwc_server.admin.tenants import ENDED_BY_ADMIN, MIRROR_TABLES, TenantInfo, get_tenant
from qbwc_server.config import TenantSettings
from qbwc_server.sync.pulls import PULLS
from qbwc_server.webconnector.lifecycle import OUTLIVED

#: Job statuses that wait for an admin.
NEEDS_ATTENTION = ("failed", "dead", "blocked")
#: No Web Connector contact for this many times the .qwc's interval makes a tenant `inactive`.
INACTIVE_AFTER_INTERVALS = 3
#: The .qwc's RunEveryNMinutes when none was recorded (`qbwc-server qwc --every`).
DEFAULT_POLL_MINUTES = 1
#: Sessions that ended this way are no failure of the tenant's (an admin ended them, or one
#: reached its maximum length and the next run carries on).
_BENIGN_ENDINGS = ENDED_BY_ADMIN | {OUTLIVED}


@dataclass(frozen=True)
class LastSession:
    """The tenant's newest session, whatever became of it."""

    state: str
    started_at: dt.datetime
    last_error: str | None


@dataclass(frozen=True)
class CompleteSession:
    """The tenant's last session that ended with closeConnection, and its closing message."""

    ticket_prefix: str
    started_at: dt.datetime
    closed_at: dt.datetime
    summary: str | None


@dataclass(frozen=True)
class TenantFacts:
    """What the service knows of one tenant's connection, from one row of `_FACTS`."""

    tenant: TenantInfo
    settings: TenantSettings
    #: The stored settings as they are (keys TenantSettings does not type, e.g. "qwc", included).
    raw_settings: Mapping[str, Any]
    #: The database's clock when the facts were read: every age is measured from it.
    now: dt.datetime
    #: The Web Connector's last authenticated call: a poll, or any call of a session.
    last_contact_at: dt.datetime | None
    last_session: LastSession | None
    complete_session: CompleteSession | None
    #: Jobs per status (statuses without jobs left out).
    jobs: Mapping[str, int]
    #: Unconfirmed writes held for an admin (`jobs retry ID --resend` or `jobs cancel ID`).
    held_writes: int
    #: Entities whose cursor saw records while the mirror holds none (see admin/pulls.py).
    hollow: tuple[str, ...]
    #: Wrong passwords since the last good login, and when the latest came.
    failed_logins: int
    last_failed_login_at: dt.datetime | None

    @property
    def poll_seconds(self) -> int:
        """How often the tenant's .qwc asks the Web Connector to run (`qwc --every`), in seconds."""
        qwc = self.raw_settings.get("qwc")
        minutes = qwc.get("run_every_minutes") if isinstance(qwc, Mapping) else None
        if isinstance(minutes, int) and not isinstance(minutes, bool) and minutes > 0:
            return minutes * 60
        return DEFAULT_POLL_MINUTES * 60

    @property
    def silent_seconds(self) -> float | None:
        """Seconds since the last contact; None when there never was one."""
        seen = self.last_contact_at
        return None if seen is None else max(0.0, (self.now - seen).total_seconds())

    @property
    def locked(self) -> bool:
        """Locked out after repeated wrong passwords, now."""
        until = self.tenant.locked_until
        return until is not None and until > self.now

    @property
    def refused_since_contact(self) -> bool:
        """Wrong passwords came after the last good contact (the Web Connector's may be wrong)."""
        failed, seen = self.last_failed_login_at, self.last_contact_at
        return self.failed_logins > 0 and failed is not None and (seen is None or failed > seen)

    @property
    def busy(self) -> bool:
        """A session is open, or work waits for the next poll."""
        waiting = sum(self.jobs.get(s, 0) for s in ("queued", "sent", "unconfirmed")) - self.held_writes
        return waiting > 0 or (self.last_session is not None and self.last_session.state == "open")


#: Where each hollow-checked entity's rows are (admin/pulls.MIRRORED), as one CASE; invoices count
#: only when sales orders are hollow too (only invoices of mirrored orders are kept).
_HOLLOW_CASES = "\n".join(
    f"WHEN '{entity}' THEN NOT EXISTS (SELECT 1 FROM {table} WHERE {table}.tenant_id = t.id AND {where})"
    for entity, (table, where) in MIRRORED.items()
)
_PULL_ORDER = "ARRAY[" + ", ".join(f"'{spec.entity}'" for spec in PULLS) + "]"
_TENANT_COLUMNS = ", ".join(f"t.{name}" for name in TenantInfo.__dataclass_fields__)

#: Every fact of every tenant (or of one: `:tenant_id`), one row each, by name: one statement
#: however many tenants there are. Each lateral join reads one tenant's rows through an index.
_FACTS = text(f"""
    SELECT {_TENANT_COLUMNS}, t.settings AS raw_settings, t.failed_logins, now() AS now,
           greatest(t.last_seen_at, last.last_call_at) AS last_contact_at,
           last.state AS last_state, last.started_at AS last_started_at, last.last_error AS last_error,
           done.ticket_prefix, done.started_at AS done_started_at, done.closed_at AS done_closed_at,
           done.summary AS done_summary,
           coalesce(q.counts, '{{}}') AS jobs,
           (SELECT count(*) FROM jobs h WHERE h.tenant_id = t.id AND h.status = 'unconfirmed'
                                          AND h.if_unanswered = 'hold') AS held_writes,
           (SELECT max(a.last_failed_at) FROM auth_failures a WHERE a.username = t.username)
               AS last_failed_login_at,
           ARRAY(SELECT c.entity FROM sync_cursors c
                 WHERE c.tenant_id = t.id AND c.last_modified IS NOT NULL AND CASE c.entity {_HOLLOW_CASES}
                     WHEN 'invoices' THEN NOT EXISTS (SELECT 1 FROM invoices WHERE invoices.tenant_id = t.id)
                         AND NOT EXISTS (SELECT 1 FROM sales_orders WHERE sales_orders.tenant_id = t.id)
                         AND EXISTS (SELECT 1 FROM sync_cursors o WHERE o.tenant_id = t.id
                                     AND o.entity = 'sales_orders' AND o.last_modified IS NOT NULL)
                     ELSE false END
                 ORDER BY array_position({_PULL_ORDER}, c.entity)) AS hollow
    FROM tenants t
    LEFT JOIN LATERAL (
        SELECT s.state, s.started_at, s.last_call_at, s.last_error FROM qbwc_sessions s
        WHERE s.tenant_id = t.id ORDER BY s.started_at DESC, s.ticket LIMIT 1
    ) last ON true
    LEFT JOIN LATERAL (  -- one session at a time per tenant: the newest closed is the last to close
        SELECT left(s.ticket, 8) AS ticket_prefix, s.started_at, s.closed_at, s.summary FROM qbwc_sessions s
        WHERE s.tenant_id = t.id AND s.state = 'closed' ORDER BY s.started_at DESC, s.ticket LIMIT 1
    ) done ON true
    LEFT JOIN LATERAL (  -- index-only: (tenant_id, status, id)
        SELECT jsonb_object_agg(g.status, g.n) AS counts FROM (
            SELECT j.status, count(*) AS n FROM jobs j WHERE j.tenant_id = t.id GROUP BY j.status
        ) g
    ) q ON true
    WHERE CAST(:tenant_id AS bigint) IS NULL OR t.id = :tenant_id
    ORDER BY t.name
""")


def tenant_facts(conn: Connection, tenant_id: int | None = None) -> list[TenantFacts]:
    """The facts of every tenant by name (or of the one with `tenant_id`), in one statement."""
    # Its estimated cost grows with the tenants and their jobs, past where PostgreSQL compiles a
    # plan (JIT): about 0.9 s of compiling for 100 tenants, to run a query of about 0.2 s.
    conn.execute(text("SET LOCAL jit = off"))
    return [_facts(dict(row._mapping)) for row in conn.execute(_FACTS, {"tenant_id": tenant_id})]


def _facts(row: Mapping[str, Any]) -> TenantFacts:
    tenant = TenantInfo(**{name: row[name] for name in TenantInfo.__dataclass_fields__})
    last = LastSession(row["last_state"], row["last_started_at"], row["last_error"])
    done = CompleteSession(
        row["ticket_prefix"], row["done_started_at"], row["done_closed_at"], row["done_summary"]
    )
    raw = row["raw_settings"]
    return TenantFacts(
        tenant=tenant,
        settings=TenantSettings.from_stored(raw),
        raw_settings=raw if isinstance(raw, Mapping) else {},
        now=row["now"],
        last_contact_at=row["last_contact_at"],
        last_session=last if row["last_state"] is not None else None,
        complete_session=done if row["ticket_prefix"] is not None else None,
        jobs={str(status): int(n) for status, n in (row["jobs"] or {}).items()},
        held_writes=int(row["held_writes"]),
        hollow=tuple(row["hollow"]),
        failed_logins=int(row["failed_logins"]),
        last_failed_login_at=row["last_failed_login_at"],
    )


def problems_of(facts: TenantFacts) -> tuple[str, ...]:
    """Everything that waits for an admin, most blocking first, each with what to run."""
    t, name = facts.tenant, facts.tenant.name
    found: list[str] = []
    if facts.settings.disabled_at is not None:
        found.append(
            f"disabled since {facts.settings.disabled_at[:19].replace('T', ' ')}: the Web Connector is"
            f" refused; `qbwc-server tenant enable {name}` lets it in again"
        )
    if facts.locked and t.locked_until is not None:
        found.append(
            f"the username is locked out until {t.locked_until:%Y-%m-%d %H:%M:%S} after repeated bad"
            f" passwords; the right password works after that, or `qbwc-server tenant rotate-password {name}`"
        )
    elif facts.refused_since_contact and facts.last_failed_login_at is not None:
        found.append(
            f"{facts.failed_logins} wrong password(s) for this username since the last good login (the"
            f" latest at {facts.last_failed_login_at:%Y-%m-%d %H:%M:%S}): if that is the Web Connector, enter"
            f" the password there again, or issue a new one: `qbwc-server tenant rotate-password {name}`"
        )
    if t.connection_error:
        found.append(t.connection_error)
    else:  # a failed session is how a connection error arrives: said once, above
        session = _session_problem(facts.last_session, name)
        if session:
            found.append(session)
    stuck = sum(facts.jobs.get(s, 0) for s in NEEDS_ATTENTION)
    if stuck:
        detail = ", ".join(f"{facts.jobs[s]} {s}" for s in NEEDS_ATTENTION if facts.jobs.get(s))
        found.append(
            f"{stuck} job{'s' if stuck > 1 else ''} need{'' if stuck > 1 else 's'} help ({detail}):"
            f" `qbwc-server jobs list --tenant {name}`, then `qbwc-server jobs show ID` for the fix"
        )
    if facts.held_writes:
        found.append(
            f"{facts.held_writes} unconfirmed write(s) wait for you to look in QuickBooks, then"
            " `qbwc-server jobs retry ID --resend` (not there) or `qbwc-server jobs cancel ID` (there)"
        )
    if facts.hollow:
        found.append(
            f"{', '.join(facts.hollow)}: the cursor says synced but the mirror is empty;"
            f" run `qbwc-server refresh {name} {' '.join(facts.hollow)}`"
        )
    found.extend(
        f"a stored setting is out of bounds and its default applies instead: {reason}"
        f" (`qbwc-server tenant set {name} --pull …` replaces it)"
        for reason in facts.settings.ignored
    )
    return tuple(found)


def _session_problem(session: LastSession | None, name: str) -> str | None:
    """The newest session, when it ended without closing (failed: connectionError; expired: the
    Web Connector stopped calling mid-session) and not for a reason that is nobody's fault."""
    if session is None or session.state not in ("failed", "expired") or session.last_error in _BENIGN_ENDINGS:
        return None
    started = f"the last Web Connector session (started {session.started_at:%Y-%m-%d %H:%M:%S})"
    if session.state == "expired" or not session.last_error:
        return (
            f"{started} expired: the Web Connector stopped calling mid-session; its log on the"
            ' QuickBooks PC says why (for "Request timed out" there, ask for smaller pages:'
            f" `qbwc-server tenant set {name} --page-size 100`)"
        )
    return f"{started} failed: {session.last_error.splitlines()[0]}"


def state_of(facts: TenantFacts, problems: tuple[str, ...]) -> str:
    """The first of API.md's states that holds (admin/health.STATES, in that order)."""
    if facts.settings.disabled_at is not None:
        return "disabled"
    silent = facts.silent_seconds
    if silent is None:
        return "never_connected"
    if silent > INACTIVE_AFTER_INTERVALS * facts.poll_seconds:
        return "inactive"
    if facts.last_session is not None and facts.last_session.state == "failed":
        return "quickbooks_unavailable"  # connectionError, and no session since
    if problems:
        return "needs_attention"
    return "healthy" if facts.busy else "idle"


# -- what `tenant list|show` print --------------------------------------------------------------


@dataclass(frozen=True)
class TenantSummary:
    """A tenant, its jobs per status, what needs an admin, and its state."""

    tenant: TenantInfo
    jobs: Mapping[str, int]
    #: Unconfirmed writes held for an admin (`jobs retry ID --resend` or `jobs cancel ID`).
    held_writes: int
    settings: TenantSettings
    #: Each problem in one line with its fix; empty when there is none.
    problems: tuple[str, ...]
    #: The first of API.md's status states that holds (`state_of`).
    state: str
    facts: TenantFacts

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
        return self.facts.locked


@dataclass(frozen=True)
class TenantStatus(TenantSummary):
    """A tenant in full: its jobs, its problems and how far its pulls got."""

    pulls: PullsOverview


def summarize(facts: TenantFacts) -> TenantSummary:
    """`facts` with its problems and state decided."""
    problems = problems_of(facts)
    return TenantSummary(
        facts.tenant,
        facts.jobs,
        facts.held_writes,
        facts.settings,
        problems,
        state_of(facts, problems),
        facts,
    )


def tenant_summaries(conn: Connection) -> list[TenantSummary]:
    """Every tenant, by name, with its jobs per status, problems and state (one statement)."""
    return [summarize(facts) for facts in tenant_facts(conn)]


def tenant_status(conn: Connection, name_or_username: str) -> TenantStatus:
    """One tenant in full (TenantNotFound if there is none by that name or username)."""
    [facts] = tenant_facts(conn, get_tenant(conn, name_or_username).id)
    summary = summarize(facts)
    pulls = overview(pull_states(conn, facts.tenant.id), facts.hollow)
    return TenantStatus(
        **{field.name: getattr(summary, field.name) for field in fields(summary)}, pulls=pulls
    )


def mirror_counts(conn: Connection, tenant_id: int) -> dict[str, int]:
    """Rows per mirror table for one tenant, in MIRROR_TABLES' order."""
    return {
        table: conn.execute(
            text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": tenant_id}
        ).scalar_one()
        for table in MIRROR_TABLES
    }
