"""Each list record's qbXML `*Ret`: its fields in the XSD's order and how it is written.
The field lists also tell the Add and Mod handlers which elements a request may carry.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from qbwc_server.simulator.records import (
    Class,
    Customer,
    CustomerType,
    DateDrivenTerms,
    ItemInventory,
    ItemInventoryAssembly,
    PaymentMethod,
    PriceLevel,
    SalesRep,
    SalesTaxCode,
    ShipMethod,
    StandardTerms,
)
from qbwc_server.simulator.ret_format import Spec, write_fields, write_ref, write_value

_SubElement = etree.SubElement

_HEAD: Spec = (
    ("ListID", "list_id", "str"),
    ("TimeCreated", "time_created", "dt"),
    ("TimeModified", "time_modified", "dt"),
    ("EditSequence", "edit_sequence", "str"),
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
PRICE_LEVEL: Spec = (
    *_HEAD,
    ("Name", "name", "str"),
    ("IsActive", "is_active", "bool"),
    ("PriceLevelType", "price_level_type", "str"),
)
#: The lists written from their fields alone: the Ret's tag and its fields.
SIMPLE: dict[type, tuple[str, Spec]] = {
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


def render_list(parent: etree._Element, record: Any, *, data_ext: bool = False) -> etree._Element:
    """Append a list record's `*Ret` to `parent` and return it; custom fields only with `data_ext`."""
    if isinstance(record, Customer):
        element = write_fields(_SubElement(parent, "CustomerRet"), record, CUSTOMER)
        if data_ext:
            _data_ext(element, record.data_ext)
    elif isinstance(record, ItemInventory):
        assembly = isinstance(record, ItemInventoryAssembly)
        element = _SubElement(parent, "ItemInventoryAssemblyRet" if assembly else "ItemInventoryRet")
        write_fields(element, record, ITEM_INVENTORY_ASSEMBLY if assembly else ITEM_INVENTORY)
        for line in record.lines if isinstance(record, ItemInventoryAssembly) else ():
            line_element = _SubElement(element, "ItemInventoryAssemblyLine")
            write_ref(line_element, "ItemInventoryRef", line.item_inventory_ref)
            write_value(line_element, "Quantity", line.quantity, "qty")
        if data_ext:
            _data_ext(element, record.data_ext)
    elif isinstance(record, PriceLevel):
        element = write_fields(_SubElement(parent, "PriceLevelRet"), record, PRICE_LEVEL)
        if record.price_level_type == "FixedPercentage":
            write_value(element, "PriceLevelFixedPercentage", record.price_level_fixed_percentage, "pct")
        for entry in record.per_item:
            entry_element = _SubElement(element, "PriceLevelPerItemRet")
            write_ref(entry_element, "ItemRef", entry.item_ref)
            if entry.custom_price is not None:
                write_value(entry_element, "CustomPrice", entry.custom_price, "amt")
            else:
                write_value(entry_element, "CustomPricePercent", entry.custom_price_percent, "pct")
    else:
        tag, spec = SIMPLE[type(record)]
        element = write_fields(_SubElement(parent, tag), record, spec)
    return element


def _data_ext(element: etree._Element, values: dict[str, str]) -> None:
    # Custom fields (DataExtRet): QuickBooks sends them only when the query asks for OwnerID 0.
    for name, value in values.items():
        ret = _SubElement(element, "DataExtRet")
        _SubElement(ret, "OwnerID").text = "0"
        _SubElement(ret, "DataExtName").text = name
        _SubElement(ret, "DataExtType").text = "STR255TYPE"
        _SubElement(ret, "DataExtValue").text = value
