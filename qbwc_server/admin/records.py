"""Writing the commerce side's records: a customer, order or payment PUT, and linking a customer
to one QuickBooks already has. Knows no HTTP: the API and the CLI both call it, each inside one
transaction of its own, so the mirror row and its push job are written together or not at all.

A PUT takes the body as validated and normalised (`api/bodies.py`: the `commerce_body`). The
same body as last time changes nothing and queues nothing, whatever pulls changed meanwhile.
Otherwise the row's commerce columns are written as a pull would store them (text as QuickBooks
will hold it), and the record's push is planned (`sync.push.plan_push`) behind what it needs:
an order after its customer's push when the customer has no ListID yet, a payment after its
customer's and its order's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, text

from qbwc_server.admin.record_reads import (
    KINDS,
    LIST_ID_PATTERN,
    Kind,
    Party,
    RecordConflict,
    RecordInvalid,
    address_columns,
    customer_columns,
    date_columns,
    find_row,
    order_conflict,
    party_columns,
    party_of,
    push_in_flight,
    push_job_of,
    record_view,
    require_row,
    state_after_planning,
    text_columns,
)
from qbwc_server.models import SyncState
from qbwc_server.qbxml.formats import transliterate
from qbwc_server.sync.push import latest_push_job, plan_push, set_sync_state


@dataclass(frozen=True)
class Written:
    """What a PUT did: created the record, changed it, or found it unchanged (nothing queued)."""

    outcome: Literal["created", "changed", "unchanged"]
    #: The record as the API shows it (`record_view`).
    record: dict[str, Any]
    #: The push job planned (None when unchanged).
    job_id: int | None = None


# -- customers --------------------------------------------------------------------------------


def put_customer(conn: Connection, tenant_id: int, commerce_id: str, body: Mapping[str, Any]) -> Written:
    """Create or replace customer `commerce_id` and plan its push (a CustomerAdd, or a Mod once it
    has a ListID). `qb_list_id` in the body binds it to that QuickBooks customer (RecordInvalid
    when another of our customers holds it; RecordConflict when it already is another)."""
    row = find_row(conn, "customers", tenant_id, commerce_id, lock=True)
    if row is not None and row["commerce_body"] == body:
        return Written("unchanged", record_view("customers", row))
    outcome: Literal["created", "changed"] = "created" if row is None else "changed"
    columns = customer_columns(body)
    if "qb_list_id" in body:
        row = _bind(conn, tenant_id, commerce_id, row, str(body["qb_list_id"]))
        columns["qb_list_id"] = body["qb_list_id"]
    row_id = _save(conn, "customers", tenant_id, commerce_id, row, columns, body)
    if "shipping_addresses" in body and (row is None or not in_quickbooks(row)):
        _replace_ship_tos(conn, tenant_id, row_id, body["shipping_addresses"])
    job_id = plan_push(conn, tenant_id, "customers.push", row_id)
    _settle_state(conn, "customers", row_id, job_id, "what it depends on")
    _release_waiting_rows(conn, job_id)  # a rename after 3100 lets its orders go too
    return Written(outcome, _view(conn, "customers", row_id), job_id)


def link_customer(conn: Connection, tenant_id: int, commerce_id: str, list_id: str) -> Written:
    """Bind customer `commerce_id` to QuickBooks customer `list_id` (what a 3100 asks an admin)
    and push it there: a CustomerMod with our fields (QuickBooks keeps what they leave out).

    Its push job is planned again, the one held after 3100 reused, which releases the orders
    and payments that waited on it; their rows show `pending` again.
    """
    if not re.fullmatch(LIST_ID_PATTERN, list_id):
        raise RecordInvalid(f"{list_id[:40]!r} is not a QuickBooks ListID", field="qb_list_id")
    row = _bind(
        conn,
        tenant_id,
        commerce_id,
        require_row(conn, "customers", tenant_id, commerce_id, lock=True),
        list_id,
    )
    assert row is not None  # _bind returns the row it was given, or the one it claimed
    conn.execute(
        text("UPDATE customers SET qb_list_id = :l, updated_at = now() WHERE id = :id"),
        {"l": list_id, "id": row["id"]},
    )
    job_id = plan_push(conn, tenant_id, "customers.push", row["id"])
    _settle_state(conn, "customers", row["id"], job_id, "what it depends on")
    _release_waiting_rows(conn, job_id)
    return Written("changed", _view(conn, "customers", row["id"]), job_id)


def _bind(
    conn: Connection, tenant_id: int, commerce_id: str, row: dict[str, Any] | None, list_id: str
) -> dict[str, Any] | None:
    """Make `row` (None: not created yet) QuickBooks customer `list_id`; returns the row to write.

    The mirror keeps one row per QuickBooks customer. When a pull already brought that customer
    in (a row no commerce id claims), that row becomes ours: claimed as it is when we have none,
    else our row takes its place and QuickBooks' EditSequence (both rows stood for one record).
    """
    if row is not None and row["qb_list_id"] == list_id:
        return row
    if row is not None and row["qb_list_id"] is not None:
        raise RecordConflict(
            f"customer {commerce_id!r} is QuickBooks customer {row['qb_list_id']} already;"
            " a customer cannot move to another QuickBooks customer",
            field="qb_list_id",
        )
    holder = (
        conn.execute(
            text("SELECT * FROM customers WHERE tenant_id = :t AND qb_list_id = :l FOR UPDATE"),
            {"t": tenant_id, "l": list_id},
        )
        .mappings()
        .first()
    )
    if holder is None:
        return row
    if holder["commerce_id"] is not None:
        raise RecordInvalid(
            f"QuickBooks customer {list_id} is customer {holder['commerce_id']!r} already",
            field="qb_list_id",
        )
    if row is None:
        conn.execute(
            text("UPDATE customers SET commerce_id = :c WHERE id = :id"),
            {"c": commerce_id, "id": holder["id"]},
        )
        return {**holder, "commerce_id": commerce_id}
    conn.execute(text("DELETE FROM customers WHERE id = :id"), {"id": holder["id"]})
    conn.execute(
        text("""
            UPDATE customers SET qb_list_id = :l, edit_sequence = :es, qb_time_created = :created,
                                 qb_time_modified = :modified, updated_at = now()
            WHERE id = :id
        """),
        {
            "l": list_id,
            "es": holder["edit_sequence"],
            "created": holder["qb_time_created"],
            "modified": holder["qb_time_modified"],
            "id": row["id"],
        },
    )
    return row


def _replace_ship_tos(conn: Connection, tenant_id: int, customer_id: int, addresses: Sequence[Any]) -> None:
    conn.execute(text("DELETE FROM customer_ship_addresses WHERE customer_id = :id"), {"id": customer_id})
    for position, address in enumerate(addresses):
        parts = address_columns(address)
        conn.execute(
            text(f"""
                INSERT INTO customer_ship_addresses (tenant_id, customer_id, position, name, is_default
                                                     {"".join(f", {c}" for c in parts)})
                VALUES (:t, :customer, :position, :name, :default {"".join(f", :{c}" for c in parts)})
            """),
            {
                "t": tenant_id,
                "customer": customer_id,
                "position": position,
                "name": transliterate(address["name"]),
                "default": bool(address.get("default")),
                **parts,
            },
        )


# -- orders and payments ----------------------------------------------------------------------


def put_order(conn: Connection, tenant_id: int, commerce_id: str, body: Mapping[str, Any]) -> Written:
    """Create or replace order `commerce_id` and plan its push (SalesOrderAdd, or a Mod once in
    QuickBooks), after its customer's push when that customer has no ListID yet.

    RecordConflict when QuickBooks' state forbids the change (order_conflict)."""
    party = party_of(conn, tenant_id, body)
    row = find_row(conn, "orders", tenant_id, commerce_id, lock=True)
    if row is not None and row["commerce_body"] == body:
        return Written("unchanged", record_view("orders", row))
    if row is not None and row["qb_txn_id"] is not None:
        order_conflict(conn, commerce_id, row, body["lines"])
    columns = {
        **party_columns(party),
        "ref_number": body["number"],
        **text_columns(body, {"po_number": "po_number", "memo": "memo", "terms": "terms_name"}),
        **date_columns(body, {"date": "txn_date", "ship_date": "ship_date"}),
    }
    for field, column in (("billing_address", "bill_address"), ("shipping_address", "ship_address")):
        if field in body:
            columns[column] = address_columns(body[field])
    row_id = _save(conn, "sales_orders", tenant_id, commerce_id, row, columns, body)
    if row is None or row["qb_txn_id"] is None:  # QuickBooks' lines (with what it invoiced) stay
        _replace_lines(conn, tenant_id, row_id, body["lines"])
    job_id = plan_push(
        conn, tenant_id, "orders.push", row_id, depends_on=_customer_push(conn, tenant_id, party)
    )
    _settle_state(conn, "sales_orders", row_id, job_id, "its customer")
    return Written("created" if row is None else "changed", _view(conn, "orders", row_id), job_id)


