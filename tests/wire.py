"""Raw SOAP over HTTP for protocol tests: the exact envelopes and headers QBWC sends (PROTOCOL.md §4).

Deliberately independent of the simulator, so a mistake there cannot hide one in the server.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from lxml import etree

TNS = "http://developer.intuit.com/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
USER_AGENT = "Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client Protocol 2.0.50727.9151)"


def envelope(operation: str, *children: tuple[str, str | int]) -> bytes:
    """A document/literal envelope exactly as the .NET client writes it; empty strings as `<x />`."""
    parts = []
    for name, value in children:
        text = escape(str(value))
        parts.append(f"<{name}>{text}</{name}>" if text else f"<{name} />")
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>'
        f'<{operation} xmlns="{TNS}">{"".join(parts)}</{operation}>'
        "</soap:Body></soap:Envelope>"
    ).encode()


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes

    @property
    def root(self) -> etree._Element:
        return etree.fromstring(self.body)

    def result(self, operation: str) -> etree._Element:
        """The `<opResult>` element, found strictly by namespace (as the .NET client does)."""
        found = self.root.find(f"{{{SOAP_ENV}}}Body/{{{TNS}}}{operation}Response/{{{TNS}}}{operation}Result")
        assert found is not None, f"no {operation}Result in the intuit namespace:\n{self.body.decode()}"
        return found

    def text(self, operation: str) -> str:
        return self.result(operation).text or ""

    def strings(self, operation: str) -> list[str]:
        items = list(self.result(operation))
        assert all(item.tag == f"{{{TNS}}}string" for item in items), self.body.decode()
        return [item.text or "" for item in items]

    def integer(self, operation: str) -> int:
        return int(self.text(operation))


def post(
    url: str, body: bytes, *, soap_action: str | None = None, method: str = "POST", path_suffix: str = ""
) -> Reply:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Content-Type": "text/xml; charset=utf-8", "User-Agent": USER_AGENT}
    if soap_action is not None:
        headers["SOAPAction"] = soap_action
    try:
        conn.request(
            method, parts.path + path_suffix, body=body if method == "POST" else None, headers=headers
        )
        response = conn.getresponse()
        return Reply(response.status, response.getheader("Content-Type", ""), response.read())
    finally:
        conn.close()


def call(url: str, operation: str, *children: tuple[str, str | int], quoted_action: bool = True) -> Reply:
    """One operation with the quoted SOAPAction QBWC sends."""
    action = f"{TNS}{operation}"
    return post(url, envelope(operation, *children), soap_action=f'"{action}"' if quoted_action else action)
