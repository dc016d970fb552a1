"""Customers from QuickBooks into the mirror (with their ship-to addresses).

QuickBooks is master for customer details: a pulled customer overwrites the mirror row, and
deactivation or reactivation there shows here as `is_active`.

A pull reads each changed CustomerRet once and only to write it, so it skips the `Customer`
value the push side works with (`customer_row` of one, for `customer_fields.land`): one pass
over the record's children gathers the texts, and the same row is built from them directly,
its values already as the upsert's JSON carries them (`read_pulled_customer`). The proxies and
objects `Customer.from_element` makes a field were most of a changed page's reading time.

The row is the same by construction: anything the pull's reader does not take in stride (a
value that cannot be read, a required element missing) sends the record through
`parse_customer_ret` and `customer_row`, which fail it with the same reason as ever, or read it.
Field rules are `qbxml/fields.py`'s: the first element of a name counts, an empty one is "",
unknown ones are ignored, numbers and times are checked and normalised the same way.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from lxml import etree
from sqlalchemy import Connection

from qbwc_server.qbxml.core import parse_int32
from qbwc_server.qbxml.customers import Customer, parse_customer_ret
from qbwc_server.qbxml.fields import DECIMAL_LIMIT, parse_datetime
from qbwc_server.sync.upsert import (
    address_json,
    custom_fields_json,
    ref_id,
    ref_name,
    rewrite_children,
    upsert_records,
)

#: Address parts: element name -> column (the order of `fields.Address`).
_ADDRESS = (
    ("Addr1", "addr1"), ("Addr2", "addr2"), ("Addr3", "addr3"), ("Addr4", "addr4"), ("Addr5", "addr5"),
    ("City", "city"), ("State", "state"), ("PostalCode", "postal_code"), ("Country", "country"),
    ("Note", "note"),
)  # fmt: skip
_ADDRESS_COLUMNS = dict(_ADDRESS)
#: A ship-to's children -> its row's columns (DefaultShipTo is read as a flag afterwards).
_SHIP_TO_COLUMNS = {"Name": "name", "DefaultShipTo": "is_default", **_ADDRESS_COLUMNS}
#: How a record's child is read: absent here, its text; 1, a block kept whole; 2, a ship-to;
#: 3, a custom field.
_KINDS: dict[str, int] = {
    **dict.fromkeys(
        (
            "ParentRef",
            "BillAddress",
            "ShipAddress",
            "CustomerTypeRef",
            "TermsRef",
            "SalesRepRef",
            "SalesTaxCodeRef",
            "PriceLevelRef",
        ),
        1,
    ),
    "ShipToAddress": 2,
    "DataExtRet": 3,
}
_TRUE = ("true", "1")


class PulledCustomer:
    """One CustomerRet as the pull writes it: its row, its ship-to rows, and what the pull
    itself follows (the ListID that keys the page, the TimeModified the cursor follows)."""

    __slots__ = ("list_id", "row", "ship_tos", "time_modified")

    def __init__(
        self, list_id: str, time_modified: dt.datetime, row: dict[str, Any], ship_tos: list[dict[str, Any]]
    ) -> None:
        self.list_id = list_id
        self.time_modified = time_modified
        self.row = row
        self.ship_tos = ship_tos


def read_pulled_customer(element: etree._Element) -> PulledCustomer:
    """The record's row and ship-to rows; QbxmlError for one that cannot be read."""
    try:
        return _read(element)
    except Exception:  # whatever it is, the full reader says it (or reads what this one could not)
        customer = parse_customer_ret(element)
        return PulledCustomer(
            customer.list_id, customer.time_modified, customer_row(customer), ship_to_rows(customer)
        )


