"""Writing the commerce side's orders into QuickBooks: SalesOrderAdd, SalesOrderMod, EstimateAdd
(QuickBooks Pro has no sales orders), and EstimateQuery for the look-up after a lost answer.
Knows qbXML and no database: the order arrives as frozen dataclasses, every reference by name.

Elements go out in the schema's order (qbxmlops130.xml); the writers of `write.py` check each
against QuickBooks' limits and leave out what the negotiated version lacks. The one exception
made on purpose: the ExternalGUID, which QuickBooks has from qbXML 9.0. Below that it is left
out rather than refused, because the look-up after a lost answer finds an order by its RefNumber
and customer anyway; the GUID only makes the match certain where QuickBooks returns it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from lxml import etree

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.fields import Address, Ref, children_of, decimal_of, line_elements_of
from qbwc_server.qbxml.limits import available
from qbwc_server.qbxml.query import TxnQuery, write_txn_query_rq
from qbwc_server.qbxml.records import sales_form_head_of, sales_line_of
from qbwc_server.qbxml.registry import example, registered, txn_query_examples
from qbwc_server.qbxml.sales_orders import SalesOrder, SalesOrderLine
from qbwc_server.qbxml.write import write_address, write_aggregate, write_field, write_ref, write_request

#: The namespace of the GUIDs we give QuickBooks records: uuid5(namespace, "tenant:kind:id").
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/qbwc-server/external-guid")
#: TxnLineID of a line a SalesOrderMod adds.
NEW_LINE = "-1"
#: The records the answers carry: no IncludeRetElement, the whole Ret lands in the mirror.
ESTIMATE_RET = "EstimateRet"
SALES_ORDER_RET = "SalesOrderRet"


def external_guid(tenant_id: int, kind: str, commerce_id: str) -> str:
    """The stable GUID of one commerce record in QuickBooks, in braces as qbXML writes GUIDs."""
    return "{" + str(uuid.uuid5(GUID_NAMESPACE, f"{tenant_id}:{kind}:{commerce_id}")).upper() + "}"


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of an order: the item by its FullName (our SKU) and what we know of it."""

    sku: str
    description: str | None = None
    quantity: Decimal | None = None
    rate: Decimal | None = None
    sales_tax_code: str | None = None
    #: For a SalesOrderMod: the line's TxnLineID, or NEW_LINE ("-1") for a line QuickBooks lacks.
    txn_line_id: str = NEW_LINE


@dataclass(frozen=True, slots=True)
class OrderFields:
    """What an order sends; None leaves an element out (QuickBooks keeps or defaults it)."""

    customer_list_id: str
    lines: tuple[OrderLine, ...]
    ref_number: str | None = None
    txn_date: dt.date | None = None
    po_number: str | None = None
    ship_date: dt.date | None = None
    bill_address: Address | None = None
    ship_address: Address | None = None
    terms: str | None = None
    #: The rep's initials (SalesRepRef FullName).
    sales_rep: str | None = None
    memo: str | None = None
    class_name: str | None = None
    customer_sales_tax_code: str | None = None
    external_guid: str | None = None


def _named(name: str | None) -> Ref | None:
    return Ref(None, name) if name else None


def _head(body: str, order: OrderFields, version: QbxmlVersion) -> list[str]:
    """CustomerRef … PONumber, in the order SalesOrderAdd, SalesOrderMod and EstimateAdd share."""
    return [
        write_ref(f"{body}/CustomerRef", Ref(order.customer_list_id, None), version),
        write_ref(f"{body}/ClassRef", _named(order.class_name), version),
        write_field(f"{body}/TxnDate", order.txn_date, version),
        # The number identifies the order (the look-up finds it by it): never changed to fit.
        write_field(f"{body}/RefNumber", order.ref_number, version, non_cp1252="refuse"),
        write_address(f"{body}/BillAddress", order.bill_address, version),
        write_address(f"{body}/ShipAddress", order.ship_address, version),
    ]


def _middle(body: str, order: OrderFields, version: QbxmlVersion, *, ship_date: bool) -> list[str]:
    """PONumber … Memo; EstimateAdd has no ShipDate."""
    return [
        write_field(f"{body}/PONumber", order.po_number, version),
        write_ref(f"{body}/TermsRef", _named(order.terms), version),
        write_ref(f"{body}/SalesRepRef", _named(order.sales_rep), version),
        write_field(f"{body}/ShipDate", order.ship_date, version) if ship_date else "",
        write_field(f"{body}/Memo", order.memo, version),
        write_ref(f"{body}/CustomerSalesTaxCodeRef", _named(order.customer_sales_tax_code), version),
    ]


def _guid(body: str, order: OrderFields, version: QbxmlVersion) -> str:
    if order.external_guid is None or not available(f"{body}/ExternalGUID", version):
        return ""  # before 9.0: the look-up goes by RefNumber and customer (module docstring)
    return write_field(f"{body}/ExternalGUID", order.external_guid, version)


def _line(path: str, line: OrderLine, version: QbxmlVersion, *, mod: bool) -> str:
    return write_aggregate(
        path,
        [
            write_field(f"{path}/TxnLineID", line.txn_line_id, version) if mod else "",
            write_ref(f"{path}/ItemRef", Ref(None, line.sku), version),
            write_field(f"{path}/Desc", line.description, version),
            write_field(f"{path}/Quantity", line.quantity, version),
            write_field(f"{path}/Rate", line.rate, version),
            write_ref(f"{path}/SalesTaxCodeRef", _named(line.sales_tax_code), version),
        ],
        version,
    )


def _lines(path: str, lines: Iterable[OrderLine], version: QbxmlVersion, *, mod: bool = False) -> list[str]:
    return [_line(path, line, version, mod=mod) for line in lines]


