"""Invoices as qbXML carries them (InvoiceQueryRq / InvoiceRet); knows no database.

We only read invoices: shipment details, payment status, and the sales orders they bill.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.fields import (
    Address,
    CustomField,
    LinkedTxn,
    Ref,
    bool_of,
    children_of,
    decimal_of,
    line_elements_of,
)
from qbwc_server.qbxml.query import TxnQuery, write_txn_query_rq
from qbwc_server.qbxml.records import sales_form_head_of, sales_line_of
from qbwc_server.qbxml.registry import registered, txn_query_examples

RET_TAG = "InvoiceRet"
RS_TAG = "InvoiceQueryRs"


@dataclass(frozen=True, slots=True)
class InvoiceLine:
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
    #: The TxnLineID of the InvoiceLineGroupRet this line came from; None for a plain line.
    group_txn_line_id: str | None

    @classmethod
    def from_element(cls, element: etree._Element, group_txn_line_id: str | None = None) -> InvoiceLine:
        return cls(
            **sales_line_of(element, group_txn_line_id),
        )


@dataclass(frozen=True, slots=True)
class Invoice:
    txn_id: str
    time_created: dt.datetime
    time_modified: dt.datetime
    edit_sequence: str
    txn_number: int | None
    customer: Ref
    class_ref: Ref | None
    txn_date: dt.date
    ref_number: str | None
    bill_address: Address | None
    ship_address: Address | None
    is_pending: bool | None
    po_number: str | None
    terms: Ref | None
    due_date: dt.date | None
    sales_rep: Ref | None
    fob: str | None
    ship_date: dt.date | None
    ship_method: Ref | None
    subtotal: Decimal | None
    sales_tax_total: Decimal | None
    applied_amount: Decimal | None
    balance_remaining: Decimal | None
    memo: str | None
    is_paid: bool | None
    other: str | None
    external_guid: str | None
    linked_txns: tuple[LinkedTxn, ...]
    lines: tuple[InvoiceLine, ...]
    custom_fields: tuple[CustomField, ...]

    @property
    def sales_order_txn_ids(self) -> tuple[str, ...]:
        """The sales orders this invoice bills (needs IncludeLinkedTxns in the query)."""
        return tuple(link.txn_id for link in self.linked_txns if link.txn_type == "SalesOrder")

    @property
    def tracking_number(self) -> str | None:
        """A custom field named like "Tracking Number" when filled in, else the Other field
        (where companies without the custom field type it).
        """
        for field in self.custom_fields:
            if "tracking" in field.name.lower() and field.value and field.value.strip():
                return field.value.strip()
        return self.other or None

    @classmethod
    def from_element(cls, element: etree._Element) -> Invoice:
        node = children_of(element)
        return cls(
            **sales_form_head_of(node),
            is_pending=bool_of(node, "IsPending"),
            applied_amount=decimal_of(node, "AppliedAmount"),
            balance_remaining=decimal_of(node, "BalanceRemaining"),
            is_paid=bool_of(node, "IsPaid"),
            lines=tuple(
                InvoiceLine.from_element(line, group_id)
                for line, group_id in line_elements_of(element, "InvoiceLineRet", "InvoiceLineGroupRet")
            ),
        )


def parse_invoice_ret(element: etree._Element) -> Invoice:
    """An `InvoiceRet` as an `Invoice`; group lines are flattened in document order."""
    return Invoice.from_element(element)


@registered("InvoiceQueryRq", txn_query_examples(linked_txns=True))
def build_invoice_query_rq(query: TxnQuery, version: QbxmlVersion) -> str:
    """`InvoiceQueryRq` for `query` (IncludeLinkedTxns needs 1.1: ask for it to see sales orders)."""
    return write_txn_query_rq(
        "InvoiceQueryRq", query, version, since=QbxmlVersion(1, 0), linked_txns_since=QbxmlVersion(1, 1)
    )
