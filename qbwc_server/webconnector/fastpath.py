"""The Web Connector's eight operations answered without Spyne's per-call machinery.

Spyne (service.py) defines the service, serves the WSDL, and stays the reference for every
request this module does not recognise exactly: anything unusual falls through to it. What this
module does answer, it answers byte for byte as Spyne would (tests/test_fastpath.py compares
them); it exists because Spyne's generic dispatch costs more than our database work per call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from qbwc_server.qbxml.core import SAFE_PARSER_OPTIONS
from qbwc_server.webconnector.memory import LARGE_BODY, trim
from qbwc_server.webconnector.names import INT_ARGUMENTS, OPERATIONS, SOAP_ENV, TNS, XS_INT
from qbwc_server.webconnector.session import WebConnectorSessions

log = logging.getLogger(__name__)

#: What the fast path accepts: QBWC's arguments, plus the optional strVersion some WSDL copies
#: give serverVersion (Spyne accepts it, so the fast path must too).
_ACCEPTED = {**OPERATIONS, "serverVersion": ("strVersion",)}
_ENVELOPE = f"{{{SOAP_ENV}}}Envelope"
_BODY = f"{{{SOAP_ENV}}}Body"

_PARSER_OPTIONS = SAFE_PARSER_OPTIONS  # no DTD, no entities, no network; large text nodes
_PARSER = etree.XMLParser(**_PARSER_OPTIONS)

#: Operations whose reply depends on nothing but the request's bytes: a Web Connector sends the
#: same serverVersion and clientVersion envelopes on every poll, so their replies are kept by
#: those bytes and the next identical request is answered without parsing (two of an idle poll's
#: three calls). Small and few: a handful of Web Connector versions.
_STATELESS = frozenset({"serverVersion", "clientVersion"})
_STATELESS_MAX_BYTES = 2048
_STATELESS_MAX_KEPT = 64

_HEAD = (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    f'<soap11env:Envelope xmlns:soap11env="{SOAP_ENV}" xmlns:tns="{TNS}"><soap11env:Body>'
)
_TAIL = "</soap11env:Body></soap11env:Envelope>"


@dataclass(frozen=True)
class _Operation:
    arguments: tuple[str, ...]
    ints: frozenset[str]
    call: Callable[..., Any]
    render: Callable[[str, Any], str]


def _escape(value: str) -> str:
    """Text content exactly as lxml serialises it (what Spyne sends)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _string(operation: str, value: Any) -> str:
    return f"<tns:{operation}Result>{_escape(value or '')}</tns:{operation}Result>"


def _int(operation: str, value: Any) -> str:
    return f"<tns:{operation}Result>{int(value)}</tns:{operation}Result>"


def _strings(operation: str, value: Any) -> str:
    items = "".join(f"<tns:string>{_escape(item or '')}</tns:string>" for item in value)
    return f"<tns:{operation}Result>{items}</tns:{operation}Result>"


