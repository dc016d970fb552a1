"""Bulk writes into the mirror: one statement per page of records, whatever its size.

A row is rewritten only when something in it differs from what is stored, so a pull that
overlaps the previous one (clock skew) changes nothing, and `updated_at` moves only for rows
QuickBooks really changed — the commerce side's `updated_since` cursors depend on that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from psycopg2.extensions import cursor as PgCursor
from psycopg2.extras import Json, execute_values
from sqlalchemy import Connection

from qbwc_server.qbxml.fields import Address, CustomField, Ref

#: Columns set by the upsert itself, never compared.
_BOOKKEEPING = ("tenant_id", "sync_state", "sync_error", "deleted_at", "updated_at")


def raw_cursor(conn: Connection) -> PgCursor:
    """psycopg2's cursor on the caller's connection (and transaction): execute_values needs it."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    return dbapi.cursor()


def upsert_records(
    conn: Connection, table: str, key: str, tenant_id: int, rows: Sequence[Mapping[str, Any]]
) -> dict[str, int]:
    """Insert or update `rows` (dicts with the same keys, `key` among them) of one tenant.

    Returns {QuickBooks id: row id} for the rows inserted or changed: their children need
    rewriting. A deleted row that comes back (an undeleted record) is revived.
    """
    if not rows:
        return {}
    columns = list(rows[0])
    compared = [c for c in columns if c != key]
    insert_columns = ["tenant_id", *columns]
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in compared)
    changed = " OR ".join(
        [f"(t.{', t.'.join(compared)}) IS DISTINCT FROM (EXCLUDED.{', EXCLUDED.'.join(compared)})"]
        if len(compared) > 1
        else [f"t.{compared[0]} IS DISTINCT FROM EXCLUDED.{compared[0]}"]
    )
    sql = f"""
        INSERT INTO {table} AS t ({", ".join(insert_columns)}) VALUES %s
        ON CONFLICT (tenant_id, {key}) DO UPDATE
        SET {assignments}, deleted_at = NULL, sync_state = 'synced', sync_error = NULL, updated_at = now()
        WHERE {changed} OR t.deleted_at IS NOT NULL OR t.sync_state <> 'synced'
        RETURNING t.{key}, t.id
    """
    values = [(tenant_id, *(_adapt(row[c]) for c in columns)) for row in rows]
    with raw_cursor(conn) as cur:
        result = execute_values(cur, sql, values, page_size=len(values), fetch=True)
    return {qb_id: row_id for qb_id, row_id in result}


def replace_children(
    conn: Connection,
    table: str,
    parent_column: str,
    tenant_id: int,
    children: dict[int, list[dict[str, Any]]],
) -> None:
    """Replace the child rows (lines, ship-to addresses, …) of each parent in `children`."""
    if not children:
        return
    rows = [
        {parent_column: parent_id, "position": position, **child}
        for parent_id, kids in children.items()
        for position, child in enumerate(kids)
    ]
    with raw_cursor(conn) as cur:
        cur.execute(f"DELETE FROM {table} WHERE {parent_column} = ANY(%s)", (list(children),))
        if rows:
            columns = list(rows[0])
            execute_values(
                cur,
                f"INSERT INTO {table} (tenant_id, {', '.join(columns)}) VALUES %s",
                [(tenant_id, *(_adapt(row[c]) for c in columns)) for row in rows],
                page_size=1000,
            )


def mark_deleted(
    conn: Connection, table: str, key: str, tenant_id: int, deleted: Mapping[str, dt.datetime]
) -> int:
    """Mark rows QuickBooks deleted ({QuickBooks id: time deleted}); returns how many changed."""
    if not deleted:
        return 0
    with raw_cursor(conn) as cur:
        execute_values(
            cur,
            f"""
            UPDATE {table} AS t SET deleted_at = d.deleted_at::timestamptz, updated_at = now()
            FROM (VALUES %s) AS d (qb_id, deleted_at)
            WHERE t.tenant_id = {int(tenant_id)} AND t.{key} = d.qb_id AND t.deleted_at IS NULL
            """,
            list(deleted.items()),
        )
        return int(cur.rowcount)


def address_json(address: Address | None) -> dict[str, str] | None:
    """An address as stored in the mirror: only the parts QuickBooks has."""
    if address is None:
        return None
    parts = {name: getattr(address, name) for name in Address.__slots__}
    return {name: value for name, value in parts.items() if value}


def custom_fields_json(fields: Sequence[CustomField]) -> dict[str, str | None] | None:
    """QuickBooks' custom fields (OwnerID 0) by name; None when there are none."""
    shared = {field.name: field.value for field in fields if field.owner_id == "0"}
    return shared or None


def ref_id(ref: Ref | None) -> str | None:
    return ref.list_id if ref is not None else None


def ref_name(ref: Ref | None) -> str | None:
    return ref.full_name if ref is not None else None


def _adapt(value: Any) -> Any:
    return Json(value) if isinstance(value, dict) else value
