"""Writing qbXML requests: the element primitives every builder uses, and the writers an Add/Mod
builder calls by element path (`CustomerAdd/BillAddress`): fields formatted by their qbXML type,
list references, addresses, and the request around them. Each is checked against QuickBooks
Desktop's limits (`limits.py`) and leaves out what the negotiated qbXML version lacks. Knows no
entity and no database; values are formatted by `formats.py`, whose `BuildError` this raises.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol
from xml.sax.saxutils import escape, quoteattr

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.fields import Address, Ref, ShipToAddress, format_datetime
from qbwc_server.qbxml.formats import (
    BuildError,
    NonCp1252,
    checked_text,
    format_amount,
    format_float,
    format_percent,
    format_price,
    format_quantity,
    is_storable,
    qb_text,
    transliterate,
)
from qbwc_server.qbxml.limits import Limit, available, in_qbd, limit_of, since

__all__ = [  # builders import all they write with from here, formats.py's part included
    "ADDRESS_PARTS", "ID_MAX", "BuildError", "NonCp1252", "checked_text", "element", "elements",
    "format_amount", "format_float", "format_percent", "format_price", "format_quantity", "is_storable",
    "open_tag", "qb_text", "require_version", "transliterate", "write_address", "write_aggregate",
    "write_field", "write_ref", "write_request", "write_ship_to_address",
]  # fmt: skip

_GUID = re.compile(r"0|\{[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}")
#: IDTYPE's own maxLength (qbxmltypes130.xsd).
ID_MAX = 36
#: The decimal types, by their formatter.
_NUMBERS = {
    "AMTTYPE": format_amount,
    "PRICETYPE": format_price,
    "QUANTYPE": format_quantity,
    "PERCENTTYPE": format_percent,
    "FLOATTYPE": format_float,
}
#: An address's parts in schema order: (element, Address attribute).
ADDRESS_PARTS = (
    ("Addr1", "addr1"), ("Addr2", "addr2"), ("Addr3", "addr3"), ("Addr4", "addr4"), ("Addr5", "addr5"),
    ("City", "city"), ("State", "state"), ("PostalCode", "postal_code"), ("Country", "country"),
    ("Note", "note"),
)  # fmt: skip


class IterationLike(Protocol):
    """What `open_tag` reads of a query's iteration (`query.Iteration`)."""

    @property
    def step(self) -> str: ...

    @property
    def iterator_id(self) -> str | None: ...


# -- elements by tag -------------------------------------------------------------------------


def element(tag: str, value: object, max_length: int | None = None) -> str:
    """`<tag>value</tag>`, escaped; booleans as true/false, date-times with their UTC offset.

    A Decimal or float is refused: its form depends on its qbXML type, so it goes through
    `format_amount` & co. or `write_field`. `max_length` cuts (see `qb_text`).
    """
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise BuildError(f"{tag}: qbXML date-times need a UTC offset", field=tag, limit="a UTC offset")
        text = format_datetime(value)
    elif isinstance(value, dt.date):
        text = value.isoformat()
    elif isinstance(value, Decimal | float):
        raise TypeError(f"{tag}: write a {type(value).__name__} by its qbXML type (format_amount, …)")
    else:
        text = qb_text(str(value), max_length)
    return f"<{tag}>{escape(text)}</{tag}>"


def elements(tag: str, values: Iterable[str]) -> str:
    return "".join(element(tag, value) for value in values)


def open_tag(name: str, *, request_id: str | None = None, iteration: IterationLike | None = None) -> str:
    """`<XxxRq requestID=… iterator=… iteratorID=…>` (attributes in schema order)."""
    attributes = ""
    if request_id is not None:
        attributes += f" requestID={quoteattr(request_id)}"
    if iteration is not None:
        attributes += f' iterator="{iteration.step}"'
        if iteration.iterator_id is not None:
            attributes += f" iteratorID={quoteattr(iteration.iterator_id)}"
    return f"<{name}{attributes}>"


# -- elements by path, checked against QuickBooks' limits ------------------------------------


def require_version(path: str, version: QbxmlVersion) -> None:
    """A BuildError unless `version` has the element (for what must not be left out quietly:
    the request itself, or an ExternalGUID that makes an Add safe to retry).
    """
    _check_in_qbd(path)
    first = since(path)
    if first is not None and version < first:
        raise BuildError(
            f"{path} needs qbXML {first}; this session negotiated {version}", field=path, limit=first
        )


def write_field(
    path: str,
    value: object,
    version: QbxmlVersion,
    *,
    truncate: bool = False,
    non_cp1252: NonCp1252 = "transliterate",
) -> str:
    """The element at `path` holding `value`, formatted by its qbXML type; "" for None or where
    `version` lacks the element. Text longer than QuickBooks stores is a BuildError unless
    `truncate`; `non_cp1252` says what becomes of characters outside Windows-1252.
    """
    if value is None or not _writable(path, version):
        return ""
    text = _format(path, limit_of(path), value, truncate=truncate, non_cp1252=non_cp1252)
    tag = _tag(path)
    return f"<{tag}>{escape(text)}</{tag}>"


def write_aggregate(
    path: str, parts: Iterable[str], version: QbxmlVersion, *, keep_empty: bool = False
) -> str:
    """`<Tag>…parts…</Tag>`; "" where `version` lacks it, or when no part was written (unless
    `keep_empty`). Write the parts with paths under `path`: they leave themselves out too.
    """
    if not _writable(path, version):
        return ""
    body = "".join(parts)
    if not body and not keep_empty:
        return ""
    tag = _tag(path)
    return f"<{tag}>{body}</{tag}>"


