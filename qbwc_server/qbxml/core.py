"""The qbXML envelope, versions, and the one hardened parser every response goes through.

Exceptions:
    QbxmlError
     ├── QbxmlParseError   a response or request that is not well-formed XML (keeps the raw text)
     └── QbxmlValueError   well-formed, but a value no QuickBooks writes (a statusCode of "²", a
                           count past 32 bits, a date in month 99): the answer cannot be trusted
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from lxml import etree

from qbwc_server.errors import QbwcError

#: The highest version we build for: the XSD we validate against, and it has all we use.
MAX_VERSION = (13, 0)
#: Below this, QuickBooks lacks what even raw and pull jobs rely on; refuse clearly.
MIN_VERSION = (6, 0)

OnError = Literal["stopOnError", "continueOnError"]

_VERSION_RE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\s*$")
_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*\?>")

#: lxml's options for XML from another machine (qbXML answers, SOAP envelopes): no DTDs, no
#: entity expansion, no network; large text nodes allowed; comments and processing instructions
#: dropped. Shared by every parser that reads what a client sent.
SAFE_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": True,
    "remove_comments": True,
    "remove_pis": True,
}

# No DTDs, no entity expansion, no network: responses are data from another machine.
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=True
)


class QbxmlError(QbwcError):
    """Base for qbXML problems."""

    code = "qbxml_invalid"


class QbxmlParseError(QbxmlError):
    """Not well-formed XML; `raw` keeps what we were given, for the job's record."""

    code = "qbxml_unreadable"

    def __init__(self, message: str, raw: str) -> None:
        super().__init__(message)
        self.raw = raw


class QbxmlValueError(QbxmlError):
    """A value in a response that is out of range or not of its qbXML type; names the element."""

    code = "qbxml_invalid_value"


#: xs:int as qbXML uses it: ASCII digits with an optional sign (Python's int() also takes "1_3" and "١٣").
_XS_INT = re.compile(r"^\s*[+-]?[0-9]{1,10}\s*$")
INT32 = range(-(2**31), 2**31)


def parse_int32(text: str, what: str) -> int:
    """A qbXML integer (statusCode, counts, Sublevel…) or QbxmlValueError naming `what`."""
    if _XS_INT.match(text) is None or int(text) not in INT32:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise QbxmlValueError(f"{what} is {shown!r}, not a 32-bit whole number")
    return int(text)


@dataclass(frozen=True, order=True)
class QbxmlVersion:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> QbxmlVersion | None:
        """'13.0' -> QbxmlVersion(13, 0); None for anything else (e.g. 'CA3.0', 'UK2.0')."""
        match = _VERSION_RE.match(text or "")
        return cls(int(match[1]), int(match[2])) if match else None

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def negotiate_version(supported: list[QbxmlVersion]) -> QbxmlVersion | None:
    """The highest version QuickBooks supports that we support too; None if QuickBooks is too old."""
    ceiling = QbxmlVersion(*MAX_VERSION)
    usable = [v for v in supported if QbxmlVersion(*MIN_VERSION) <= v <= ceiling]
    return max(usable) if usable else None


