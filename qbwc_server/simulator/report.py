"""A readable transcript of a simulated session, for `qbwc-server simulate` and failing tests.
One line per SOAP call, then a summary; never prints the password.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping

from qbwc_server.simulator.webconnector import Call, SessionReport

_WIDTH = 48
_MAX_TEXT = 40
_VERSION = re.compile(r"<\?qbxml\s+version\s*=\s*[\"']([^\"']*)[\"']")
_MESSAGE = re.compile(r"<([A-Za-z0-9]+R[qs])[\s/>]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENVELOPES = frozenset({"QBXMLMsgsRq", "QBXMLMsgsRs", "QBPOSXMLMsgsRq", "QBPOSXMLMsgsRs"})


def format_report(report: SessionReport) -> str:
    """The transcript: `operation(key arguments) -> result` per call, then one summary line."""
    lines = [_line(call) for call in report.calls]
    lines.append(_summary(report))
    return "\n".join(lines)


def _line(call: Call) -> str:
    signature = f"{call.operation}({', '.join(_arguments(call.operation, call.arguments))})"
    return f"{signature:<{_WIDTH}} -> {_result(call)}"


def _arguments(operation: str, arguments: Mapping[str, str | int]) -> list[str]:
    shown: list[str] = []
    if "ticket" in arguments:
        shown.append(f"ticket={_ticket(str(arguments['ticket']))}")
    if operation == "clientVersion":
        shown.append(f"strVersion={_text(str(arguments['strVersion']))}")
    elif operation == "authenticate":
        shown.append(f"strUserName={_text(str(arguments['strUserName']))}")  # never the password
    elif operation == "sendRequestXML":
        hcp = str(arguments["strHCPResponse"])
        if hcp:
            shown.append(f"HCP={_size(hcp)}")
            shown.append(f"strCompanyFileName={_text(str(arguments['strCompanyFileName']), tail=True)}")
            major, minor = arguments["qbXMLMajorVers"], arguments["qbXMLMinorVers"]
            shown.append(f"qbXML={arguments['qbXMLCountry']} {major}.{minor}")
    elif operation in ("receiveResponseXML", "connectionError"):
        response = str(arguments.get("response", ""))
        if response:
            shown.append(_qbxml(response))
        if arguments.get("hresult") or arguments.get("message") or operation == "connectionError":
            shown.append(f"hresult={_text(str(arguments['hresult']))}")
            shown.append(f"message={_text(str(arguments['message']))}")
    return shown


def _result(call: Call) -> str:
    result = call.result
    if isinstance(result, tuple):
        items = [_ticket(result[0]), *(_text(item) for item in result[1:])] if result else []
        return f"[{', '.join(items)}]"
    if isinstance(result, int):
        return str(result)
    if call.operation == "sendRequestXML" and result:
        return _qbxml(result)
    return _text(result)


def _qbxml(document: str) -> str:
    """`qbXML 13.0: CustomerAddRq x2, ItemInventoryQueryRq (412 B)`; names are the *Rq/*Rs elements."""
    counts = Counter(name for name in _MESSAGE.findall(document) if name not in _ENVELOPES)
    names = ", ".join(name if n == 1 else f"{name} x{n}" for name, n in counts.items()) or "no requests"
    version = _VERSION.search(document)
    prefix = f"qbXML {version[1]}: " if version else ""
    return f"{prefix}{names} ({_size(document)})"


def _summary(report: SessionReport) -> str:
    n = report.requests_processed
    parts = [
        f"Session {report.outcome}: {n} request{'' if n == 1 else 's'} processed in {report.seconds:.2f} s"
    ]
    if report.progress:
        parts.append(f"progress {', '.join(map(str, report.progress))}")
    if report.postpone_seconds is not None:
        parts.append(f"postpone {report.postpone_seconds} s")
    if report.warnings:
        parts.append(f"warnings: {'; '.join(_text(w) for w in report.warnings)}")
    if report.errors:
        parts.append(f"errors: {'; '.join(_text(e) for e in report.errors)}")
    return "; ".join(parts) + "."


def _ticket(ticket: str) -> str:
    return _quote(ticket if len(ticket) <= 6 else ticket[:4] + "…")


def _text(text: str, *, tail: bool = False) -> str:
    """Shortened to one line; `tail` keeps the end, which is what matters in a Windows path."""
    if len(text) > _MAX_TEXT:
        text = "…" + text[1 - _MAX_TEXT :] if tail else text[: _MAX_TEXT - 1] + "…"
    return _quote(text)


def _quote(text: str) -> str:
    # Not repr(): it would double every backslash of a Windows path.
    return "'" + _CONTROL.sub(lambda m: repr(m[0])[1:-1], text) + "'"


def _size(text: str) -> str:
    size = len(text.encode())
    return f"{size} B" if size < 1000 else f"{size / 1000:.1f} kB"