def put_payment(conn: Connection, tenant_id: int, commerce_id: str, body: Mapping[str, Any]) -> Written:
    """Create or replace payment `commerce_id` and plan its push (ReceivePaymentAdd), after its
    customer's and its order's. Immutable once pushed: RecordConflict on a changed body."""
    party = party_of(conn, tenant_id, body)
    order = None
    if "order_id" in body:
        order = find_row(conn, "orders", tenant_id, body["order_id"])
        if order is None:
            raise RecordInvalid(
                f"order_id {body['order_id']!r} is not an order of this company", field="order_id"
            )
        if not party_of(conn, tenant_id, order["commerce_body"] or {}).same_as(party):
            raise RecordInvalid(
                f"order_id {body['order_id']!r} is another customer's order;"
                " a payment applies only to its own customer's orders",
                field="order_id",
            )
    row = find_row(conn, "payments", tenant_id, commerce_id, lock=True)
    if row is not None and row["commerce_body"] == body:
        return Written("unchanged", record_view("payments", row))
    if row is not None and (
        row["qb_txn_id"] is not None or push_in_flight(conn, tenant_id, "payments.push", row["id"])
    ):
        raise RecordConflict(
            f"payment {commerce_id!r} went to QuickBooks already; a payment cannot change once pushed"
            " (change it in QuickBooks, or record a new payment)"
        )
    columns = {
        **party_columns(party),
        "total_amount": Decimal(body["amount"]),
        **text_columns(body, {"method": "payment_method", "memo": "memo"}),
        **date_columns(body, {"date": "txn_date"}),
    }
    if "reference" in body:
        columns["ref_number"] = body["reference"]
    row_id = _save(conn, "payments", tenant_id, commerce_id, row, columns, body)
    depends_on = _customer_push(conn, tenant_id, party)
    if order is not None and order["qb_txn_id"] is None:
        depends_on.append(_open_push(conn, tenant_id, "orders.push", order["id"]))
    job_id = plan_push(conn, tenant_id, "payments.push", row_id, depends_on=depends_on)
    _settle_state(conn, "payments", row_id, job_id, "its customer or order")
    return Written("created" if row is None else "changed", _view(conn, "payments", row_id), job_id)


