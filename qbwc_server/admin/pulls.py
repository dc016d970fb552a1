"""A tenant's pulls from QuickBooks, for admins: where each one stands, a full refresh, Sync Now.

When pulls are due and how they are queued is sync/schedule.py's; this module reads the cursors
for people and asks the schedule for more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from qbwc_server.sync import schedule
from qbwc_server.sync.pulls import PULLS

#: Statuses of a pull's latest job that need an admin (the fix is on the job).
STUCK = ("failed", "dead")
#: Where each pulled entity's records land: table and condition. A cursor with a TimeModified
#: saw records; this table having none of them means the mirror lost them (a rollback, a
#: restore) and the next incremental pull would not bring them back. Stock figures and
#: deletions only change rows of the others; invoices are checked with sales orders, below.
MIRRORED: dict[str, tuple[str, str]] = {
    **{name: (name, "true") for name in (
        "classes", "customer_types", "terms", "sales_reps", "sales_tax_codes", "price_levels", "customers",
        "sales_orders", "payments",
    )},
    "inventory_items": ("items", "kind = 'inventory'"),
    "assembly_items": ("items", "kind = 'assembly'"),
}  # fmt: skip


@dataclass(frozen=True)
class PullState:
    """One pulled entity of one tenant."""

    entity: str
    #: QuickBooks' TimeModified the next incremental pull starts from (minus the overlap).
    last_modified: dt.datetime | None = None
    last_completed_at: dt.datetime | None = None
    #: None with `off` false: due at the next authenticate.
    next_due_at: dt.datetime | None = None
    #: The tenant turned this pull off.
    off: bool = False
    #: Status of the entity's latest pull job, if any.
    last_job_status: str | None = None


@dataclass(frozen=True)
class PullsOverview:
    """How far a tenant's pulls got, in one glance."""

    synced: int
    total: int
    last_completed_at: dt.datetime | None
    #: Entities whose latest pull failed and waits for an admin.
    stuck: tuple[str, ...]
    off: tuple[str, ...]
    #: Entities whose cursor says synced but whose mirror has no row (`hollow_entities`).
    hollow: tuple[str, ...] = ()


def pull_states(conn: Connection, tenant_id: int) -> list[PullState]:
    """Every pulled entity, in pull order: cursor, last completion, next due time, last job."""
    rows = conn.execute(
        text("""
            SELECT c.entity, c.last_modified, c.last_completed_at,
                   CASE WHEN c.next_due_at < 'infinity' THEN c.next_due_at END AS next_due_at,
                   c.next_due_at = 'infinity' AS off,
                   (SELECT j.status FROM jobs j
                    WHERE j.tenant_id = c.tenant_id AND j.kind = c.entity || '.pull'
                    ORDER BY j.id DESC LIMIT 1) AS last_job_status
            FROM sync_cursors c WHERE c.tenant_id = :t
        """),
        {"t": tenant_id},
    )
    by_entity = {row.entity: PullState(*row) for row in rows}
    return [by_entity.get(spec.entity, PullState(spec.entity)) for spec in PULLS]


def overview(states: Sequence[PullState], hollow: Sequence[str] = ()) -> PullsOverview:
    """Sum up `pull_states` (for `tenant show` and the status page)."""
    done = [state.last_completed_at for state in states if state.last_completed_at is not None]
    return PullsOverview(
        synced=len(done),
        total=len(states),
        last_completed_at=max(done, default=None),
        stuck=tuple(state.entity for state in states if state.last_job_status in STUCK),
        off=tuple(state.entity for state in states if state.off),
        hollow=tuple(hollow),
    )


def hollow_entities(conn: Connection, tenant_id: int, states: Sequence[PullState]) -> list[str]:
    """Entities whose cursor saw records (a TimeModified) while their mirror holds none for the
    tenant: the next pull would be incremental and never bring the rest back. Invoices count
    when sales orders do too (only invoices of mirrored sales orders are kept)."""
    hollow: list[str] = []
    for state in states:
        if state.last_modified is None:
            continue
        if state.entity in MIRRORED:
            if not _has_rows(conn, tenant_id, *MIRRORED[state.entity]):
                hollow.append(state.entity)
        elif (  # pulled after sales orders
            state.entity == "invoices"
            and "sales_orders" in hollow
            and not _has_rows(conn, tenant_id, "invoices", "true")
        ):
            hollow.append(state.entity)
    return hollow


def _has_rows(conn: Connection, tenant_id: int, table: str, condition: str) -> bool:
    return bool(
        conn.execute(
            text(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE tenant_id = :t AND {condition})"),
            {"t": tenant_id},
        ).scalar_one()
    )


def refresh(conn: Connection, tenant_id: int, names: Iterable[str]) -> list[str]:
    """Queue a full refresh of each named entity or group (UnknownEntity for a name that is
    neither); returns the entities queued. It runs when the Web Connector next connects."""
    return schedule.request_refresh(conn, tenant_id, names)


@dataclass(frozen=True)
class SyncNow:
    """What Sync Now did, for the admin or the commerce side that asked."""

    #: Pulled at the Web Connector's next authenticate.
    due: tuple[str, ...]
    #: Turned off for the tenant (`tenant set --pull ENTITY=off`): not pulled.
    off: tuple[str, ...]
    #: Due, but their latest pull failed and waits for an admin (`jobs retry`, or `refresh`).
    stuck: tuple[str, ...]
    #: The tenant's jobs waiting for the next poll (pushes included), pulls just made due aside.
    queued_jobs: int


def sync_now(conn: Connection, tenant_id: int) -> SyncNow:
    """Make every pull that is not off due at the next authenticate, and say which."""
    schedule.make_pulls_due(conn, tenant_id)
    settings = schedule.tenant_settings(conn, tenant_id)
    off = {spec.entity for spec in PULLS if schedule.interval_for(spec, settings) is None}
    states = pull_states(conn, tenant_id)
    queued = conn.execute(
        text("SELECT count(*) FROM jobs WHERE tenant_id = :t AND status = 'queued'"), {"t": tenant_id}
    ).scalar_one()
    stuck = {state.entity for state in states if state.entity not in off and state.last_job_status in STUCK}
    return SyncNow(
        due=tuple(state.entity for state in states if state.entity not in off | stuck),
        off=tuple(state.entity for state in states if state.entity in off),
        stuck=tuple(state.entity for state in states if state.entity in stuck),
        queued_jobs=int(queued),
    )
