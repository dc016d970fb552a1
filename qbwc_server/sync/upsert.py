"""Bulk writes into the mirror: one statement per page of records, whatever its size.

A page travels as one JSON parameter unpacked by `json_to_recordset` — one `json.dumps` in C
instead of quoting every value in Python, and a short statement for PostgreSQL to parse.

A row is rewritten only when something in it differs from what is stored, so a pull that
overlaps the previous one (clock skew) changes nothing, and `updated_at` moves only for rows
QuickBooks really changed — the commerce side's `updated_since` cursors depend on that.

The conflict rule: a pull never overwrites a row with a local change QuickBooks does not have
yet (any `sync_state` but `synced`: pending, unconfirmed, waiting, needs_mapping, needs_item,
failed). The push reads that row when it is sent; if QuickBooks changed the record meanwhile,
the push's Mod gets 3200 (stale EditSequence), reads QuickBooks' version and merges it
(QuickBooks is master for customer details), and the next pull sees the result. Deletions in
QuickBooks are recorded on such rows too (`deleted_at`): they are QuickBooks' fact, not a change
to what we hold.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

from psycopg2.extensions import cursor as PgCursor
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql

from qbwc_server.models import metadata
from qbwc_server.qbxml.fields import Address, CustomField, Ref

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def raw_cursor(conn: Connection) -> PgCursor:
    """psycopg2's cursor on the caller's connection (and transaction)."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    return dbapi.cursor()


def rows_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """A page of rows as the JSON array `recordset` unpacks (Decimal and dates as text)."""
    return json.dumps(rows, default=_json_value, ensure_ascii=False, check_circular=False)


def recordset(table: str, columns: Sequence[str]) -> str:
    """The page `%(rows)s` as a FROM item `r` whose columns are typed like `table`'s.

    `json_to_recordset`, not `jsonb_to_recordset`: a page is read once, and building a jsonb of
    it cost PostgreSQL more than the rest of unpacking it. A jsonb column is taken as its JSON
    text and cast, which is cheaper than letting the record function convert it (5 ms of a
    500-customer page's 14)."""
    types = _column_types(table)
    jsonb = {column for column in columns if types[column] == "JSONB"}
    selected = ", ".join(f"r.{c}::jsonb AS {c}" if c in jsonb else f"r.{c}" for c in columns)
    typed = ", ".join(f"{c} {'text' if c in jsonb else types[c]}" for c in columns)
    return f"(SELECT {selected} FROM json_to_recordset(%(rows)s::json) AS r ({typed})) AS r"


class Upserted(dict[str, int]):
    """{QuickBooks id: row id} of the rows an upsert inserted or changed; `inserted`: the row ids
    it inserted, which have no children yet (nothing to delete before writing theirs)."""

    __slots__ = ("inserted",)

    def __init__(self, rows: Sequence[tuple[str, int, bool]] = ()) -> None:
        super().__init__((qb_id, row_id) for qb_id, row_id, _ in rows)
        self.inserted = frozenset(row_id for _, row_id, inserted in rows if inserted)


def upsert_records(
    conn: Connection, table: str, key: str, tenant_id: int, rows: Sequence[Mapping[str, Any]]
) -> Upserted:
    """Insert or update `rows` (dicts with the same keys, `key` among them) of one tenant.

    Returns {QuickBooks id: row id} for the rows inserted or changed: their children need
    rewriting. A deleted row that comes back (an undeleted record) is revived. Rows with a local
    change not yet in QuickBooks are left as they are (the conflict rule above).
    """
    if not rows:
        return Upserted()
    columns = list(rows[0])
    compared = [c for c in columns if c != key]
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in compared)
    stored, pulled = ", ".join(f"t.{c}" for c in compared), ", ".join(f"EXCLUDED.{c}" for c in compared)
    sql = f"""
        INSERT INTO {table} AS t (tenant_id, {", ".join(columns)})
        SELECT %(tenant_id)s, {", ".join(f"r.{c}" for c in columns)} FROM {recordset(table, columns)}
        ON CONFLICT (tenant_id, {key}) DO UPDATE
        SET {assignments}, deleted_at = NULL, updated_at = now()
        WHERE t.sync_state = 'synced'  -- a local change waiting for its push is left alone
          AND (({stored}, NULL) IS DISTINCT FROM ({pulled}, NULL) OR t.deleted_at IS NOT NULL)
        RETURNING t.{key}, t.id, t.xmax = 0  -- no older version: inserted by this statement
    """
    with raw_cursor(conn) as cur:
        cur.execute(sql, {"tenant_id": tenant_id, "rows": rows_json(rows)})
        return Upserted(cur.fetchall())