def apply_customers(conn: Connection, tenant_id: int, customers: list[PulledCustomer]) -> int:
    """Upsert a page of customers (the last of a ListID counts); the ship-to addresses of those
    that changed are rewritten where they differ."""
    latest = {customer.list_id: customer for customer in customers}
    changed = upsert_records(conn, "customers", "qb_list_id", tenant_id, [c.row for c in latest.values()])
    rewrite_children(
        conn,
        "customer_ship_addresses",
        "customer_id",
        tenant_id,
        {row_id: latest[list_id].ship_tos for list_id, row_id in changed.items()},
        new=changed.inserted,
    )
    return len(changed)


def customer_row(customer: Customer) -> dict[str, Any]:
    return {
        "qb_list_id": customer.list_id,
        "edit_sequence": customer.edit_sequence,
        "qb_time_created": customer.time_created,
        "qb_time_modified": customer.time_modified,
        "is_active": customer.is_active,
        "name": customer.name,
        "full_name": customer.full_name,
        "parent_list_id": ref_id(customer.parent),
        "sublevel": customer.sublevel,
        "company_name": customer.company_name,
        "salutation": customer.salutation,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "alt_phone": customer.alt_phone,
        "fax": customer.fax,
        "contact": customer.contact,
        "alt_contact": customer.alt_contact,
        "bill_address": address_json(customer.bill_address),
        "ship_address": address_json(customer.ship_address),
        "customer_type_list_id": ref_id(customer.customer_type),
        "customer_type_name": ref_name(customer.customer_type),
        "terms_list_id": ref_id(customer.terms),
        "terms_name": ref_name(customer.terms),
        "sales_rep_list_id": ref_id(customer.sales_rep),
        "sales_rep_code": ref_name(customer.sales_rep),
        "sales_tax_code_name": ref_name(customer.sales_tax_code),
        "price_level_list_id": ref_id(customer.price_level),
        "price_level_name": ref_name(customer.price_level),
        "balance": customer.balance,
        "total_balance": customer.total_balance,
        "credit_limit": customer.credit_limit,
        "account_number": customer.account_number,
        "job_status": customer.job_status,
        "notes": customer.notes,
        "custom_fields": custom_fields_json(customer.custom_fields),
    }


def ship_to_rows(customer: Customer) -> list[dict[str, Any]]:
    """The customer's ship-to addresses as `customer_ship_addresses` rows (their position apart)."""
    return [
        {"name": ship_to.name, "is_default": ship_to.is_default, **_address_columns(ship_to.address)}
        for ship_to in customer.ship_to_addresses
    ]


def _address_columns(address: Any) -> dict[str, Any]:
    return {column: getattr(address, column) for _, column in _ADDRESS}


