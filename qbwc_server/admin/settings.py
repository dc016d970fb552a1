"""A tenant's settings (`TenantSettings`, config.py): read them, change its pull schedule and
its push settings (sync/push_settings.py), and what the company file allows (preferences).

The settings are checked where they are typed (config.py, push_settings.py); the entities a
pull setting may name are the pulls sync/pulls.py defines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from qbwc_server import queue
from qbwc_server.config import TenantSettings
from qbwc_server.qbxml.preferences import SALES_ORDERS_UNAVAILABLE, CompanyPreferences
from qbwc_server.sync import schedule
from qbwc_server.sync.pulls import PULLS_BY_ENTITY
from qbwc_server.sync.push_settings import PushSettings


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


def set_push_settings(conn: Connection, tenant_id: int, **values: Any) -> PushSettings:
    """Change the tenant's push settings (PushSettings field names); returns them. Raises
    ValueError naming the first value out of bounds; nothing is changed then."""
    current = schedule.tenant_settings(conn, tenant_id, for_update=True)
    push = PushSettings.of(current).changed(**values)
    conn.execute(
        text("UPDATE tenants SET settings = CAST(:s AS jsonb), updated_at = now() WHERE id = :t"),
        {"s": json.dumps(push.store(current).to_json()), "t": tenant_id},
    )
    if push.orders_as == "estimates":
        _release_orders_held_by_edition(conn, tenant_id)
    return push


def _release_orders_held_by_edition(conn: Connection, tenant_id: int) -> None:
    """Orders held because the edition has no sales orders go again (now as estimates), with what
    waited on them, instead of waiting for an admin to retry each."""
    held = conn.execute(
        text("""
            SELECT id, entity_ref FROM jobs
            WHERE tenant_id = :t AND kind = 'orders.push' AND status = 'failed'
              AND last_message LIKE 'Sales orders need QuickBooks Premier or Enterprise%'
        """),
        {"t": tenant_id},
    ).all()
    for job in held:
        queue.retry_job(conn, job.id)
        conn.execute(
            text("""
                UPDATE sales_orders SET sync_state = 'pending', sync_error = NULL
                WHERE id = :id AND tenant_id = :t
            """),
            {"id": int(job.entity_ref), "t": tenant_id},
        )


@dataclass(frozen=True)
class PushOverview:
    """What `tenant show` prints about pushes."""

    settings: PushSettings
    #: None until a Web Connector session brought the company's preferences.
    preferences: CompanyPreferences | None
    warnings: tuple[str, ...]


def push_overview(conn: Connection, tenant_id: int) -> PushOverview:
    row = conn.execute(
        text("SELECT settings, company_preferences FROM tenants WHERE id = :t"), {"t": tenant_id}
    ).one()
    push = PushSettings.of(TenantSettings.from_stored(row.settings))
    stored = row.company_preferences
    preferences = None if stored is None else CompanyPreferences.from_json(stored)
    return PushOverview(push, preferences, push_warnings(push, preferences))


def push_warnings(push: PushSettings, preferences: CompanyPreferences | None) -> tuple[str, ...]:
    """Settings the company file cannot honour, in plain words with the fix."""
    if preferences is None:
        return ()
    warnings: list[str] = []
    if push.orders_as == "sales-orders" and not preferences.can_create_sales_orders:
        warnings.append(SALES_ORDERS_UNAVAILABLE)
    if push.orders_as == "estimates" and preferences.estimates is False:
        warnings.append(
            "Orders go as estimates, but estimates are turned off in this company file: turn them on"
            " in QuickBooks (Edit > Preferences > Jobs & Estimates) or set --orders-as sales-orders"
        )
    return tuple(warnings)
