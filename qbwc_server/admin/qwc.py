"""A tenant's .qwc file (webconnector/qwc.py builds it), and the polling interval it asks for,
kept in the tenant's settings: health calls a tenant `inactive` after 3 intervals without a call.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from qbwc_server.admin.status import DEFAULT_POLL_MINUTES
from qbwc_server.admin.tenants import TenantInfo, get_tenant
from qbwc_server.webconnector.qwc import QwcError, build_qwc

#: RunEveryNMinutes the Web Connector accepts: at least every minute, at most once a day.
MIN_EVERY, MAX_EVERY = 1, 1440

#: Merge {"qwc": {"run_every_minutes": N}} into the settings, keeping every other key (a stored
#: value that is not an object is replaced, as `tenants.set_disabled` does).
_RECORD_INTERVAL = text("""
    UPDATE tenants SET updated_at = now(), settings =
        CASE WHEN jsonb_typeof(settings) = 'object' THEN settings ELSE '{}' END
        || jsonb_build_object('qwc',
               CASE WHEN jsonb_typeof(settings -> 'qwc') = 'object' THEN settings -> 'qwc' ELSE '{}' END
               || jsonb_build_object('run_every_minutes', CAST(:minutes AS int)))
    WHERE id = :id
""")


def write_qwc(
    conn: Connection, name_or_username: str, *, app_url: str, every: int | None = None
) -> tuple[TenantInfo, str]:
    """The tenant and its .qwc (QwcError for an AppURL the Web Connector refuses, or an interval
    out of bounds); the interval (by default the one recorded, else 1 minute) is recorded on the
    tenant in the caller's transaction."""
    tenant = get_tenant(conn, name_or_username)
    if every is None:
        every = recorded_every(conn, tenant.id) or DEFAULT_POLL_MINUTES
    if not MIN_EVERY <= every <= MAX_EVERY:
        raise QwcError(f"the Web Connector runs every {MIN_EVERY} to {MAX_EVERY} minutes, not {every}")
    qwc = build_qwc(
        tenant_name=tenant.name,
        username=tenant.username,
        owner_id=tenant.owner_id,
        file_id=tenant.file_id,
        app_url=app_url,
        run_every_minutes=every,
    )
    conn.execute(_RECORD_INTERVAL, {"minutes": every, "id": tenant.id})
    return tenant, qwc


def recorded_every(conn: Connection, tenant_id: int) -> int | None:
    """The interval the tenant's last .qwc asked for, in minutes (None: no .qwc recorded one)."""
    raw = conn.execute(
        text("SELECT settings #> '{qwc,run_every_minutes}' FROM tenants WHERE id = :id"), {"id": tenant_id}
    ).scalar()
    valid = isinstance(raw, int) and not isinstance(raw, bool) and MIN_EVERY <= raw <= MAX_EVERY
    return raw if valid else None
