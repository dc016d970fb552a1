"""Customer types (e.g. Wholesale, Retail; they may nest) in qbXML: CustomerTypeRet into
`CustomerType`, and CustomerTypeQueryRq. Knows no database.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.query import ListQuery, build_list_query
from qbwc_server.qbxml.records import NestedListRecord
from qbwc_server.qbxml.registry import list_query_examples, registered

RET_TAG = "CustomerTypeRet"
RS_TAG = "CustomerTypeQueryRs"


@dataclass(frozen=True, slots=True)
class CustomerType(NestedListRecord):
    """A customer type."""


def parse_customer_type_ret(element: etree._Element) -> CustomerType:
    return CustomerType.from_element(element)


@registered("CustomerTypeQueryRq", list_query_examples(iterator=False, owner_id=False))
def build_customer_type_query_rq(query: ListQuery, version: QbxmlVersion) -> str:
    """A CustomerTypeQueryRq (no iterator, no OwnerID in the schema)."""
    return build_list_query("CustomerTypeQueryRq", query, version)