def _replace_lines(conn: Connection, tenant_id: int, order_id: int, lines: Sequence[Any]) -> None:
    """Lines of an order not in QuickBooks yet, as a pull would show them (its push replaces them)."""
    conn.execute(text("DELETE FROM sales_order_lines WHERE sales_order_id = :id"), {"id": order_id})
    conn.execute(
        text("""
            INSERT INTO sales_order_lines (tenant_id, sales_order_id, position, item_name, description,
                                           quantity, rate)
            VALUES (:t, :order, :position, :sku, :description, :quantity, :rate)
        """),
        [
            {
                "t": tenant_id,
                "order": order_id,
                "position": position,
                "sku": line["sku"],
                "description": transliterate(line["description"]) if "description" in line else None,
                "quantity": Decimal(line["quantity"]),
                "rate": Decimal(line["rate"]) if "rate" in line else None,
            }
            for position, line in enumerate(lines)
        ],
    )


def _customer_push(conn: Connection, tenant_id: int, party: Party) -> list[int]:
    """What a transaction for `party` waits on: its customer's push while it has no ListID."""
    if party.row_id is None or party.list_id is not None:
        return []
    return [_open_push(conn, tenant_id, "customers.push", party.row_id)]


def _open_push(conn: Connection, tenant_id: int, push_kind: str, row_id: int) -> int:
    """The row's push job not done yet; planned now if it has none (the record goes by itself)."""
    return latest_push_job(conn, tenant_id, push_kind, row_id) or plan_push(
        conn, tenant_id, push_kind, row_id
    )


