"""What an order and a payment push send, read from the commerce side's body and the mirror:
the customer's ListID, the defaults resolved, the lines matched to QuickBooks' TxnLineIDs, and
which reference a 3140 names. Knows `commerce_body`'s fields (the API's contract) and the
mirror's tables; no qbXML text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from qbwc_server.models import SyncState
from qbwc_server.qbxml.core import ResponseStatus
from qbwc_server.qbxml.fields import Address
from qbwc_server.qbxml.order_writes import NEW_LINE, OrderFields, OrderLine, external_guid
from qbwc_server.qbxml.sales_orders import SalesOrder
from qbwc_server.queue import JobResult, Outcome
from qbwc_server.queue.jobs import Action
from qbwc_server.sync import defaults
from qbwc_server.sync.base import Deferred, NotSent
from qbwc_server.sync.push import PushContext, latest_push_job, set_sync_state

#: 3140's wording: `There is an invalid reference to QuickBooks Item "WIDGET-9" in the SalesOrder…`
_INVALID_REFERENCE = re.compile(r'invalid reference to QuickBooks ([A-Za-z ]+?) "([^"]*)"')
#: The kinds of reference a push may drop and send again without (the `omit` job parameter).
OMITTABLE = {
    "terms": "terms",
    "standardterms": "terms",
    "salesrep": "sales_rep",
    "class": "class",
    "salestaxcode": "sales_tax_code",
    "paymentmethod": "payment_method",
}


def missing_reference(message: str) -> tuple[str, str] | None:
    """(kind, value) a 3140 names: kind lower case without spaces ("item", "customer", "salesrep")."""
    found = _INVALID_REFERENCE.search(message or "")
    if found is None:
        return None
    return found.group(1).replace(" ", "").lower(), found.group(2)


def customer_of(ctx: PushContext, body: Mapping[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """(the customer's ListID or None, its mirror row when the body names it by `customer_id`)."""
    if body.get("qb_customer_list_id"):
        return str(body["qb_customer_list_id"]), None
    row = (
        ctx.conn.execute(
            text("SELECT id, name, qb_list_id FROM customers WHERE tenant_id = :t AND commerce_id = :c"),
            {"t": ctx.tenant_id, "c": body.get("customer_id")},
        )
        .mappings()
        .first()
    )
    if row is None:
        return None, None
    return row["qb_list_id"], dict(row)


def address_of(value: Mapping[str, Any] | None) -> Address | None:
    """An API address ({line1, line2, city, state, postal_code, country}) as qbXML's."""
    if not value:
        return None
    return Address(
        addr1=value.get("line1"),
        addr2=value.get("line2"),
        city=value.get("city"),
        state=value.get("state"),
        postal_code=value.get("postal_code"),
        country=value.get("country"),
    )


def date_of(value: object) -> dt.date | None:
    return dt.date.fromisoformat(str(value)) if value else None


def decimal_of(value: object) -> Decimal | None:
    return Decimal(str(value)) if value is not None and value != "" else None


def customer_list_id(ctx: PushContext, table: str, row: Mapping[str, Any], body: Mapping[str, Any]) -> str:
    """The ListID of the transaction's customer; one not in QuickBooks yet holds the transaction
    behind the customer's push (NotSent/Deferred from `hold_behind`)."""
    list_id, customer = customer_of(ctx, body)
    if list_id:
        return list_id
    name = (customer or {}).get("name") or body.get("customer_id")
    raise hold_behind(
        ctx, table, int(row["id"]), "customers.push", customer["id"] if customer else None,
        f"waiting for the customer {name} to be added to QuickBooks",
        f"Push the customer {name} again (PUT /customers), or link it to its QuickBooks customer",
    )  # fmt: skip


def same_item(full_name: str | None, sku: object) -> bool:
    """Whether QuickBooks' item (by full name) is the line's SKU: the same full name, or a
    sub-item whose own name is the SKU ("Parent:SKU")."""
    wanted, held = str(sku or "").upper(), (full_name or "").upper()
    return bool(wanted) and (held == wanted or held.rsplit(":", 1)[-1] == wanted)


def item_full_names(conn: Connection, tenant_id: int, skus: Sequence[str]) -> dict[str, str]:
    """SKU -> the FullName QuickBooks knows the item by, from the items mirror.

    The commerce side knows an item by its name; a sub-item's ItemRef must carry its full name
    ("Parent:Child") or QuickBooks answers 3140. A SKU that is already a full name, or that no
    item (or more than one) is named, goes as it is.
    """
    if not skus:
        return {}
    rows = conn.execute(
        text("""
            SELECT name, full_name FROM items
            WHERE tenant_id = :t AND deleted_at IS NULL AND (name = ANY(:s) OR full_name = ANY(:s))
        """),
        {"t": tenant_id, "s": list(set(skus))},
    ).all()
    full = {row.full_name for row in rows}
    by_name: dict[str, set[str]] = {}
    for row in rows:
        by_name.setdefault(row.name, set()).add(row.full_name)
    return {
        sku: next(iter(by_name[sku])) for sku in skus if sku not in full and len(by_name.get(sku, ())) == 1
    }


def order_fields(
    ctx: PushContext,
    row: Mapping[str, Any],
    body: Mapping[str, Any],
    customer_list_id: str,
    omit: Collection[str],
) -> OrderFields:
    """The order as it goes out: the body's fields, the tenant's defaults where it has none, and
    nothing of what an earlier 3140 showed QuickBooks lacks (`omit`)."""
    tax = None if "sales_tax_code" in omit else defaults.sales_tax_code(ctx)
    lines = body.get("lines") or ()
    names = item_full_names(ctx.conn, ctx.tenant_id, [str(line["sku"]) for line in lines])
    return OrderFields(
        customer_list_id=customer_list_id,
        ref_number=body.get("number"),
        txn_date=date_of(body.get("date")),
        po_number=body.get("po_number"),
        ship_date=date_of(body.get("ship_date")),
        bill_address=address_of(body.get("billing_address")),
        ship_address=address_of(body.get("shipping_address")),
        terms=None if "terms" in omit else defaults.list_entry(ctx, "terms", body.get("terms")),
        sales_rep=None if "sales_rep" in omit else defaults.rep_initials(ctx, body.get("sales_rep_email")),
        memo=body.get("memo") or None,
        class_name=None if "class" in omit else defaults.list_entry(ctx, "classes", None),
        customer_sales_tax_code=tax,
        external_guid=external_guid(ctx.tenant_id, "orders", str(row["commerce_id"])),
        lines=tuple(
            OrderLine(
                sku=names.get(str(line["sku"]), str(line["sku"])),
                description=line.get("description") or None,
                quantity=decimal_of(line.get("quantity")),
                rate=decimal_of(line.get("rate")),
                sales_tax_code=tax,
            )
            for line in lines
        ),
    )


def match_line_ids(
    lines: Sequence[Mapping[str, Any]],
    line_ids: Mapping[str, str],
    existing: Sequence[tuple[str, str | None]],
) -> list[str | None]:
    """Each body line's TxnLineID in QuickBooks, or None for a new line: by `line_id` through the
    stored map, else the line at the same position when its item is the same SKU. A TxnLineID
    serves one line only; those no line claims are removed by the Mod (sending lines replaces them).
    """
    known = {txn_line_id for txn_line_id, _ in existing}
    taken: set[str] = set()
    matched: list[str | None] = []
    for position, line in enumerate(lines):
        candidate = line_ids.get(str(line.get("line_id"))) if line.get("line_id") else None
        if candidate is None and position < len(existing):
            txn_line_id, item = existing[position]
            if same_item(item, line.get("sku")):
                candidate = txn_line_id
        if candidate is not None and (candidate not in known or candidate in taken):
            candidate = None
        if candidate is not None:
            taken.add(candidate)
        matched.append(candidate)
    return matched


def line_ids_of(body: Mapping[str, Any], order: SalesOrder) -> str | None:
    """{commerce line_id: TxnLineID} (JSON) from the body's lines and the Ret's, paired by
    position where the SKU agrees (a later PUT may have changed the body meanwhile)."""
    pairs = {
        str(line["line_id"]): ret_line.txn_line_id
        for line, ret_line in zip(body.get("lines") or (), order.lines, strict=False)
        if line.get("line_id")
        and ret_line.item is not None
        and same_item(ret_line.item.full_name, line.get("sku"))
    }
    return json.dumps(pairs) if pairs else None


def with_line_ids(ctx: PushContext, row: Mapping[str, Any], order: OrderFields) -> OrderFields:
    """The Mod's lines, each with the TxnLineID it keeps, or "-1" for a new one."""
    existing = ctx.conn.execute(
        text("""
            SELECT qb_txn_line_id, item_name FROM sales_order_lines
            WHERE sales_order_id = :id AND qb_txn_line_id IS NOT NULL ORDER BY position
        """),
        {"id": row["id"]},
    ).all()
    body_lines = (row.get("commerce_body") or {}).get("lines") or []
    ids = match_line_ids(body_lines, row.get("line_ids") or {}, [(x[0], x[1]) for x in existing])
    lines = tuple(
        replace(line, txn_line_id=txn_line_id or NEW_LINE)
        for line, txn_line_id in zip(order.lines, ids, strict=True)
    )
    return replace(order, lines=lines)


def lookup_failed(ctx: PushContext, status: ResponseStatus) -> JobResult:
    """QuickBooks could not say whether the lost write happened: look again, never write blindly;
    after the job's attempts, an admin decides (the job says what to check)."""
    said = f"QuickBooks {status.code}: {status.message}"
    if ctx.job.attempts < 8:
        return JobResult(Action.UNCONFIRMED, message=f"the look-up failed ({said}); it is looked up again")
    return JobResult.fail(
        Outcome.NEEDS_ADMIN,
        f"the look-up keeps failing ({said}). Check QuickBooks for this record before"
        f" `qbwc-server jobs retry {ctx.job.id} --resend`",
        status.code,
    )


def hold_behind(
    ctx: PushContext, table: str, row_id: int, kind: str, needed_row_id: int | None, message: str, fix: str
) -> NotSent:
    """What a push does when a record it needs (its customer, its order) is not in QuickBooks
    yet: goes after that record's push job, by itself (Deferred, the dependency added), or —
    when no push of it is on its way — is held with the fix (blocked, WAIT_FOR_DEPENDENCY)."""
    push = latest_push_job(ctx.conn, ctx.tenant_id, kind, needed_row_id) if needed_row_id else None
    job_id = ctx.job.id

    def record(conn: Connection) -> None:
        set_sync_state(conn, table, row_id, SyncState.WAITING, message=message, fix=None if push else fix)
        if push is not None:
            conn.execute(
                text("""
                    INSERT INTO job_dependencies (job_id, depends_on_id, tenant_id)
                    VALUES (:j, :d, :t) ON CONFLICT DO NOTHING
                """),
                {"j": job_id, "d": push, "t": ctx.tenant_id},
            )

    if push is not None:
        return Deferred(None, message, record=record)
    return NotSent(JobResult.fail(Outcome.WAIT_FOR_DEPENDENCY, f"{message}. {fix}"), record=record)
