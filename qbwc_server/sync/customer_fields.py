"""A commerce customer as QuickBooks sees it, and back: the body's fields into `CustomerFields`,
QuickBooks' CustomerRet into the mirror row, and the rules that compare the two sides.

Which fields QuickBooks changed (the 3200 merge): a field of the body whose value in QuickBooks'
fresh record differs from the value the mirror held from QuickBooks before (the mirror's row is
not overwritten by pulls while a push is pending, so it is QuickBooks' state at our last sync).
QuickBooks is master for customer details: such a field keeps QuickBooks' value, and our Mod
leaves it out.

Whether QuickBooks' customer of our name is the same person (3100, a lost Add): the emails
match, trimmed and case-insensitive; when either side has no email, the phones match by their
digits (a leading US "1" of an 11-digit number ignored), neither empty.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, text

from qbwc_server.models import metadata
from qbwc_server.qbxml.customer_writes import CustomerFields, customer_guid
from qbwc_server.qbxml.customers import Customer
from qbwc_server.qbxml.fields import Address, ShipToAddress
from qbwc_server.sync import defaults
from qbwc_server.sync.customers import customer_row
from qbwc_server.sync.push import PushContext
from qbwc_server.sync.upsert import address_json, replace_children

#: The body's address keys -> Address attributes.
_ADDRESS_KEYS = {"line1": "addr1", "line2": "addr2", "city": "city", "state": "state",
                 "postal_code": "postal_code", "country": "country"}  # fmt: skip
#: List references a 3140 can make us leave out, by the name QuickBooks gives them in its message.
REFERENCE_LABELS = {"CustomerType": "customer_type", "Terms": "terms", "SalesRep": "sales_rep",
                    "SalesTaxCode": "sales_tax_code"}  # fmt: skip
#: Body fields compared in a merge: their mirror column (QuickBooks' previous value).
_PLAIN = ("name", "company_name", "first_name", "last_name", "email", "phone")


def address_of(body: Mapping[str, Any] | None) -> Address | None:
    if not body:
        return None
    return Address(**{attr: body.get(key) for key, attr in _ADDRESS_KEYS.items()})


def ship_tos_of(addresses: list[Mapping[str, Any]] | None) -> tuple[ShipToAddress, ...]:
    """The body's shipping addresses; one without a name is called "Ship To N", as QuickBooks does."""
    return tuple(
        ShipToAddress(
            name=str(entry.get("name") or f"Ship To {position}"),
            is_default=bool(entry.get("default")),
            address=address_of(entry) or Address(),
        )
        for position, entry in enumerate(addresses or (), start=1)
    )


def fields_to_send(
    ctx: PushContext, row: Mapping[str, Any], *, adding: bool, keep: set[str], omit: set[str]
) -> CustomerFields:
    """What this push sends: the body's fields but those QuickBooks keeps (`keep`, after a merge),
    with the defaults where the body has no usable value — for an Add every default, for a Mod
    only where the body names a list entry (a Mod never clears or overrides what we did not send).
    `omit`: references QuickBooks refused (3140), left out.
    """
    body = {k: v for k, v in dict(row.get("commerce_body") or {}).items() if k not in keep and v is not None}
    customer_type = terms = rep = tax = None
    if adding or "customer_type" in body:
        customer_type = defaults.list_entry(ctx, "customer_types", body.get("customer_type"))
    if adding or "terms" in body:
        terms = defaults.list_entry(ctx, "terms", body.get("terms"))
    if adding or "sales_rep_email" in body:
        rep = defaults.rep_initials(ctx, body.get("sales_rep_email"))
    if adding:
        tax = defaults.sales_tax_code(ctx)
    refs = {"customer_type": customer_type, "terms": terms, "sales_rep": rep, "sales_tax_code": tax}
    refs = {k: (None if k in omit else v) for k, v in refs.items()}
    name = body.get("name") or (row.get("name") if adding and "name" not in keep else None)
    return CustomerFields(
        name=name,
        is_active=body.get("active"),
        company_name=body.get("company_name"),
        first_name=body.get("first_name"),
        last_name=body.get("last_name"),
        bill_address=address_of(body.get("billing_address")),
        ship_to_addresses=ship_tos_of(body.get("shipping_addresses")),
        phone=body.get("phone"),
        email=body.get("email"),
        external_guid=customer_guid(ctx.tenant_id, str(row.get("commerce_id") or row["id"]))
        if adding
        else None,
        **refs,
    )


