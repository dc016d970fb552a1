"""Inventory and assembly items as qbXML carries them (Item[Inventory|InventoryAssembly]Query);
knows no database. Also the lean quantity refresh: only ListID and the stock quantities.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from lxml import etree

from qbwc_server.qbxml.core import QbxmlParseError, QbxmlVersion
from qbwc_server.qbxml.fields import (
    CustomField,
    Ref,
    bool_of,
    children_of,
    custom_fields_of,
    decimal_of,
    int_of,
    ref_of,
    required,
    required_datetime,
    text_of,
)
from qbwc_server.qbxml.query import Iteration, ListQuery, build_list_query
from qbwc_server.qbxml.registry import example, list_query_examples, registered
from qbwc_server.qbxml.write import BuildError

ItemKind = Literal["inventory", "assembly"]

INVENTORY_RET_TAG = "ItemInventoryRet"
ASSEMBLY_RET_TAG = "ItemInventoryAssemblyRet"
INVENTORY_RS_TAG = "ItemInventoryQueryRs"
ASSEMBLY_RS_TAG = "ItemInventoryAssemblyQueryRs"

#: What the lean quantity refresh asks for (IncludeRetElement); the same names in both Rets.
QUANTITY_ELEMENTS = ("ListID", "QuantityOnHand", "QuantityOnOrder", "QuantityOnSalesOrder")

#: The lean quantity refresh as the pull sends it: an example beside every list query option.
_LEAN = ListQuery(
    active_status="ActiveOnly", include_ret_elements=QUANTITY_ELEMENTS, iteration=Iteration(max_returned=500)
)
_EXAMPLES = (*list_query_examples(iterator=True, owner_id=True), example("lean_quantities", _LEAN))

_KINDS: dict[str, ItemKind] = {INVENTORY_RET_TAG: "inventory", ASSEMBLY_RET_TAG: "assembly"}
_V2_0 = QbxmlVersion(2, 0)


@dataclass(frozen=True, slots=True)
class Item:
    """One inventory or assembly item (assemblies have a build point, inventory a reorder point)."""

    kind: ItemKind
    list_id: str
    time_created: dt.datetime
    time_modified: dt.datetime
    edit_sequence: str
    name: str
    full_name: str
    is_active: bool
    parent: Ref | None
    sublevel: int
    manufacturer_part_number: str | None
    sales_tax_code: Ref | None
    sales_desc: str | None
    sales_price: Decimal | None
    purchase_desc: str | None
    purchase_cost: Decimal | None
    reorder_point: Decimal | None
    build_point: Decimal | None
    quantity_on_hand: Decimal | None
    average_cost: Decimal | None
    quantity_on_order: Decimal | None
    quantity_on_sales_order: Decimal | None
    external_guid: str | None
    custom_fields: tuple[CustomField, ...]

    @classmethod
    def from_element(cls, element: etree._Element) -> Item:
        node = children_of(element)
        return cls(
            kind=_kind_of(element),
            list_id=required(text_of(node, "ListID"), node, "ListID"),
            time_created=required_datetime(node, "TimeCreated"),
            time_modified=required_datetime(node, "TimeModified"),
            edit_sequence=required(text_of(node, "EditSequence"), node, "EditSequence"),
            name=required(text_of(node, "Name"), node, "Name"),
            full_name=required(text_of(node, "FullName"), node, "FullName"),
            is_active=bool_of(node, "IsActive") is not False,  # absent means active
            parent=ref_of(node, "ParentRef"),
            sublevel=int_of(node, "Sublevel") or 0,
            manufacturer_part_number=text_of(node, "ManufacturerPartNumber"),
            sales_tax_code=ref_of(node, "SalesTaxCodeRef"),
            sales_desc=text_of(node, "SalesDesc"),
            sales_price=decimal_of(node, "SalesPrice"),
            purchase_desc=text_of(node, "PurchaseDesc"),
            purchase_cost=decimal_of(node, "PurchaseCost"),
            reorder_point=decimal_of(node, "ReorderPoint"),
            build_point=decimal_of(node, "BuildPoint"),
            quantity_on_hand=decimal_of(node, "QuantityOnHand"),
            average_cost=decimal_of(node, "AverageCost"),
            quantity_on_order=decimal_of(node, "QuantityOnOrder"),
            quantity_on_sales_order=decimal_of(node, "QuantityOnSalesOrder"),
            external_guid=text_of(node, "ExternalGUID"),
            custom_fields=custom_fields_of(node),
        )


@dataclass(frozen=True, slots=True)
class ItemQuantities:
    """An item's stock quantities, from a lean refresh (or read off a whole record)."""

    kind: ItemKind
    list_id: str
    quantity_on_hand: Decimal | None
    quantity_on_order: Decimal | None
    quantity_on_sales_order: Decimal | None

    @classmethod
    def from_element(cls, element: etree._Element) -> ItemQuantities:
        node = children_of(element)
        return cls(
            kind=_kind_of(element),
            list_id=required(text_of(node, "ListID"), node, "ListID"),
            quantity_on_hand=decimal_of(node, "QuantityOnHand"),
            quantity_on_order=decimal_of(node, "QuantityOnOrder"),
            quantity_on_sales_order=decimal_of(node, "QuantityOnSalesOrder"),
        )


def parse_item_inventory_ret(element: etree._Element) -> Item:
    """An `ItemInventoryRet` as an `Item` of kind "inventory"."""
    return Item.from_element(_expect(element, INVENTORY_RET_TAG))


def parse_item_assembly_ret(element: etree._Element) -> Item:
    """An `ItemInventoryAssemblyRet` as an `Item` of kind "assembly" (component lines ignored)."""
    return Item.from_element(_expect(element, ASSEMBLY_RET_TAG))


def parse_item_quantities_ret(element: etree._Element) -> ItemQuantities:
    """Either Ret from a lean refresh: only ListID is needed, absent quantities stay None."""
    return ItemQuantities.from_element(element)


@registered("ItemInventoryQueryRq", _EXAMPLES)
def build_item_inventory_query_rq(query: ListQuery, version: QbxmlVersion) -> str:
    """`ItemInventoryQueryRq` for `query`."""
    return _build_item_query_rq("ItemInventoryQueryRq", query, version)


@registered("ItemInventoryAssemblyQueryRq", _EXAMPLES)
def build_item_assembly_query_rq(query: ListQuery, version: QbxmlVersion) -> str:
    """`ItemInventoryAssemblyQueryRq` for `query` (assemblies exist in qbXML from 2.0)."""
    if version < _V2_0:
        raise BuildError(
            f"ItemInventoryAssemblyQueryRq needs qbXML 2.0 or later; negotiated {version}",
            field="ItemInventoryAssemblyQueryRq",
            limit=_V2_0,
        )
    return _build_item_query_rq("ItemInventoryAssemblyQueryRq", query, version)


def _build_item_query_rq(tag: str, query: ListQuery, version: QbxmlVersion) -> str:
    # The item queries never refused an iterator below qbXML 5.0; kept as it was.
    return build_list_query(tag, query, version, iterator=True, owner_id=True, iterator_needs_version=False)


def _kind_of(element: etree._Element) -> ItemKind:
    kind = _KINDS.get(str(element.tag))
    if kind is None:
        raise QbxmlParseError(
            f"expected <{INVENTORY_RET_TAG}> or <{ASSEMBLY_RET_TAG}>, got <{element.tag}>", ""
        )
    return kind


def _expect(element: etree._Element, tag: str) -> etree._Element:
    if element.tag != tag:
        raise QbxmlParseError(f"expected <{tag}>, got <{element.tag}>", "")
    return element
