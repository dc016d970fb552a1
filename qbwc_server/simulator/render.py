"""Each simulated record written as its qbXML `*Ret` element, children in the XSD's order.
Knows qbXML element names and value formats; nothing of requests, filters or statuses.

Each Ret is described once as a field list (element name, attribute, format); repeated and
optional parts (lines, links, custom fields) are switched by `Options` as the query asks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from qbwc_server.simulator.records import (
    Address,
    Class,
    Customer,
    CustomerType,
    DateDrivenTerms,
    Deleted,
    Invoice,
    ItemInventory,
    ItemInventoryAssembly,
    LinkedTxn,
    PaymentMethod,
    PriceLevel,
    ReceivePayment,
    Ref,
    SalesOrder,
    SalesRep,
    SalesTaxCode,
    ShipMethod,
    ShipToAddress,
    StandardTerms,
)

_CENT = Decimal("0.01")
_SubElement = etree.SubElement


@dataclass(frozen=True)
class Options:
    """What a query asked to include beyond the plain Ret."""

    line_items: bool = False
    linked_txns: bool = False
    #: Custom fields (DataExtRet) come back only when OwnerID 0 is asked for.
    data_ext: bool = False


def amount(value: Decimal) -> str:
    return str(value.quantize(_CENT))


def quantity(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def when(value: datetime) -> str:
    """QuickBooks' time format: local time with the host's UTC offset, e.g. 2026-11-25T10:41:48-05:00."""
    return value.isoformat(timespec="seconds")


def _text(parent: etree._Element, tag: str, value: Any, kind: str) -> None:
    if value is None:
        return
    if kind == "ref":
        _ref(parent, tag, value)
    elif kind == "addr":
        _address(parent, tag, value)
    else:
        _SubElement(parent, tag).text = _FORMATS[kind](value)


_FORMATS: dict[str, Callable[[Any], str]] = {
    "str": str,
    "int": str,
    "amt": amount,
    "qty": quantity,
    "pct": quantity,
    "bool": lambda value: "true" if value else "false",
    "date": date.isoformat,
    "dt": when,
}


def _ref(parent: etree._Element, tag: str, ref: Ref) -> None:
    element = _SubElement(parent, tag)
    if ref.list_id:
        _SubElement(element, "ListID").text = ref.list_id
    if ref.full_name:
        _SubElement(element, "FullName").text = ref.full_name


_ADDRESS = (
    ("Addr1", "addr1"),
    ("Addr2", "addr2"),
    ("Addr3", "addr3"),
    ("Addr4", "addr4"),
    ("Addr5", "addr5"),
    ("City", "city"),
    ("State", "state"),
    ("PostalCode", "postal_code"),
    ("Country", "country"),
    ("Note", "note"),
)


def _address(parent: etree._Element, tag: str, address: Address) -> None:
    element = _SubElement(parent, tag)
    if isinstance(address, ShipToAddress):
        _SubElement(element, "Name").text = address.name
    for name, attribute in _ADDRESS:
        value = getattr(address, attribute)
        if value is not None:
            _SubElement(element, name).text = value
    if isinstance(address, ShipToAddress):
        _SubElement(element, "DefaultShipTo").text = "true" if address.default_ship_to else "false"


Spec = Sequence[tuple[str, str, str]]
_HEAD: Spec = (
    ("ListID", "list_id", "str"),
    ("TimeCreated", "time_created", "dt"),
    ("TimeModified", "time_modified", "dt"),
    ("EditSequence", "edit_sequence", "str"),
)
_TXN_HEAD: Spec = (
    ("TxnID", "txn_id", "str"),
    ("TimeCreated", "time_created", "dt"),
    ("TimeModified", "time_modified", "dt"),
    ("EditSequence", "edit_sequence", "str"),
    ("TxnNumber", "txn_number", "int"),
    ("CustomerRef", "customer_ref", "ref"),
)
_TREE: Spec = (("Name", "name", "str"), ("FullName", "full_name", "str"), ("IsActive", "is_active", "bool"))

CUSTOMER: Spec = (
    *_HEAD,
    *_TREE,
    ("ClassRef", "class_ref", "ref"),
    ("ParentRef", "parent_ref", "ref"),
    ("Sublevel", "sublevel", "int"),
    ("CompanyName", "company_name", "str"),
    ("Salutation", "salutation", "str"),
    ("FirstName", "first_name", "str"),
    ("MiddleName", "middle_name", "str"),
    ("LastName", "last_name", "str"),
    ("JobTitle", "job_title", "str"),
    ("BillAddress", "bill_address", "addr"),
    ("ShipAddress", "ship_address", "addr"),
    ("ShipToAddress", "ship_to_addresses", "list:addr"),
    ("Phone", "phone", "str"),
    ("AltPhone", "alt_phone", "str"),
    ("Fax", "fax", "str"),
    ("Email", "email", "str"),
    ("Cc", "cc", "str"),
    ("Contact", "contact", "str"),
    ("AltContact", "alt_contact", "str"),
    ("CustomerTypeRef", "customer_type_ref", "ref"),
    ("TermsRef", "terms_ref", "ref"),
    ("SalesRepRef", "sales_rep_ref", "ref"),
    ("Balance", "balance", "amt"),
    ("TotalBalance", "total_balance", "amt"),
    ("SalesTaxCodeRef", "sales_tax_code_ref", "ref"),
    ("ResaleNumber", "resale_number", "str"),
    ("AccountNumber", "account_number", "str"),
    ("CreditLimit", "credit_limit", "amt"),
    ("PreferredPaymentMethodRef", "preferred_payment_method_ref", "ref"),
    ("JobStatus", "job_status", "str"),
    ("Notes", "notes", "str"),
    ("PriceLevelRef", "price_level_ref", "ref"),
    ("ExternalGUID", "external_guid", "str"),
)
_ITEM_HEAD: Spec = (
    *_HEAD,
    *_TREE,
    ("ClassRef", "class_ref", "ref"),
    ("ParentRef", "parent_ref", "ref"),
    ("Sublevel", "sublevel", "int"),
    ("ManufacturerPartNumber", "manufacturer_part_number", "str"),
    ("SalesTaxCodeRef", "sales_tax_code_ref", "ref"),
    ("SalesDesc", "sales_desc", "str"),
    ("SalesPrice", "sales_price", "amt"),
    ("IncomeAccountRef", "income_account_ref", "ref"),
    ("PurchaseDesc", "purchase_desc", "str"),
    ("PurchaseCost", "purchase_cost", "amt"),
    ("COGSAccountRef", "cogs_account_ref", "ref"),
    ("PrefVendorRef", "pref_vendor_ref", "ref"),
    ("AssetAccountRef", "asset_account_ref", "ref"),
)
_ITEM_TAIL: Spec = (
    ("Max", "max", "qty"),
    ("QuantityOnHand", "quantity_on_hand", "qty"),
    ("AverageCost", "average_cost", "amt"),
    ("QuantityOnOrder", "quantity_on_order", "qty"),
    ("QuantityOnSalesOrder", "quantity_on_sales_order", "qty"),
    ("ExternalGUID", "external_guid", "str"),
)
ITEM_INVENTORY: Spec = (*_ITEM_HEAD, ("ReorderPoint", "reorder_point", "qty"), *_ITEM_TAIL)
ITEM_INVENTORY_ASSEMBLY: Spec = (*_ITEM_HEAD, ("BuildPoint", "build_point", "qty"), *_ITEM_TAIL)
_SALES_FORM_ADDRESSES: Spec = (
    ("BillAddress", "bill_address", "addr"),
    ("ShipAddress", "ship_address", "addr"),
)
_SALES_FORM_TERMS: Spec = (
    ("PONumber", "po_number", "str"),
    ("TermsRef", "terms_ref", "ref"),
    ("DueDate", "due_date", "date"),
    ("SalesRepRef", "sales_rep_ref", "ref"),
    ("FOB", "fob", "str"),
    ("ShipDate", "ship_date", "date"),
    ("ShipMethodRef", "ship_method_ref", "ref"),
    ("Subtotal", "subtotal", "amt"),
    ("SalesTaxPercentage", "sales_tax_percentage", "pct"),
    ("SalesTaxTotal", "sales_tax_total", "amt"),
)
SALES_ORDER: Spec = (
    *_TXN_HEAD,
    ("ClassRef", "class_ref", "ref"),
    ("TxnDate", "txn_date", "date"),
    ("RefNumber", "ref_number", "str"),
    *_SALES_FORM_ADDRESSES,
    *_SALES_FORM_TERMS,
    ("TotalAmount", "total_amount", "amt"),
    ("IsManuallyClosed", "is_manually_closed", "bool"),
    ("IsFullyInvoiced", "is_fully_invoiced", "bool"),
    ("Memo", "memo", "str"),
    ("CustomerSalesTaxCodeRef", "customer_sales_tax_code_ref", "ref"),
    ("Other", "other", "str"),
    ("ExternalGUID", "external_guid", "str"),
)
SALES_ORDER_LINE: Spec = (
    ("TxnLineID", "txn_line_id", "str"),
    ("ItemRef", "item_ref", "ref"),
    ("Desc", "desc", "str"),
    ("Quantity", "quantity", "qty"),
    ("Rate", "rate", "amt"),
    ("ClassRef", "class_ref", "ref"),
    ("Amount", "amount", "amt"),
    ("SalesTaxCodeRef", "sales_tax_code_ref", "ref"),
    ("Invoiced", "invoiced", "qty"),
    ("IsManuallyClosed", "is_manually_closed", "bool"),
    ("Other1", "other1", "str"),
    ("Other2", "other2", "str"),
)
INVOICE: Spec = (
    *_TXN_HEAD,
    ("ClassRef", "class_ref", "ref"),
    ("ARAccountRef", "ar_account_ref", "ref"),
    ("TxnDate", "txn_date", "date"),
    ("RefNumber", "ref_number", "str"),
    *_SALES_FORM_ADDRESSES,
    ("IsPending", "is_pending", "bool"),
    *_SALES_FORM_TERMS,
    ("AppliedAmount", "applied_amount", "amt"),
    ("BalanceRemaining", "balance_remaining", "amt"),
    ("Memo", "memo", "str"),
    ("IsPaid", "is_paid", "bool"),
    ("CustomerSalesTaxCodeRef", "customer_sales_tax_code_ref", "ref"),
    ("Other", "other", "str"),
    ("ExternalGUID", "external_guid", "str"),
)
INVOICE_LINE: Spec = (
    ("TxnLineID", "txn_line_id", "str"),
    ("ItemRef", "item_ref", "ref"),
    ("Desc", "desc", "str"),
    ("Quantity", "quantity", "qty"),
    ("Rate", "rate", "amt"),
    ("ClassRef", "class_ref", "ref"),
    ("Amount", "amount", "amt"),
    ("ServiceDate", "service_date", "date"),
    ("SalesTaxCodeRef", "sales_tax_code_ref", "ref"),
    ("Other1", "other1", "str"),
    ("Other2", "other2", "str"),
)
RECEIVE_PAYMENT: Spec = (
    *_TXN_HEAD,
    ("ARAccountRef", "ar_account_ref", "ref"),
    ("TxnDate", "txn_date", "date"),
    ("RefNumber", "ref_number", "str"),
    ("TotalAmount", "total_amount", "amt"),
    ("PaymentMethodRef", "payment_method_ref", "ref"),
    ("Memo", "memo", "str"),
    ("DepositToAccountRef", "deposit_to_account_ref", "ref"),
    ("UnusedPayment", "unused_payment", "amt"),
    ("UnusedCredits", "unused_credits", "amt"),
    ("ExternalGUID", "external_guid", "str"),
)
APPLIED_TO_TXN: Spec = (
    ("TxnID", "txn_id", "str"),
    ("TxnType", "txn_type", "str"),
    ("TxnDate", "txn_date", "date"),
    ("RefNumber", "ref_number", "str"),
    ("BalanceRemaining", "balance_remaining", "amt"),
    ("Amount", "amount", "amt"),
)
LINKED_TXN: Spec = (
    ("TxnID", "txn_id", "str"),
    ("TxnType", "txn_type", "str"),
    ("TxnDate", "txn_date", "date"),
    ("RefNumber", "ref_number", "str"),
    ("LinkType", "link_type", "str"),
    ("Amount", "amount", "amt"),
)
_SIMPLE: dict[type, tuple[str, Spec]] = {
    SalesRep: (
        "SalesRepRet",
        (
            *_HEAD,
            ("Initial", "initial", "str"),
            ("IsActive", "is_active", "bool"),
            ("SalesRepEntityRef", "sales_rep_entity_ref", "ref"),
        ),
    ),
    StandardTerms: (
        "StandardTermsRet",
        (
            *_HEAD,
            ("Name", "name", "str"),
            ("IsActive", "is_active", "bool"),
            ("StdDueDays", "std_due_days", "int"),
            ("StdDiscountDays", "std_discount_days", "int"),
            ("DiscountPct", "discount_pct", "pct"),
        ),
    ),
    DateDrivenTerms: (
        "DateDrivenTermsRet",
        (
            *_HEAD,
            ("Name", "name", "str"),
            ("IsActive", "is_active", "bool"),
            ("DayOfMonthDue", "day_of_month_due", "int"),
            ("DueNextMonthDays", "due_next_month_days", "int"),
            ("DiscountDayOfMonth", "discount_day_of_month", "int"),
            ("DiscountPct", "discount_pct", "pct"),
        ),
    ),
    CustomerType: (
        "CustomerTypeRet",
        (*_HEAD, *_TREE, ("ParentRef", "parent_ref", "ref"), ("Sublevel", "sublevel", "int")),
    ),
    Class: (
        "ClassRet",
        (*_HEAD, *_TREE, ("ParentRef", "parent_ref", "ref"), ("Sublevel", "sublevel", "int")),
    ),
    SalesTaxCode: (
        "SalesTaxCodeRet",
        (
            *_HEAD,
            ("Name", "name", "str"),
            ("IsActive", "is_active", "bool"),
            ("IsTaxable", "is_taxable", "bool"),
            ("Desc", "desc", "str"),
        ),
    ),
    ShipMethod: ("ShipMethodRet", (*_HEAD, ("Name", "name", "str"), ("IsActive", "is_active", "bool"))),
    PaymentMethod: (
        "PaymentMethodRet",
        (
            *_HEAD,
            ("Name", "name", "str"),
            ("IsActive", "is_active", "bool"),
            ("PaymentMethodType", "payment_method_type", "str"),
        ),
    ),
}


def _fields(element: etree._Element, record: Any, spec: Spec) -> etree._Element:
    for tag, attribute, kind in spec:
        value = getattr(record, attribute)
        if kind == "list:addr":
            for address in value:
                _address(element, tag, address)
        else:
            _text(element, tag, value, kind)
    return element


def _data_ext(element: etree._Element, values: dict[str, str]) -> None:
    for name, value in values.items():
        ret = _SubElement(element, "DataExtRet")
        _SubElement(ret, "OwnerID").text = "0"
        _SubElement(ret, "DataExtName").text = name
        _SubElement(ret, "DataExtType").text = "STR255TYPE"
        _SubElement(ret, "DataExtValue").text = value


def _links(element: etree._Element, links: list[LinkedTxn]) -> None:
    for link in links:
        _fields(_SubElement(element, "LinkedTxn"), link, LINKED_TXN)


def render(parent: etree._Element, record: Any, options: Options = Options()) -> etree._Element:
    """Append `record`'s `*Ret` to `parent` and return it."""
    if isinstance(record, Customer):
        element = _fields(_SubElement(parent, "CustomerRet"), record, CUSTOMER)
        if options.data_ext:
            _data_ext(element, record.data_ext)
    elif isinstance(record, ItemInventory):
        assembly = isinstance(record, ItemInventoryAssembly)
        element = _SubElement(parent, "ItemInventoryAssemblyRet" if assembly else "ItemInventoryRet")
        _fields(element, record, ITEM_INVENTORY_ASSEMBLY if assembly else ITEM_INVENTORY)
        for line in record.lines if isinstance(record, ItemInventoryAssembly) else ():
            line_element = _SubElement(element, "ItemInventoryAssemblyLine")
            _ref(line_element, "ItemInventoryRef", line.item_inventory_ref)
            _text(line_element, "Quantity", line.quantity, "qty")
        if options.data_ext:
            _data_ext(element, record.data_ext)
    elif isinstance(record, SalesOrder | Invoice):
        is_order = isinstance(record, SalesOrder)
        element = _fields(
            _SubElement(parent, "SalesOrderRet" if is_order else "InvoiceRet"),
            record,
            SALES_ORDER if is_order else INVOICE,
        )
        if options.linked_txns:
            _links(element, record.linked_txns)
        if options.line_items:
            line_spec, line_tag = (
                (SALES_ORDER_LINE, "SalesOrderLineRet") if is_order else (INVOICE_LINE, "InvoiceLineRet")
            )
            for sales_line in record.lines:
                _fields(_SubElement(element, line_tag), sales_line, line_spec)
    elif isinstance(record, ReceivePayment):
        element = _fields(_SubElement(parent, "ReceivePaymentRet"), record, RECEIVE_PAYMENT)
        if options.line_items:
            for applied in record.applied:
                _fields(_SubElement(element, "AppliedToTxnRet"), applied, APPLIED_TO_TXN)
    elif isinstance(record, PriceLevel):
        element = _fields(
            _SubElement(parent, "PriceLevelRet"),
            record,
            (
                *_HEAD,
                ("Name", "name", "str"),
                ("IsActive", "is_active", "bool"),
                ("PriceLevelType", "price_level_type", "str"),
            ),
        )
        if record.price_level_type == "FixedPercentage":
            _text(element, "PriceLevelFixedPercentage", record.price_level_fixed_percentage, "pct")
        for entry in record.per_item:
            entry_element = _SubElement(element, "PriceLevelPerItemRet")
            _ref(entry_element, "ItemRef", entry.item_ref)
            if entry.custom_price is not None:
                _text(entry_element, "CustomPrice", entry.custom_price, "amt")
            else:
                _text(entry_element, "CustomPricePercent", entry.custom_price_percent, "pct")
    elif isinstance(record, Deleted):
        is_list = record.del_type in _LIST_TYPES
        element = _SubElement(parent, "ListDeletedRet" if is_list else "TxnDeletedRet")
        _SubElement(element, "ListDelType" if is_list else "TxnDelType").text = record.del_type
        _SubElement(element, "ListID" if is_list else "TxnID").text = record.object_id
        _SubElement(element, "TimeCreated").text = when(record.time_created)
        _SubElement(element, "TimeDeleted").text = when(record.time_deleted)
        _text(
            element,
            "FullName" if is_list else "RefNumber",
            record.full_name if is_list else record.ref_number,
            "str",
        )
    else:
        tag, spec = _SIMPLE[type(record)]
        element = _fields(_SubElement(parent, tag), record, spec)
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
