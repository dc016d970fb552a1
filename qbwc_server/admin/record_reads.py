"""The commerce side's records (customers, orders, payments) as the API shows them, what their
bodies become in the mirror, what QuickBooks' state forbids, and the errors every records
operation raises. Reads only: admin/records.py writes. Knows no HTTP.

    QbwcError
     ├── RecordNotFound     not_found           no record of that kind has that id
     ├── RecordInvalid      validation_failed   a value refused for a reason only the database knows
     │                                          (an unknown customer_id; a ListID bound elsewhere)
     └── RecordConflict     conflict            a change QuickBooks' state forbids (invoiced, pushed)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Literal

from sqlalchemy import Connection, text

from qbwc_server.errors import QbwcError
from qbwc_server.models import SyncState
from qbwc_server.qbxml.errors import explain_status
from qbwc_server.qbxml.formats import transliterate
from qbwc_server.sync.push import sync_error

Kind = Literal["customers", "orders", "payments"]
#: QuickBooks' ListID / TxnID (IDTYPE: at most 36 characters), e.g. "80000001-1234567890".
LIST_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9-]{0,35}"


class RecordError(QbwcError):
    """A records operation that cannot be done as asked; `field` names the body's field at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RecordNotFound(RecordError, LookupError):
    code: ClassVar[str] = "not_found"


class RecordInvalid(RecordError, ValueError):
    code: ClassVar[str] = "validation_failed"


class RecordConflict(RecordError):
    code: ClassVar[str] = "conflict"


@dataclass(frozen=True)
class RecordKind:
    """Where one kind of record lives, and how it goes to QuickBooks."""

    noun: str
    table: str
    #: The QuickBooks id column, shown as such (`qb_list_id` or `qb_txn_id`).
    qb_id: str
    push_kind: str


KINDS: Mapping[Kind, RecordKind] = {
    "customers": RecordKind("customer", "customers", "qb_list_id", "customers.push"),
    "orders": RecordKind("order", "sales_orders", "qb_txn_id", "orders.push"),
    "payments": RecordKind("payment", "payments", "qb_txn_id", "payments.push"),
}


