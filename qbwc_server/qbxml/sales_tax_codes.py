"""Sales tax codes in qbXML (Tax / Non, …): SalesTaxCodeRet into `SalesTaxCode`, and
SalesTaxCodeQueryRq. Knows no database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lxml import etree

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.fields import bool_of, children_of, text_of
from qbwc_server.qbxml.query import ListQuery, build_list_query
from qbwc_server.qbxml.records import list_head_of
from qbwc_server.qbxml.registry import list_query_examples, registered

RET_TAG = "SalesTaxCodeRet"
RS_TAG = "SalesTaxCodeQueryRs"


@dataclass(frozen=True, slots=True)
class SalesTaxCode:
    list_id: str
    time_created: dt.datetime
    time_modified: dt.datetime
    edit_sequence: str
    #: At most 3 characters in US QuickBooks ("Tax", "Non").
    name: str
    is_active: bool
    is_taxable: bool | None
    desc: str | None

    @classmethod
    def from_element(cls, element: etree._Element) -> SalesTaxCode:
        node = children_of(element)
        return cls(
            **list_head_of(node),
            is_taxable=bool_of(node, "IsTaxable"),
            desc=text_of(node, "Desc"),
        )


def parse_sales_tax_code_ret(element: etree._Element) -> SalesTaxCode:
    return SalesTaxCode.from_element(element)


@registered("SalesTaxCodeQueryRq", list_query_examples(iterator=False, owner_id=False))
def build_sales_tax_code_query_rq(query: ListQuery, version: QbxmlVersion) -> str:
    """A SalesTaxCodeQueryRq (no iterator, no OwnerID in the schema)."""
    return build_list_query("SalesTaxCodeQueryRq", query, version)