class FastPath:
    """Parses a request, calls the session logic, and renders the reply; None means "ask Spyne"."""

    def __init__(
        self, sessions: WebConnectorSessions, observe: Callable[[str, str, float], None] | None = None
    ) -> None:
        #: Told each answered call: (operation, "ok" or "server_fault", seconds since the body came).
        self.observe = observe or _unobserved
        calls: dict[str, tuple[Callable[..., Any], Callable[[str, Any], str]]] = {
            "serverVersion": (lambda strVersion: sessions.server_version(), _string),
            "clientVersion": (sessions.client_version, _string),
            "authenticate": (sessions.authenticate, _strings),
            "sendRequestXML": (sessions.send_request_xml, _string),
            "receiveResponseXML": (sessions.receive_response_xml, _int),
            "connectionError": (sessions.connection_error, _string),
            "getLastError": (sessions.get_last_error, _string),
            "closeConnection": (sessions.close_connection, _string),
        }
        self.operations = {
            name: _Operation(_ACCEPTED[name], INT_ARGUMENTS & set(_ACCEPTED[name]), call, render)
            for name, (call, render) in calls.items()
        }
        #: request bytes -> (operation, reply) for _STATELESS operations (dict reads are thread-safe)
        self._stateless: dict[bytes, tuple[str, bytes]] = {}

    def answer(self, body: bytes | list[bytes]) -> bytes | None:
        """The SOAP reply for a plain document/literal request, or None to let Spyne handle it.

        A list of chunks is read as a stream, never joined. Once the request is recognised the list
        is emptied, before the arguments become strings: a huge `response` is never held as body,
        tree and string at once. When None is returned the chunks are left for Spyne.
        """
        started = time.perf_counter()
        chunks = [body] if isinstance(body, bytes) else body
        key = chunks[0] if len(chunks) == 1 and len(chunks[0]) <= _STATELESS_MAX_BYTES else None
        if key is not None and (kept := self._stateless.get(key)) is not None:
            self.observe(kept[0], "ok", time.perf_counter() - started)
            return kept[1]
        request = self._read(_parse(chunks))
        if request is None:
            return None
        size = sum(len(chunk) for chunk in chunks)
        chunks.clear()
        if size >= LARGE_BODY:
            trim()  # glibc would keep the body's pages while the arguments' strings are made
        name, elements = request
        operation = self.operations[name]
        arguments = {arg: _take_text(value) for arg, value in elements.items()}
        del request, elements
        try:
            result = operation.call(*(arguments.get(arg) for arg in operation.arguments))
            del arguments
            reply = f"{_HEAD}<tns:{name}Response>{operation.render(name, result)}</tns:{name}Response>{_TAIL}"
        except Exception:
            self.observe(name, "server_fault", time.perf_counter() - started)
            raise
        self.observe(name, "ok", time.perf_counter() - started)
        encoded = reply.encode("utf-8")
        if key is not None and name in _STATELESS and len(self._stateless) < _STATELESS_MAX_KEPT:
            self._stateless[key] = (name, encoded)
        return encoded

    def _read(self, root: etree._Element | None) -> tuple[str, dict[str, Any]] | None:
        """The operation and its arguments (ints parsed, strings still elements), or None when
        anything is unusual. Every check that can send a request to Spyne is made here."""
        if root is None:
            return None  # Spyne answers with the proper fault
        if root.tag != _ENVELOPE or len(root) != 1 or root[0].tag != _BODY or len(root[0]) != 1:
            return None
        element = root[0][0]
        name = etree.QName(element).localname if isinstance(element.tag, str) else ""
        operation = self.operations.get(name)
        if operation is None or element.tag != f"{{{TNS}}}{name}" or element.attrib:
            return None
        arguments: dict[str, Any] = {}
        for child in element:
            if not isinstance(child.tag, str) or child.attrib or len(child):
                return None  # typed (RPC/encoded) or nested arguments: Spyne's job
            arg = child.tag[len(TNS) + 2 :] if child.tag.startswith(f"{{{TNS}}}") else ""
            if arg not in operation.arguments or arg in arguments:
                return None
            if arg in operation.ints:
                text = child.text or ""
                if not XS_INT.fullmatch(text):
                    return None  # Spyne answers with its validation fault
                value = int(text)
                if not -(2**31) <= value < 2**31:  # xs:int
                    return None
                arguments[arg] = value
            else:
                arguments[arg] = child
        if not operation.ints <= arguments.keys():
            return None
        return name, arguments


def _unobserved(operation: str, outcome: str, seconds: float) -> None:
    pass


def _parse(chunks: list[bytes]) -> etree._Element | None:
    """The envelope's tree, fed chunk by chunk when there are several; None if not well-formed."""
    try:
        if len(chunks) == 1:
            return etree.fromstring(chunks[0], _PARSER)
        parser = etree.XMLParser(**_PARSER_OPTIONS)  # a feed parser holds state: one per request
        for chunk in chunks:
            parser.feed(chunk)
        return parser.close()
    except (etree.XMLSyntaxError, ValueError):
        return None


def _take_text(value: Any) -> Any:
    """An argument's value; a string argument's text is taken out of the tree, so libxml2's copy
    of a large text is freed as soon as Python has its own."""
    if not isinstance(value, etree._Element):
        return value
    text = value.text or ""
    value.text = None
    return text
