"""Which pulls are due, queued when the Web Connector authenticates.

A tenant that never synced has every pull due, so its first session is a full initial sync.
After that each entity is pulled incrementally every `interval` (per-tenant overrides in its
`TenantSettings.pull_intervals`; 0 turns a pull off), from its cursor minus a small overlap for
clock and DST skew between QuickBooks' PC and us. Changing the settings is admin/settings.py's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, text

from qbwc_server import queue
from qbwc_server.config import TenantSettings
from qbwc_server.errors import QbwcError
from qbwc_server.queue import retention
from qbwc_server.sync.pull import PullSpec
from qbwc_server.sync.pulls import GROUPS, PULLS, PULLS_BY_ENTITY

#: Finished pull jobs are kept this long (for `jobs list` and closing messages), then deleted:
#: a tenant runs about a hundred an hour, and the cursors hold all a pull needs.
KEEP_DONE_PULLS = dt.timedelta(days=1)
#: Finished jobs (and ended sessions) deleted per planning pass when the tenant has some past
#: retention (queue/retention.py): a backlog drains over passes, or at once with `jobs prune`.
PRUNE_PER_PASS = 100
#: Re-read this much before the cursor: QuickBooks' clock may lag ours, and DST shifts hit
#: FromModifiedDate filters. Rows re-read unchanged are not rewritten.
OVERLAP = dt.timedelta(minutes=5)
#: SQL joining tenant `t`'s cursors in one pass, as `pulls`: `pulls.due` is true when a pull is
#: due (never synced, or a cursor whose time has come), `pulls.next_at` is when the next one is.
PULLS_DUE_JOIN = """LEFT JOIN LATERAL (
    SELECT count(*) = 0 OR bool_or(c.next_due_at IS NULL OR c.next_due_at <= now()) AS due,
           min(c.next_due_at) FILTER (WHERE c.next_due_at < 'infinity') AS next_at
    FROM sync_cursors c WHERE c.tenant_id = t.id
) pulls ON true"""


class UnknownEntity(QbwcError, ValueError):
    """`refresh` was asked for an entity that is not pulled."""

    code = "bad_request"


def tenant_settings(conn: Connection, tenant_id: int, *, for_update: bool = False) -> TenantSettings:
    """The tenant's settings; `for_update` locks its row until the transaction ends.

    Read leniently (`TenantSettings.from_stored`): authenticate plans pulls with them, and a
    stored value out of bounds must fall back to its default, not fail every poll.
    """
    lock = " FOR UPDATE" if for_update else ""
    raw = conn.execute(text(f"SELECT settings FROM tenants WHERE id = :t{lock}"), {"t": tenant_id}).scalar()
    return TenantSettings.from_stored(raw)


def interval_for(spec: PullSpec, settings: TenantSettings) -> dt.timedelta | None:
    """The tenant's interval for `spec`; None when the tenant turned that pull off."""
    seconds = settings.pull_interval(spec.entity)
    if seconds is None:
        return spec.interval
    return dt.timedelta(seconds=seconds) if seconds > 0 else None


def page_size_for(spec: PullSpec, settings: TenantSettings) -> int | None:
    """MaxReturned for `spec`'s pages: the tenant's page size (smaller pages for a slow
    QuickBooks PC, so no call nears the Web Connector's timeout), else the pull's own (500)."""
    if spec.page_size is None:
        return None
    return settings.pull_page_size or spec.page_size


def enqueue_due_pulls(conn: Connection, tenant_id: int, keep: dt.timedelta | None = None) -> int:
    """Queue every pull of the tenant that is due and not already queued; returns how many.

    With `keep` (QBWC_JOB_RETENTION_DAYS), a small batch of the tenant's finished jobs and ended
    sessions older than that goes too: planning runs every few minutes per active tenant, and
    with nothing to delete the pass is a probe of two indexes."""
    settings = tenant_settings(conn, tenant_id, for_update=True)  # one planner per tenant at a time
    cursors = {
        row.entity: row
        for row in conn.execute(
            text("SELECT entity, last_modified, next_due_at FROM sync_cursors WHERE tenant_id = :t"),
            {"t": tenant_id},
        )
    }
    _prune_done_pulls(conn, tenant_id)
    if keep is not None:
        retention.prune_tenant(conn, tenant_id, keep, PRUNE_PER_PASS)
    open_kinds = _open_pull_kinds(conn, tenant_id)
    now = conn.execute(text("SELECT now()")).scalar_one()
    queued = 0
    for spec in PULLS:
        interval = interval_for(spec, settings)
        cursor = cursors.get(spec.entity)
        if interval is None:
            _set_next_due(conn, tenant_id, spec.entity, None)
            continue
        if cursor is not None and cursor.next_due_at is not None and cursor.next_due_at > now:
            continue
        _set_next_due(conn, tenant_id, spec.entity, now + interval)
        if spec.kind in open_kinds:
            continue
        since = (
            cursor.last_modified - OVERLAP
            if cursor is not None and cursor.last_modified and spec.incremental
            else None
        )
        _enqueue(conn, tenant_id, spec, since, now, settings)
        queued += 1
    return queued