def find_row(
    conn: Connection, kind: Kind, tenant_id: int, commerce_id: str, *, lock: bool = False
) -> dict[str, Any] | None:
    """The mirror row with that commerce id (locked for the caller's transaction when `lock`)."""
    table = KINDS[kind].table
    row = (
        conn.execute(
            text(
                f"SELECT * FROM {table} WHERE tenant_id = :t AND commerce_id = :c"
                + (" FOR UPDATE" if lock else "")
            ),
            {"t": tenant_id, "c": commerce_id},
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def require_row(
    conn: Connection, kind: Kind, tenant_id: int, commerce_id: str, *, lock: bool = False
) -> dict[str, Any]:
    row = find_row(conn, kind, tenant_id, commerce_id, lock=lock)
    if row is None:
        raise RecordNotFound(f"no {KINDS[kind].noun} with id {commerce_id!r}")
    return row


def get_record(conn: Connection, kind: Kind, tenant_id: int, commerce_id: str) -> dict[str, Any]:
    """The record as the API shows it (`record_view`); RecordNotFound for an unknown id."""
    row = require_row(conn, kind, tenant_id, commerce_id)
    return record_view(kind, row, push_job_of(conn, kind, row))


def push_job_of(conn: Connection, kind: Kind, row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The record's newest push job that is not done: its status tells what the row cannot
    (a lost answer being checked, a dependency holding it)."""
    job = (
        conn.execute(
            text("""
                SELECT status, last_message, last_status_code FROM jobs
                WHERE tenant_id = :t AND kind = :k AND entity_ref = :r AND status <> 'done'
                  AND kind LIKE '%.push' AND entity_ref IS NOT NULL
                ORDER BY id DESC LIMIT 1
            """),
            {"t": row["tenant_id"], "k": KINDS[kind].push_kind, "r": str(row["id"])},
        )
        .mappings()
        .first()
    )
    return dict(job) if job is not None else None


def sync_view(row: Mapping[str, Any], job: Mapping[str, Any] | None) -> tuple[str, dict[str, Any] | None]:
    """API.md's sync state and error: the row's, unless its push job says more about a pending
    row — sent with its answer lost (`unconfirmed`), held by a dependency (`waiting`), or given up
    on by the queue (`failed`)."""
    state, error = str(row["sync_state"]), sync_error(row)
    if job is None or state != "pending":
        return state, error
    message, code = job.get("last_message"), job.get("last_status_code")
    if job["status"] == "unconfirmed":
        return "unconfirmed", {
            "message": message or "sent to QuickBooks and its answer was lost",
            "quickbooks_code": None,
            "fix": "Nothing to do: QuickBooks is checked for it on the next session before anything"
            " is sent again.",
        }
    if job["status"] == "blocked":
        return "waiting", {"message": message, "quickbooks_code": code, "fix": None}
    if job["status"] in ("failed", "dead"):
        fix = explain_status(code).fix if code else None
        return "failed", {"message": message, "quickbooks_code": code, "fix": fix}
    return state, error


def record_view(kind: Kind, row: Mapping[str, Any], job: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`{"id", …the last body accepted, qb_list_id|qb_txn_id, qb_edit_sequence, sync}`.

    QuickBooks' id comes from the row, not the body: a customer bound by `link` or found by a
    push's look-up shows it even when no PUT carried it.
    """
    qb_id = KINDS[kind].qb_id
    state, error = sync_view(row, job)
    updated_at: dt.datetime | None = row.get("updated_at")
    return {
        "id": row["commerce_id"],
        **(row.get("commerce_body") or {}),
        qb_id: row.get(qb_id),
        "qb_edit_sequence": row.get("edit_sequence"),
        "sync": {
            "state": state,
            "error": None if error is None else {"code": state, **error},
            "updated_at": updated_at.isoformat() if updated_at is not None else None,
        },
    }


@dataclass(frozen=True)
class Party:
    """Who a transaction is for: our customer row (when we know it) and its QuickBooks ListID."""

    row_id: int | None
    list_id: str | None
    name: str | None

    def same_as(self, other: Party) -> bool:
        if self.row_id is not None and other.row_id is not None:
            return self.row_id == other.row_id
        return self.list_id is not None and self.list_id == other.list_id


def party_of(conn: Connection, tenant_id: int, body: Mapping[str, Any]) -> Party:
    """The customer of a transaction's body: `customer_id` (ours, must exist) or
    `qb_customer_list_id` (QuickBooks', which the mirror may not have pulled yet)."""
    if "customer_id" in body:
        row = conn.execute(
            text("SELECT id, qb_list_id, full_name FROM customers WHERE tenant_id = :t AND commerce_id = :c"),
            {"t": tenant_id, "c": body["customer_id"]},
        ).first()
        if row is None:
            raise RecordInvalid(
                f"customer_id {body['customer_id']!r} is not a customer of this company:"
                f" PUT /customers/{body['customer_id']} first",
                field="customer_id",
            )
        return Party(int(row.id), row.qb_list_id, row.full_name)
    list_id = str(body["qb_customer_list_id"])
    row = conn.execute(
        text("SELECT id, full_name FROM customers WHERE tenant_id = :t AND qb_list_id = :l"),
        {"t": tenant_id, "l": list_id},
    ).first()
    return Party(int(row.id) if row else None, list_id, row.full_name if row else None)


def push_in_flight(conn: Connection, tenant_id: int, push_kind: str, row_id: int) -> bool:
    """Whether a push of the row went out (sent, answered or not): QuickBooks may have it."""
    return (
        conn.execute(
            text("""
                SELECT 1 FROM jobs WHERE tenant_id = :t AND kind = :k AND entity_ref = :r
                  AND status IN ('sent', 'unconfirmed', 'done') LIMIT 1
            """),
            {"t": tenant_id, "k": push_kind, "r": str(row_id)},
        ).first()
        is not None
    )


def state_after_planning(conn: Connection, job_id: int, waits_for: str) -> tuple[SyncState, str | None]:
    """`pending`, or `waiting` with why when the row's push job starts held back by a dependency."""
    job = conn.execute(text("SELECT status, last_message FROM jobs WHERE id = :id"), {"id": job_id}).one()
    if job.status == "blocked":
        return SyncState.WAITING, job.last_message or f"waiting for {waits_for}"
    return SyncState.PENDING, None


# -- what a body becomes in the mirror --------------------------------------------------------

#: API field -> mirror column of an address (the pull's `address_json` form).
_ADDRESS_COLUMNS = {"line1": "addr1", "line2": "addr2", "city": "city", "state": "state",
                    "postal_code": "postal_code", "country": "country"}  # fmt: skip


def customer_columns(body: Mapping[str, Any]) -> dict[str, Any]:
    """The mirror columns a customer body sets (only those of the fields it has)."""
    columns: dict[str, Any] = {}
    if "name" in body:
        columns["name"] = columns["full_name"] = body["name"]
    for field, column in (
        ("company_name", "company_name"),
        ("first_name", "first_name"),
        ("last_name", "last_name"),
        ("email", "email"),
        ("phone", "phone"),
        ("customer_type", "customer_type_name"),
        ("terms", "terms_name"),
    ):
        if field in body:
            columns[column] = transliterate(body[field])
    if "active" in body:
        columns["is_active"] = body["active"]
    if "billing_address" in body:
        columns["bill_address"] = address_columns(body["billing_address"])
    if body.get("shipping_addresses"):
        addresses = body["shipping_addresses"]
        default = next((a for a in addresses if a.get("default")), addresses[0])
        columns["ship_address"] = address_columns(default)
    return columns


def address_columns(address: Mapping[str, Any]) -> dict[str, str]:
    """An address as the mirror keeps it (sync/upsert.address_json): QuickBooks' part names."""
    return {
        column: transliterate(address[field])
        for field, column in _ADDRESS_COLUMNS.items()
        if address.get(field)
    }


def party_columns(party: Party) -> dict[str, Any]:
    return {"customer_list_id": party.list_id, "customer_name": party.name}


def text_columns(body: Mapping[str, Any], columns: Mapping[str, str]) -> dict[str, Any]:
    return {column: transliterate(body[field]) for field, column in columns.items() if field in body}


def date_columns(body: Mapping[str, Any], columns: Mapping[str, str]) -> dict[str, Any]:
    return {column: dt.date.fromisoformat(body[field]) for field, column in columns.items() if field in body}


# -- what QuickBooks' state forbids ---------------------------------------------------------


def order_conflict(conn: Connection, commerce_id: str, row: Mapping[str, Any], lines: Sequence[Any]) -> None:
    """RecordConflict when QuickBooks forbids the change of pushed order `row` to `lines`: it is
    fully invoiced or closed there, or a line it invoiced would go or fall below what it invoiced.

    QuickBooks' lines are matched to the new ones by `line_id` (through the order's
    `line_ids`), else by position and SKU, as the SalesOrderMod will match them.
    """
    if row["is_fully_invoiced"]:
        raise RecordConflict(
            f"order {commerce_id!r} is fully invoiced in QuickBooks; it can no longer change"
        )
    if row["is_manually_closed"]:
        raise RecordConflict(f"order {commerce_id!r} is closed in QuickBooks; reopen it there to change it")
    txn_line_of = dict(row["line_ids"] or {})
    by_txn_line = {
        txn_line_of[line["line_id"]]: i for i, line in enumerate(lines) if line.get("line_id") in txn_line_of
    }
    invoiced_lines = conn.execute(
        text("""
            SELECT position, qb_txn_line_id, item_name, invoiced FROM sales_order_lines
            WHERE sales_order_id = :id AND invoiced > 0 ORDER BY position
        """),
        {"id": row["id"]},
    ).all()
    matched = set(by_txn_line.values())
    for line in invoiced_lines:
        index = by_txn_line.get(line.qb_txn_line_id)
        if index is None and line.position < len(lines) and line.position not in matched:
            sku = str(lines[line.position]["sku"])
            index = line.position if sku.casefold() == (line.item_name or "").casefold() else None
        what = f"{line.item_name} ({line.invoiced.normalize():f} invoiced)"
        if index is None:
            raise RecordConflict(
                f"order {commerce_id!r}: the change removes a line QuickBooks has invoiced: {what}",
                field="lines",
            )
        if Decimal(lines[index]["quantity"]) < line.invoiced:
            raise RecordConflict(
                f"order {commerce_id!r}: lines[{index}].quantity {lines[index]['quantity']} is below what"
                f" QuickBooks has invoiced of {what}",
                field=f"lines[{index}].quantity",
            )