# -- shared steps -----------------------------------------------------------------------------


def _save(
    conn: Connection,
    table: str,
    tenant_id: int,
    commerce_id: str,
    row: Mapping[str, Any] | None,
    columns: Mapping[str, Any],
    body: Mapping[str, Any],
) -> int:
    """Insert or update the row's commerce columns and its `commerce_body`; returns its id.

    A row QuickBooks already has keeps QuickBooks' values in its columns until the push lands
    QuickBooks' answer: only `commerce_body` changes. The push's 3200 merge compares QuickBooks'
    new values with those columns, and a lost Add is looked up by them.

    Two PUTs creating one id at once: the second waits on the unique index, then updates the
    row the first created (as if it had come second).
    """
    values = {**columns, "commerce_body": body}
    if row is not None and in_quickbooks(row):
        values = {k: v for k, v in values.items() if k in ("commerce_body", "qb_list_id")}
    params = {f"v_{i}": _bindable(v) for i, v in enumerate(values.values())}
    placeholders = [_placeholder(f"v_{i}", v) for i, v in enumerate(values.values())]
    sets = ", ".join(f"{column} = {p}" for column, p in zip(values, placeholders, strict=True))
    if row is None:
        row_id = conn.execute(
            text(f"""
                INSERT INTO {table} (tenant_id, commerce_id, {", ".join(values)}, commerce_updated_at)
                VALUES (:tenant_id, :commerce_id, {", ".join(placeholders)}, now())
                ON CONFLICT (tenant_id, commerce_id) WHERE commerce_id IS NOT NULL
                DO UPDATE SET {sets}, commerce_updated_at = now(), updated_at = now()
                RETURNING id
            """),
            {"tenant_id": tenant_id, "commerce_id": commerce_id, **params},
        ).scalar_one()
        return int(row_id)
    conn.execute(
        text(f"UPDATE {table} SET {sets}, commerce_updated_at = now(), updated_at = now() WHERE id = :id"),
        {"id": row["id"], **params},
    )
    return int(row["id"])


def in_quickbooks(row: Mapping[str, Any]) -> bool:
    """Whether QuickBooks has the record (a ListID or TxnID with its EditSequence)."""
    return bool((row.get("qb_list_id") or row.get("qb_txn_id")) and row.get("edit_sequence"))


def _placeholder(name: str, value: Any) -> str:
    return f"CAST(:{name} AS jsonb)" if isinstance(value, dict | list) else f":{name}"


def _bindable(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def _settle_state(conn: Connection, table: str, row_id: int, job_id: int, waits_for: str) -> None:
    state, reason = state_after_planning(conn, job_id, waits_for)
    fix = None
    if state is SyncState.WAITING:
        fix = f"It goes by itself once {waits_for} is in QuickBooks; see `qbwc-server jobs show {job_id}`."
    set_sync_state(conn, table, row_id, state, message=reason, fix=fix)


def _release_waiting_rows(conn: Connection, job_id: int) -> None:
    """Rows whose push waited on job `job_id` and goes again now show `pending`."""
    for kind in ("orders", "payments"):
        record = KINDS[kind]
        conn.execute(
            text(f"""
                UPDATE {record.table} SET sync_state = 'pending', sync_error = NULL, updated_at = now()
                WHERE sync_state = 'waiting' AND id IN (
                    SELECT j.entity_ref::bigint FROM jobs j JOIN job_dependencies dep ON dep.job_id = j.id
                    WHERE dep.depends_on_id = :job AND j.kind = :kind AND j.status = 'queued')
            """),
            {"job": job_id, "kind": record.push_kind},
        )


def _view(conn: Connection, kind: Kind, row_id: int) -> dict[str, Any]:
    table = KINDS[kind].table
    row = dict(conn.execute(text(f"SELECT * FROM {table} WHERE id = :id"), {"id": row_id}).mappings().one())
    return record_view(kind, row, push_job_of(conn, kind, row))
