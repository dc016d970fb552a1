"""Answering Add and Mod requests against a simulated company with QuickBooks' rules and status codes.
Knows request elements and the checks QuickBooks makes; the records' side effects are company.py's.

Checks run in this order: text QuickBooks cannot store becomes "?" (it keeps Windows-1252 only),
3070 too long, 3000 malformed ID, 3120 unknown object, 3200 stale EditSequence, 3100 name in
use, 3140 invalid reference. Messages follow QuickBooks' wording as seen in public code and logs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from qbwc_server.simulator.company import Company
from qbwc_server.simulator.list_rets import CUSTOMER, ITEM_INVENTORY
from qbwc_server.simulator.records import (
    Address,
    AppliedToTxn,
    Customer,
    Invoice,
    InvoiceLine,
    ItemInventory,
    ReceivePayment,
    Ref,
    SalesOrder,
    SalesOrderLine,
    ShipToAddress,
)
from qbwc_server.simulator.ret_format import ADDRESS_FIELDS, Spec
from qbwc_server.simulator.store import ACCOUNTS, account_ref
from qbwc_server.simulator.txn_rets import (
    INVOICE,
    INVOICE_LINE,
    RECEIVE_PAYMENT,
    SALES_ORDER,
    SALES_ORDER_LINE,
)

_ID = re.compile(r"[0-9A-F]{1,8}-[0-9]{1,10}")
_ADDRESS_TAGS = {tag: attribute for tag, attribute in ADDRESS_FIELDS}
#: Max lengths for QuickBooks Desktop (US), from qbxmlops130.xml; Name and RefNumber depend on the request.
MAX_LENGTHS = {
    **dict.fromkeys(("Addr1", "Addr2", "Addr3", "Addr4", "Addr5", "Note", "CompanyName", "JobTitle"), 41),
    **dict.fromkeys(("Contact", "AltContact"), 41),
    "City": 31,
    "State": 21,
    "PostalCode": 13,
    "Country": 31,
    "Salutation": 15,
    "FirstName": 25,
    "MiddleName": 5,
    "LastName": 25,
    "Phone": 21,
    "AltPhone": 21,
    "Fax": 21,
    "Email": 1023,
    "Cc": 1023,
    "ResaleNumber": 15,
    "AccountNumber": 99,
    "Notes": 4095,
    "Memo": 4095,
    "PONumber": 25,
    "FOB": 13,
    "Other": 29,
    "Other1": 29,
    "Other2": 29,
    "Desc": 4095,
    "SalesDesc": 4095,
    "PurchaseDesc": 4095,
    "ManufacturerPartNumber": 31,
    "JobDesc": 99,
}
_NAME_LENGTH = {"Customer": 41, "ItemInventory": 31}
_REF_NUMBER_LENGTH = {"SalesOrder": 11, "Invoice": 11, "ReceivePayment": 20}
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


class StatusError(Exception):
    """A request QuickBooks refuses with a status code (severity Error)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def not_found(object_id: str) -> StatusError:
    return StatusError(
        3120,
        f'Object "{object_id}" specified in the request cannot be found.  '
        "QuickBooks error message: Invalid argument.  The specified record does not exist in the list.",
    )


def answer_change(company: Company, request: etree._Element) -> Any:
    """Apply one Add/Mod request and return the record to send back; raises StatusError."""
    kind, operation = re.fullmatch(r"(\w+?)(Add|Mod)Rq", request.tag).groups()  # type: ignore[union-attr]
    body = request.find(kind + operation)
    assert body is not None  # the XSD requires it
    _store_as_windows_1252(body)
    _check_lengths(body, kind)
    handler = _HANDLERS[(kind, operation)]
    return handler(company, body)


def _store_as_windows_1252(body: etree._Element) -> None:
    # QuickBooks stores text in Windows-1252: anything outside it comes back as "?".
    for element in body.iter():
        if element.text and not element.text.isascii():
            element.text = element.text.encode("cp1252", "replace").decode("cp1252")


def _check_lengths(body: etree._Element, kind: str) -> None:
    def walk(element: etree._Element) -> None:
        for child in element:
            if child.tag.endswith("Ref") or child.tag in ("LinkToTxn", "AppliedToTxnAdd"):
                continue
            if len(child):
                walk(child)
                continue
            limit = MAX_LENGTHS.get(child.tag)
            if child.tag == "Name":
                limit = 41 if element.tag == "ShipToAddress" else _NAME_LENGTH.get(kind)
            elif child.tag == "RefNumber":
                limit = _REF_NUMBER_LENGTH.get(kind)
            text = child.text or ""
            if limit is not None and len(text) > limit:
                # 3070: QuickBooks names the value and the field.
                raise StatusError(3070, f'The string "{text}" in the field "{child.tag}" is too long.')

    walk(body)


def _check_id(object_id: str, field: str = "list id") -> str:
    if not _ID.fullmatch(object_id):
        raise StatusError(3000, f'The given object ID "{object_id}" in the field "{field}" is invalid.')
    return object_id


