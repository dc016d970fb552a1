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
from qbwc_server.qbxml.registry import LATEST, example, registered
from qbwc_server.qbxml.write import BuildError, element, elements, open_tag

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


#: Deletion windows the examples try, each at 13.0 and at 3.0 (both queries are 2.0).
_FROM = dt.datetime(2026, 3, 1, 6, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
_TO = dt.datetime(2026, 3, 9, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
_VERSIONS = (LATEST, QbxmlVersion(3, 0))
_WINDOW = {"deleted_from": _FROM, "deleted_to": _TO}


class DeletedWindow(TypedDict, total=False):
    """What narrows a deleted query: the deletion window and a requestID."""

    deleted_from: dt.datetime | None
    deleted_to: dt.datetime | None
    request_id: str | None


@registered("ListDeletedQueryRq", [
    example("one_type", ("Customer",), versions=_VERSIONS),
    example("all_we_mirror+window", (
        "Customer", "StandardTerms", "DateDrivenTerms", "PriceLevel", "SalesRep", "CustomerType", "Class",
        "SalesTaxCode",
    ), **_WINDOW, request_id="del-lists", versions=_VERSIONS),
    example("from_only", ("ItemInventory",), deleted_from=_FROM, versions=_VERSIONS),
    example("to_only", ("Customer",), deleted_to=_TO, versions=_VERSIONS),
])  # fmt: skip
def build_list_deleted_query_rq(
    list_del_types: tuple[str, ...], version: QbxmlVersion, **window: Unpack[DeletedWindow]
) -> str:
    """A ListDeletedQueryRq for these list types (at least one), optionally within a deletion window."""
    return _build_deleted_query(
        "ListDeletedQueryRq", "ListDelType", LIST_DEL_TYPES, list_del_types, version, **window
    )


@registered("TxnDeletedQueryRq", [
    example("one_type", ("Invoice",), versions=_VERSIONS),
    example("window", ("Invoice", "SalesOrder", "ReceivePayment"), **_WINDOW, request_id="del-txns",
            versions=_VERSIONS),
    example("from_only", ("SalesOrder",), deleted_from=_FROM, versions=_VERSIONS),
])  # fmt: skip
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
        raise BuildError(
            f"{rq_tag} needs qbXML {DELETED_QUERY_SINCE}, QuickBooks speaks {version}",
            field=rq_tag,
            limit=DELETED_QUERY_SINCE,
        )
    field = f"{rq_tag}/{type_tag}"
    if not types:
        raise BuildError(f"{rq_tag} needs at least one {type_tag}", field=field, limit="at least one")
    unknown = sorted(set(types) - allowed)
    if unknown:
        raise BuildError(
            f"{rq_tag}: not a {type_tag} in qbXML 13.0: {', '.join(unknown)}",
            field=field,
            limit="qbXML 13.0's list",
        )
    if deleted_from and deleted_to and deleted_from > deleted_to:
        field = f"{rq_tag}/DeletedDateRangeFilter"
        raise BuildError(f"{rq_tag}: deleted_from is after deleted_to", field=field, limit="ToDeletedDate")
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
