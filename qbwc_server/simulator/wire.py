"""The Web Connector's SOAP wire: request envelopes as the .NET client writes them, strict response parsing,
and one keep-alive HTTP connection per session. Knows no session logic and nothing of QuickBooks.

Exceptions::

    WebConnectorError
     ├── WebConnectorTransportError   connection refused, reset or timed out
     └── WebConnectorProtocolError    the server's answer is not what the real client accepts
          └── SoapFault               the server answered with a SOAP Fault
"""

from __future__ import annotations

import http.client
import re
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from lxml import etree

from qbwc_server.webconnector.names import INT_ARGUMENTS, SOAP_ENV, TNS
from qbwc_server.webconnector.names import OPERATIONS as OPERATIONS

if TYPE_CHECKING:
    from qbwc_server.simulator.webconnector import SessionReport

INTUIT_NS = TNS
SOAP_ENV_NS = SOAP_ENV
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
USER_AGENT = "Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client Protocol 2.0.50727.9151)"

_INT_ARGUMENTS = INT_ARGUMENTS

SoapResult = str | list[str] | int
Arguments = Mapping[str, str | int]

_PROLOG = (
    '<?xml version="1.0" encoding="utf-8"?>'
    f'<soap:Envelope xmlns:soap="{SOAP_ENV_NS}" xmlns:xsi="{XSI_NS}" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>'
)
_EPILOG = "</soap:Body></soap:Envelope>"
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XSD_INT = re.compile(r"[+-]?[0-9]+")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


class WebConnectorError(Exception):
    """Base of the simulator's errors; `report` holds the partial session when raised from a session."""

    report: SessionReport | None = None


class WebConnectorTransportError(WebConnectorError):
    """The HTTP exchange itself failed (the real client reports QBWC1012/QBWC1013)."""


class WebConnectorProtocolError(WebConnectorError):
    """The server's answer would make the real .NET client fail."""


class SoapFault(WebConnectorProtocolError):
    """The server answered with a SOAP 1.1 Fault."""

    def __init__(self, operation: str, faultcode: str, faultstring: str) -> None:
        super().__init__(f"{operation}: SOAP Fault {faultcode}: {faultstring}")
        self.operation = operation
        self.faultcode = faultcode
        self.faultstring = faultstring


def request_headers(operation: str) -> dict[str, str]:
    """The HTTP headers QBWC sends; SOAPAction is quoted, as the .NET client does."""
    return {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": f'"{INTUIT_NS}{operation}"',
        "User-Agent": USER_AGENT,
    }


def build_envelope(operation: str, arguments: Arguments | None = None) -> bytes:
    """The request body for one operation; every WSDL child must be given, empty strings become `<x />`."""
    names = OPERATIONS.get(operation)
    if names is None:
        raise ValueError(f"unknown QBWC operation {operation!r}")
    arguments = arguments or {}
    if set(arguments) != set(names):
        raise ValueError(f"{operation} takes {', '.join(names) or 'no arguments'}; got {sorted(arguments)}")
    if not names:
        return f'{_PROLOG}<{operation} xmlns="{INTUIT_NS}" />{_EPILOG}'.encode()
    parts = [f'{_PROLOG}<{operation} xmlns="{INTUIT_NS}">']
    for name in names:
        value = arguments[name]
        if name in _INT_ARGUMENTS:
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{operation}.{name} must be an int, not {value!r}")
            parts.append(f"<{name}>{value}</{name}>")
        elif not isinstance(value, str):
            raise TypeError(f"{operation}.{name} must be a str, not {type(value).__name__}")
        elif not value:
            parts.append(f"<{name} />")
        else:
            if _NOT_XML_CHAR.search(value):
                raise ValueError(f"{operation}.{name} holds a character XML 1.0 cannot carry")
            parts.append(f"<{name}>{escape(value)}</{name}>")
    parts.append(f"</{operation}>{_EPILOG}")
    return "".join(parts).encode()


