"""Reading an Add or Mod body into record field values: text parsed by the field's format, addresses,
references resolved by ListID or FullName (3140 when they point nowhere, in QuickBooks' words), ParentRef.
Knows request elements and the field lists of list_rets.py / txn_rets.py; changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from qbwc_server.simulator.change_checks import StatusError, check_id
from qbwc_server.simulator.company import Company
from qbwc_server.simulator.records import Address, Ref, ShipToAddress
from qbwc_server.simulator.ret_format import ADDRESS_FIELDS, Spec
from qbwc_server.simulator.store import ACCOUNTS, account_ref

_ADDRESS_TAGS = {tag: attribute for tag, attribute in ADDRESS_FIELDS}

#: Where each kind of reference points: (collection, the name QuickBooks uses in 3140 messages).
REF_TARGETS = {
    "ClassRef": ("classes", "Class"),
    "CustomerTypeRef": ("customer_types", "CustomerType"),
    "TermsRef": ("terms", "Terms"),
    "SalesRepRef": ("sales_reps", "SalesRep"),
    "SalesTaxCodeRef": ("sales_tax_codes", "SalesTaxCode"),
    "CustomerSalesTaxCodeRef": ("sales_tax_codes", "SalesTaxCode"),
    "PreferredPaymentMethodRef": ("payment_methods", "PaymentMethod"),
    "PaymentMethodRef": ("payment_methods", "PaymentMethod"),
    "PriceLevelRef": ("price_levels", "PriceLevel"),
    "CustomerRef": ("customers", "Customer"),
    "ItemRef": ("items", "Item"),
    # Sales tax items live in QuickBooks' item list: a bad one is reported as an Item.
    "ItemSalesTaxRef": ("sales_tax_items", "Item"),
    "ShipMethodRef": ("ship_methods", "ShipMethod"),
}
#: Elements that identify the record or are QuickBooks' to set, never copied into it.
_NOT_FIELDS = {
    "ListID",
    "TxnID",
    "TxnLineID",
    "EditSequence",
    "TimeCreated",
    "TimeModified",
    "TxnNumber",
    "ParentRef",
}
_ACCOUNT_REFS = {
    "ARAccountRef",
    "IncomeAccountRef",
    "COGSAccountRef",
    "AssetAccountRef",
    "DepositToAccountRef",
}


def resolve(company: Company, element: etree._Element, where: str | None = None) -> Ref:
    """The full ref a `*Ref` element points to; 3140 when it points nowhere, naming the list and, on a
    transaction, `where` the reference was ("SalesOrder" for the header, "SalesOrder line")."""
    list_id, full_name = element.findtext("ListID"), element.findtext("FullName")
    if element.tag in _ACCOUNT_REFS:
        name = full_name or next((n for n, i in ACCOUNTS.items() if i == list_id), None)
        if name in ACCOUNTS:
            return account_ref(name)
        raise StatusError(
            3140, f'There is an invalid reference to QuickBooks Account "{list_id or full_name}".'
        )
    if element.tag not in REF_TARGETS:
        return Ref(list_id, full_name)
    collection, label = REF_TARGETS[element.tag]
    if list_id is not None:
        record = getattr(company, collection).get(check_id(list_id))
    else:
        record = company.by_name(collection, full_name or "")
    if record is None:
        raise invalid_reference(label, list_id or full_name or "", where)
    return company.ref(record)


def invalid_reference(label: str, value: str, where: str | None = None) -> StatusError:
    """3140 in QuickBooks' words; on transactions it names the form (and line) and adds the reason."""
    if where is None:
        return StatusError(3140, f'There is an invalid reference to QuickBooks {label} "{value}".')
    return StatusError(
        3140,
        f'There is an invalid reference to QuickBooks {label} "{value}" in the {where}.  '
        "QuickBooks error message: Invalid argument.  The specified record does not exist in the list.",
    )


def _address(element: etree._Element) -> Address:
    address = ShipToAddress() if element.tag == "ShipToAddress" else Address()
    for child in element:
        if child.tag in _ADDRESS_TAGS:
            setattr(address, _ADDRESS_TAGS[child.tag], child.text)
    if isinstance(address, ShipToAddress):
        address.name = element.findtext("Name") or ""
        address.default_ship_to = element.findtext("DefaultShipTo") == "true"
    return address


_PARSE: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "amt": Decimal,
    "qty": Decimal,
    "pct": Decimal,
    "bool": lambda text: text == "true",
    "date": date.fromisoformat,
}


def read_fields(
    company: Company, body: etree._Element, spec: Spec, where: str | None = None
) -> dict[str, Any]:
    """Field values present in `body`, by attribute name, parsed and with references resolved
    (`where`: the transaction or line named in 3140 messages)."""
    by_tag = {tag: (attribute, kind) for tag, attribute, kind in spec}
    values: dict[str, Any] = {}
    for child in body:
        if child.tag not in by_tag or child.tag in _NOT_FIELDS:
            continue
        attribute, kind = by_tag[child.tag]
        if kind == "ref":
            values[attribute] = resolve(company, child, where)
        elif kind in ("addr", "list:addr"):
            address = _address(child)
            if kind == "addr":
                values[attribute] = address
            else:
                values.setdefault(attribute, []).append(address)
        else:
            values[attribute] = _PARSE[kind](child.text or "")
    return values


def read_parent(company: Company, body: etree._Element, collection: str) -> Ref | None:
    """The ParentRef of a customer or item, if sent; 3140 when it points nowhere."""
    element = body.find("ParentRef")
    if element is None:
        return None
    list_id, full_name = element.findtext("ListID"), element.findtext("FullName")
    parent = (
        getattr(company, collection).get(check_id(list_id))
        if list_id is not None
        else company.by_name(collection, full_name or "")
    )
    if parent is None:
        raise invalid_reference(_PARENT_LABELS[collection], list_id or full_name or "")
    return company.ref(parent)


_PARENT_LABELS = {
    "customers": "Customer",
    "items": "Item",
    "classes": "Class",
    "customer_types": "CustomerType",
}
