"""Sales reps in qbXML: SalesRepRet into `SalesRep`, and SalesRepQueryRq. Knows no database.

A rep's `initial` is the short code QuickBooks shows (at most 5 characters); the person behind it
is `entity` (an employee, vendor or other name).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lxml import etree

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.fields import (
    Ref,
    bool_of,
    children_of,
    ref_of,
    required_datetime,
    required_text,
    text_of,
)
from qbwc_server.qbxml.query import ListQuery, build_list_query
from qbwc_server.qbxml.registry import list_query_examples, registered

RET_TAG = "SalesRepRet"
RS_TAG = "SalesRepQueryRs"


@dataclass(frozen=True, slots=True)
class SalesRep:
    list_id: str
    time_created: dt.datetime
    time_modified: dt.datetime
    edit_sequence: str
    initial: str
    is_active: bool
    entity: Ref | None

    @classmethod
    def from_element(cls, element: etree._Element) -> SalesRep:
        node = children_of(element)
        return cls(
            list_id=required_text(node, "ListID"),
            time_created=required_datetime(node, "TimeCreated"),
            time_modified=required_datetime(node, "TimeModified"),
            edit_sequence=required_text(node, "EditSequence"),
            initial=text_of(node, "Initial") or "",
            is_active=bool_of(node, "IsActive") is not False,
            entity=ref_of(node, "SalesRepEntityRef"),
        )


def parse_sales_rep_ret(element: etree._Element) -> SalesRep:
    return SalesRep.from_element(element)


@registered("SalesRepQueryRq", list_query_examples(iterator=False, owner_id=False))
def build_sales_rep_query_rq(query: ListQuery, version: QbxmlVersion) -> str:
    """A SalesRepQueryRq (no iterator, no OwnerID in the schema). FullName here is the Initial."""
    return build_list_query("SalesRepQueryRq", query, version)
