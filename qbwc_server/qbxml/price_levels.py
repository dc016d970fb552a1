"""Price levels in qbXML: PriceLevelRet (fixed-percentage or per-item) into `PriceLevel`, and
PriceLevelQueryRq. Knows no database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.fields import (
    Ref,
    children_of,
    decimal_of,
    ref_of,
    text_of,
)
from qbwc_server.qbxml.query import ListQuery, build_list_query
from qbwc_server.qbxml.records import list_head_of
from qbwc_server.qbxml.registry import list_query_examples, registered
from qbwc_server.qbxml.write import BuildError

RET_TAG = "PriceLevelRet"
RS_TAG = "PriceLevelQueryRs"

#: PriceLevelQueryRq itself is qbXML 4.0.
PRICE_LEVEL_QUERY_SINCE = QbxmlVersion(4, 0)


@dataclass(frozen=True, slots=True)
class PriceLevelItem:
    """One item's price in a per-item price level: a price, or a percentage of the item's price."""

    item: Ref
    custom_price: Decimal | None
    custom_price_percent: Decimal | None

    @classmethod
    def from_element(cls, element: etree._Element) -> PriceLevelItem:
        node = children_of(element)
        return cls(
            item=ref_of(node, "ItemRef") or Ref(list_id=None, full_name=None),
            custom_price=decimal_of(node, "CustomPrice"),
            custom_price_percent=decimal_of(node, "CustomPricePercent"),
        )


@dataclass(frozen=True, slots=True)
class PriceLevel:
    list_id: str
    time_created: dt.datetime
    time_modified: dt.datetime
    edit_sequence: str
    name: str
    is_active: bool
    #: "FixedPercentage" or "PerItem", as QuickBooks writes it.
    price_level_type: str
    fixed_percentage: Decimal | None
    items: tuple[PriceLevelItem, ...]

    @classmethod
    def from_element(cls, element: etree._Element) -> PriceLevel:
        node = children_of(element)
        items = tuple(PriceLevelItem.from_element(e) for e in element.iterfind("PriceLevelPerItemRet"))
        # PriceLevelType is optional in the schema: infer it from the body when it is missing.
        default_type = "PerItem" if items else "FixedPercentage"
        return cls(
            **list_head_of(node),
            price_level_type=text_of(node, "PriceLevelType") or default_type,
            fixed_percentage=decimal_of(node, "PriceLevelFixedPercentage"),
            items=items,
        )


def parse_price_level_ret(element: etree._Element) -> PriceLevel:
    return PriceLevel.from_element(element)


@registered("PriceLevelQueryRq", list_query_examples(iterator=False, owner_id=False))
def build_price_level_query_rq(query: ListQuery, version: QbxmlVersion) -> str:
    """A PriceLevelQueryRq. No iterator and no OwnerID exist for it; it needs qbXML 4.0."""
    if version < PRICE_LEVEL_QUERY_SINCE:
        raise BuildError(
            f"PriceLevelQueryRq needs qbXML {PRICE_LEVEL_QUERY_SINCE}, QuickBooks speaks {version}",
            field="PriceLevelQueryRq",
            limit=PRICE_LEVEL_QUERY_SINCE,
        )
    return build_list_query("PriceLevelQueryRq", query, version)
