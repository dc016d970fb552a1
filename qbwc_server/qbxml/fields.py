"""Values as qbXML writes them: shared record parts (refs, addresses, custom fields, linked
transactions) and the readers every `parse_<entity>_ret` uses. Pure XML; no database.

Readers tolerate what real QuickBooks sends: missing optional blocks, empty elements, unknown
elements (ignored), whitespace around numbers, and UTC offsets on every timestamp.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TypeAlias, TypeVar

from lxml import etree

from qbwc_server.qbxml.core import QbxmlParseError, QbxmlValueError, parse_int32

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to a list object (`CustomerRef`, `ItemRef`, …): either id may be absent."""

    list_id: str | None
    full_name: str | None


@dataclass(frozen=True, slots=True)
class Address:
    addr1: str | None = None
    addr2: str | None = None
    addr3: str | None = None
    addr4: str | None = None
    addr5: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ShipToAddress:
    """One of a customer's named ship-to addresses (`ShipToAddress`, qbXML 12.0+)."""

    name: str
    is_default: bool
    address: Address


@dataclass(frozen=True, slots=True)
class CustomField:
    """A `DataExtRet`: a custom field (OwnerID 0) or a private data extension."""

    owner_id: str
    name: str
    value: str | None


@dataclass(frozen=True, slots=True)
class LinkedTxn:
    """A transaction linked to this one (an invoice's sales order, a sales order's invoices)."""

    txn_id: str
    txn_type: str
    txn_date: dt.date | None
    ref_number: str | None
    link_type: str | None
    amount: Decimal | None


# -- readers ---------------------------------------------------------------------------------


class Children(dict[str, etree._Element]):
    """A record's child elements by name, gathered in one pass: a record is read with dozens of
    lookups, and lxml's `find` costs microseconds each (most of a pull's parsing time)."""

    __slots__ = ("element",)

    def __init__(self, element: etree._Element) -> None:
        super().__init__()
        self.element = element
        for child in element.iterchildren(etree.Element):
            self.setdefault(child.tag, child)  # the first, as `find` would


#: What the readers accept: an element, or its children already gathered.
Node: TypeAlias = "etree._Element | Children"


def children_of(node: Node) -> Children:
    """`node`'s children by name (once: gathering them again is free)."""
    return node if isinstance(node, Children) else Children(node)


def _find(parent: Node, tag: str) -> etree._Element | None:
    if parent.__class__ is Children:  # not isinstance: called dozens of times a record
        return parent.get(tag)
    return parent.find(tag)  # type: ignore[union-attr]


def _element(parent: Node) -> etree._Element:
    return parent.element if isinstance(parent, Children) else parent


def text_of(parent: Node, tag: str) -> str | None:
    """The text of child `tag`; None when absent. An empty element is "" (QuickBooks cleared it)."""
    child = parent.get(tag) if parent.__class__ is Children else parent.find(tag)  # type: ignore[union-attr]
    if child is None:
        return None
    return child.text or ""


def texts_of(element: etree._Element) -> dict[str, str]:
    """The texts of a small block's children by name (the first of each, "" when empty): an
    address, a ship-to, a custom field is read whole, in one pass and without a lookup a field."""
    texts: dict[str, str] = {}
    for child in element.iterchildren(etree.Element):
        if child.tag not in texts:
            texts[child.tag] = child.text or ""
    return texts


def _flag(raw: str | None) -> bool | None:
    if raw is None or not raw.strip():
        return None
    return raw.strip().lower() in ("true", "1")


#: QuickBooks' amounts and quantities stay far below this (the mirror stores up to 13 digits
#: before the point); anything larger is garbage, refused before it reaches a statement.
DECIMAL_LIMIT = Decimal(10) ** 13


def decimal_of(parent: Node, tag: str) -> Decimal | None:
    """An AMTTYPE/PRICETYPE/QUANTYPE/PERCENTTYPE value; QbxmlValueError for one no QuickBooks writes."""
    raw = text_of(parent, tag)
    if raw is None or not raw.strip():
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise _bad_value(parent, tag, raw, "not a number") from None
    if not value.is_finite() or abs(value) >= DECIMAL_LIMIT:
        raise _bad_value(parent, tag, raw, "out of range")
    return value


def int_of(parent: Node, tag: str) -> int | None:
    raw = text_of(parent, tag)
    if raw is None or not raw.strip():
        return None
    return parse_int32(raw, f"<{_element(parent).tag}>/<{tag}>")


def _bad_value(parent: Node, tag: str, raw: str, why: str) -> QbxmlValueError:
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    return QbxmlValueError(f"<{_element(parent).tag}>/<{tag}> is {shown!r}: {why}")


def bool_of(parent: Node, tag: str) -> bool | None:
    return _flag(text_of(parent, tag))


def date_of(parent: Node, tag: str) -> dt.date | None:
    raw = text_of(parent, tag)
    if raw is None or not raw.strip():
        return None
    try:
        return parse_date(raw)
    except ValueError:
        raise _bad_value(parent, tag, raw, "not a date") from None