def write_ref(path: str, ref: Ref | None, version: QbxmlVersion) -> str:
    """A list reference (`CustomerAdd/ClassRef`): by ListID when known, else by FullName.

    A FullName names a record, so it is never cut or transliterated: too long or outside
    Windows-1252 it is a BuildError (it could only ever name some other record).
    """
    if ref is None or not _writable(path, version):
        return ""
    if ref.list_id:
        inner = write_field(f"{path}/ListID", ref.list_id, version)
    elif ref.full_name:
        inner = write_field(f"{path}/FullName", ref.full_name, version, non_cp1252="refuse")
    else:
        raise BuildError(
            f"{path}: a reference needs a ListID or a FullName", field=path, limit="ListID or FullName"
        )
    return write_aggregate(path, [inner], version)


def write_address(
    path: str,
    address: Address | None,
    version: QbxmlVersion,
    *,
    truncate: bool = False,
    non_cp1252: NonCp1252 = "transliterate",
) -> str:
    """A BillAddress / ShipAddress in schema order; parts the version lacks are left out (Addr4
    before 2.0, Addr5 and Note before 6.0), and an address with nothing to write is "".
    """
    if address is None:
        return ""
    return write_aggregate(path, _address_parts(path, address, version, truncate, non_cp1252), version)


def write_ship_to_address(
    path: str,
    ship_to: ShipToAddress | None,
    version: QbxmlVersion,
    *,
    truncate: bool = False,
    non_cp1252: NonCp1252 = "transliterate",
) -> str:
    """A customer's named ShipToAddress (qbXML 12.0; "" before): Name, the address, DefaultShipTo.

    The Name tells one ship-to from another, so like a reference it is never cut or transliterated.
    """
    if ship_to is None or not _writable(path, version):
        return ""
    parts = [
        write_field(f"{path}/Name", ship_to.name, version, non_cp1252="refuse"),
        *_address_parts(path, ship_to.address, version, truncate, non_cp1252),
        write_field(f"{path}/DefaultShipTo", ship_to.is_default, version),
    ]
    return write_aggregate(path, parts, version)


def write_request(
    rq_tag: str,
    body: Iterable[str],
    version: QbxmlVersion,
    *,
    request_id: str | None = None,
    include_ret_elements: Iterable[str] = (),
) -> str:
    """`<XxxAddRq requestID=…><XxxAdd>…body…</XxxAdd><IncludeRetElement>…</XxxAddRq>`; a request
    newer than `version` is a BuildError, IncludeRetElement is left out before qbXML 4.0 (the
    whole record comes back instead: a superset).
    """
    require_version(rq_tag, version)
    body_tag = rq_tag.removesuffix("Rq")
    ret_elements = "".join(
        write_field(f"{rq_tag}/IncludeRetElement", name, version, non_cp1252="refuse")
        for name in include_ret_elements
    )
    return "".join(
        [
            open_tag(rq_tag, request_id=request_id),
            f"<{body_tag}>",
            *body,
            f"</{body_tag}>",
            ret_elements,
            f"</{rq_tag}>",
        ]
    )


def _address_parts(
    path: str, address: Address, version: QbxmlVersion, truncate: bool, non_cp1252: NonCp1252
) -> list[str]:
    return [
        write_field(
            f"{path}/{tag}", getattr(address, attribute), version, truncate=truncate, non_cp1252=non_cp1252
        )
        for tag, attribute in ADDRESS_PARTS
    ]


def _writable(path: str, version: QbxmlVersion) -> bool:
    _check_in_qbd(path)
    return available(path, version)


def _check_in_qbd(path: str) -> None:
    if not in_qbd(path):  # QuickBooks Desktop answers 0x80040400 to an element it does not know
        raise BuildError(f"{path} is not in QuickBooks Desktop", field=path, limit="not in QBD")


def _tag(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _format(path: str, limit: Limit, value: object, *, truncate: bool, non_cp1252: NonCp1252) -> str:
    """`value` as text for an element of `limit.type`; a mismatched Python type is a bug (TypeError)."""
    kind = limit.type
    if kind == "STRTYPE" and isinstance(value, str):
        return checked_text(
            value, field=path, max_length=limit.max_length, truncate=truncate, non_cp1252=non_cp1252
        )
    if kind in ("IDTYPE", "ENUMTYPE") and isinstance(value, str):
        # an id or an enumeration value changed in any way would mean something else
        return checked_text(
            value, field=path, max_length=ID_MAX if kind == "IDTYPE" else None, non_cp1252="refuse"
        )
    if kind == "GUIDTYPE" and isinstance(value, str):
        if not _GUID.fullmatch(value):
            raise BuildError(f"{path}: {value!r} is not a GUID in braces", field=path, limit="GUIDTYPE")
        return value
    if kind in _NUMBERS and isinstance(value, Decimal | int) and not isinstance(value, bool):
        return _NUMBERS[kind](value, path)
    if kind == "BOOLTYPE" and isinstance(value, bool):
        return "true" if value else "false"
    if kind == "INTTYPE" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if kind == "DATETYPE" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if kind == "DATETIMETYPE" and isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise BuildError(f"{path}: qbXML date-times need a UTC offset", field=path, limit="a UTC offset")
        return format_datetime(value)
    what = "an aggregate: use write_ref, write_address or write_aggregate" if kind is None else f"a {kind}"
    raise TypeError(f"{path} is {what}; got {value!r}")