def _child_rows(parent_column: str, children: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each parent's children as rows, numbered by their position under it."""
    return [
        {parent_column: parent_id, "position": position, **child}
        for parent_id, kids in children.items()
        for position, child in enumerate(kids)
    ]


def replace_children(
    conn: Connection,
    table: str,
    parent_column: str,
    tenant_id: int,
    children: dict[int, list[dict[str, Any]]],
    *,
    new: Collection[int] = (),
) -> None:
    """Replace the child rows (lines, ship-to addresses, …) of each parent in `children`.
    Parents in `new` were just inserted (`Upserted.inserted`): they have none to delete."""
    if not children:
        return
    rows = _child_rows(parent_column, children)
    with raw_cursor(conn) as cur:
        old = [parent_id for parent_id in children if parent_id not in new]
        if old:
            cur.execute(f"DELETE FROM {table} WHERE {parent_column} = ANY(%s)", (old,))
        if rows:
            columns = list(rows[0])
            cur.execute(
                f"""
                INSERT INTO {table} (tenant_id, {", ".join(columns)})
                SELECT %(tenant_id)s, {", ".join(f"r.{c}" for c in columns)} FROM {recordset(table, columns)}
                """,
                {"tenant_id": tenant_id, "rows": rows_json(rows)},
            )


def rewrite_children(
    conn: Connection,
    table: str,
    parent_column: str,
    tenant_id: int,
    children: dict[int, list[dict[str, Any]]],
    *,
    new: Collection[int] = (),
) -> None:
    """`replace_children` in one statement, where a child row identical to the one stored at
    its position stays as it is: a parent whose edit left its children alone (most customer
    edits leave the ship-to addresses) costs no delete, insert or foreign-key check.

    Only for children whose columns compare as they read (text, booleans): a number stored
    as 1.50 would stay so when 1.5 came.
    """
    if not children:
        return
    old = [parent_id for parent_id in children if parent_id not in new]
    if not old:  # parents just inserted: nothing stored to keep or delete
        replace_children(conn, table, parent_column, tenant_id, children, new=new)
        return
    rows = _child_rows(parent_column, children)
    with raw_cursor(conn) as cur:
        if not rows:
            cur.execute(f"DELETE FROM {table} WHERE {parent_column} = ANY(%s)", (old,))
            return
        columns = list(rows[0])
        compared = [c for c in columns if c not in (parent_column, "position")]
        same = (
            f"s.{parent_column} = i.{parent_column} AND s.position = i.position"
            f" AND ({', '.join(f's.{c}' for c in compared)}, NULL)"
            f" IS NOT DISTINCT FROM ({', '.join(f'i.{c}' for c in compared)}, NULL)"
        )
        cur.execute(
            f"""
            WITH incoming AS MATERIALIZED (SELECT r.* FROM {recordset(table, columns)}),
            gone AS (
                DELETE FROM {table} AS s WHERE s.{parent_column} = ANY(%(old)s::bigint[])
                AND NOT EXISTS (SELECT 1 FROM incoming AS i WHERE {same})
            )
            INSERT INTO {table} (tenant_id, {", ".join(columns)})
            SELECT %(tenant_id)s, {", ".join(f"i.{c}" for c in columns)} FROM incoming AS i
            WHERE NOT EXISTS (SELECT 1 FROM {table} AS s WHERE {same})
            """,
            {"tenant_id": tenant_id, "rows": rows_json(rows), "old": old},
        )


def mark_deleted(
    conn: Connection, table: str, key: str, tenant_id: int, deleted: Mapping[str, dt.datetime]
) -> int:
    """Mark rows QuickBooks deleted ({QuickBooks id: time deleted}); returns how many changed."""
    if not deleted:
        return 0
    with raw_cursor(conn) as cur:
        cur.execute(
            f"""
            UPDATE {table} AS t SET deleted_at = d.deleted_at, updated_at = now()
            FROM json_to_recordset(%(rows)s::json) AS d (qb_id text, deleted_at timestamptz)
            WHERE t.tenant_id = %(tenant_id)s AND t.{key} = d.qb_id AND t.deleted_at IS NULL
            """,
            {
                "tenant_id": tenant_id,
                "rows": rows_json([{"qb_id": k, "deleted_at": v} for k, v in deleted.items()]),
            },
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


@functools.cache
def _column_types(table: str) -> dict[str, str]:
    return {column.name: column.type.compile(dialect=_DIALECT) for column in metadata.tables[table].columns}


def _json_value(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):  # and datetime: ISO 8601 with the UTC offset
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in the mirror")
