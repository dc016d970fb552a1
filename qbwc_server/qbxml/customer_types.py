"""Customer types (e.g. Wholesale, Retail; they may nest) in qbXML: CustomerTypeRet into
`CustomerType`, and CustomerTypeQueryRq. Knows no database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lxml import etree

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.fields import Ref, bool_of, int_of, ref_of, required_datetime, required_text, text_of
from qbwc_server.qbxml.query import ListQuery, build_list_query

RET_TAG = "CustomerTypeRet"
RS_TAG = "CustomerTypeQueryRs"


@dataclass(frozen=True, slots=True)
class CustomerType:
    list_id: str
    time_created: dt.datetime
    time_modified: dt.datetime
    edit_sequence: str
    name: str
    #: "Parent:Child" for a nested one.
    full_name: str
    is_active: bool
    parent: Ref | None
    sublevel: int

    @classmethod
    def from_element(cls, element: etree._Element) -> CustomerType:
        return cls(
            list_id=required_text(element, "ListID"),
            time_created=required_datetime(element, "TimeCreated"),
            time_modified=required_datetime(element, "TimeModified"),
            edit_sequence=required_text(element, "EditSequence"),
            name=text_of(element, "Name") or "",
            full_name=text_of(element, "FullName") or text_of(element, "Name") or "",
            is_active=bool_of(element, "IsActive") is not False,
            parent=ref_of(element, "ParentRef"),
            sublevel=int_of(element, "Sublevel") or 0,
        )


def parse_customer_type_ret(element: etree._Element) -> CustomerType:
    return CustomerType.from_element(element)


def build_customer_type_query_rq(query: ListQuery, version: QbxmlVersion) -> str:
    """A CustomerTypeQueryRq (no iterator, no OwnerID in the schema)."""
    return build_list_query("CustomerTypeQueryRq", query, version)