# -- examples the schema test builds every builder with ---------------------------------------

_CUSTOMER = "80000001-1385061234"
_FULL = OrderFields(
    customer_list_id=_CUSTOMER,
    ref_number="WC10042",
    txn_date=dt.date(2026, 11, 29),
    po_number="PO-7",
    ship_date=dt.date(2026, 12, 2),
    bill_address=Address(addr1="Acme Hardware", addr2="1 Main St", city="Atlanta", state="GA",
                         postal_code="30301", country="US"),
    ship_address=Address(addr1="Warehouse", addr2="9 Dock Rd", city="Macon", state="GA", postal_code="31201"),
    terms="Net 30",
    sales_rep="AD",
    memo="Leave at dock \N{EN DASH} ring twice → back door",
    class_name="Wizcommerce",
    customer_sales_tax_code="Non",
    external_guid=external_guid(1, "orders", "o-42"),
    lines=(
        OrderLine("WIDGET-1", "Blue widget", Decimal("3"), Decimal("12.50"), "Non"),
        OrderLine("Hardware:Bolt M8", None, Decimal("0.5"), Decimal("1.23456"), "Non"),
    ),
)  # fmt: skip
_BARE = OrderFields(customer_list_id=_CUSTOMER, lines=(OrderLine("WIDGET-1"),))
_OLDER = (QbxmlVersion(13, 0), QbxmlVersion(9, 0), QbxmlVersion(8, 0), QbxmlVersion(6, 0), QbxmlVersion(3, 0))
_MODDED = replace(
    _FULL,
    lines=(
        replace(_FULL.lines[0], txn_line_id="2F43-1763051200", quantity=Decimal("4")),
        replace(_FULL.lines[1], txn_line_id=NEW_LINE),
    ),
)
_ORDER_EXAMPLES = (
    example("full", _FULL, versions=_OLDER[:4], request_id="42"),
    example("bare", _BARE),
    example("no_guid_before_9", _FULL, versions=(QbxmlVersion(8, 0), QbxmlVersion(3, 0))),
)


@registered("SalesOrderAddRq", _ORDER_EXAMPLES)
def build_sales_order_add_rq(
    order: OrderFields, version: QbxmlVersion, *, request_id: str | None = None
) -> str:
    """`SalesOrderAddRq` (qbXML 2.1+; QuickBooks Premier and Enterprise only)."""
    body = "SalesOrderAdd"
    parts = [
        *_head(body, order, version),
        *_middle(body, order, version, ship_date=True),
        _guid(body, order, version),
        *_lines(f"{body}/SalesOrderLineAdd", order.lines, version),
    ]
    return write_request(f"{body}Rq", parts, version, request_id=request_id)


@registered("SalesOrderModRq", [
    example("lines_kept_added_and_dropped", "2F41-1763051200", "1763051200", _MODDED, request_id="43"),
    example("bare", "2F41-1763051200", "1763051200", _BARE, versions=(_OLDER[0], _OLDER[-1])),
])  # fmt: skip
def build_sales_order_mod_rq(
    txn_id: str,
    edit_sequence: str,
    order: OrderFields,
    version: QbxmlVersion,
    *,
    request_id: str | None = None,
) -> str:
    """`SalesOrderModRq` (3.0+). Sending lines replaces them all: each line keeps its TxnLineID,
    a new one goes as "-1", and a line left out is removed. SalesOrderMod has no ExternalGUID."""
    body = "SalesOrderMod"
    parts = [
        write_field(f"{body}/TxnID", txn_id, version),
        write_field(f"{body}/EditSequence", edit_sequence, version),
        *_head(body, order, version),
        *_middle(body, order, version, ship_date=True),
        *_lines(f"{body}/SalesOrderLineMod", order.lines, version, mod=True),
    ]
    return write_request(f"{body}Rq", parts, version, request_id=request_id)


@registered("EstimateAddRq", _ORDER_EXAMPLES)
def build_estimate_add_rq(order: OrderFields, version: QbxmlVersion, *, request_id: str | None = None) -> str:
    """`EstimateAddRq`: the order as an estimate, where the edition has no sales orders (the
    same fields, but no ShipDate: an estimate has none)."""
    body = "EstimateAdd"
    parts = [
        *_head(body, order, version),
        *_middle(body, order, version, ship_date=False),
        _guid(body, order, version),
        *_lines(f"{body}/EstimateLineAdd", order.lines, version),
    ]
    return write_request(f"{body}Rq", parts, version, request_id=request_id)


@registered("EstimateQueryRq", txn_query_examples(linked_txns=True))
def build_estimate_query_rq(query: TxnQuery, version: QbxmlVersion) -> str:
    """`EstimateQueryRq` for `query` (estimates exist from qbXML 1.1; IncludeLinkedTxns from 3.0)."""
    return write_txn_query_rq(
        "EstimateQueryRq", query, version, since=QbxmlVersion(1, 1), linked_txns_since=QbxmlVersion(3, 0)
    )


def parse_estimate_ret(element: etree._Element) -> SalesOrder:
    """An `EstimateRet` as a `SalesOrder`: pushed as an estimate, the order lands in the same
    mirror row (its lines too), with nothing an estimate lacks (no invoiced quantities)."""
    node = children_of(element)
    return SalesOrder(
        **sales_form_head_of(node),
        total_amount=decimal_of(node, "TotalAmount"),
        is_manually_closed=None,
        is_fully_invoiced=None,
        lines=tuple(
            SalesOrderLine(**sales_line_of(line, group_id), invoiced=None, is_manually_closed=None)
            for line, group_id in line_elements_of(element, "EstimateLineRet", "EstimateLineGroupRet")
        ),
    )
