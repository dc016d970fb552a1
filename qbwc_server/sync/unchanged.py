"""Records an incremental pull re-reads as the mirror already holds them, found before they are read.

Every incremental pull re-reads its overlap (the cursor minus a few minutes), so most records of
a page are usually unchanged. QuickBooks gives a record a new EditSequence and TimeModified with
every edit; a few values move without one (a customer's balances follow its transactions), and
those are compared too. A record whose values all match a live mirror row is skipped before its
fields are read: a page of unchanged customers costs the XML parse and one indexed look-up.

Full refreshes do not skip: they rewrite whatever differs, whatever QuickBooks' EditSequence says
(a mirror written by an older version, a value changed without an edit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree
from sqlalchemy import Connection

from qbwc_server.qbxml.fields import parse_datetime
from qbwc_server.sync.upsert import raw_cursor


def _decimal(text: str) -> Decimal | None:
    if not text.strip():
        return None
    value = Decimal(text.strip())
    if not value.is_finite():  # NaN cannot be compared; reading it in full refuses it
        raise ValueError(text)
    return value


def _text(text: str) -> str:
    return text


def _datetime(text: str) -> dt.datetime:
    return parse_datetime(text)


#: A compared value read from its element text as the mirror's column holds it.
Reader = Callable[[str], Any]


@dataclass(frozen=True)
class UnchangedCheck:
    """How to tell one entity's unchanged records apart: its table, and the (column, element,
    reader) triples whose values, all equal, mean the record is as the mirror holds it."""

    table: str
    compared: tuple[tuple[str, str, Reader], ...]
    key_column: str = "qb_list_id"
    key_tag: str = "ListID"
    #: The element the pull's cursor follows; its value comes back for skipped records.
    time_tag: str = "TimeModified"

    def split(
        self, conn: Connection, tenant_id: int, elements: Sequence[etree._Element]
    ) -> tuple[list[etree._Element], dt.datetime | None]:
        """(the elements to read and apply, the newest time among those skipped).

        A record whose compared values cannot be read (missing, malformed) is never skipped:
        reading it in full says what is wrong with it.
        """
        wanted: dict[str, tuple[Any, ...]] = {}
        times: dict[str, dt.datetime] = {}
        unreadable: set[str] = set()
        keys: list[str | None] = []
        tags = (self.key_tag, self.time_tag, *(tag for _, tag, _ in self.compared))
        for element in elements:
            texts: dict[str, str] = {}
            for child in element.iterchildren(*tags):  # found by lxml, not one by one in Python
                texts.setdefault(child.tag, child.text or "")  # the first, as the full reader takes
            key = texts.get(self.key_tag)
            keys.append(key)
            values = self._values(texts) if key else None
            if key is None or values is None:
                unreadable.add(key or "")
                continue
            times[key], wanted[key] = values
        for gone in unreadable:
            wanted.pop(gone, None)
        if not wanted:
            return list(elements), None
        columns = ", ".join(column for column, _, _ in self.compared)
        with raw_cursor(conn) as cur:
            cur.execute(
                f"SELECT {self.key_column}, {columns} FROM {self.table}"
                f" WHERE tenant_id = %s AND {self.key_column} = ANY(%s) AND deleted_at IS NULL",
                (tenant_id, list(wanted)),
            )
            same = {row[0] for row in cur.fetchall() if wanted.get(row[0]) == tuple(row[1:])}
        if not same:
            return list(elements), None
        changed = [element for element, key in zip(elements, keys, strict=True) if key not in same]
        return changed, max(times[key] for key in same)

    def _values(self, texts: dict[str, str]) -> tuple[dt.datetime, tuple[Any, ...]] | None:
        try:
            compared = tuple(
                None if (raw := texts.get(tag)) is None else read(raw) for _, tag, read in self.compared
            )
            return parse_datetime(texts.get(self.time_tag) or ""), compared
        except (ValueError, InvalidOperation):
            return None


#: Customers: a new EditSequence with every edit; balances follow transactions without one.
CUSTOMERS = UnchangedCheck(
    "customers",
    (
        ("edit_sequence", "EditSequence", _text),
        ("qb_time_modified", "TimeModified", _datetime),
        ("balance", "Balance", _decimal),
        ("total_balance", "TotalBalance", _decimal),
    ),
)