def _resolve(company: Company, element: etree._Element, line_of: str | None = None) -> Ref:
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
        record = getattr(company, collection).get(_check_id(list_id))
    else:
        record = company.by_name(collection, full_name or "")
    if record is None:
        where = f" in the {line_of} line" if line_of else ""
        raise StatusError(
            3140, f'There is an invalid reference to QuickBooks {label} "{list_id or full_name}"{where}.'
        )
    return company.ref(record)


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


def _fields(company: Company, body: etree._Element, spec: Spec, line_of: str | None = None) -> dict[str, Any]:
    """Field values present in `body`, by attribute name, parsed and with references resolved."""
    by_tag = {tag: (attribute, kind) for tag, attribute, kind in spec}
    values: dict[str, Any] = {}
    for child in body:
        if child.tag not in by_tag or child.tag in _NOT_FIELDS:
            continue
        attribute, kind = by_tag[child.tag]
        if kind == "ref":
            values[attribute] = _resolve(company, child, line_of)
        elif kind in ("addr", "list:addr"):
            address = _address(child)
            if kind == "addr":
                values[attribute] = address
            else:
                values.setdefault(attribute, []).append(address)
        else:
            values[attribute] = _PARSE[kind](child.text or "")
    return values


def _unique_name(company: Company, collection: str, record: Any, other_than: str = "") -> None:
    if company.name_taken(collection, record.ref_name(), other_than=other_than):
        # 3100: names are unique within a list (customers also against vendors, employees, other names).
        raise StatusError(3100, f'The name "{record.ref_name()}" of the list element is already in use.')


def _parent(company: Company, body: etree._Element, collection: str) -> Ref | None:
    element = body.find("ParentRef")
    if element is None:
        return None
    list_id, full_name = element.findtext("ListID"), element.findtext("FullName")
    parent = (
        getattr(company, collection).get(_check_id(list_id))
        if list_id is not None
        else company.by_name(collection, full_name or "")
    )
    if parent is None:
        label = "Customer" if collection == "customers" else "Item"
        raise StatusError(
            3140, f'There is an invalid reference to QuickBooks {label} "{list_id or full_name}".'
        )
    return company.ref(parent)


def _mod_target(company: Company, body: etree._Element, collection: str, key: str = "ListID") -> Any:
    object_id = _check_id(body.findtext(key) or "", "list id" if key == "ListID" else "txn id")
    record = getattr(company, collection).get(object_id)
    if record is None:
        raise not_found(object_id)
    sent = body.findtext("EditSequence") or ""
    if sent != record.edit_sequence:
        # 3200: someone changed the record since the sender read it.
        raise StatusError(3200, f'The provided edit sequence "{sent}" is out-of-date.')
    return record


def _probe(record: Any, values: dict[str, Any]) -> Any:
    """A stand-in with the new name and parent, to check the name before changing anything."""
    probe = type(record)(name=values.get("name", record.name))
    parent = values.get("parent_ref", record.parent_ref)
    probe.full_name = f"{parent.full_name}:{probe.name}" if parent else probe.name
    return probe


def _list_add(collection: str, spec: Spec, factory: type) -> Callable[[Company, etree._Element], Any]:
    def add(company: Company, body: etree._Element) -> Any:
        values = _fields(company, body, spec)
        values["parent_ref"] = _parent(company, body, collection)
        probe = _probe(factory(), values)
        _unique_name(company, collection, probe)
        record = factory(**values)
        if isinstance(record, ItemInventory):
            record.income_account_ref = record.income_account_ref or account_ref("Sales")
            record.cogs_account_ref = record.cogs_account_ref or account_ref("Cost of Goods Sold")
            record.asset_account_ref = record.asset_account_ref or account_ref("Inventory Asset")
            total_value = body.findtext("TotalValue")
            if total_value is not None and record.quantity_on_hand:
                record.average_cost = (Decimal(total_value) / record.quantity_on_hand).quantize(
                    Decimal("0.01")
                )
        return company.add(record)

    return add


def _list_mod(collection: str, spec: Spec) -> Callable[[Company, etree._Element], Any]:
    def mod(company: Company, body: etree._Element) -> Any:
        record = _mod_target(company, body, collection)
        values = _fields(company, body, spec)
        if body.find("ParentRef") is not None:
            values["parent_ref"] = _parent(company, body, collection)
        if "name" in values or "parent_ref" in values:
            _unique_name(company, collection, _probe(record, values), other_than=record.list_id)
        return company.edit(record.list_id, **values)

    return mod


_CUSTOMER_FIELDS = [f for f in CUSTOMER if f[0] not in ("Balance", "TotalBalance", "FullName", "Sublevel")]
_ITEM_FIELDS = [f for f in ITEM_INVENTORY if f[0] not in ("FullName", "Sublevel", "AverageCost")]


def _sales_order_lines(company: Company, body: etree._Element, tag: str) -> list[SalesOrderLine]:
    return [
        SalesOrderLine(**_fields(company, line, SALES_ORDER_LINE, "SalesOrder")) for line in body.findall(tag)
    ]


def _add_sales_order(company: Company, body: etree._Element) -> SalesOrder:
    values = _fields(company, body, SALES_ORDER)
    return company.add(SalesOrder(**values, lines=_sales_order_lines(company, body, "SalesOrderLineAdd")))  # type: ignore[no-any-return]


