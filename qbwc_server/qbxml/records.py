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
    Node,
    Ref,
    address_of,
    bool_of,
    children_of,
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
        node = children_of(element)
        return cls(**nested_list_head_of(node))


def list_head_of(element: Node) -> ListHead:
    node = children_of(element)
    return ListHead(
        list_id=required_text(node, "ListID"),
        time_created=required_datetime(node, "TimeCreated"),
        time_modified=required_datetime(node, "TimeModified"),
        edit_sequence=required_text(node, "EditSequence"),
        name=text_of(node, "Name") or "",
        is_active=bool_of(node, "IsActive") is not False,  # absent means active
    )


def nested_list_head_of(element: Node) -> NestedListHead:
    node = children_of(element)
    return NestedListHead(
        **list_head_of(node),
        full_name=text_of(node, "FullName") or text_of(node, "Name") or "",
        parent=ref_of(node, "ParentRef"),
        sublevel=int_of(node, "Sublevel") or 0,
    )


def txn_head_of(element: Node) -> TxnHead:
    node = children_of(element)
    return TxnHead(
        txn_id=required(text_of(node, "TxnID"), node, "TxnID"),
        time_created=required_datetime(node, "TimeCreated"),
        time_modified=required_datetime(node, "TimeModified"),
        edit_sequence=required(text_of(node, "EditSequence"), node, "EditSequence"),
        txn_number=int_of(node, "TxnNumber"),
        customer=required(ref_of(node, "CustomerRef"), node, "CustomerRef"),
        txn_date=required(date_of(node, "TxnDate"), node, "TxnDate"),
        ref_number=text_of(node, "RefNumber"),
        memo=text_of(node, "Memo"),
        external_guid=text_of(node, "ExternalGUID"),
        custom_fields=custom_fields_of(node),
    )


def sales_form_head_of(element: Node) -> SalesFormHead:
    node = children_of(element)
    return SalesFormHead(
        **txn_head_of(node),
        class_ref=ref_of(node, "ClassRef"),
        bill_address=address_of(node, "BillAddress"),
        ship_address=address_of(node, "ShipAddress"),
        po_number=text_of(node, "PONumber"),
        terms=ref_of(node, "TermsRef"),
        due_date=date_of(node, "DueDate"),
        sales_rep=ref_of(node, "SalesRepRef"),
        fob=text_of(node, "FOB"),
        ship_date=date_of(node, "ShipDate"),
        ship_method=ref_of(node, "ShipMethodRef"),
        subtotal=decimal_of(node, "Subtotal"),
        sales_tax_total=decimal_of(node, "SalesTaxTotal"),
        other=text_of(node, "Other"),
        linked_txns=linked_txns_of(node),
    )


def sales_line_of(element: Node, group_txn_line_id: str | None) -> SalesLine:
    node = children_of(element)
    return SalesLine(
        txn_line_id=required(text_of(node, "TxnLineID"), node, "TxnLineID"),
        item=ref_of(node, "ItemRef"),
        desc=text_of(node, "Desc"),
        quantity=decimal_of(node, "Quantity"),
        unit_of_measure=text_of(node, "UnitOfMeasure"),
        rate=decimal_of(node, "Rate"),
        amount=decimal_of(node, "Amount"),
        class_ref=ref_of(node, "ClassRef"),
        sales_tax_code=ref_of(node, "SalesTaxCodeRef"),
        other1=text_of(node, "Other1"),
        other2=text_of(node, "Other2"),
        group_txn_line_id=group_txn_line_id,
    )
