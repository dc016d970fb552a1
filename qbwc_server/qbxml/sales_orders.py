"""Sales orders as qbXML carries them (SalesOrderQueryRq / SalesOrderRet); knows no database.

Also home, for now, to the `*QueryRq` writer for a `TxnQuery` that invoices.py and payments.py
share.
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
    address_of,
    bool_of,
    custom_fields_of,
    date_of,
    datetime_of,
    decimal_of,
    int_of,
    line_elements_of,
    linked_txns_of,
    ref_of,
    required,
    text_of,
)
from qbwc_server.qbxml.query import TxnQuery, element, elements, open_tag

RET_TAG = "SalesOrderRet"
RS_TAG = "SalesOrderQueryRs"

#: IncludeRetElement values are element names; the schema caps them at 50 characters.
_RET_ELEMENT_MAX = 50
_V2_0 = QbxmlVersion(2, 0)
_V4_0 = QbxmlVersion(4, 0)


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
        return cls(
            txn_line_id=required(text_of(element, "TxnLineID"), element, "TxnLineID"),
            item=ref_of(element, "ItemRef"),
            desc=text_of(element, "Desc"),
            quantity=decimal_of(element, "Quantity"),
            unit_of_measure=text_of(element, "UnitOfMeasure"),
            rate=decimal_of(element, "Rate"),
            amount=decimal_of(element, "Amount"),
            class_ref=ref_of(element, "ClassRef"),
            sales_tax_code=ref_of(element, "SalesTaxCodeRef"),
            invoiced=decimal_of(element, "Invoiced"),
            is_manually_closed=bool_of(element, "IsManuallyClosed"),
            other1=text_of(element, "Other1"),
            other2=text_of(element, "Other2"),
            group_txn_line_id=group_txn_line_id,
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
        return cls(
            txn_id=required(text_of(element, "TxnID"), element, "TxnID"),
            time_created=required(datetime_of(element, "TimeCreated"), element, "TimeCreated"),
            time_modified=required(datetime_of(element, "TimeModified"), element, "TimeModified"),
            edit_sequence=required(text_of(element, "EditSequence"), element, "EditSequence"),
            txn_number=int_of(element, "TxnNumber"),
            customer=required(ref_of(element, "CustomerRef"), element, "CustomerRef"),
            class_ref=ref_of(element, "ClassRef"),
            txn_date=required(date_of(element, "TxnDate"), element, "TxnDate"),
            ref_number=text_of(element, "RefNumber"),
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
            total_amount=decimal_of(element, "TotalAmount"),
            is_manually_closed=bool_of(element, "IsManuallyClosed"),
            is_fully_invoiced=bool_of(element, "IsFullyInvoiced"),
            memo=text_of(element, "Memo"),
            other=text_of(element, "Other"),
            external_guid=text_of(element, "ExternalGUID"),
            linked_txns=linked_txns_of(element),
            lines=tuple(
                SalesOrderLine.from_element(line, group_id)
                for line, group_id in line_elements_of(element, "SalesOrderLineRet", "SalesOrderLineGroupRet")
            ),
            custom_fields=custom_fields_of(element),
        )


def parse_sales_order_ret(element: etree._Element) -> SalesOrder:
    """A `SalesOrderRet` as a `SalesOrder`; group lines are flattened in document order."""
    return SalesOrder.from_element(element)


def build_sales_order_query_rq(query: TxnQuery, version: QbxmlVersion) -> str:
    """`SalesOrderQueryRq` for `query` (sales orders exist in qbXML from 2.1)."""
    return write_txn_query_rq(
        "SalesOrderQueryRq", query, version, since=QbxmlVersion(2, 1), linked_txns_since=_V2_0
    )


# -- shared by the transaction modules ---------------------------------------------------------


def write_txn_query_rq(
    tag: str,
    query: TxnQuery,
    version: QbxmlVersion,
    *,
    since: QbxmlVersion,
    linked_txns_since: QbxmlVersion | None,
) -> str:
    """A transaction `*QueryRq` in schema order: (TxnID | RefNumber | MaxReturned,
    ModifiedDateRangeFilter, EntityFilter), IncludeLineItems, IncludeLinkedTxns,
    IncludeRetElement, OwnerID.

    `since` is the version the request appeared in; `linked_txns_since` the one that added
    IncludeLinkedTxns, or None where the request has no such element (ReceivePaymentQueryRq).
    """
    _check_txn_query(tag, query, version, since=since, linked_txns_since=linked_txns_since)
    parts = [open_tag(tag, request_id=query.request_id, iteration=query.iteration)]
    if query.txn_ids:
        parts.append(elements("TxnID", query.txn_ids))
    elif query.ref_numbers:
        parts.append(elements("RefNumber", query.ref_numbers))
    else:
        max_returned = query.iteration.max_returned if query.iteration else query.max_returned
        if max_returned is not None:
            parts.append(element("MaxReturned", max_returned))
        if query.modified_from is not None or query.modified_to is not None:
            parts.append("<ModifiedDateRangeFilter>")
            if query.modified_from is not None:
                parts.append(element("FromModifiedDate", query.modified_from))
            if query.modified_to is not None:
                parts.append(element("ToModifiedDate", query.modified_to))
            parts.append("</ModifiedDateRangeFilter>")
        if query.entity_list_ids:
            parts.append(f"<EntityFilter>{elements('ListID', query.entity_list_ids)}</EntityFilter>")
    if query.include_line_items is not None:
        parts.append(element("IncludeLineItems", query.include_line_items))
    if query.include_linked_txns is not None and linked_txns_since is not None:
        parts.append(element("IncludeLinkedTxns", query.include_linked_txns))
    # Before 4.0 there is no IncludeRetElement: QuickBooks returns whole records, a superset.
    if version >= _V4_0:
        parts.append(elements("IncludeRetElement", query.include_ret_elements))
    # Before 2.0 there are no custom fields (DataExt) to ask for.
    if version >= _V2_0:
        parts.append(elements("OwnerID", query.owner_ids))
    parts.append(f"</{tag}>")
    return "".join(parts)


def _check_txn_query(
    tag: str,
    query: TxnQuery,
    version: QbxmlVersion,
    *,
    since: QbxmlVersion,
    linked_txns_since: QbxmlVersion | None,
) -> None:
    if version < since:
        raise ValueError(f"{tag} needs qbXML {since} or later; this session negotiated {version}")
    if query.txn_ids and query.ref_numbers:
        raise ValueError(f"{tag}: ask by txn_ids or by ref_numbers, not both")
    if query.txn_ids or query.ref_numbers:
        filters = {
            "max_returned": query.max_returned is not None,
            "modified_from": query.modified_from is not None,
            "modified_to": query.modified_to is not None,
            "entity_list_ids": bool(query.entity_list_ids),
            "iteration": query.iteration is not None,
        }
        if used := [name for name, present in filters.items() if present]:
            raise ValueError(
                f"{tag}: txn_ids/ref_numbers exclude {', '.join(used)} (the schema allows either)"
            )
    iteration_max = query.iteration.max_returned if query.iteration else None
    for value in (query.max_returned, iteration_max):
        if value is not None and value < 1:
            raise ValueError(f"{tag}: MaxReturned must be at least 1, got {value}")
    if query.max_returned is not None and iteration_max is not None and query.max_returned != iteration_max:
        raise ValueError(
            f"{tag}: max_returned={query.max_returned} disagrees with the iteration's {iteration_max}"
        )
    if query.modified_from and query.modified_to and query.modified_from > query.modified_to:
        raise ValueError(f"{tag}: modified_from is after modified_to")
    if query.entity_list_ids and version < _V2_0:
        # EntityFilter/ListID is 2.0; without it the query would return every customer's.
        raise ValueError(f"{tag}: filtering by customer ListID needs qbXML 2.0; negotiated {version}")
    if query.include_linked_txns:
        if linked_txns_since is None:
            raise ValueError(f"{tag} has no IncludeLinkedTxns")
        if version < linked_txns_since:
            raise ValueError(
                f"{tag}: IncludeLinkedTxns needs qbXML {linked_txns_since}; negotiated {version}"
            )
    for name in query.include_ret_elements:
        if not name or len(name) > _RET_ELEMENT_MAX:  # cutting a name would ask for something else
            raise ValueError(
                f"{tag}: IncludeRetElement {name!r} is not an element name of 1 to 50 characters"
            )
