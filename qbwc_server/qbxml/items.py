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
    custom_fields_of,
    decimal_of,
    int_of,
    ref_of,
    required,
    required_datetime,
    text_of,
)
from qbwc_server.qbxml.query import ListQuery, element, elements, open_tag

ItemKind = Literal["inventory", "assembly"]

INVENTORY_RET_TAG = "ItemInventoryRet"
ASSEMBLY_RET_TAG = "ItemInventoryAssemblyRet"
INVENTORY_RS_TAG = "ItemInventoryQueryRs"
ASSEMBLY_RS_TAG = "ItemInventoryAssemblyQueryRs"

#: What the lean quantity refresh asks for (IncludeRetElement); the same names in both Rets.
QUANTITY_ELEMENTS = ("ListID", "QuantityOnHand", "QuantityOnOrder", "QuantityOnSalesOrder")

_KINDS: dict[str, ItemKind] = {INVENTORY_RET_TAG: "inventory", ASSEMBLY_RET_TAG: "assembly"}
_V2_0 = QbxmlVersion(2, 0)
_V4_0 = QbxmlVersion(4, 0)
_RET_ELEMENT_MAX = 50


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
        return cls(
            kind=_kind_of(element),
            list_id=required(text_of(element, "ListID"), element, "ListID"),
            time_created=required_datetime(element, "TimeCreated"),
            time_modified=required_datetime(element, "TimeModified"),
            edit_sequence=required(text_of(element, "EditSequence"), element, "EditSequence"),
            name=required(text_of(element, "Name"), element, "Name"),
            full_name=required(text_of(element, "FullName"), element, "FullName"),
            is_active=bool_of(element, "IsActive") is not False,  # absent means active
            parent=ref_of(element, "ParentRef"),
            sublevel=int_of(element, "Sublevel") or 0,
            manufacturer_part_number=text_of(element, "ManufacturerPartNumber"),
            sales_tax_code=ref_of(element, "SalesTaxCodeRef"),
            sales_desc=text_of(element, "SalesDesc"),
            sales_price=decimal_of(element, "SalesPrice"),
            purchase_desc=text_of(element, "PurchaseDesc"),
            purchase_cost=decimal_of(element, "PurchaseCost"),
            reorder_point=decimal_of(element, "ReorderPoint"),
            build_point=decimal_of(element, "BuildPoint"),
            quantity_on_hand=decimal_of(element, "QuantityOnHand"),
            average_cost=decimal_of(element, "AverageCost"),
            quantity_on_order=decimal_of(element, "QuantityOnOrder"),
            quantity_on_sales_order=decimal_of(element, "QuantityOnSalesOrder"),
            external_guid=text_of(element, "ExternalGUID"),
            custom_fields=custom_fields_of(element),
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
        return cls(
            kind=_kind_of(element),
            list_id=required(text_of(element, "ListID"), element, "ListID"),
            quantity_on_hand=decimal_of(element, "QuantityOnHand"),
            quantity_on_order=decimal_of(element, "QuantityOnOrder"),
            quantity_on_sales_order=decimal_of(element, "QuantityOnSalesOrder"),
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


def build_item_inventory_query_rq(query: ListQuery, version: QbxmlVersion) -> str:
    """`ItemInventoryQueryRq` for `query`."""
    return _build_item_query_rq("ItemInventoryQueryRq", query, version)


def build_item_assembly_query_rq(query: ListQuery, version: QbxmlVersion) -> str:
    """`ItemInventoryAssemblyQueryRq` for `query` (assemblies exist in qbXML from 2.0)."""
    if version < _V2_0:
        raise ValueError(f"ItemInventoryAssemblyQueryRq needs qbXML 2.0 or later; negotiated {version}")
    return _build_item_query_rq("ItemInventoryAssemblyQueryRq", query, version)


def _build_item_query_rq(tag: str, query: ListQuery, version: QbxmlVersion) -> str:
    """Schema order: (ListID | FullName | MaxReturned, ActiveStatus, From/ToModifiedDate),
    IncludeRetElement, OwnerID.
    """
    _check_list_query(tag, query)
    parts = [open_tag(tag, request_id=query.request_id, iteration=query.iteration)]
    if query.list_ids:
        parts.append(elements("ListID", query.list_ids))
    elif query.full_names:
        parts.append(elements("FullName", query.full_names))
    else:
        max_returned = query.iteration.max_returned if query.iteration else query.max_returned
        if max_returned is not None:
            parts.append(element("MaxReturned", max_returned))
        if query.active_status is not None:
            parts.append(element("ActiveStatus", query.active_status))
        if query.from_modified is not None:
            parts.append(element("FromModifiedDate", query.from_modified))
        if query.to_modified is not None:
            parts.append(element("ToModifiedDate", query.to_modified))
    # Before 4.0 there is no IncludeRetElement: QuickBooks returns whole records, a superset
    # that parse_item_quantities_ret reads just as well.
    if version >= _V4_0:
        parts.append(elements("IncludeRetElement", query.include_ret_elements))
    # Before 2.0 there are no custom fields (DataExt) to ask for.
    if version >= _V2_0:
        parts.append(elements("OwnerID", query.owner_ids))
    parts.append(f"</{tag}>")
    return "".join(parts)


def _check_list_query(tag: str, query: ListQuery) -> None:
    if query.list_ids and query.full_names:
        raise ValueError(f"{tag}: ask by list_ids or by full_names, not both")
    if query.list_ids or query.full_names:
        filters = {
            "max_returned": query.max_returned is not None,
            "active_status": query.active_status is not None,
            "from_modified": query.from_modified is not None,
            "to_modified": query.to_modified is not None,
            "iteration": query.iteration is not None,
        }
        if used := [name for name, present in filters.items() if present]:
            raise ValueError(
                f"{tag}: list_ids/full_names exclude {', '.join(used)} (the schema allows either)"
            )
    iteration_max = query.iteration.max_returned if query.iteration else None
    for value in (query.max_returned, iteration_max):
        if value is not None and value < 1:
            raise ValueError(f"{tag}: MaxReturned must be at least 1, got {value}")
    if query.max_returned is not None and iteration_max is not None and query.max_returned != iteration_max:
        raise ValueError(
            f"{tag}: max_returned={query.max_returned} disagrees with the iteration's {iteration_max}"
        )
    if query.from_modified and query.to_modified and query.from_modified > query.to_modified:
        raise ValueError(f"{tag}: from_modified is after to_modified")
    for name in query.include_ret_elements:
        if not name or len(name) > _RET_ELEMENT_MAX:  # cutting a name would ask for something else
            raise ValueError(
                f"{tag}: IncludeRetElement {name!r} is not an element name of 1 to 50 characters"
            )


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
