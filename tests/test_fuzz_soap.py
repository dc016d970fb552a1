"""Hostile SOAP envelopes over real HTTP: an answer the Web Connector can read, never a traceback.

Hypothesis builds envelopes for the eight WSDL operations (and the interactive ones, and an
unknown one) in the shapes QBWC sends, then makes them hostile: huge and odd strings, control
characters, non-ASCII, entities and character references, CDATA, wrong types and out-of-range
ints, missing, duplicate, unknown, unqualified or reordered children, xsi:nil, bad namespaces,
SOAP 1.2, declared encodings, non-UTF-8 bytes, truncated XML, trailing junk, DTDs (internal and
external entities, billion laughs). Each is POSTed to the served app. Every reply must be a
SOAP answer (200 with the operation's result, read as the .NET client reads it; or 500 with a
SOAP Fault; or an HTTP 4xx refusal), text/xml, with no traceback or HTML; a Client fault (never a
Server fault) for what the client got wrong; no entity expanded; and the app logs nothing at
ERROR and no exception. Seeded (derandomize), no example database: the same inputs every run.
bench/campaign.py runs thousands of them against gunicorn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from qbwc_server.simulator import build_envelope, host_response, parse_response
from qbwc_server.sync import raw
from qbwc_server.testing import BackgroundServer
from qbwc_server.webconnector.names import INT_ARGUMENTS, OPERATIONS, SOAP_ENV, TNS
from tests.campaign import (
    INTERACTIVE,
    Exchange,
    Expect,
    Violation,
    log_violations,
    logged_cause,
    post,
    raise_first,
    soap_violations,
)
from tests.conftest import TenantCredentials

pytestmark = [pytest.mark.campaign, pytest.mark.protocol]

CI = settings(
    max_examples=250,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
#: Every operation the fuzz calls, with its children in WSDL order.
ALL_OPERATIONS: dict[str, tuple[str, ...]] = {**OPERATIONS, **INTERACTIVE, "noSuchOperation": ("ticket",)}
#: Replaced at send time by the test tenant's credentials, so authenticate sometimes succeeds,
#: and by the ticket of a session opened for the request, so the stateful paths run too.
USERNAME, PASSWORD, TICKET = "%USERNAME%", "%PASSWORD%", "%TICKET%"
HCP = host_response(
    company_file=r"C:\Company Files\Fuzz.QBW", supported_versions=["12.0", "13.0"], country="US"
)
#: Characters XML 1.0 can carry (no surrogates, no C0 controls but tab, newline, return).
XML_CHARS = st.characters(
    exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff", include_characters="\t\n\r\x7f\x85"
)
SPECIAL_STRINGS = [
    "", " ", "\r\n", "]]>", "<x/>", "a & b", "' OR 1=1 --", "%s%n%x", "{}", "\u202egnp.exe", "Caf\u00e9",
    "\U0001f600", "\u0661\u0663", "ﬀ", "\U0010fffd", "2.3.0.215", "1.0.0.1", "0.9", "x" * 300,
    "0x80040408", "0x80040400", "nvu", "none", "NoOp", "done", USERNAME, PASSWORD, TICKET, HCP,
    HCP.replace("13.0", "99999999999.0"),
    HCP.replace("<SupportedQBXMLVersion>", "<SupportedQBXMLVersion>\u0661"),
    '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><CustomerQueryRs requestID="1" statusCode="0"/>'
    "</QBXMLMsgsRs></QBXML>",
]  # fmt: skip
#: Text that makes the document not well-formed, and what it is.
MALFORMED_TEXT = [
    ("\x01", "control-char"), ("\x0b", "control-char"), ("\x1f", "control-char"),
    ("&#1;", "bad-char-ref"), ("&#0;", "bad-char-ref"), ("&#xFFFE;", "bad-char-ref"),
    ("&#xD800;", "bad-char-ref"), ("&nbsp;", "undefined-entity"), ("&foo;", "undefined-entity"),
    ("<", "unescaped-markup"), ("&", "unescaped-markup"),
]  # fmt: skip
BAD_INTS = [
    "1_3", "\u0661\u0663", "\uff11\uff13", "\u00b2", "13.0", "1e1", "0x0D", "", " ", "thirteen", str(2**31),
    str(-(2**31) - 1), "9" * 30, "+-1", "1 3", "13abc", "NaN", "-", "+",
]  # fmt: skip
#: The body of the file an external entity would pull in: it must never come back.
SECRET_FILE = "/etc/passwd"


@dataclass(frozen=True)
class SoapCase:
    """One request: its bytes, what it deserves, and what is odd about it (for tallies)."""

    operation: str
    body: bytes
    expect: Expect
    features: tuple[str, ...]
    soap_action: str | None

    def __repr__(self) -> str:
        body = self.body if len(self.body) <= 600 else self.body[:600] + b"..."
        return (
            f"SoapCase({self.operation}, expect={self.expect.name}, features={list(self.features)},"
            f" soap_action={self.soap_action!r}, {len(self.body)} bytes: {body!r})"
        )


class _Marks:
    """What is odd about a case, and the strictest answer it calls for."""

    def __init__(self) -> None:
        self.features: list[str] = []
        self.expect = Expect.OK

    def add(self, feature: str, expect: Expect = Expect.OK) -> None:
        self.features.append(feature)
        self.expect = max(self.expect, expect)


def _text(value: str) -> str:
    """Text content escaped as lxml writes it (a carriage return kept as a reference)."""
    return escape(value).replace("\r", "&#13;")


@st.composite
def string_values(draw: st.DrawFn, huge: int) -> tuple[str, str, Expect]:
    """(the value as it goes between the tags, its feature, what it calls for)."""
    kind = draw(st.sampled_from(["text"] * 4 + ["special"] * 3 + ["huge", "cdata", "refs", "bad", "markup"]))
    if kind == "text":
        value = draw(st.text(XML_CHARS, max_size=40))
        return _text(value), "non-ascii" if any(ord(c) > 127 for c in value) else "text", Expect.OK
    if kind == "special":
        return _text(draw(st.sampled_from(SPECIAL_STRINGS))), "special-string", Expect.OK
    if kind == "huge":
        unit = draw(st.sampled_from(["a", "\u00e9", "\u65e5", "\U0001f600", "&", "<", "\r\n", " ", "]]>"]))
        return _text(unit * draw(st.integers(1000, huge))), "huge-string", Expect.OK
    if kind == "cdata":
        value = draw(st.text(XML_CHARS, max_size=40)).replace("]]>", "")
        return f"<![CDATA[{value}]]>", "cdata", Expect.OK
    if kind == "refs":
        value = draw(st.text(XML_CHARS, min_size=1, max_size=10))
        refs = "".join(f"&#{ord(c)};" if i % 2 else f"&#x{ord(c):X};" for i, c in enumerate(value))
        return refs + "&amp;&lt;&gt;&quot;&apos;", "entities", Expect.OK
    if kind == "markup":
        return "<b>bold</b> text", "element-in-string", Expect.EITHER
    bad, feature = draw(st.sampled_from(MALFORMED_TEXT))
    return _text(draw(st.text(XML_CHARS, max_size=5))) + bad, feature, Expect.CLIENT_FAULT


@st.composite
def int_values(draw: st.DrawFn) -> tuple[str, str, Expect]:
    if draw(st.integers(0, 3)) == 0:
        return _text(draw(st.sampled_from(BAD_INTS))), "bad-int", Expect.CLIENT_FAULT
    number = draw(st.integers(-(2**31), 2**31 - 1))
    form = draw(st.sampled_from(["{}", "{}", " {} ", "\n{}\t", "+{}", "000{}"]))
    if number < 0 and form in ("+{}", "000{}"):
        form = "{}"
    return form.format(number), "int" if form == "{}" else "int-formatted", Expect.OK


@st.composite
def children_of(draw: st.DrawFn, operation: str, prefix: str, marks: _Marks, huge: int) -> list[str]:
    children: list[str] = []
    for name in ALL_OPERATIONS[operation]:
        is_int = name in INT_ARGUMENTS
        shape = draw(st.sampled_from(["plain"] * 4 + ["missing", "duplicate", "nil", "unqualified", "typed"]))
        if shape == "missing":
            marks.add(
                "missing-int" if is_int else "missing-string", Expect.CLIENT_FAULT if is_int else Expect.OK
            )
            continue
        attributes, value = "", ""
        if shape == "nil":
            attributes = ' xsi:nil="true"'
            marks.add("nil-int" if is_int else "nil-string", Expect.CLIENT_FAULT if is_int else Expect.EITHER)
        elif name in ("ticket", "wcTicket") and draw(st.integers(0, 2)) == 0:
            value = TICKET
            marks.add("live-ticket")
        else:
            value, feature, expect = draw(int_values() if is_int else string_values(huge))
            marks.add(feature, expect)
        if shape == "typed":
            attributes = f' xsi:type="xsd:{"int" if is_int else "string"}"'
            marks.add("xsi-type")
        elif shape == "unqualified":  # in no namespace: an unknown child (and its argument missing)
            attributes = ' xmlns=""'
            marks.add("unqualified-child", Expect.EITHER)
        tag = f"{prefix}{name}" if shape != "unqualified" else name
        element = f"<{tag}{attributes}>{value}</{tag}>" if value else f"<{tag}{attributes} />"
        children.append(element)
        if shape == "duplicate":
            children.append(element)
            marks.add("duplicate-child", Expect.EITHER)
    for _ in range(draw(st.integers(0, 2)) if draw(st.integers(0, 4)) == 0 else 0):
        name = draw(st.sampled_from(["bogus", "strVersion", "ticket", "qbXMLMajorVers", "Extra"]))
        children.insert(draw(st.integers(0, len(children))), f"<{prefix}{name}>x</{prefix}{name}>")
        marks.add("unknown-child", Expect.EITHER)
    if len(children) > 1 and draw(st.integers(0, 9)) == 0:
        reordered = draw(st.permutations(children))
        if reordered != children:
            children = list(reordered)
            marks.add("reordered", Expect.EITHER)
    return children


@st.composite
def soap_cases(draw: st.DrawFn, huge: int = 200_000) -> SoapCase:
    """A request for one operation, valid in shape, hostile in its values and its bytes."""
    marks = _Marks()
    operation = draw(st.sampled_from(list(ALL_OPERATIONS)))
    if operation == "noSuchOperation":
        marks.add("unknown-operation", Expect.CLIENT_FAULT)
    form = draw(st.sampled_from(["qbwc"] * 6 + ["prefixed", "wrong-ns", "no-ns", "ns-no-slash"]))
    prefix = "q1:" if form == "prefixed" else ""
    children = draw(children_of(operation, prefix, marks, huge))
    namespace = {"wrong-ns": "urn:not-intuit", "no-ns": "", "ns-no-slash": TNS.rstrip("/")}.get(form, TNS)
    if form != "qbwc":
        # Unqualified, the operation is still named unambiguously: accepting it is lenient, not wrong.
        strictness = {"prefixed": Expect.OK, "no-ns": Expect.EITHER}.get(form, Expect.CLIENT_FAULT)
        marks.add(f"operation-{form}", strictness)
    declare = f' xmlns:q1="{TNS}"' if form == "prefixed" else (f' xmlns="{namespace}"' if namespace else "")
    inner = "".join(children)
    if draw(st.integers(0, 14)) == 0:  # the whole message nil: no arguments at all
        declare, inner = declare + ' xsi:nil="true"', ""
        marks.add("nil-operation", Expect.CLIENT_FAULT if operation == "sendRequestXML" else Expect.EITHER)
    op = (
        f"<{prefix}{operation}{declare}>{inner}</{prefix}{operation}>"
        if inner
        else f"<{prefix}{operation}{declare} />"
    )

    envelope_form = draw(st.sampled_from(["soap"] * 5 + ["SOAP-ENV", "default", "soap12", "no-ns"]))
    env_ns = {"soap12": SOAP12, "no-ns": ""}.get(envelope_form, SOAP_ENV)
    if envelope_form != "soap":
        marks.add(
            f"envelope-{envelope_form}",
            Expect.CLIENT_FAULT if envelope_form in ("soap12", "no-ns") else Expect.OK,
        )
    e = (
        ""
        if envelope_form in ("default", "no-ns")
        else f"{'SOAP-ENV' if envelope_form == 'SOAP-ENV' else 'soap'}:"
    )
    env_decl = f' xmlns:{e[:-1]}="{env_ns}"' if e else (f' xmlns="{env_ns}"' if env_ns else "")
    header = draw(
        st.sampled_from(
            [""] * 8 + [f"<{e}Header />", f'<{e}Header><x:Token xmlns:x="urn:x">1</x:Token></{e}Header>']
        )
    )
    if header:
        marks.add("soap-header")
    body_form = draw(st.sampled_from(["one"] * 12 + ["empty", "no-body", "two", "junk-text"]))
    content = {"one": op, "empty": "", "no-body": "", "two": op + op, "junk-text": f"junk{op}"}[body_form]
    if body_form != "one":
        strictness = Expect.CLIENT_FAULT if body_form in ("empty", "no-body") else Expect.EITHER
        marks.add(f"body-{body_form}", strictness)
    namespaces = f'{env_decl} xmlns:xsi="{XSI}" xmlns:xsd="{XSD}"'
    body_xml = "" if body_form == "no-body" else f"<{e}Body>{content}</{e}Body>"
    document = f"<{e}Envelope{namespaces}>{header}{body_xml}</{e}Envelope>"
    prolog, document = draw(prologs(document, marks))
    body = draw(encoded(prolog, document, marks))
    action = draw(
        st.sampled_from([f'"{TNS}{operation}"'] * 4 + [f"{TNS}{operation}", "", None, f'"{TNS}authenticate"'])
    )
    return SoapCase(operation, body, marks.expect, tuple(marks.features), action)


@st.composite
def prologs(draw: st.DrawFn, document: str, marks: _Marks) -> tuple[str, str]:
    """An XML declaration (or none), comments, and sometimes a DTD whose entity a value uses."""
    declaration = draw(st.sampled_from([
        '<?xml version="1.0" encoding="utf-8"?>', "", '<?xml version="1.0"?>',
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>', '<?xml version="1.0" encoding="x-bogus"?>',
    ]))  # fmt: skip
    extra = draw(st.sampled_from([""] * 6 + ["<!-- a comment -->", "<?pi data?>", "\n  "]))
    dtd = draw(st.sampled_from(["none"] * 8 + ["internal", "external", "laughs"]))
    if dtd == "none":
        return declaration + extra, document
    marks.add(f"dtd-{dtd}", Expect.EITHER)
    if dtd == "internal":
        entities = '<!ENTITY e "expanded-entity">'
    elif dtd == "external":
        entities = f'<!ENTITY e SYSTEM "file://{SECRET_FILE}">'
    else:
        entities = '<!ENTITY l0 "lol">' + "".join(
            f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 9)
        ) + '<!ENTITY e "&l8;">'  # fmt: skip
    root = document[1 : document.index(" ")]
    # The entity goes where an echoing value would carry it (clientVersion echoes an old version).
    used = (
        document.replace(">1.0.0.1<", ">1.&e;<", 1)
        if ">1.0.0.1<" in document
        else document.replace("</", "&e;</", 1)
    )
    return f"{declaration}<!DOCTYPE {root} [{entities}]>{extra}", used


@st.composite
def encoded(draw: st.DrawFn, prolog: str, document: str, marks: _Marks) -> bytes:
    """The bytes on the wire: UTF-8 mostly; other declared encodings; non-UTF-8; cut short."""
    encoding = draw(
        st.sampled_from(
            ["utf-8"] * 8 + ["bom", "latin-1", "utf-16", "cp1252", "latin-1-undeclared", "bad-bytes"]
        )
    )
    text_ = prolog + document
    if "x-bogus" in prolog:  # a byte order mark says what the bytes are: trusting it is lenient
        with_bom = encoding in ("bom", "utf-16")
        marks.add("bogus-encoding", Expect.EITHER if with_bom else Expect.CLIENT_FAULT)
    if encoding in ("latin-1", "cp1252", "utf-16") and prolog.startswith("<?xml"):
        label = {"latin-1": "ISO-8859-1", "cp1252": "windows-1252", "utf-16": "UTF-16"}[encoding]
        declared = prolog.replace('encoding="utf-8"', f'encoding="{label}"').replace(
            'encoding="UTF-8"', f'encoding="{label}"'
        )
        if 'encoding="' not in declared:
            declared = declared.replace('version="1.0"', f'version="1.0" encoding="{label}"', 1)
        try:
            body = (declared + document).encode(encoding)
            marks.add(f"encoding-{encoding}")
        except UnicodeEncodeError:
            body = text_.encode("utf-8")
    elif encoding == "bom":
        body = b"\xef\xbb\xbf" + text_.encode("utf-8")
        marks.add("utf-8-bom")
    elif encoding == "latin-1-undeclared":
        body = text_.encode("latin-1", errors="replace")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            marks.add("non-utf-8", Expect.CLIENT_FAULT)
    elif encoding == "bad-bytes":
        junk = draw(
            st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])
        )
        raw = text_.encode("utf-8")
        at = raw.find(b"Body>") + 5
        body = raw[:at] + junk + raw[at:]
        marks.add("non-utf-8", Expect.CLIENT_FAULT)
    else:
        body = text_.encode("utf-8")
    ending = draw(st.sampled_from(["whole"] * 12 + ["truncated", "trailing-junk"]))
    if ending == "truncated":
        body = body[: draw(st.integers(0, max(0, len(body) - 2)))]
        marks.add("truncated", Expect.CLIENT_FAULT)
    elif ending == "trailing-junk":
        body += "<junk/>".encode("utf-16" if encoding == "utf-16" else "utf-8")[
            2 if encoding == "utf-16" else 0 :
        ]
        marks.add("trailing-junk", Expect.CLIENT_FAULT)
    return body


# -- one case, judged ------------------------------------------------------------------------------


def send_case(url: str, case: SoapCase, credentials: tuple[str, str], ticket: str = "") -> Exchange:
    """POST the case with the placeholders filled in."""
    body = case.body
    for placeholder, value in ((USERNAME, credentials[0]), (PASSWORD, credentials[1]), (TICKET, ticket)):
        body = body.replace(placeholder.encode(), value.encode())
    headers = {} if case.soap_action is None else {"SOAPAction": case.soap_action}
    return post(url, body, headers=headers)


def open_session(url: str, engine: Engine, tenant_id: int, credentials: tuple[str, str]) -> str:
    """A fresh session with one raw read queued (earlier examples' work cleared), for TICKET."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM jobs WHERE tenant_id = :t"), {"t": tenant_id})
        conn.execute(
            text("UPDATE tenants SET failed_logins = 0, locked_until = NULL WHERE id = :t"), {"t": tenant_id}
        )
        raw.enqueue_raw(
            conn, tenant_id, '<CustomerQueryRq requestID="1"><MaxReturned>1</MaxReturned></CustomerQueryRq>'
        )
    arguments = {"strUserName": credentials[0], "strPassword": credentials[1]}
    reply = post(url, build_envelope("authenticate", arguments))
    answer = parse_response("authenticate", reply.status, reply.content_type, reply.body)
    assert isinstance(answer, list) and answer[0], answer
    return answer[0]


def case_violations(case: SoapCase, reply: Exchange) -> list[Violation]:
    found = soap_violations(case.operation, case.expect, reply)
    if b"root:x:0:0" in reply.body or b"lollollol" in reply.body or b"expanded-entity" in reply.body:
        found.append(Violation("entity-expanded", repr(reply.body[:300])))
    return found


@pytest.fixture
def fuzz_tenant(make_tenant: Callable[..., TenantCredentials]) -> TenantCredentials:
    return make_tenant("fuzz")


@CI
@given(case=soap_cases())
def test_any_envelope_gets_a_soap_answer_and_a_client_fault_for_client_mistakes(
    server: BackgroundServer,
    engine: Engine,
    fuzz_tenant: TenantCredentials,
    caplog: pytest.LogCaptureFixture,
    case: SoapCase,
) -> None:
    credentials = (fuzz_tenant.username, fuzz_tenant.password)
    ticket = (
        open_session(server.url, engine, fuzz_tenant.id, credentials) if TICKET.encode() in case.body else ""
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        reply = send_case(server.url, case, credentials, ticket)
    raise_first(case_violations(case, reply) + log_violations(caplog.records), logged_cause(caplog.records))


def test_the_strategy_covers_every_kind_of_hostility() -> None:
    """The generator reaches what the campaign promises (a cheap check that it was not narrowed)."""
    seen: set[str] = set()
    expects: set[Expect] = set()

    @settings(max_examples=400, derandomize=True, database=None, deadline=None)
    @given(case=soap_cases(huge=2000))
    def collect(case: SoapCase) -> None:
        seen.update(case.features)
        expects.add(case.expect)

    collect()
    wanted = {
        "huge-string", "control-char", "non-ascii", "entities", "bad-int", "missing-int", "duplicate-child",
        "unknown-child", "operation-wrong-ns", "envelope-soap12", "nil-string", "nil-int", "non-utf-8",
        "truncated", "dtd-internal", "dtd-external", "dtd-laughs", "cdata", "encoding-utf-16",
        "nil-operation", "body-empty", "body-no-body", "live-ticket",
    }  # fmt: skip
    assert wanted <= seen, sorted(wanted - seen)
    assert expects == set(Expect)