def same_person(body: Mapping[str, Any], customer: Customer) -> bool:
    """The module's rule: emails equal, else (one side without) phones equal by digits."""
    ours, theirs = _email(body.get("email")), _email(customer.email)
    if ours and theirs:
        return ours == theirs
    our_phone, their_phone = _digits(body.get("phone")), _digits(customer.phone)
    return bool(our_phone) and our_phone == their_phone


def changed_in_quickbooks(conn: Connection, row: Mapping[str, Any], customer: Customer) -> set[str]:
    """The body's fields whose QuickBooks value moved away from the mirror's (see the docstring)."""
    body = dict(row.get("commerce_body") or {})
    fresh = _comparable(customer)
    before = _comparable_row(conn, row)
    return {field for field in body if field in fresh and fresh[field] != before[field]}


def bind(conn: Connection, tenant_id: int, row_id: int, list_id: str) -> str | None:
    """Give row `row_id` QuickBooks' ListID. A pulled copy of that customer (no commerce id) is
    dropped: this row is that customer now. Another commerce customer holding it is a conflict:
    its message is returned and nothing changes.
    """
    other = conn.execute(
        text("""SELECT id, commerce_id FROM customers
                WHERE tenant_id = :t AND qb_list_id = :l AND id <> :id FOR UPDATE"""),
        {"t": tenant_id, "l": list_id, "id": row_id},
    ).first()
    if other is not None:
        if other.commerce_id is not None:
            return f"QuickBooks customer {list_id} is already linked to customer {other.commerce_id}"
        conn.execute(text("DELETE FROM customers WHERE id = :id"), {"id": other.id})
    conn.execute(text("UPDATE customers SET qb_list_id = :l WHERE id = :id"), {"l": list_id, "id": row_id})
    return None


def land(conn: Connection, tenant_id: int, row_id: int, customer: Customer) -> None:
    """Write QuickBooks' record into row `row_id` (already bound to its ListID) and its ship-tos.
    By id, whatever the row's sync state: the pull's upsert leaves pending rows alone."""
    values = customer_row(customer)
    table = metadata.tables["customers"]
    conn.execute(table.update().where(table.c.id == row_id).values(**values, deleted_at=None))
    replace_children(
        conn,
        "customer_ship_addresses",
        "customer_id",
        tenant_id,
        {row_id: [{"name": s.name, "is_default": s.is_default, **_parts(s.address)}
                  for s in customer.ship_to_addresses]},
    )  # fmt: skip


def _comparable(customer: Customer) -> dict[str, Any]:
    return {
        **{field: _blank(getattr(customer, field)) for field in _PLAIN},
        "billing_address": _address_key(address_json(customer.bill_address)),
        "shipping_addresses": sorted(
            (s.name, s.is_default, _address_key(address_json(s.address))) for s in customer.ship_to_addresses
        ),
        "sales_rep_email": _blank(customer.sales_rep.full_name if customer.sales_rep else None),
        "customer_type": _blank(customer.customer_type.full_name if customer.customer_type else None),
        "terms": _blank(customer.terms.full_name if customer.terms else None),
        "active": customer.is_active,
    }


def _comparable_row(conn: Connection, row: Mapping[str, Any]) -> dict[str, Any]:
    ship_tos = conn.execute(
        text("SELECT * FROM customer_ship_addresses WHERE customer_id = :id ORDER BY position"),
        {"id": row["id"]},
    ).mappings()
    return {
        **{field: _blank(row.get(field)) for field in _PLAIN},
        "billing_address": _address_key(_json(row.get("bill_address"))),
        "shipping_addresses": sorted(
            (s["name"], s["is_default"], _address_key({k: s[k] for k in Address.__slots__ if s[k]}))
            for s in ship_tos
        ),
        "sales_rep_email": _blank(row.get("sales_rep_code")),
        "customer_type": _blank(row.get("customer_type_name")),
        "terms": _blank(row.get("terms_name")),
        "active": row.get("is_active"),
    }


def _parts(address: Address) -> dict[str, Any]:
    return {name: getattr(address, name) for name in Address.__slots__}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _address_key(parts: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, str(v)) for k, v in (parts or {}).items() if v))


def _blank(value: Any) -> Any:
    return None if value == "" else value


def _email(value: Any) -> str:
    return str(value or "").strip().lower()


def _digits(value: Any) -> str:
    digits = re.sub(r"\D", "", str(value or ""))
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