def datetime_of(parent: Node, tag: str) -> dt.datetime | None:
    raw = text_of(parent, tag)
    if raw is None or not raw.strip():
        return None
    try:
        return parse_datetime(raw)
    except ValueError:
        raise _bad_value(parent, tag, raw, "not a date and time") from None


def ref_of(parent: Node, tag: str) -> Ref | None:
    element = _find(parent, tag)
    if element is None:
        return None
    list_id: str | None = None
    full_name: str | None = None
    for child in element.iterchildren("ListID", "FullName"):  # the first of each, as `find` would
        if child.tag == "ListID" and list_id is None:
            list_id = child.text or ""
        elif child.tag == "FullName" and full_name is None:
            full_name = child.text or ""
    return Ref(list_id=list_id, full_name=full_name)


def address_of(parent: Node, tag: str) -> Address | None:
    element = _find(parent, tag)
    if element is None:
        return None
    return _address(element)


def ship_to_addresses_of(parent: Node) -> tuple[ShipToAddress, ...]:
    ship_tos = []
    for element in _element(parent).iterchildren("ShipToAddress"):
        texts = texts_of(element)
        name, default = texts.get("Name"), _flag(texts.get("DefaultShipTo"))
        ship_tos.append(ShipToAddress(name=name or "", is_default=bool(default), address=_address_of(texts)))
    return tuple(ship_tos)


def custom_fields_of(parent: Node) -> tuple[CustomField, ...]:
    fields = []
    for element in _element(parent).iterchildren("DataExtRet"):
        texts = texts_of(element)
        owner, name = texts.get("OwnerID"), texts.get("DataExtName")
        fields.append(CustomField(owner_id=owner or "0", name=name or "", value=texts.get("DataExtValue")))
    return tuple(fields)


def linked_txns_of(parent: Node) -> tuple[LinkedTxn, ...]:
    return tuple(
        LinkedTxn(
            txn_id=text_of(element, "TxnID") or "",
            txn_type=text_of(element, "TxnType") or "",
            txn_date=date_of(element, "TxnDate"),
            ref_number=text_of(element, "RefNumber"),
            link_type=text_of(element, "LinkType"),
            amount=decimal_of(element, "Amount"),
        )
        for element in _element(parent).iterfind("LinkedTxn")
    )


def line_elements_of(
    element: etree._Element, line_tag: str, group_tag: str
) -> Iterator[tuple[etree._Element, str | None]]:
    """Each line of a transaction with its group's TxnLineID: plain lines and the lines inside
    groups, in document order (the group header itself is not a line).
    """
    for child in element:
        if child.tag == line_tag:
            yield child, None
        elif child.tag == group_tag:
            group_id = text_of(child, "TxnLineID")
            for line in child.iterfind(line_tag):
                yield line, group_id


def _address(address: etree._Element) -> Address:
    return _address_of(texts_of(address))


def _address_of(texts: dict[str, str]) -> Address:
    get = texts.get
    return Address(
        addr1=get("Addr1"),
        addr2=get("Addr2"),
        addr3=get("Addr3"),
        addr4=get("Addr4"),
        addr5=get("Addr5"),
        city=get("City"),
        state=get("State"),
        postal_code=get("PostalCode"),
        country=get("Country"),
        note=get("Note"),
    )


# -- what every record carries ---------------------------------------------------------------


def required(value: T | None, parent: Node, tag: str) -> T:
    """`value`, read from `parent`'s child `tag`, or a parse error: QuickBooks always sends it."""
    if value is None:
        raise _missing(parent, tag)
    return value


def required_text(parent: Node, tag: str) -> str:
    """The text of a child every list record carries (ListID, EditSequence…); absent or empty
    is an error (`required(text_of(…))` where an empty element is acceptable).
    """
    value = text_of(parent, tag)
    if not value:
        raise _missing(parent, tag)
    return value


def required_datetime(parent: Node, tag: str) -> dt.datetime:
    return required(datetime_of(parent, tag), parent, tag)


def _missing(parent: Node, tag: str) -> QbxmlParseError:
    element = _element(parent)
    return QbxmlParseError(f"<{element.tag}> has no <{tag}>", etree.tostring(element, encoding="unicode"))


# -- dates and times -------------------------------------------------------------------------


def parse_datetime(text: str) -> dt.datetime:
    """A qbXML DATETIMETYPE, e.g. "2026-11-25T10:41:48-05:00"; always tz-aware.

    QuickBooks writes the host's UTC offset; a value without one (seen from some versions) is
    read as UTC rather than as this server's local time.
    """
    value = dt.datetime.fromisoformat(text.strip())
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def parse_date(text: str) -> dt.date:
    return dt.date.fromisoformat(text.strip()[:10])


def format_datetime(value: dt.datetime) -> str:
    """A DATETIMETYPE QuickBooks accepts: seconds precision with the UTC offset."""
    if value.tzinfo is None:
        raise ValueError("qbXML date-times need a timezone; got a naive datetime")
    return value.replace(microsecond=0).isoformat()


def format_date(value: dt.date) -> str:
    return value.isoformat()
