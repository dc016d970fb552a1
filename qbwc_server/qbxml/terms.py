"""Payment terms in qbXML: StandardTermsRet and DateDrivenTermsRet into `Terms`, and TermsQueryRq
(which returns both kinds). Knows no database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from lxml import etree

from qbwc_server.qbxml.core import QbxmlParseError, QbxmlVersion
from qbwc_server.qbxml.fields import children_of, decimal_of, int_of
from qbwc_server.qbxml.query import ListQuery, build_list_query
from qbwc_server.qbxml.records import list_head_of
from qbwc_server.qbxml.registry import list_query_examples, registered

RET_TAGS = ("StandardTermsRet", "DateDrivenTermsRet")
RS_TAG = "TermsQueryRs"

TermsKind = Literal["standard", "date_driven"]


@dataclass(frozen=True, slots=True)
class Terms:
    """Either kind of terms: standard ("Net 30": due after N days) or date driven (due on a day of
    the month). The other kind's fields are None.
    """

    list_id: str
    time_created: dt.datetime
    time_modified: dt.datetime
    edit_sequence: str
    name: str
    is_active: bool
    kind: TermsKind
    due_days: int | None
    discount_days: int | None
    discount_pct: Decimal | None
    day_of_month_due: int | None
    due_next_month_days: int | None
    discount_day_of_month: int | None

    @classmethod
    def from_element(cls, element: etree._Element) -> Terms:
        node = children_of(element)
        if element.tag not in RET_TAGS:
            raise QbxmlParseError(f"expected one of {RET_TAGS}, got <{element.tag}>", "")
        kind: TermsKind = "standard" if element.tag == "StandardTermsRet" else "date_driven"
        return cls(
            **list_head_of(node),
            kind=kind,
            due_days=int_of(node, "StdDueDays"),
            discount_days=int_of(node, "StdDiscountDays"),
            discount_pct=decimal_of(node, "DiscountPct"),
            day_of_month_due=int_of(node, "DayOfMonthDue"),
            due_next_month_days=int_of(node, "DueNextMonthDays"),
            discount_day_of_month=int_of(node, "DiscountDayOfMonth"),
        )


def parse_terms_ret(element: etree._Element) -> Terms:
    return Terms.from_element(element)


@registered("TermsQueryRq", list_query_examples(iterator=False, owner_id=False))
def build_terms_query_rq(query: ListQuery, version: QbxmlVersion) -> str:
    """A TermsQueryRq (no iterator, no OwnerID in the schema); it answers with both kinds."""
    return build_list_query("TermsQueryRq", query, version)
