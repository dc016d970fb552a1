"""What a query asks for, and the writing primitives every request builder shares.

Entity modules (`customers.py`, `invoices.py`, …) turn a `ListQuery` / `TxnQuery` into their
own `*QueryRq` in schema order; this module knows no entity. Text goes out escaped and
Windows-1252-safe (`qb_text`), so nothing we send can make QuickBooks answer 0x80040400.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

from qbwc_server.qbxml.fields import format_datetime

ActiveStatus = Literal["ActiveOnly", "InactiveOnly", "All"]
IteratorStep = Literal["Start", "Continue"]

#: Characters XML 1.0 cannot carry at all (control characters other than tab, LF, CR).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, kw_only=True)
class Iteration:
    """One step of a qbXML iterator: Start (no id) or Continue `iterator_id`."""

    max_returned: int
    iterator_id: str | None = None

    @property
    def step(self) -> IteratorStep:
        return "Start" if self.iterator_id is None else "Continue"


@dataclass(frozen=True, kw_only=True)
class ListQuery:
    """A list query (customers, items, price levels, …). Empty means "everything active"."""

    list_ids: tuple[str, ...] = ()
    full_names: tuple[str, ...] = ()
    max_returned: int | None = None
    active_status: ActiveStatus | None = None
    from_modified: dt.datetime | None = None
    to_modified: dt.datetime | None = None
    #: Return only these elements (qbXML 4.0+), e.g. a lean quantity refresh.
    include_ret_elements: tuple[str, ...] = ()
    #: "0" asks for custom fields (DataExtRet).
    owner_ids: tuple[str, ...] = ()
    iteration: Iteration | None = None
    request_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class TxnQuery:
    """A transaction query (sales orders, invoices, payments)."""

    txn_ids: tuple[str, ...] = ()
    ref_numbers: tuple[str, ...] = ()
    max_returned: int | None = None
    modified_from: dt.datetime | None = None
    modified_to: dt.datetime | None = None
    #: Customers' ListIDs (EntityFilter).
    entity_list_ids: tuple[str, ...] = ()
    include_line_items: bool | None = None
    include_linked_txns: bool | None = None
    include_ret_elements: tuple[str, ...] = ()
    owner_ids: tuple[str, ...] = ()
    iteration: Iteration | None = None
    request_id: str | None = None


def qb_text(value: str, max_length: int | None = None) -> str:
    """`value` as QuickBooks can store it: Windows-1252 only (others become "?"), XML-legal,
    and cut to `max_length` when given (callers that must not truncate check lengths first).
    """
    cleaned = _XML_INVALID.sub("", value)
    safe = cleaned.encode("cp1252", errors="replace").decode("cp1252")
    return safe[:max_length] if max_length is not None else safe


def element(tag: str, value: object, max_length: int | None = None) -> str:
    """`<tag>value</tag>`, escaped; booleans as true/false, date-times with their UTC offset."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dt.datetime):
        text = format_datetime(value)
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = qb_text(str(value), max_length)
    return f"<{tag}>{escape(text)}</{tag}>"


def elements(tag: str, values: tuple[str, ...] | list[str]) -> str:
    return "".join(element(tag, value) for value in values)


def open_tag(name: str, *, request_id: str | None = None, iteration: Iteration | None = None) -> str:
    """`<XxxQueryRq requestID=… iterator=… iteratorID=…>` (attributes in schema order)."""
    attributes = ""
    if request_id is not None:
        attributes += f" requestID={quoteattr(request_id)}"
    if iteration is not None:
        attributes += f' iterator="{iteration.step}"'
        if iteration.iterator_id is not None:
            attributes += f" iteratorID={quoteattr(iteration.iterator_id)}"
    return f"<{name}{attributes}>"
