"""A tenant's settings (`TenantSettings`, config.py): read them, change its pull schedule.

The settings are checked where they are typed (config.py); the entities a pull setting may
name are the pulls sync/pulls.py defines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import Connection, text

from qbwc_server.config import TenantSettings
from qbwc_server.sync import schedule
from qbwc_server.sync.pulls import PULLS_BY_ENTITY


def get_settings(conn: Connection, tenant_id: int) -> TenantSettings:
    """The tenant's settings as stored (defaults where it set nothing)."""
    return schedule.tenant_settings(conn, tenant_id)


def set_pull_settings(
    conn: Connection,
    tenant_id: int,
    *,
    intervals: Mapping[str, int] | None = None,
    page_size: int | None = None,
) -> TenantSettings:
    """Change the tenant's pull intervals (seconds per entity or "default"; 0 turns a pull off)
    and page size; returns its settings. A changed interval applies from now: the pull is due
    its new interval after it last completed (at once if that has passed).

    Raises UnknownEntity for an entity that is not pulled, TenantSettingsError for a value out
    of bounds; nothing is changed then.
    """
    for name in intervals or {}:
        if name != "default" and name not in PULLS_BY_ENTITY:
            raise schedule.UnknownEntity(
                f"unknown entity {name!r}; choose from: default, {', '.join(PULLS_BY_ENTITY)}"
            )
    current = schedule.tenant_settings(conn, tenant_id, for_update=True)
    changed = current.with_pulls(intervals=intervals, page_size=page_size)
    conn.execute(
        text("UPDATE tenants SET settings = CAST(:s AS jsonb), updated_at = now() WHERE id = :t"),
        {"s": json.dumps(changed.to_json()), "t": tenant_id},
    )
    schedule.replan(conn, tenant_id, current, changed)
    return changed
