"""Deletions in qbXML: ListDeletedQueryRq / TxnDeletedQueryRq and their records, so a pull can
drop what QuickBooks deleted (a deleted record just stops appearing in ordinary queries).
Knows no database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypedDict, Unpack

from lxml import etree

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.fields import children_of, datetime_of, required_datetime, required_text, text_of
from qbwc_server.qbxml.query import element, elements, open_tag

LIST_RET_TAG = "ListDeletedRet"
LIST_RS_TAG = "ListDeletedQueryRs"
TXN_RET_TAG = "TxnDeletedRet"
TXN_RS_TAG = "TxnDeletedQueryRs"

#: Both deleted queries are qbXML 2.0.
DELETED_QUERY_SINCE = QbxmlVersion(2, 0)

#: ListDelType values qbXML 13.0 accepts (its schema's enumeration).
LIST_DEL_TYPES = frozenset(
    [
        "Account",
        "BillingRate",
        "Class",
        "Currency",
        "Customer",
        "CustomerMsg",
        "CustomerType",
        "DateDrivenTerms",
        "Employee",
        "InventorySite",
        "ItemDiscount",
        "ItemFixedAsset",
        "ItemGroup",
        "ItemInventory",
        "ItemInventoryAssembly",
        "ItemNonInventory",
        "ItemOtherCharge",
        "ItemPayment",
        "ItemSalesTax",
        "ItemSalesTaxGroup",
        "ItemService",
        "ItemSubtotal",
        "JobType",
        "OtherName",
        "PaymentMethod",
        "PayrollItemNonWage",
        "PayrollItemWage",
        "PriceLevel",
        "SalesRep",
        "SalesTaxCode",
        "ShipMethod",
        "StandardTerms",
        "ToDo",
        "UnitOfMeasureSet",
        "Vehicle",
        "Vendor",
        "VendorType",
        "WorkersCompCode",
    ]
)
#: TxnDelType values qbXML 13.0 accepts (its schema's enumeration).
TXN_DEL_TYPES = frozenset(
    [
        "ARRefundCreditCard",
        "Bill",
        "BillPaymentCheck",
        "BillPaymentCreditCard",
        "BuildAssembly",
        "Charge",
        "Check",
        "CreditCardCharge",
        "CreditCardCredit",
        "CreditMemo",
        "Deposit",
        "Estimate",
        "InventoryAdjustment",
        "Invoice",
        "ItemReceipt",
        "JournalEntry",
        "PurchaseOrder",
        "ReceivePayment",
        "SalesOrder",
        "SalesReceipt",
        "SalesTaxPaymentCheck",
        "TimeTracking",
        "TransferInventory",
        "VehicleMileage",
        "VendorCredit",
    ]
)


@dataclass(frozen=True, slots=True)
class DeletedListObject:
    #: The ListDelType, e.g. "Customer", "StandardTerms".
    list_del_type: str
    list_id: str
    time_created: dt.datetime | None
    time_deleted: dt.datetime
    full_name: str | None

    @classmethod
    def from_element(cls, element: etree._Element) -> DeletedListObject:
        return cls(*_deleted_ret(element, "ListDelType", "ListID", "FullName"))


@dataclass(frozen=True, slots=True)
class DeletedTxn:
    #: The TxnDelType, e.g. "Invoice", "SalesOrder".
    txn_del_type: str
    txn_id: str
    time_created: dt.datetime | None
    time_deleted: dt.datetime
    ref_number: str | None

    @classmethod
    def from_element(cls, element: etree._Element) -> DeletedTxn:
        return cls(*_deleted_ret(element, "TxnDelType", "TxnID", "RefNumber"))


def parse_list_deleted_ret(element: etree._Element) -> DeletedListObject:
    return DeletedListObject.from_element(element)


def parse_txn_deleted_ret(element: etree._Element) -> DeletedTxn:
    return DeletedTxn.from_element(element)


class DeletedWindow(TypedDict, total=False):
    """What narrows a deleted query: the deletion window and a requestID."""

    deleted_from: dt.datetime | None
    deleted_to: dt.datetime | None
    request_id: str | None


def build_list_deleted_query_rq(
    list_del_types: tuple[str, ...], version: QbxmlVersion, **window: Unpack[DeletedWindow]
) -> str:
    """A ListDeletedQueryRq for these list types (at least one), optionally within a deletion window."""
    return _build_deleted_query(
        "ListDeletedQueryRq", "ListDelType", LIST_DEL_TYPES, list_del_types, version, **window
    )


def build_txn_deleted_query_rq(
    txn_del_types: tuple[str, ...], version: QbxmlVersion, **window: Unpack[DeletedWindow]
) -> str:
    """A TxnDeletedQueryRq for these transaction types (at least one), optionally within a window."""
    return _build_deleted_query(
        "TxnDeletedQueryRq", "TxnDelType", TXN_DEL_TYPES, txn_del_types, version, **window
    )


def _deleted_ret(
    element: etree._Element, type_tag: str, id_tag: str, name_tag: str
) -> tuple[str, str, dt.datetime | None, dt.datetime, str | None]:
    """A deleted record's fields in the order both dataclasses declare them."""
    node = children_of(element)
    return (
        required_text(node, type_tag),
        required_text(node, id_tag),
        datetime_of(node, "TimeCreated"),
        required_datetime(node, "TimeDeleted"),
        text_of(node, name_tag),
    )


def _build_deleted_query(
    rq_tag: str,
    type_tag: str,
    allowed: frozenset[str],
    types: tuple[str, ...],
    version: QbxmlVersion,
    *,
    deleted_from: dt.datetime | None = None,
    deleted_to: dt.datetime | None = None,
    request_id: str | None = None,
) -> str:
    if version < DELETED_QUERY_SINCE:
        raise ValueError(f"{rq_tag} needs qbXML {DELETED_QUERY_SINCE}, QuickBooks speaks {version}")
    if not types:
        raise ValueError(f"{rq_tag} needs at least one {type_tag}")
    unknown = sorted(set(types) - allowed)
    if unknown:
        raise ValueError(f"{rq_tag}: not a {type_tag} in qbXML 13.0: {', '.join(unknown)}")
    if deleted_from and deleted_to and deleted_from > deleted_to:
        raise ValueError(f"{rq_tag}: deleted_from is after deleted_to")
    parts = [open_tag(rq_tag, request_id=request_id), elements(type_tag, types)]
    if deleted_from is not None or deleted_to is not None:
        parts.append("<DeletedDateRangeFilter>")
        if deleted_from is not None:
            parts.append(element("FromDeletedDate", deleted_from))
        if deleted_to is not None:
            parts.append(element("ToDeletedDate", deleted_to))
        parts.append("</DeletedDateRangeFilter>")
    parts.append(f"</{rq_tag}>")
    return "".join(parts)
