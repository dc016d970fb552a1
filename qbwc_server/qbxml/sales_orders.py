"""Sales orders as qbXML carries them (SalesOrderQueryRq / SalesOrderRet); knows no database."""

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

RET_TAG = "SalesOrderRet"
RS_TAG = "SalesOrderQueryRs"


@dataclass(frozen=True, slots=True)
class SalesOrderLine:
    txn_line_id: str
    item: Ref | None
    desc: str | None
    quantity: Decimal | None
    unit_of_measure: str | None
    rate: Decimal | None
    amount: Decimal | None
    class_ref: Ref | None
    sales_tax_code: Ref | None
    invoiced: Decimal | None
    is_manually_closed: bool | None
    other1: str | None
    other2: str | None
    #: The TxnLineID of the SalesOrderLineGroupRet this line came from; None for a plain line.
    group_txn_line_id: str | None

    @classmethod
    def from_element(cls, element: etree._Element, group_txn_line_id: str | None = None) -> SalesOrderLine:
        node = children_of(element)
        return cls(
            **sales_line_of(node, group_txn_line_id),
            invoiced=decimal_of(node, "Invoiced"),
            is_manually_closed=bool_of(node, "IsManuallyClosed"),
        )


@dataclass(frozen=True, slots=True)
class SalesOrder:
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
    po_number: str | None
    terms: Ref | None
    due_date: dt.date | None
    sales_rep: Ref | None
    fob: str | None
    ship_date: dt.date | None
    ship_method: Ref | None
    subtotal: Decimal | None
    sales_tax_total: Decimal | None
    total_amount: Decimal | None
    is_manually_closed: bool | None
    is_fully_invoiced: bool | None
    memo: str | None
    other: str | None
    external_guid: str | None
    linked_txns: tuple[LinkedTxn, ...]
    lines: tuple[SalesOrderLine, ...]
    custom_fields: tuple[CustomField, ...]

    @classmethod
    def from_element(cls, element: etree._Element) -> SalesOrder:
        node = children_of(element)
        return cls(
            **sales_form_head_of(node),
            total_amount=decimal_of(node, "TotalAmount"),
            is_manually_closed=bool_of(node, "IsManuallyClosed"),
            is_fully_invoiced=bool_of(node, "IsFullyInvoiced"),
            lines=tuple(
                SalesOrderLine.from_element(line, group_id)
                for line, group_id in line_elements_of(element, "SalesOrderLineRet", "SalesOrderLineGroupRet")
            ),
        )


def parse_sales_order_ret(element: etree._Element) -> SalesOrder:
    """A `SalesOrderRet` as a `SalesOrder`; group lines are flattened in document order."""
    return SalesOrder.from_element(element)


@registered("SalesOrderQueryRq", txn_query_examples(linked_txns=True))
def build_sales_order_query_rq(query: TxnQuery, version: QbxmlVersion) -> str:
    """`SalesOrderQueryRq` for `query` (sales orders exist in qbXML from 2.1)."""
    return write_txn_query_rq(
        "SalesOrderQueryRq", query, version, since=QbxmlVersion(2, 1), linked_txns_since=QbxmlVersion(2, 0)
    )
