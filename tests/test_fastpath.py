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
from lxml import etree
from spyne.server.wsgi import WsgiApplication

from qbwc_server.webconnector.fastpath import FastPath
from qbwc_server.webconnector.service import build_soap_application
from qbwc_server.webconnector.session import WebConnectorSessions
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
        envelope("sendRequestXML", ("ticket", "t"), ("qbXMLMajorVers", "1_3"), ("qbXMLMinorVers", 0)),
        envelope(
            "sendRequestXML", ("ticket", "t"), ("qbXMLMajorVers", "\u0661\u0663"), ("qbXMLMinorVers", 0)
        ),
        envelope("sendRequestXML", ("ticket", "t"), ("qbXMLMajorVers", "\u00a013"), ("qbXMLMinorVers", 0)),
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
        "underscore-int",
        "arabic-indic-int",
        "nbsp-int",
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


def spyne_fault(body: bytes) -> str:
    """The faultcode Spyne answers `body` with."""
    app = WsgiApplication(build_soap_application(RecordingSessions("x")))  # type: ignore[arg-type]
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
    reply = b"".join(app(environ, lambda status, headers, exc_info=None: None))
    return etree.fromstring(reply).findtext(".//faultcode") or ""


@pytest.mark.parametrize("major", ["1_3", "\u0661\u0663", "\u00a013", "13.0", "thirteen", ""])
def test_both_paths_refuse_what_is_not_an_xs_int(major: str) -> None:
    """Python's int() reads "1_3" and Arabic-Indic digits as 13; xs:int takes ASCII digits only."""
    body = envelope("sendRequestXML", ("ticket", "t"), ("qbXMLMajorVers", major), ("qbXMLMinorVers", 0))
    assert FastPath(RecordingSessions("x")).answer(body) is None  # type: ignore[arg-type]
    assert spyne_fault(body).endswith("Client.ValidationError")


@pytest.mark.parametrize("major", [" 13 ", "+13", "\t013\r\n", "-0"])
def test_both_paths_read_the_xs_int_forms_alike(major: str) -> None:
    body = envelope("sendRequestXML", ("ticket", "t"), ("qbXMLMajorVers", major), ("qbXMLMinorVers", 0))
    fast_sessions, spyne_sessions = RecordingSessions("x"), RecordingSessions("x")
    assert FastPath(fast_sessions).answer(body) == spyne_answer(spyne_sessions, body)  # type: ignore[arg-type]
    assert fast_sessions.calls == spyne_sessions.calls


def test_a_body_in_chunks_is_read_as_a_stream_with_the_same_reply() -> None:
    """The edge hands the body over as it arrived; once recognised, the chunks are let go."""
    body = envelope(
        "receiveResponseXML", ("ticket", "t"), ("response", QBXML * 2000 + AWKWARD), ("hresult", "")
    )
    chunks = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    fast_sessions, whole_sessions = RecordingSessions(42), RecordingSessions(42)
    assert FastPath(fast_sessions).answer(chunks) == FastPath(whole_sessions).answer(body)  # type: ignore[arg-type]
    assert fast_sessions.calls == whole_sessions.calls and chunks == []
    unusual = envelope("getInteractiveURL", ("wcTicket", "t"))
    kept = [unusual[:50], unusual[50:]]
    assert FastPath(RecordingSessions("x")).answer(kept) is None  # type: ignore[arg-type]
    assert b"".join(kept) == unusual, "what the fast path declines is left whole for Spyne"


class VersionedSessions(RecordingSessions):
    """The real clientVersion rule (old Web Connectors are warned), recording like the others."""

    def client_version(self, version: str | None) -> str:
        self.calls.append(("client_version", (version,)))
        return WebConnectorSessions.client_version(self, version)  # type: ignore[arg-type]


def test_repeated_version_calls_get_the_same_replies_as_spyne_each_time() -> None:
    """An idle poll's serverVersion and clientVersion come byte-identical every minute: their
    replies are kept, and every repeat must still be exactly what Spyne says for that request."""
    sessions = VersionedSessions("qbwc-server 0.1.0")
    fast = FastPath(sessions)  # type: ignore[arg-type]
    bodies = [
        envelope("serverVersion"),
        envelope("clientVersion", ("strVersion", "2.3.0.215")),
        envelope("clientVersion", ("strVersion", "1.5.0.1")),
    ]
    expected = [spyne_answer(VersionedSessions("qbwc-server 0.1.0"), body) for body in bodies]
    assert b"W:Web Connector 1.5.0.1 is old" in expected[2] and b"W:" not in expected[1]
    for _ in range(3):
        assert [fast.answer(body) for body in bodies] == expected
    assert [name for name, _ in sessions.calls] == ["server_version", "client_version", "client_version"]