def _mod_sales_order(company: Company, body: etree._Element) -> SalesOrder:
    order: SalesOrder = _mod_target(company, body, "sales_orders", "TxnID")
    values = _fields(company, body, SALES_ORDER)
    line_mods = body.findall("SalesOrderLineMod")
    if line_mods:
        # With any line in the Mod, QuickBooks keeps only the lines listed; "-1" adds a new line.
        existing = {line.txn_line_id: line for line in order.lines}
        lines = []
        for element in line_mods:
            line_id = element.findtext("TxnLineID") or ""
            changes = _fields(company, element, SALES_ORDER_LINE, "SalesOrder")
            if line_id == "-1":
                lines.append(SalesOrderLine(**changes))
            elif line_id in existing:
                line = existing[line_id]
                for key, value in changes.items():
                    setattr(line, key, value)
                if "quantity" in changes or "rate" in changes:
                    line.amount = changes.get("amount")
                lines.append(line)
            else:
                raise not_found(line_id)
        company.replace_sales_order_lines(
            order.txn_id, lines, values.get("customer_ref") or order.customer_ref
        )
    return company.edit(order.txn_id, **values)  # type: ignore[no-any-return]


def _add_invoice(company: Company, body: etree._Element) -> Invoice:
    values = _fields(company, body, INVOICE)
    lines: list[InvoiceLine] = []
    for order_id in (element.text or "" for element in body.findall("LinkToTxnID")):
        order = company.sales_orders.get(_check_id(order_id, "txn id"))
        if order is None:
            raise not_found(order_id)
        for so_line in order.lines:
            open_quantity = (so_line.quantity or Decimal(0)) - so_line.invoiced
            if open_quantity > 0:
                lines.append(
                    InvoiceLine(
                        item_ref=so_line.item_ref,
                        desc=so_line.desc,
                        quantity=open_quantity,
                        rate=so_line.rate,
                        link_to=(order.txn_id, so_line.txn_line_id),
                    )
                )
    for element in body.findall("InvoiceLineAdd"):
        line = InvoiceLine(**_fields(company, element, INVOICE_LINE, "Invoice"))
        link = element.find("LinkToTxn")
        if link is not None:
            order_id, line_id = link.findtext("TxnID") or "", link.findtext("TxnLineID") or ""
            order = company.sales_orders.get(_check_id(order_id, "txn id"))
            if order is None or all(x.txn_line_id != line_id for x in order.lines):
                raise not_found(order_id if order is None else line_id)
            line.link_to = (order_id, line_id)
        lines.append(line)
    values.setdefault("ar_account_ref", account_ref("Accounts Receivable"))
    return company.add(Invoice(**values, lines=lines))  # type: ignore[no-any-return]


def _add_payment(company: Company, body: etree._Element) -> ReceivePayment:
    values = _fields(company, body, RECEIVE_PAYMENT)
    customer_id = values["customer_ref"].list_id
    applied: list[AppliedToTxn] = []
    for element in body.findall("AppliedToTxnAdd"):
        txn_id = _check_id(element.findtext("TxnID") or "", "txn id")
        invoice = company.invoices.get(txn_id)
        if invoice is None or invoice.customer_ref.list_id != customer_id:
            raise not_found(txn_id)
        amount = element.findtext("PaymentAmount")
        applied.append(AppliedToTxn(txn_id, Decimal(amount) if amount else invoice.balance_remaining))
    if body.findtext("IsAutoApply") == "true":
        # Auto-apply: oldest open invoices first, up to the payment's total.
        left = values.get("total_amount") or Decimal(0)
        for invoice in sorted(company.invoices.values(), key=lambda x: (x.txn_date, x.txn_number)):
            if left <= 0:
                break
            if invoice.customer_ref.list_id == customer_id and invoice.balance_remaining > 0:
                amount = min(left, invoice.balance_remaining)
                applied.append(AppliedToTxn(invoice.txn_id, amount))
                left -= amount
    values.setdefault("ar_account_ref", account_ref("Accounts Receivable"))
    values.setdefault("deposit_to_account_ref", account_ref("Undeposited Funds"))
    return company.add(ReceivePayment(**values, applied=applied))  # type: ignore[no-any-return]


_HANDLERS: dict[tuple[str, str], Callable[[Company, etree._Element], Any]] = {
    ("Customer", "Add"): _list_add("customers", _CUSTOMER_FIELDS, Customer),
    ("Customer", "Mod"): _list_mod("customers", _CUSTOMER_FIELDS),
    ("ItemInventory", "Add"): _list_add("items", _ITEM_FIELDS, ItemInventory),
    ("ItemInventory", "Mod"): _list_mod("items", _ITEM_FIELDS),
    ("SalesOrder", "Add"): _add_sales_order,
    ("SalesOrder", "Mod"): _mod_sales_order,
    ("Invoice", "Add"): _add_invoice,
    ("ReceivePayment", "Add"): _add_payment,
}
CHANGES = frozenset(f"{kind}{operation}Rq" for kind, operation in _HANDLERS)
