"""Classes (class tracking, e.g. the Wizcommerce tag on orders; they may nest) in qbXML:
ClassRet into `QbClass`, and ClassQueryRq. Knows no database.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.query import ListQuery, build_list_query
from qbwc_server.qbxml.records import NestedListRecord
from qbwc_server.qbxml.registry import list_query_examples, registered

RET_TAG = "ClassRet"
RS_TAG = "ClassQueryRs"


@dataclass(frozen=True, slots=True)
class QbClass(NestedListRecord):
    """A class (class tracking)."""


def parse_class_ret(element: etree._Element) -> QbClass:
    return QbClass.from_element(element)


@registered("ClassQueryRq", list_query_examples(iterator=False, owner_id=False))
def build_class_query_rq(query: ListQuery, version: QbxmlVersion) -> str:
    """A ClassQueryRq (no iterator, no OwnerID in the schema)."""
    return build_list_query("ClassQueryRq", query, version)
