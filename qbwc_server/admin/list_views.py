"""What each list endpoint shows of a mirror row: the values the mirror holds (QuickBooks' own
once pulled or pushed), under the names the commerce bodies use, plus the row's children and
the values looked up for it. admin/listings.py pages; this module only shapes. Knows no HTTP.

Records the commerce side writes (customers, orders, payments) show `id`, `qb_list_id` /
`qb_txn_id`, `qb_edit_sequence` and `sync` exactly as `GET /…/{id}` does (`record_view`).

Looked-up values (`customer_id`, `sales_rep_email`, a linked order's `id`) are as of the read:
a change of only the other record (a new rep mapping, a customer linked) does not list this one
again. The QuickBooks ids beside them are the lasting link.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from qbwc_server.admin.record_reads import Kind, record_view

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Listing:
    """One list endpoint: its mirror table, what each row adds to it, and how a row is shown."""

    table: str
    #: SQL expressions over the page's row (`page`), each `… AS name`: children, looked-up values.
    extras: Sequence[str]
    view: Callable[[Row], dict[str, Any]]


# -- what rows add ----------------------------------------------------------------------------


def _rep_email(code: str) -> str:
    return (
        "(SELECT e.email FROM sales_rep_emails e"
        f" WHERE e.tenant_id = page.tenant_id AND e.code = page.{code}) AS rep_email"
    )


_CUSTOMER_ID = (
    "(SELECT c.commerce_id FROM customers c"
    " WHERE c.tenant_id = page.tenant_id AND c.qb_list_id = page.customer_list_id) AS customer_commerce_id"
)


def _push_job(push_kind: str) -> str:
    """The row's newest push job not done, as `record_reads.push_job_of` finds it (its index)."""
    return f"""(SELECT json_build_object('status', j.status, 'last_message', j.last_message,
                                         'last_status_code', j.last_status_code)
                FROM jobs j
                WHERE page.sync_state = 'pending' AND j.tenant_id = page.tenant_id
                  AND j.kind = '{push_kind}' AND j.entity_ref = page.id::text AND j.status <> 'done'
                  AND j.kind LIKE '%.push' AND j.entity_ref IS NOT NULL
                ORDER BY j.id DESC LIMIT 1) AS push_job"""


def _children(table: str, parent: str, fields: Mapping[str, str], name: str) -> str:
    """A JSON array of the row's children by position; numbers as text (JSON would make floats)."""
    pairs = ", ".join(f"'{key}', {expression}" for key, expression in fields.items())
    return (
        f"(SELECT json_agg(json_build_object({pairs}) ORDER BY x.position)"
        f" FROM {table} x WHERE x.{parent} = page.id) AS {name}"
    )


#: Mirror address part -> the name the bodies use ("addr1" -> "line1").
_ADDRESS_PARTS = (
    *((f"addr{n}", f"line{n}") for n in range(1, 6)),
    *((part, part) for part in ("city", "state", "postal_code", "country", "note")),
)
_LINE = {
    "qb_txn_line_id": "x.qb_txn_line_id",
    "sku": "x.item_name",
    "qb_item_list_id": "x.item_list_id",
    "description": "x.description",
    "quantity": "x.quantity::text",
    "unit_of_measure": "x.unit_of_measure",
    "rate": "x.rate::text",
    "amount": "x.amount::text",
    "sales_tax_code": "x.sales_tax_code_name",
}


# -- shaping ----------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _date(value: Any) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value) if isinstance(value, str) else value


def address(stored: Mapping[str, Any] | None) -> dict[str, str] | None:
    """A mirror address (`addr1`…) under the bodies' names (`line1`…); None when it has no part."""
    if not stored:
        return None
    shown = {name: stored[part] for part, name in _ADDRESS_PARTS if stored.get(part)}
    return shown or None


def _identity(kind: Kind, row: Row) -> dict[str, Any]:
    """`id`, the QuickBooks id, `qb_edit_sequence` and `sync`: what GET /{kind}/{id} answers."""
    view = record_view(kind, row, row.get("push_job"))
    qb_id = "qb_list_id" if kind == "customers" else "qb_txn_id"
    return {key: view[key] for key in ("id", qb_id, "qb_edit_sequence", "sync")}


def _same(row: Row, columns: str) -> dict[str, Any]:
    """The columns named (space-separated) as they are, under their own names."""
    return {column: row[column] for column in columns.split()}


def _tail(row: Row) -> dict[str, Any]:
    return {"deleted_at": row["deleted_at"], "updated_at": row["updated_at"]}


