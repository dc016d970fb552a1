"""Each simulated record written as its qbXML `*Ret` element, children in the XSD's order.
Knows qbXML element names and value formats; nothing of requests, filters or statuses.

Each Ret is described once as a field list (element name, attribute, format): list records' in
list_rets.py, transactions' in txn_rets.py; repeated and optional parts (lines, links, custom
fields) are switched by `Options` as the query asks. Deletions are written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree

from qbwc_server.simulator.list_rets import render_list
from qbwc_server.simulator.records import Deleted, Estimate, Invoice, ReceivePayment, SalesOrder
from qbwc_server.simulator.ret_format import when, write_value
from qbwc_server.simulator.txn_rets import render_txn

_SubElement = etree.SubElement


@dataclass(frozen=True)
class Options:
    """What a query asked to include beyond the plain Ret."""

    line_items: bool = False
    linked_txns: bool = False
    #: Custom fields (DataExtRet) come back only when OwnerID 0 is asked for.
    data_ext: bool = False


def render(parent: etree._Element, record: Any, options: Options = Options()) -> etree._Element:
    """Append `record`'s `*Ret` to `parent` and return it."""
    if isinstance(record, SalesOrder | Estimate | Invoice | ReceivePayment):
        return render_txn(parent, record, line_items=options.line_items, linked_txns=options.linked_txns)
    if isinstance(record, Deleted):
        return _deleted(parent, record)
    return render_list(parent, record, data_ext=options.data_ext)


def _deleted(parent: etree._Element, record: Deleted) -> etree._Element:
    is_list = record.del_type in _LIST_TYPES
    element = _SubElement(parent, "ListDeletedRet" if is_list else "TxnDeletedRet")
    _SubElement(element, "ListDelType" if is_list else "TxnDelType").text = record.del_type
    _SubElement(element, "ListID" if is_list else "TxnID").text = record.object_id
    _SubElement(element, "TimeCreated").text = when(record.time_created)
    _SubElement(element, "TimeDeleted").text = when(record.time_deleted)
    write_value(
        element,
        "FullName" if is_list else "RefNumber",
        record.full_name if is_list else record.ref_number,
        "str",
    )
    return element


_LIST_TYPES = frozenset(
    {
        "Customer",
        "ItemInventory",
        "ItemInventoryAssembly",
        "PriceLevel",
        "SalesRep",
        "StandardTerms",
        "DateDrivenTerms",
        "CustomerType",
        "Class",
        "SalesTaxCode",
        "ShipMethod",
        "PaymentMethod",
    }
)
