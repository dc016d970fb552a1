"""SOAP faults the edge writes itself, and the one log line every fault gets.

Anything a request can put into a fault (a value, a name, a database error quoting it) is
escaped and capped before it is logged, so no request can forge log lines or flood the log.
`loggable` is local to the edge for now; a shared helper may replace it.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from qbwc_server.logsafe import safe
from qbwc_server.webconnector.names import SOAP_ENV

log = logging.getLogger(__name__)

#: Longest piece of request-derived text one log line carries.
LOG_CAP = 500
SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"

StartResponse = Callable[..., Any]


def loggable(value: object, cap: int = LOG_CAP) -> str:
    """`value` as text safe for one log line (logsafe.safe: control characters escaped, capped)."""
    return safe(value, cap)


def envelope(code: str, message: str) -> bytes:
    """A SOAP 1.1 fault, written as Spyne writes its own (`code` is Client or Server)."""
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        f'<soap11env:Envelope xmlns:soap11env="{SOAP_ENV}"><soap11env:Body>'
        f"<soap11env:Fault><faultcode>soap11env:{code}</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soap11env:Fault></soap11env:Body></soap11env:Envelope>"
    ).encode()


def respond(
    start_response: StartResponse,
    status: str,
    code: str,
    message: str,
    headers: Iterable[tuple[str, str]] = (),
) -> list[bytes]:
    """Answer with a fault: the Web Connector gets SOAP whatever went wrong, never HTML."""
    payload = envelope(code, message)
    start_response(
        status,
        [("Content-Type", SOAP_CONTENT_TYPE), ("Content-Length", str(len(payload))), *headers],
    )
    return [payload]


def where(exc: BaseException) -> str:
    """Where `exc` was raised, as file:line of our two innermost frames (and the very innermost
    when that is a library's): enough to find a bug from one line, without a traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown"
    shown = [f for f in frames if "qbwc_server" in Path(f.filename).parts][-2:]
    if frames[-1] not in shown:
        shown.append(frames[-1])
    return " > ".join(f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in shown)


def log_server_error(operation: str, exc: BaseException) -> None:
    """One error line for a call that failed on our side: what, why, where."""
    log.error(
        "%s failed: %s: %s (at %s)",
        loggable(operation or "a SOAP call", 80),
        type(exc).__name__,
        loggable(exc),
        where(exc),
    )


def log_client_fault(operation: str, message: object) -> None:
    """One warning line for a request we could not take."""
    log.warning("refused a malformed %s request: %s", loggable(operation or "SOAP", 80), loggable(message))