def _rep(row: Row, body: Mapping[str, Any]) -> dict[str, Any]:
    """The rep's code, and the email mapped to it (the body's own before QuickBooks has a code)."""
    email = row.get("rep_email") if row["sales_rep_code"] else body.get("sales_rep_email")
    return {"sales_rep_code": row["sales_rep_code"], "sales_rep_email": email}


def _party(row: Row, body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "customer_id": row.get("customer_commerce_id") or body.get("customer_id"),
        "qb_customer_list_id": row["customer_list_id"],
        "customer_name": row["customer_name"],
    }


def _line(line: Mapping[str, Any]) -> dict[str, Any]:
    shown = dict(line)
    for key in ("quantity", "rate", "amount", "invoiced"):
        if key in shown:
            shown[key] = _decimal(shown[key])
    return shown


def customer_view(row: Row) -> dict[str, Any]:
    body = row.get("commerce_body") or {}
    return {
        **_identity("customers", row),
        **_same(row, "name full_name company_name salutation first_name last_name email phone alt_phone"),
        **_same(row, "fax contact"),
        "parent_qb_list_id": row["parent_list_id"],
        "billing_address": address(row["bill_address"]),
        "shipping_address": address(row["ship_address"]),
        "shipping_addresses": [
            {"name": s["name"], "default": s["is_default"], **(address(s) or {})}
            for s in row["ship_tos"] or ()
        ],
        **_rep(row, body),
        "customer_type": row["customer_type_name"],
        "terms": row["terms_name"],
        "price_level": row["price_level_name"],
        "sales_tax_code": row["sales_tax_code_name"],
        **_same(row, "balance total_balance credit_limit account_number custom_fields"),
        "is_active": row["is_active"],
        **_tail(row),
    }


def item_view(row: Row) -> dict[str, Any]:
    return {
        "qb_list_id": row["qb_list_id"],
        "qb_edit_sequence": row["edit_sequence"],
        "kind": row["kind"],
        "name": row["name"],
        # What an order line's `sku` names (QuickBooks' FullName).
        "sku": row["full_name"],
        "parent_qb_list_id": row["parent_list_id"],
        "description": row["sales_desc"],
        "sales_price": row["sales_price"],
        "purchase_description": row["purchase_desc"],
        **_same(row, "purchase_cost average_cost manufacturer_part_number"),
        "sales_tax_code": row["sales_tax_code_name"],
        **_same(row, "reorder_point build_point quantity_on_hand quantity_on_order quantity_on_sales_order"),
        **_same(row, "quantities_at custom_fields"),
        "is_active": row["is_active"],
        **_tail(row),
    }


def _sales_document(row: Row, body: Mapping[str, Any]) -> dict[str, Any]:
    """What orders and invoices share."""
    return {
        "number": row["ref_number"],
        **_party(row, body),
        "date": row["txn_date"],
        **_same(row, "due_date po_number memo"),
        "terms": row["terms_name"],
        **_rep(row, body),
        "class": row["class_name"],
        "billing_address": address(row["bill_address"]),
        "shipping_address": address(row["ship_address"]),
        **_same(row, "ship_date ship_method fob subtotal sales_tax_total"),
    }


def order_view(row: Row) -> dict[str, Any]:
    body = row.get("commerce_body") or {}
    line_id_of = {txn_line: line_id for line_id, txn_line in (row["line_ids"] or {}).items()}
    body_lines = body.get("lines") or []
    lines = []
    for position, line in enumerate(row["lines"] or ()):
        line_id = line_id_of.get(line["qb_txn_line_id"])
        if line_id is None and row["qb_txn_id"] is None and position < len(body_lines):
            line_id = body_lines[position].get("line_id")  # not in QuickBooks yet: as PUT
        lines.append({"line_id": line_id, **_line(line)})
    return {
        **_identity("orders", row),
        "qb_txn_type": row["qb_txn_type"],
        **_sales_document(row, body),
        "total": row["total_amount"],
        "fully_invoiced": row["is_fully_invoiced"],
        "closed": row["is_manually_closed"],
        "lines": lines,
        **_tail(row),
    }


def invoice_view(row: Row) -> dict[str, Any]:
    return {
        "qb_txn_id": row["qb_txn_id"],
        "qb_edit_sequence": row["edit_sequence"],
        **_sales_document(row, {}),
        "tracking_number": row["tracking_number"],
        "applied_amount": row["applied_amount"],
        "balance": row["balance_remaining"],
        "paid": row["is_paid"],
        "pending": row["is_pending"],
        "linked_orders": row["linked_orders"] or [],
        "lines": [_line(line) for line in row["lines"] or ()],
        **_tail(row),
    }