def wrap_request(messages: str, version: QbxmlVersion, on_error: OnError = "stopOnError") -> str:
    """A complete qbXML request document around already-serialised `*Rq` elements."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<?qbxml version="{version}"?>\n'
        f'<QBXML><QBXMLMsgsRq onError="{on_error}">{messages}</QBXMLMsgsRq></QBXML>'
    )


def parse_xml(text: str) -> etree._Element:
    """Parse qbXML text with the hardened parser.

    The text arrives already decoded (it travelled inside SOAP), so any declared encoding
    (QuickBooks may say windows-1252) is dropped rather than obeyed.
    """
    body = _DECLARATION_RE.sub("", text, count=1)
    try:
        return etree.fromstring(body.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise QbxmlParseError(f"not well-formed XML: {exc}", text) from None


def response_messages(root: etree._Element) -> list[etree._Element]:
    """The `*Rs` elements of a response document, in order."""
    if root.tag != "QBXML":
        raise QbxmlParseError(f"expected a <QBXML> document, got <{root.tag}>", "")
    msgs = root.find("QBXMLMsgsRs")
    if msgs is None:
        raise QbxmlParseError("the response has no <QBXMLMsgsRs>", "")
    return [child for child in msgs if isinstance(child.tag, str)]


def request_messages(text: str) -> str:
    """Normalise an admin-supplied request to the `*Rq` elements inside QBXMLMsgsRq.

    Accepts a whole document (with or without prolog), a bare `<QBXMLMsgsRq>`, or bare `*Rq`
    elements, so the envelope (and its version) is always ours at send time.
    """
    stripped = _DECLARATION_RE.sub("", text.strip(), count=1)
    stripped = re.sub(r"^\s*<\?qbxml[^>]*\?>", "", stripped).strip()
    try:
        children = [etree.fromstring(stripped.encode(), _PARSER)]
    except etree.XMLSyntaxError as exc:
        if "Extra content at the end" not in str(exc):
            raise QbxmlParseError(f"not well-formed XML: {exc}", text) from None
        # several bare *Rq elements side by side: parse them as siblings
        children = [
            c for c in etree.fromstring(f"<r>{stripped}</r>".encode(), _PARSER) if isinstance(c.tag, str)
        ]
    if len(children) == 1 and children[0].tag == "QBXML":
        children = [c for c in children[0] if isinstance(c.tag, str)]
    if len(children) == 1 and children[0].tag == "QBXMLMsgsRq":
        children = [c for c in children[0] if isinstance(c.tag, str)]
    if not children or not all(c.tag.endswith("Rq") for c in children):
        raise QbxmlParseError("expected qbXML request elements (…Rq), e.g. <CustomerQueryRq>", text)
    return "".join(etree.tostring(c, encoding="unicode", with_tail=False) for c in children)


# -- streaming responses ---------------------------------------------------------------------

#: How much response text is handed to the parser at a time (characters).
_CHUNK_CHARS = 1 << 20


@dataclass(frozen=True, slots=True)
class ResponseStatus:
    """The status attributes of one `*Rs` element (known as soon as it opens)."""

    #: The element name, e.g. "CustomerQueryRs".
    name: str
    code: int
    severity: str
    message: str
    request_id: str | None = None
    iterator_id: str | None = None
    #: `iteratorRemainingCount`: records still to come after this page (iterators only).
    iterator_remaining: int | None = None
    ret_count: int | None = None

    @classmethod
    def from_element(cls, element: etree._Element) -> ResponseStatus:
        """The status of one `*Rs`; QbxmlValueError when it is missing or garbage: such an answer
        says nothing reliable about what QuickBooks did."""
        get = element.get
        name = str(element.tag)
        code = get("statusCode")
        if code is None:
            raise QbxmlValueError(f"<{name}> has no statusCode")
        return cls(
            name=name,
            code=parse_int32(code, f"<{name}> statusCode"),
            severity=get("statusSeverity") or "",
            message=get("statusMessage") or "",
            request_id=get("requestID"),
            iterator_id=get("iteratorID"),
            iterator_remaining=_count(get("iteratorRemainingCount"), f"<{name}> iteratorRemainingCount"),
            ret_count=_count(get("retCount"), f"<{name}> retCount"),
        )

    @property
    def is_error(self) -> bool:
        return self.severity == "Error"


class ResponseStream:
    """Reads a qbXML response incrementally: each record (`*Ret`) as it is parsed, then freed.

    Memory stays bounded by one slice of the text (the parser's tree of it) and the records
    being read, however large the response is; the text is fed to the parser in slices.
    `statuses` fills as `*Rs` elements open, so after `records()` is exhausted it holds every
    message's status, in order.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self.statuses: list[ResponseStatus] = []

    def records(self, tags: Collection[str] | None = None) -> Iterator[tuple[ResponseStatus, etree._Element]]:
        """(status of the enclosing `*Rs`, record element) for each record, in document order.

        With `tags`, only records of those names, found by lxml itself (several times faster
        than looking at every element in Python). The element is cleared once the consumer asks
        for the next one: read it, don't keep it.
        """
        if tags is not None:
            yield from self._tagged_records(tags)
            return
        parser = etree.XMLPullParser(events=("start", "end"), **SAFE_PARSER_OPTIONS)
        depth = 0
        status: ResponseStatus | None = None
        try:
            for chunk in self._chunks():
                parser.feed(chunk)
                for event, element in parser.read_events():
                    if event == "start":
                        depth += 1
                        if depth == 1 and element.tag != "QBXML":
                            raise QbxmlParseError(f"expected a <QBXML> document, got <{element.tag}>", "")
                        if depth == 3:
                            status = ResponseStatus.from_element(element)
                            self.statuses.append(status)
                        continue
                    depth -= 1
                    if depth == 3 and status is not None:
                        yield status, element
                        element.clear()
                        # drop finished siblings so the tree never grows
                        parent = element.getparent()
                        while parent is not None and len(parent) and parent[0] is not element:
                            del parent[0]
                    elif depth == 2:
                        element.clear()
            parser.close()
        except etree.XMLSyntaxError as exc:
            raise QbxmlParseError(f"not well-formed XML: {exc}", self._text) from None

    def batches(
        self, tags: Collection[str], size: int
    ) -> Iterator[list[tuple[ResponseStatus, etree._Element]]]:
        """The records of `tags` (as `records(tags)`), `size` at a time: a consumer that looks up
        a page's records in one statement before reading them. A text longer than one chunk has
        each batch's elements freed once the consumer asks for the next batch, so memory stays
        bounded by a chunk and `size` records; a shorter one is a tree already, freed whole."""
        bounded = len(self._text) > _CHUNK_CHARS
        parser = etree.XMLPullParser(events=("end",), tag=list(tags), **SAFE_PARSER_OPTIONS)
        parent: etree._Element | None = None
        status: ResponseStatus | None = None
        batch: list[tuple[ResponseStatus, etree._Element]] = []
        try:
            for chunk in self._chunks():
                parser.feed(chunk)
                for _, element in parser.read_events():
                    above = element.getparent()
                    if above is None or above.getparent() is None:
                        continue  # a record-named element outside any *Rs: not a record
                    if above is not parent:
                        parent, status = above, ResponseStatus.from_element(above)
                    assert status is not None
                    batch.append((status, element))
                    if len(batch) >= size:
                        yield batch
                        if bounded:
                            _drop(batch)
                        batch = []
            root = parser.close()
        except etree.XMLSyntaxError as exc:
            raise QbxmlParseError(f"not well-formed XML: {exc}", self._text) from None
        if root.tag != "QBXML":
            raise QbxmlParseError(f"expected a <QBXML> document, got <{root.tag}>", "")
        messages = root.find("QBXMLMsgsRs")
        self.statuses = [  # elements only: an entity reference or a comment is no *Rs
            ResponseStatus.from_element(rs)
            for rs in (messages if messages is not None else ())
            if isinstance(rs.tag, str)
        ]
        if batch:
            yield batch

    def _tagged_records(self, tags: Collection[str]) -> Iterator[tuple[ResponseStatus, etree._Element]]:
        for batch in self.batches(tags, 1):
            yield batch[0]

    def _chunks(self) -> Iterator[str]:
        text = self._text
        start = 0
        head = _DECLARATION_RE.match(text)
        if head is not None:  # the declared encoding no longer applies to decoded text
            start = head.end()
        for offset in range(start, len(text), _CHUNK_CHARS):
            yield text[offset : offset + _CHUNK_CHARS]


def _drop(batch: list[tuple[ResponseStatus, etree._Element]]) -> None:
    """Free a batch's records and every sibling before them: the tree never grows."""
    for _, element in batch:
        element.clear()
        above = element.getparent()
        while above is not None and element.getprevious() is not None:
            del above[0]


def _count(text: str | None, what: str) -> int | None:
    if text is None:
        return None
    value = parse_int32(text, what)
    if value < 0:
        raise QbxmlValueError(f"{what} is {value}, a count below zero")
    return value
