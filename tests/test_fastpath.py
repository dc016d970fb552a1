"""The fast path answers exactly as Spyne would: same arguments in, same bytes out.

Spyne is the reference implementation of the WSDL; the fast path only exists for speed, so for
every operation and awkward values (markup characters, carriage returns, non-ASCII, empty
strings) both must read the same arguments and write byte-identical replies. The session logic
here is a recording stand-in returning fixed values: what is under test is the SOAP codec.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from spyne.server.wsgi import WsgiApplication

from qbwc_server.webconnector.fastpath import FastPath
from qbwc_server.webconnector.service import build_soap_application
from tests.wire import envelope

pytestmark = pytest.mark.spyne

AWKWARD = "a & b < c > d \"quoted\" 'single' caf\u00e9 \u2014 \u65e5\u672c\r\nline2\ttab"
QBXML = (
    '<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="13.0"?>\n'
    '<QBXML><QBXMLMsgsRq onError="stopOnError"/></QBXML>'
)


class RecordingSessions:
    """Returns `result` from every operation and records the arguments it was called with."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        def operation(*args: Any) -> Any:
            self.calls.append((name, tuple(a or "" if not isinstance(a, int) else a for a in args)))
            return self.result

        return operation


def spyne_answer(sessions: RecordingSessions, body: bytes) -> bytes:
    app = WsgiApplication(build_soap_application(sessions))  # type: ignore[arg-type]
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/qbwc",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "text/xml; charset=utf-8",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    statuses: list[str] = []
    reply = b"".join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    assert statuses == ["200 OK"], reply
    return reply


CASES = [
    ("serverVersion", (), "qbwc-server 0.1.0"),
    ("clientVersion", (("strVersion", "2.3.0.215"),), ""),
    ("clientVersion", (("strVersion", AWKWARD),), "W:" + AWKWARD),
    ("authenticate", (("strUserName", "acme"), ("strPassword", AWKWARD)), ["0123abcd" * 4, ""]),
    ("authenticate", (("strUserName", ""), ("strPassword", "")), ["", "none", "60"]),
    ("authenticate", (("strUserName", "x"), ("strPassword", "y")), ["", "nvu"]),
    (
        "sendRequestXML",
        (
            ("ticket", "t"),
            ("strHCPResponse", QBXML + AWKWARD),
            ("strCompanyFileName", r"C:\Co & Co.QBW"),
            ("qbXMLCountry", "US"),
            ("qbXMLMajorVers", 13),
            ("qbXMLMinorVers", 0),
        ),
        QBXML + AWKWARD,
    ),
    ("receiveResponseXML", (("ticket", "t"), ("response", QBXML), ("hresult", ""), ("message", "")), 100),
    (
        "receiveResponseXML",
        (("ticket", "t"), ("response", ""), ("hresult", "0x80040400"), ("message", AWKWARD)),
        -1,
    ),
    ("connectionError", (("ticket", "t"), ("hresult", "0x80040408"), ("message", AWKWARD)), "done"),
    ("getLastError", (("ticket", "t"),), "NoOp"),
    ("getLastError", (("ticket", ""),), AWKWARD),
    ("closeConnection", (("ticket", "t"),), "Done: 2 raw qbXML requests; 1 needs attention."),
]


@pytest.mark.parametrize(
    ("operation", "children", "result"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_fast_path_matches_spyne_byte_for_byte(
    operation: str, children: tuple[Any, ...], result: Any
) -> None:
    body = envelope(operation, *children)
    fast_sessions, spyne_sessions = RecordingSessions(result), RecordingSessions(result)
    fast = FastPath(fast_sessions).answer(body)  # type: ignore[arg-type]
    assert fast is not None, "the fast path must take every plain QBWC request"
    assert fast == spyne_answer(spyne_sessions, body)
    assert fast_sessions.calls == spyne_sessions.calls != []


@pytest.mark.parametrize(
    "body",
    [
        b"not xml at all",
        envelope("noSuchOperation", ("ticket", "t")),
        envelope("sendRequestXML", ("ticket", "t"), ("qbXMLMajorVers", "thirteen"), ("qbXMLMinorVers", 0)),
        envelope("sendRequestXML", ("ticket", "t"), ("qbXMLMajorVers", 2**40), ("qbXMLMinorVers", 0)),
        envelope("authenticate", ("strUserName", "a"), ("strUserName", "b")),
        envelope("authenticate", ("somethingElse", "a")),
        envelope("getInteractiveURL", ("wcTicket", "t"), ("sessionID", "s")),
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<q1:authenticate xmlns:q1="http://developer.intuit.com/"><q1:strUserName xsi:type="xsd:string"'
        b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">u</q1:strUserName></q1:authenticate>'
        b"</soap:Body></soap:Envelope>",
    ],
    ids=[
        "garbage",
        "unknown-op",
        "bad-int",
        "int-overflow",
        "duplicate-arg",
        "unknown-arg",
        "interactive",
        "typed-rpc",
    ],
)
def test_anything_unusual_is_left_to_spyne(body: bytes) -> None:
    sessions = RecordingSessions("x")
    assert FastPath(sessions).answer(body) is None  # type: ignore[arg-type]
    assert sessions.calls == []