def payment_view(row: Row) -> dict[str, Any]:
    body = row.get("commerce_body") or {}
    return {
        **_identity("payments", row),
        "reference": row["ref_number"],
        **_party(row, body),
        "order_id": body.get("order_id"),
        "date": row["txn_date"],
        "amount": row["total_amount"],
        "method": row["payment_method"],
        "memo": row["memo"],
        "deposit_to_account": row["deposit_to_account"],
        "unused_payment": row["unused_payment"],
        "unused_credits": row["unused_credits"],
        "applications": [
            {
                **application,
                "date": _date(application["date"]),
                "amount": _decimal(application["amount"]),
                "discount_amount": _decimal(application["discount_amount"]),
            }
            for application in row["applications"] or ()
        ],
        **_tail(row),
    }


def price_level_view(row: Row) -> dict[str, Any]:
    return {
        "qb_list_id": row["qb_list_id"],
        "qb_edit_sequence": row["edit_sequence"],
        "name": row["name"],
        # QuickBooks' PriceLevelType: "FixedPercentage" (every item) or "PerItem" (`items`).
        "type": row["price_level_type"],
        "fixed_percentage": row["fixed_percentage"],
        "items": [
            {
                **item,
                "custom_price": _decimal(item["custom_price"]),
                "custom_price_percent": _decimal(item["custom_price_percent"]),
            }
            for item in row["items"] or ()
        ],
        "is_active": row["is_active"],
        **_tail(row),
    }


def sales_rep_view(row: Row) -> dict[str, Any]:
    return {
        "qb_list_id": row["qb_list_id"],
        "qb_edit_sequence": row["edit_sequence"],
        "code": row["code"],
        "name": row["entity_name"],
        "email": row["rep_email"],
        "is_active": row["is_active"],
        **_tail(row),
    }


LISTINGS: Mapping[str, Listing] = {
    "customers": Listing(
        "customers",
        (
            "(SELECT json_agg(to_json(x) ORDER BY x.position) FROM customer_ship_addresses x"
            " WHERE x.customer_id = page.id) AS ship_tos",
            _rep_email("sales_rep_code"),
            _push_job("customers.push"),
        ),
        customer_view,
    ),
    "items": Listing("items", (), item_view),
    "orders": Listing(
        "sales_orders",
        (
            _children(
                "sales_order_lines",
                "sales_order_id",
                {**_LINE, "invoiced": "x.invoiced::text", "closed": "x.is_manually_closed"},
                "lines",
            ),
            _CUSTOMER_ID,
            _rep_email("sales_rep_code"),
            _push_job("orders.push"),
        ),
        order_view,
    ),
    "invoices": Listing(
        "invoices",
        (
            _children("invoice_lines", "invoice_id", _LINE, "lines"),
            """(SELECT json_agg(json_build_object('id', o.commerce_id, 'qb_txn_id', x.txn_id) ORDER BY x.n)
                FROM unnest(page.sales_order_txn_ids) WITH ORDINALITY AS x (txn_id, n)
                LEFT JOIN sales_orders o ON o.tenant_id = page.tenant_id AND o.qb_txn_id = x.txn_id
               ) AS linked_orders""",
            _CUSTOMER_ID,
            _rep_email("sales_rep_code"),
        ),
        invoice_view,
    ),
    "payments": Listing(
        "payments",
        (
            _children(
                "payment_applications",
                "payment_id",
                {
                    "qb_txn_id": "x.txn_id",
                    "txn_type": "x.txn_type",
                    "date": "x.txn_date",
                    "reference": "x.ref_number",
                    "amount": "x.amount::text",
                    "discount_amount": "x.discount_amount::text",
                },
                "applications",
            ),
            _CUSTOMER_ID,
            _push_job("payments.push"),
        ),
        payment_view,
    ),
    "price-levels": Listing(
        "price_levels",
        (
            _children(
                "price_level_items",
                "price_level_id",
                {
                    "qb_item_list_id": "x.item_list_id",
                    "sku": "x.item_name",
                    "custom_price": "x.custom_price::text",
                    "custom_price_percent": "x.custom_price_percent::text",
                },
                "items",
            ),
        ),
        price_level_view,
    ),
    "sales-reps": Listing("sales_reps", (_rep_email("code"),), sales_rep_view),
}
