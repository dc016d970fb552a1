"""What records of one kind open with, read once: a list record's head (ListID … IsActive), a
transaction's (TxnID … RefNumber), and a sales form's header and lines (sales orders, invoices).

Each reader returns a TypedDict that a record's `from_element` spreads into its own fields, so
the public dataclasses keep their own field lists; `NestedListRecord` is the whole of a record
that is nothing but its head (classes, customer types). Pure XML; no database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Self, TypedDict

from lxml import etree

from qbwc_server.qbxml.fields import (
    Address,
    CustomField,
    LinkedTxn,
    Ref,
    address_of,
    bool_of,
    custom_fields_of,
    date_of,
    decimal_of,
    int_of,
    linked_txns_of,
    ref_of,
    required,
    required_datetime,
    required_text,
    text_of,
)


class ListHead(TypedDict):
    list_id: str
    time_created: dt.datetime
    time_modified: dt.datetime
    edit_sequence: str
    name: str
    is_active: bool


class NestedListHead(ListHead):
    """A list whose records may nest ("Parent:Child"): customers, classes, customer types."""

    full_name: str
    parent: Ref | None
    sublevel: int


class TxnHead(TypedDict):
    txn_id: str
    time_created: dt.datetime
    time_modified: dt.datetime
    edit_sequence: str
    txn_number: int | None
    customer: Ref
    txn_date: dt.date
    ref_number: str | None
    memo: str | None
    external_guid: str | None
    custom_fields: tuple[CustomField, ...]


class SalesFormHead(TxnHead):
    """What a sales order and an invoice share, lines apart."""

    class_ref: Ref | None
    bill_address: Address | None
    ship_address: Address | None
    po_number: str | None
    terms: Ref | None
    due_date: dt.date | None
    sales_rep: Ref | None
    fob: str | None
    ship_date: dt.date | None
    ship_method: Ref | None
    subtotal: Decimal | None
    sales_tax_total: Decimal | None
    other: str | None
    linked_txns: tuple[LinkedTxn, ...]


class SalesLine(TypedDict):
    txn_line_id: str
    item: Ref | None
    desc: str | None
    quantity: Decimal | None
    unit_of_measure: str | None
    rate: Decimal | None
    amount: Decimal | None
    class_ref: Ref | None
    sales_tax_code: Ref | None
    other1: str | None
    other2: str | None
    group_txn_line_id: str | None


@dataclass(frozen=True, slots=True)
class NestedListRecord:
    """A record of a nested list that carries nothing but its head; each list subclasses it."""

    list_id: str
    time_created: dt.datetime
    time_modified: dt.datetime
    edit_sequence: str
    name: str
    #: "Parent:Child" for a nested one.
    full_name: str
    is_active: bool
    parent: Ref | None
    sublevel: int

    @classmethod
    def from_element(cls, element: etree._Element) -> Self:
        return cls(**nested_list_head_of(element))


def list_head_of(element: etree._Element) -> ListHead:
    return ListHead(
        list_id=required_text(element, "ListID"),
        time_created=required_datetime(element, "TimeCreated"),
        time_modified=required_datetime(element, "TimeModified"),
        edit_sequence=required_text(element, "EditSequence"),
        name=text_of(element, "Name") or "",
        is_active=bool_of(element, "IsActive") is not False,  # absent means active
    )


def nested_list_head_of(element: etree._Element) -> NestedListHead:
    return NestedListHead(
        **list_head_of(element),
        full_name=text_of(element, "FullName") or text_of(element, "Name") or "",
        parent=ref_of(element, "ParentRef"),
        sublevel=int_of(element, "Sublevel") or 0,
    )


def txn_head_of(element: etree._Element) -> TxnHead:
    return TxnHead(
        txn_id=required(text_of(element, "TxnID"), element, "TxnID"),
        time_created=required_datetime(element, "TimeCreated"),
        time_modified=required_datetime(element, "TimeModified"),
        edit_sequence=required(text_of(element, "EditSequence"), element, "EditSequence"),
        txn_number=int_of(element, "TxnNumber"),
        customer=required(ref_of(element, "CustomerRef"), element, "CustomerRef"),
        txn_date=required(date_of(element, "TxnDate"), element, "TxnDate"),
        ref_number=text_of(element, "RefNumber"),
        memo=text_of(element, "Memo"),
        external_guid=text_of(element, "ExternalGUID"),
        custom_fields=custom_fields_of(element),
    )


def sales_form_head_of(element: etree._Element) -> SalesFormHead:
    return SalesFormHead(
        **txn_head_of(element),
        class_ref=ref_of(element, "ClassRef"),
        bill_address=address_of(element, "BillAddress"),
        ship_address=address_of(element, "ShipAddress"),
        po_number=text_of(element, "PONumber"),
        terms=ref_of(element, "TermsRef"),
        due_date=date_of(element, "DueDate"),
        sales_rep=ref_of(element, "SalesRepRef"),
        fob=text_of(element, "FOB"),
        ship_date=date_of(element, "ShipDate"),
        ship_method=ref_of(element, "ShipMethodRef"),
        subtotal=decimal_of(element, "Subtotal"),
        sales_tax_total=decimal_of(element, "SalesTaxTotal"),
        other=text_of(element, "Other"),
        linked_txns=linked_txns_of(element),
    )


def sales_line_of(element: etree._Element, group_txn_line_id: str | None) -> SalesLine:
    return SalesLine(
        txn_line_id=required(text_of(element, "TxnLineID"), element, "TxnLineID"),
        item=ref_of(element, "ItemRef"),
        desc=text_of(element, "Desc"),
        quantity=decimal_of(element, "Quantity"),
        unit_of_measure=text_of(element, "UnitOfMeasure"),
        rate=decimal_of(element, "Rate"),
        amount=decimal_of(element, "Amount"),
        class_ref=ref_of(element, "ClassRef"),
        sales_tax_code=ref_of(element, "SalesTaxCodeRef"),
        other1=text_of(element, "Other1"),
        other2=text_of(element, "Other2"),
        group_txn_line_id=group_txn_line_id,
    )