def _read(element: etree._Element) -> PulledCustomer:
    """The quick way; raises (any exception) where `read_pulled_customer` needs the full reader."""
    found: dict[Any, Any] = {}  # tag -> text, or the element of a block
    ship_tos: list[dict[str, Any]] = []
    fields: dict[str, str | None] = {}
    for child in element:
        tag = child.tag
        kind = _KINDS.get(tag)
        if kind is None:
            if tag not in found:
                found[tag] = child.text or ""
        elif kind == 1:
            if tag not in found:
                found[tag] = child
        elif kind == 2:
            ship_tos.append(_ship_to(child))
        else:
            texts = _texts(child)
            if (texts.get("OwnerID") or "0") == "0":
                fields[texts.get("DataExtName") or ""] = texts.get("DataExtValue")
    get = found.get
    list_id, edit_sequence = get("ListID"), get("EditSequence")
    if not list_id or not edit_sequence:
        raise LookupError("ListID or EditSequence")
    modified = parse_datetime(found["TimeModified"])
    name = get("Name") or ""
    active = get("IsActive")
    sublevel = get("Sublevel")
    customer_type = _ref(get("CustomerTypeRef"))
    terms = _ref(get("TermsRef"))
    sales_rep = _ref(get("SalesRepRef"))
    price_level = _ref(get("PriceLevelRef"))
    row = {
        "qb_list_id": list_id,
        "edit_sequence": edit_sequence,
        "qb_time_created": parse_datetime(found["TimeCreated"]).isoformat(),
        "qb_time_modified": modified.isoformat(),
        "is_active": not active or not active.strip() or active.strip().lower() in _TRUE,
        "name": name,
        "full_name": get("FullName") or name,
        "parent_list_id": _ref(get("ParentRef"))[0],
        "sublevel": parse_int32(sublevel, "Sublevel") if sublevel and sublevel.strip() else 0,
        "company_name": get("CompanyName"),
        "salutation": get("Salutation"),
        "first_name": get("FirstName"),
        "last_name": get("LastName"),
        "email": get("Email"),
        "phone": get("Phone"),
        "alt_phone": get("AltPhone"),
        "fax": get("Fax"),
        "contact": get("Contact"),
        "alt_contact": get("AltContact"),
        "bill_address": _address(get("BillAddress")),
        "ship_address": _address(get("ShipAddress")),
        "customer_type_list_id": customer_type[0],
        "customer_type_name": customer_type[1],
        "terms_list_id": terms[0],
        "terms_name": terms[1],
        "sales_rep_list_id": sales_rep[0],
        "sales_rep_code": sales_rep[1],
        "sales_tax_code_name": _ref(get("SalesTaxCodeRef"))[1],
        "price_level_list_id": price_level[0],
        "price_level_name": price_level[1],
        "balance": _decimal(get("Balance")),
        "total_balance": _decimal(get("TotalBalance")),
        "credit_limit": _decimal(get("CreditLimit")),
        "account_number": get("AccountNumber"),
        "job_status": get("JobStatus"),
        "notes": get("Notes"),
        "custom_fields": fields or None,
    }
    return PulledCustomer(list_id, modified, row, ship_tos)


def _texts(block: etree._Element) -> dict[Any, str]:
    """A block's child texts by name, the first of each ("" when empty)."""
    texts: dict[Any, str] = {}
    for child in block:
        if child.tag not in texts:
            texts[child.tag] = child.text or ""
    return texts


def _ref(block: etree._Element | None) -> tuple[str | None, str | None]:
    """(ListID, FullName) of a reference, None for what it lacks (`fields.ref_of`)."""
    if block is None:
        return None, None
    list_id = full_name = None
    for child in block:
        tag = child.tag
        if tag == "ListID":
            if list_id is None:
                list_id = child.text or ""
        elif tag == "FullName" and full_name is None:
            full_name = child.text or ""
    return list_id, full_name


def _address(block: etree._Element | None) -> dict[str, str] | None:
    """An address as `upsert.address_json` stores it: only the parts QuickBooks has (the first
    of each, as ever; a jsonb keeps no order)."""
    if block is None:
        return None
    parts: dict[str, str] = {}
    for child in block:
        column = _ADDRESS_COLUMNS.get(child.tag)
        if column is not None and column not in parts:
            parts[column] = child.text or ""
    if "" in parts.values():
        return {column: value for column, value in parts.items() if value}
    return parts


def _ship_to(block: etree._Element) -> dict[str, Any]:
    """A ship-to's row (`ship_to_rows`): every part, "" when empty, None when absent."""
    row: dict[str, Any] = dict.fromkeys(_SHIP_TO_COLUMNS.values())
    for child in block:
        column = _SHIP_TO_COLUMNS.get(child.tag)
        if column is not None and row[column] is None:
            row[column] = child.text or ""
    row["name"] = row["name"] or ""
    default = row["is_default"]
    row["is_default"] = bool(default and default.strip().lower() in _TRUE)
    return row


def _decimal(raw: str | None) -> str | None:
    """An amount as the upsert's JSON carries it (`fields.decimal_of`, then `str`)."""
    if raw is None or not (raw := raw.strip()):
        return None
    value = Decimal(raw)
    if not value.is_finite() or abs(value) >= DECIMAL_LIMIT:
        raise ValueError(raw)
    return str(value)