def request_refresh(conn: Connection, tenant_id: int, names: Iterable[str]) -> list[str]:
    """Queue a full refresh (everything, not just changes) of each named entity or group.

    Returns the entities queued. An entity with a pull already waiting in the queue gets that
    pull widened to a full one instead of a second job.
    """
    entities: list[str] = []
    for name in names:
        if name in GROUPS:
            entities.extend(GROUPS[name])
        elif name in PULLS_BY_ENTITY:
            entities.append(name)
        else:
            choices = ", ".join([*GROUPS, *PULLS_BY_ENTITY])
            raise UnknownEntity(f"unknown entity {name!r}; choose from: {choices}")
    now = conn.execute(text("SELECT now()")).scalar_one()
    settings = tenant_settings(conn, tenant_id)
    done: list[str] = []
    for entity in dict.fromkeys(entities):
        spec = PULLS_BY_ENTITY[entity]
        widened = conn.execute(
            text("""
                UPDATE jobs SET params = params - 'since', updated_at = now()
                WHERE tenant_id = :t AND kind = :kind AND status = 'queued' AND NOT (params ? 'iterator_id')
            """),
            {"t": tenant_id, "kind": spec.kind},
        ).rowcount
        if not widened:
            _enqueue(conn, tenant_id, spec, None, now, settings)
        done.append(entity)
    return done


def _enqueue(
    conn: Connection,
    tenant_id: int,
    spec: PullSpec,
    since: dt.datetime | None,
    now: dt.datetime,
    settings: TenantSettings,
) -> int:
    params: dict[str, Any] = {"started_at": now.isoformat(), "page_size": page_size_for(spec, settings)}
    if since is not None:
        params["since"] = since.isoformat()
    return queue.enqueue(conn, tenant_id, spec.kind, priority=spec.priority, params=params)


def _prune_done_pulls(conn: Connection, tenant_id: int) -> None:
    """Delete the tenant's pull jobs finished more than KEEP_DONE_PULLS ago (failed ones stay)."""
    conn.execute(
        text("""
            DELETE FROM jobs
            WHERE tenant_id = :t AND status = 'done' AND kind LIKE '%.pull' AND finished_at < now() - :keep
        """),
        {"t": tenant_id, "keep": KEEP_DONE_PULLS},
    )


def _open_pull_kinds(conn: Connection, tenant_id: int) -> set[str]:
    """Pull kinds not to queue again: one is waiting or running, or the latest one failed and
    waits for an admin (`jobs retry`, `refresh`, or turning the pull off) — queueing the same
    refused request every interval would only pile up failures."""
    return set(
        conn.execute(
            text("""
                SELECT kind FROM (
                    SELECT DISTINCT ON (kind) kind, status FROM jobs
                    WHERE tenant_id = :t AND kind LIKE '%.pull' ORDER BY kind, id DESC
                ) latest
                WHERE status IN ('queued', 'sent', 'blocked', 'failed', 'dead')
            """),
            {"t": tenant_id},
        ).scalars()
    )


def _set_next_due(conn: Connection, tenant_id: int, entity: str, when: dt.datetime | None) -> None:
    conn.execute(
        text("""
            INSERT INTO sync_cursors (tenant_id, entity, next_due_at)
            VALUES (:t, :e, coalesce(CAST(:when AS timestamptz), 'infinity'))
            ON CONFLICT (tenant_id, entity) DO UPDATE
            SET next_due_at = EXCLUDED.next_due_at, updated_at = now()
        """),
        {"t": tenant_id, "e": entity, "when": when},
    )


def replan(conn: Connection, tenant_id: int, before: TenantSettings, after: TenantSettings) -> list[str]:
    """After the tenant's intervals changed from `before` to `after`: each pull whose interval
    changed is planned from its last completion with the new one, so the change applies now
    rather than after the old due time. A pull never completed stays due at the next
    authenticate; one turned off is off at once. Returns the entities replanned."""
    changed: list[str] = []
    for spec in PULLS:
        old, new = interval_for(spec, before), interval_for(spec, after)
        if old == new:
            continue
        changed.append(spec.entity)
        conn.execute(
            text("""
                UPDATE sync_cursors SET updated_at = now(), next_due_at = CASE
                    WHEN CAST(:off AS boolean) THEN 'infinity'
                    ELSE last_completed_at + CAST(:interval AS interval) END
                WHERE tenant_id = :t AND entity = :e
            """),
            {"t": tenant_id, "e": spec.entity, "off": new is None, "interval": new or dt.timedelta(0)},
        )
    return changed


def make_pulls_due(conn: Connection, tenant_id: int) -> int:
    """Make every pull of the tenant that is not off due now (Sync Now); returns how many."""
    return conn.execute(
        text("UPDATE sync_cursors SET next_due_at = now() WHERE tenant_id = :t AND next_due_at < 'infinity'"),
        {"t": tenant_id},
    ).rowcount
