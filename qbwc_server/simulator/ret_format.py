"""How values are written inside a qbXML `*Ret`: amounts, quantities and local times, refs, addresses,
and a record's fields by a `Spec` (element, attribute, format). Knows element names and formats, not
which record has which fields (list_rets.py, txn_rets.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from qbwc_server.simulator.records import Address, Ref, ShipToAddress

_CENT = Decimal("0.01")
_SubElement = etree.SubElement

#: A `*Ret`'s fields in the XSD's order: (element name, attribute, format). Formats: "str", "int",
#: "amt", "qty", "pct", "bool", "date", "dt" (a time), "ref", "addr", "list:addr" (repeated address).
Spec = Sequence[tuple[str, str, str]]


def amount(value: Decimal) -> str:
    return str(value.quantize(_CENT))


def quantity(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def when(value: datetime) -> str:
    """QuickBooks' time format: local time with the host's UTC offset, e.g. 2026-11-25T10:41:48-05:00."""
    return value.isoformat(timespec="seconds")


def write_value(parent: etree._Element, tag: str, value: Any, kind: str) -> None:
    """Append `value` as element `tag` in format `kind`; nothing when it is None."""
    if value is None:
        return
    if kind == "ref":
        write_ref(parent, tag, value)
    elif kind == "addr":
        write_address(parent, tag, value)
    else:
        _SubElement(parent, tag).text = _FORMATS[kind](value)


_FORMATS: dict[str, Callable[[Any], str]] = {
    "str": str,
    "int": str,
    "amt": amount,
    "qty": quantity,
    "pct": quantity,
    "bool": lambda value: "true" if value else "false",
    "date": date.isoformat,
    "dt": when,
}


def write_ref(parent: etree._Element, tag: str, ref: Ref) -> None:
    element = _SubElement(parent, tag)
    if ref.list_id:
        _SubElement(element, "ListID").text = ref.list_id
    if ref.full_name:
        _SubElement(element, "FullName").text = ref.full_name


#: An address's elements, in the XSD's order, and the `Address` attributes they hold.
ADDRESS_FIELDS = (
    ("Addr1", "addr1"),
    ("Addr2", "addr2"),
    ("Addr3", "addr3"),
    ("Addr4", "addr4"),
    ("Addr5", "addr5"),
    ("City", "city"),
    ("State", "state"),
    ("PostalCode", "postal_code"),
    ("Country", "country"),
    ("Note", "note"),
)


def write_address(parent: etree._Element, tag: str, address: Address) -> None:
    element = _SubElement(parent, tag)
    if isinstance(address, ShipToAddress):
        _SubElement(element, "Name").text = address.name
    for name, attribute in ADDRESS_FIELDS:
        value = getattr(address, attribute)
        if value is not None:
            _SubElement(element, name).text = value
    if isinstance(address, ShipToAddress):
        _SubElement(element, "DefaultShipTo").text = "true" if address.default_ship_to else "false"


def write_fields(element: etree._Element, record: Any, spec: Spec) -> etree._Element:
    """Append `record`'s fields to `element` as `spec` lays them out; returns `element`."""
    for tag, attribute, kind in spec:
        value = getattr(record, attribute)
        if kind == "list:addr":
            for address in value:
                write_address(element, tag, address)
        else:
            write_value(element, tag, value, kind)
    return element
