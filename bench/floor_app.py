"""The HTTP floor: a WSGI app that answers every Web Connector call with a fixed idle reply.

Served by bench/polls.py --floor under the same gunicorn settings as the server, it measures
what gunicorn and the load clients cost per poll with no application work at all: the bound
that no change inside qbwc-server can beat on this machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

_REPLY = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n"
    b'<soap11env:Envelope xmlns:soap11env="http://schemas.xmlsoap.org/soap/envelope/"'
    b' xmlns:tns="http://developer.intuit.com/"><soap11env:Body><tns:authenticateResponse>'
    b"<tns:authenticateResult><tns:string></tns:string><tns:string>none</tns:string>"
    b"<tns:string>60</tns:string></tns:authenticateResult></tns:authenticateResponse>"
    b"</soap11env:Body></soap11env:Envelope>"
)
_HEADERS = [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(_REPLY)))]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Read the body (as the server does), answer the idle reply; /healthz for the start-up check."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("200 OK", _HEADERS)
    return [_REPLY]