def parse_response(operation: str, status: int, content_type: str, body: bytes) -> SoapResult:
    """The result of one operation, or a WebConnectorProtocolError saying why the real client would fail."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown QBWC operation {operation!r}")
    is_xml = content_type.split(";", 1)[0].strip().lower() == "text/xml"
    if status != 200:
        if is_xml:
            _raise_if_fault(operation, _try_parse(body))
        raise WebConnectorProtocolError(f"{operation}: HTTP status {status}, expected 200: {_snippet(body)}")
    if not is_xml:
        raise WebConnectorProtocolError(
            f"{operation}: response content type {content_type!r}, expected text/xml: {_snippet(body)}"
        )
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise WebConnectorProtocolError(f"{operation}: response is not well-formed XML: {exc}") from exc
    if root.tag != f"{{{SOAP_ENV_NS}}}Envelope":
        raise WebConnectorProtocolError(
            f"{operation}: root element is {root.tag}, expected a SOAP 1.1 Envelope"
        )
    body_element = root.find(f"{{{SOAP_ENV_NS}}}Body")
    if body_element is None:
        raise WebConnectorProtocolError(f"{operation}: the SOAP Envelope has no Body")
    _raise_if_fault(operation, root)
    wrapper = _first_child(body_element)
    expected = f"{{{INTUIT_NS}}}{operation}Response"
    if wrapper is None or wrapper.tag != expected:
        found = "nothing" if wrapper is None else wrapper.tag
        raise WebConnectorProtocolError(f"{operation}: the SOAP Body holds {found}, expected {expected}")
    result = wrapper.find(f"{{{INTUIT_NS}}}{operation}Result")
    if result is None:
        raise WebConnectorProtocolError(
            f"{operation}: {operation}Response has no {{{INTUIT_NS}}}{operation}Result element"
        )
    if operation == "authenticate":
        return _string_array(result)
    if operation == "receiveResponseXML":
        return _int(operation, result)
    return _string(operation, result)


class SoapConnection:
    """One keep-alive HTTP/1.1 connection to a QBWC server, reopened when the server has closed it."""

    def __init__(self, url: str, *, timeout: float = 60.0, ssl_context: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._connection: http.client.HTTPConnection
        if parts.scheme == "https":
            self._connection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=timeout, context=ssl_context
            )
        else:
            self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def call(self, operation: str, arguments: Arguments | None = None) -> SoapResult:
        """Send one operation and return its parsed result."""
        body = build_envelope(operation, arguments)
        status, content_type, data = self.post(operation, body)
        return parse_response(operation, status, content_type, data)

    def post(self, operation: str, body: bytes) -> tuple[int, str, bytes]:
        """POST an envelope; returns status, Content-Type and body. Retries once on a stale keep-alive."""
        headers = request_headers(operation)
        for attempt in (1, 2):
            reused = self._connection.sock is not None
            try:
                self._connection.request("POST", self._path, body, headers)
                response = self._connection.getresponse()
                data = response.read()
            except ConnectionError as exc:  # includes RemoteDisconnected: closed before any response byte
                self._connection.close()
                # A server may close an idle keep-alive connection just as we send; .NET retries that too.
                if reused and attempt == 1:
                    continue
                raise WebConnectorTransportError(f"{operation}: {self.url}: {exc!r}") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._connection.close()
                raise WebConnectorTransportError(f"{operation}: {self.url}: {exc!r}") from exc
            return response.status, response.getheader("Content-Type") or "", data
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> SoapConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def soap_call(
    url: str,
    operation: str,
    arguments: Arguments | None = None,
    *,
    timeout: float = 60.0,
    ssl_context: ssl.SSLContext | None = None,
) -> SoapResult:
    """Make one call on a fresh connection: for tests of single operations."""
    with SoapConnection(url, timeout=timeout, ssl_context=ssl_context) as connection:
        return connection.call(operation, arguments)


def _try_parse(body: bytes) -> etree._Element | None:
    try:
        return etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError:
        return None


def _raise_if_fault(operation: str, root: etree._Element | None) -> None:
    if root is None:
        return
    fault = root.find(f"{{{SOAP_ENV_NS}}}Body/{{{SOAP_ENV_NS}}}Fault")
    if fault is not None:
        raise SoapFault(operation, fault.findtext("faultcode") or "", fault.findtext("faultstring") or "")


def _first_child(element: etree._Element) -> etree._Element | None:
    return next((child for child in element if isinstance(child.tag, str)), None)


def _is_nil(element: etree._Element) -> bool:
    return element.get(f"{{{XSI_NS}}}nil") in ("true", "1")


def _string(operation: str, element: etree._Element) -> str:
    child = _first_child(element)
    if child is not None:
        # The .NET reader refuses element content in an xs:string: the qbXML was not escaped.
        raise WebConnectorProtocolError(
            f"{operation}: {operation}Result holds an element ({child.tag}); strings must be escaped text"
        )
    return "" if _is_nil(element) else "".join(element.itertext())


def _string_array(element: etree._Element) -> list[str]:
    items: list[str] = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag != f"{{{INTUIT_NS}}}string":
            # QBWC sees no items and fails with QBWC1012 "Index out of range" (PROTOCOL.md §5.1).
            raise WebConnectorProtocolError(
                f"authenticate: authenticateResult item is {child.tag}, expected {{{INTUIT_NS}}}string "
                "(the real client fails with QBWC1012)"
            )
        items.append(_string("authenticate", child))
    if len(items) < 2:
        raise WebConnectorProtocolError(
            f"authenticate: authenticateResult has {len(items)} item(s); QBWC reads [0] ticket and [1] "
            "company file or nvu/none (the real client fails with QBWC1012)"
        )
    return items


def _int(operation: str, element: etree._Element) -> int:
    text = "".join(element.itertext()).strip(" \t\r\n")
    if _is_nil(element) or not _XSD_INT.fullmatch(text) or not -(2**31) <= int(text) < 2**31:
        raise WebConnectorProtocolError(f"{operation}: {operation}Result is {text!r}, expected an xs:int")
    return int(text)


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    return repr(text if len(text) <= limit else text[:limit] + "…")
