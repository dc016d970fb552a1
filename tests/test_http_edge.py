"""The HTTP/SOAP edge over real HTTP: body limits, methods, bad bytes, integer arguments, one-line
logs, health and readiness (the threaded server), then what only gunicorn shows: chunked bodies,
slow clients, and a worker recycled after a large call.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from qbwc_server import queue
from qbwc_server.admin import tenants
from qbwc_server.admin.settings import set_pull_settings, set_push_settings
from qbwc_server.app import create_app
from qbwc_server.config import Settings, load_settings
from qbwc_server.db import make_engine
from qbwc_server.models import JobKind
from qbwc_server.simulator import CannedProcessor, SimulatedWebConnector
from qbwc_server.testing import BackgroundServer, spawn_gunicorn
from tests.wire import SOAP_ENV, call, envelope, post

pytestmark = pytest.mark.protocol

MB = 1024 * 1024


def raw(
    url: str,
    head: str,
    parts: list[bytes] = (),  # type: ignore[assignment]
    *,
    pause: float = 0.0,
    timeout: float = 30.0,
) -> tuple[int, dict[str, str], bytes]:
    """Send `head` (request line and headers, CRLF-joined, without the blank line) and `parts`
    (with `pause` seconds between them) on a fresh connection; read the reply until it is whole
    or the server closes. Returns (status, headers, body)."""
    parts_url = urlsplit(url)
    with socket.create_connection((parts_url.hostname, parts_url.port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n")
        try:
            for part in parts:
                if pause:
                    time.sleep(pause)
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early and closed: read what it said
        return read_reply(sock)


def read_reply(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def post_head(path: str, host: str, *extra: str) -> str:
    return "\r\n".join(
        [
            f"POST {path} HTTP/1.1",
            f"Host: {host}",
            "Content-Type: text/xml; charset=utf-8",
            'SOAPAction: "http://developer.intuit.com/serverVersion"',
            *extra,
        ]
    )


def fault_of(body: bytes) -> tuple[str, str]:
    from lxml import etree

    fault = etree.fromstring(body).find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None, body
    return fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""


def chunked(data: bytes, size: int = 1000) -> list[bytes]:
    pieces = [
        f"{len(data[i : i + size]):x}\r\n".encode() + data[i : i + size] + b"\r\n"
        for i in range(0, len(data), size)
    ]
    return [*pieces, b"0\r\n\r\n"]


def receive_envelope(ticket: str, response: str) -> bytes:
    return envelope(
        "receiveResponseXML", ("ticket", ticket), ("response", response), ("hresult", ""), ("message", "")
    )


@pytest.fixture
def small_server(settings: Settings, engine: Engine) -> Iterator[BackgroundServer]:
    """The app with a 1 MB body limit."""
    limited = replace(settings, gunicorn=replace(settings.gunicorn, max_body_mb=1))
    with BackgroundServer(create_app(limited, engine)) as running:
        yield running


# -- body limit (1) ------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(small_server) -> None:
    host = urlsplit(small_server.url).netloc
    status, headers, body = raw(
        small_server.url, post_head("/qbwc", host, f"Content-Length: {2 * MB}"), [b"<soap:Envelope"]
    )
    assert status == 413 and headers["content-type"] == "text/xml; charset=utf-8"
    code, message = fault_of(body)
    assert code.endswith("Client") and "1 MB" in message
    assert b"Traceback" not in body


def test_a_body_under_the_limit_is_answered_whatever_path_reads_it(small_server, tenant) -> None:
    # The fast path: a plain receiveResponseXML of 900 kB (a bad ticket: -1).
    big = "x" * (900 * 1024)
    assert (
        call(small_server.url, "receiveResponseXML", ("ticket", "t"), ("response", big)).integer(
            "receiveResponseXML"
        )
        == -1
    )
    # Spyne (RPC-style typed arguments): the same limit, no longer Spyne's own 2 MB "Request too long".
    limited_rpc = (
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        '<soap:Body><q1:authenticate xmlns:q1="http://developer.intuit.com/">'
        f'<q1:strUserName xsi:type="xsd:string">{tenant.username}</q1:strUserName>'
        f'<q1:strPassword xsi:type="xsd:string">{"p" * (900 * 1024)}</q1:strPassword>'
        "</q1:authenticate></soap:Body></soap:Envelope>"
    ).encode()
    reply = post(small_server.url, limited_rpc, soap_action='"http://developer.intuit.com/authenticate"')
    assert reply.strings("authenticate") == ["", "nvu"]


def test_spyne_takes_requests_up_to_the_configured_limit(server, tenant) -> None:
    """Spyne's own cap was 2 MB; it now has the body limit (100 MB by default)."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        '<soap:Body><q1:authenticate xmlns:q1="http://developer.intuit.com/">'
        f'<q1:strUserName xsi:type="xsd:string">{tenant.username}</q1:strUserName>'
        f'<q1:strPassword xsi:type="xsd:string">{"p" * (3 * MB)}</q1:strPassword>'
        "</q1:authenticate></soap:Body></soap:Envelope>"
    ).encode()
    reply = post(server.url, body, soap_action='"http://developer.intuit.com/authenticate"')
    assert reply.status == 200, reply.body[:500]
    assert reply.strings("authenticate") == ["", "nvu"]


def test_a_malformed_content_length_is_a_client_error(server) -> None:
    host = urlsplit(server.url).netloc
    status, _, body = raw(server.url, post_head("/qbwc", host, "Content-Length: lots"))
    assert status == 400 and fault_of(body)[0].endswith("Client")


# -- methods (9) ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "FOO"])
def test_other_methods_get_405_with_allow(server, method: str) -> None:
    host = urlsplit(server.url).netloc
    body = envelope("serverVersion")
    head = "\r\n".join(
        [
            f"{method} /qbwc HTTP/1.1",
            f"Host: {host}",
            "Content-Type: text/xml; charset=utf-8",
            f"Content-Length: {len(body)}",
        ]
    )
    status, headers, reply = raw(server.url, head, [body])
    assert status == 405
    assert headers["allow"] == "GET, HEAD, POST"
    assert b"serverVersionResult" not in reply


# -- bad bytes (3) -------------------------------------------------------------------------------

LATIN1_ENVELOPE = envelope("clientVersion", ("strVersion", "x")).replace(
    b">x<", "> caf\xe9 <".encode("latin-1")
)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (LATIN1_ENVELOPE, "text/xml; charset=utf-8"),
        (b"\xff\xfe\x00<\x00s\x00o\x00a\x00p", "text/xml; charset=utf-8"),
        # Interactive operations go to Spyne, which reads the HTTP charset.
        (envelope("interactiveDone", ("wcTicket", "t")), "text/xml; charset=no-such-charset"),
        (envelope("interactiveDone", ("wcTicket", "t")), "text/xml; charset=utf-16"),
        (
            envelope("clientVersion", ("strVersion", "2.3")).replace(
                b'<clientVersion xmlns="', b'<clientVersion xsi:nil="true" xmlns="'
            ),
            "text/xml; charset=utf-8",
        ),
    ],
    ids=["latin-1-as-utf-8", "utf-16-as-utf-8", "unknown-charset", "utf-16-without-bom", "nil-operation"],
)
def test_bad_bytes_are_a_client_fault_in_one_log_line(
    server, body: bytes, content_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    host = urlsplit(server.url).netloc
    head = "\r\n".join(
        [
            "POST /qbwc HTTP/1.1",
            f"Host: {host}",
            f"Content-Type: {content_type}",
            'SOAPAction: "http://developer.intuit.com/clientVersion"',
            f"Content-Length: {len(body)}",
        ]
    )
    with caplog.at_level(logging.DEBUG):
        status, _, reply = raw(server.url, head, [body])
    assert status == 500
    code, _ = fault_of(reply)
    assert code.split(":")[-1].startswith("Client"), code
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].exc_info is None and "\n" not in records[0].getMessage()


SEEDS = [
    envelope("serverVersion"),
    envelope("authenticate", ("strUserName", "acme-qbwc"), ("strPassword", "x")),
    envelope("sendRequestXML", ("ticket", "t"), ("qbXMLMajorVers", 13), ("qbXMLMinorVers", 0)),
    envelope(
        "receiveResponseXML", ("ticket", "t"), ("response", "<QBXML/>"), ("hresult", ""), ("message", "")
    ),
    envelope("interactiveDone", ("wcTicket", "t")),
]
MUTATIONS = [b'xsi:nil="true" ', b'xsi:type="xsd:int" ', b"\xff", b"\x00", b"\xc3", b"&#0;", b"<x/>", b"</a>"]


def mutated(rng: random.Random) -> tuple[bytes, str]:
    body = bytearray(rng.choice(SEEDS))
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(body))
        roll = rng.random()
        if roll < 0.35:
            body[at] = rng.randrange(256)
        elif roll < 0.7:
            space = body.find(b" ", at)
            body[space + 1 : space + 1] = rng.choice(MUTATIONS)
        elif roll < 0.8:
            del body[at:]
        else:
            encoding = rng.choice([b"utf-16", b"windows-1252", b"nonsense", b"ebcdic-cp-us"])
            body = bytearray(bytes(body).replace(b'encoding="utf-8"', b'encoding="' + encoding + b'"'))
    charset = rng.choice(["utf-8", "utf-8", "latin-1", "utf-16", "bogus"])
    return bytes(body), f"text/xml; charset={charset}"


def test_mutated_envelopes_get_client_faults_never_server_faults(
    server, caplog: pytest.LogCaptureFixture
) -> None:
    """A small, seeded fuzz of what broke before: bad bytes, charsets, xsi attributes, truncation."""
    rng = random.Random(20261125)
    host = urlsplit(server.url).netloc
    with caplog.at_level(logging.WARNING):
        for _ in range(150):
            body, content_type = mutated(rng)
            head = f"POST /qbwc HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
            status, _, reply = raw(server.url, head + f"Content-Length: {len(body)}", [body])
            if status != 200:
                code = fault_of(reply)[0]
                assert status == 500 and code.split(":")[-1].startswith("Client"), (code, body, content_type)
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in caplog.records)


# -- integer arguments (9) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("major", "accepted"),
    [
        ("13", True),
        (" +13 ", True),
        ("\t013\n", True),
        ("1_3", False),
        ("\u0661\u0663", False),
        ("13.0", False),
        ("\u00a013", False),
        ("thirteen", False),
    ],
)
def test_integer_arguments_take_only_the_xs_int_form(server, major: str, accepted: bool) -> None:
    reply = call(
        server.url,
        "sendRequestXML",
        ("ticket", "no-such-ticket"),
        ("strHCPResponse", ""),
        ("strCompanyFileName", ""),
        ("qbXMLCountry", "US"),
        ("qbXMLMajorVers", major),
        ("qbXMLMinorVers", "0"),
    )
    if accepted:
        assert reply.status == 200 and reply.text("sendRequestXML") == ""
    else:
        assert reply.status == 500 and fault_of(reply.body)[0].split(":")[-1].startswith("Client")


# -- log lines (7) ---------------------------------------------------------------------------------


def test_a_fault_is_logged_on_one_escaped_capped_line(server, caplog: pytest.LogCaptureFixture) -> None:
    forged = "1\nCRITICAL forged line " + "y" * 5000
    with caplog.at_level(logging.DEBUG):
        reply = call(
            server.url,
            "sendRequestXML",
            ("ticket", "t"),
            ("qbXMLMajorVers", forged),
            ("qbXMLMinorVers", "0"),
        )
    assert reply.status == 500
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, lines
    assert "\n" not in lines[0] and "\r" not in lines[0]
    assert len(lines[0]) < 1000


def test_a_server_error_is_one_line_naming_where_it_happened(
    server, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE tenants RENAME TO tenants_gone"))
    try:
        with caplog.at_level(logging.DEBUG):
            reply = call(server.url, "authenticate", ("strUserName", "x\ny"), ("strPassword", "p"))
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE tenants_gone RENAME TO tenants"))
    assert reply.status == 500 and fault_of(reply.body) == ("soap11env:Server", "Internal Error")
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].exc_info is None
    message = errors[0].getMessage()
    assert "\n" not in message and "authenticate" in message and ".py:" in message


# -- health and readiness (14) -------------------------------------------------------------------


def get(url: str) -> tuple[int, bytes]:
    reply = post(url, b"", method="GET")
    return reply.status, reply.body


def test_healthz_is_degraded_while_web_connector_calls_keep_failing(server, engine: Engine) -> None:
    assert get(server.base_url + "/healthz")[0] == 200
    with engine.begin() as conn:  # every authenticate now fails in the database
        conn.execute(text("ALTER TABLE tenants RENAME TO tenants_gone"))
    try:
        for _ in range(3):
            assert call(server.url, "authenticate", ("strUserName", "a"), ("strPassword", "b")).status == 500
        status, body = get(server.base_url + "/healthz")
        assert status == 503 and b"degraded" in body, body
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE tenants_gone RENAME TO tenants"))
    assert call(server.url, "authenticate", ("strUserName", "a"), ("strPassword", "b")).status == 200
    assert get(server.base_url + "/healthz")[0] == 200, "one good call ends it"


def test_client_faults_do_not_make_health_degraded(server) -> None:
    for _ in range(5):
        assert post(server.url, b"not xml").status == 500
    assert get(server.base_url + "/healthz")[0] == 200


def test_readyz_fails_while_the_schema_is_not_this_releases_head(server, engine: Engine) -> None:
    status, body = get(server.base_url + "/readyz")
    assert status == 200 and b"ready" in body
    with engine.begin() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    status, body = get(server.base_url + "/readyz")
    assert status == 503 and b"0001" in body and head.encode() in body and b"upgrade" in body
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :h"), {"h": head})
    assert get(server.base_url + "/readyz")[0] == 200


def test_readyz_without_alembic_version_is_not_ready(server, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE alembic_version RENAME TO alembic_version_gone"))
    try:
        status, body = get(server.base_url + "/readyz")
        assert status == 503 and b"not migrated" in body
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE alembic_version_gone RENAME TO alembic_version"))


# -- chunked bodies (4), threaded server ------------------------------------------------------------


def test_a_chunked_body_the_server_does_not_decode_gets_411(server) -> None:
    """The threaded stdlib server hands the raw chunked framing on; gunicorn decodes it (below)."""
    host = urlsplit(server.url).netloc
    status, _, body = raw(
        server.url, post_head("/qbwc", host, "Transfer-Encoding: chunked"), chunked(envelope("serverVersion"))
    )
    assert status == 411 and fault_of(body)[0].endswith("Client")


# -- settings ---------------------------------------------------------------------------------------


def test_edge_settings_come_from_the_environment() -> None:
    default = load_settings({}).gunicorn
    assert (default.max_body_mb, default.body_timeout, default.worker_max_rss_mb) == (100, 30, 1024)
    set_ = load_settings(
        {"QBWC_MAX_BODY_MB": "5", "QBWC_BODY_TIMEOUT": "7", "QBWC_WORKER_MAX_RSS_MB": "0"}
    ).gunicorn
    assert (set_.max_body_mb, set_.body_timeout, set_.worker_max_rss_mb) == (5, 7, 0)
    assert callable(set_.options()["post_request"])


# -- under gunicorn ---------------------------------------------------------------------------------


class Gunicorn:
    def __init__(self, process, base_url: str, engine: Engine, tenant_id: int, password: str) -> None:  # type: ignore[no-untyped-def]
        self.process, self.base_url, self.engine = process, base_url, engine
        self.url = base_url + "/qbwc"
        self.host = urlsplit(base_url).netloc
        self.tenant_id, self.password = tenant_id, password

    def workers(self) -> set[int]:
        pid = self.process.pid
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}

    def session(self) -> str:
        with self.engine.begin() as conn:
            queue.enqueue(
                conn, self.tenant_id, JobKind.RAW_QBXML, request_body='<CustomerQueryRq requestID="1"/>'
            )
        connector = SimulatedWebConnector(
            self.url, "edge-qbwc", self.password, CannedProcessor(), noop_delay=0.1
        )
        return connector.run_session().outcome


@pytest.fixture(scope="module")
def gunicorn(admin_engine, pg_admin_url: str, template_database: str) -> Iterator[Gunicorn]:  # type: ignore[no-untyped-def]
    """gunicorn with 2 workers of 2 threads, a 16 MB body limit, a 2 s body timeout, and a worker
    RSS bound of 1 MB (so any large call recycles its worker)."""
    name = f"qbwc_test_edge_{os.getpid()}"
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    url = make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    with engine.begin() as conn:
        info, password = tenants.add_tenant(conn, "edge", "edge-qbwc")
        set_pull_settings(conn, info.id, intervals={"default": 0})
        set_push_settings(conn, info.id, live_window_seconds=0)  # no live window: ends when done
    environ = {
        **os.environ,
        "QBWC_WORKERS": "2",
        "QBWC_THREADS": "2",
        "QBWC_MAX_BODY_MB": "16",
        "QBWC_BODY_TIMEOUT": "2",
        "QBWC_WORKER_MAX_RSS_MB": "1",
    }
    process, base = spawn_gunicorn(url, environ=environ)
    try:
        yield Gunicorn(process, base, engine, info.id, password or "")
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode(errors="replace")
        engine.dispose()
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        assert "Traceback" not in output, output


@pytest.mark.slow
def test_gunicorn_accepts_chunked_bodies_within_the_limit(gunicorn: Gunicorn) -> None:
    status, _, body = raw(
        gunicorn.url,
        post_head("/qbwc", gunicorn.host, "Transfer-Encoding: chunked"),
        chunked(envelope("serverVersion")),
    )
    assert status == 200 and b"qbwc-server" in body
    big = receive_envelope("no-such-ticket", "x" * (2 * MB))
    status, _, body = raw(
        gunicorn.url, post_head("/qbwc", gunicorn.host, "Transfer-Encoding: chunked"), chunked(big, 65536)
    )
    assert status == 200 and b"<tns:receiveResponseXMLResult>-1<" in body
    over = receive_envelope("no-such-ticket", "x" * (17 * MB))
    status, _, body = raw(
        gunicorn.url, post_head("/qbwc", gunicorn.host, "Transfer-Encoding: chunked"), chunked(over, MB)
    )
    assert status == 413 and "16 MB" in fault_of(body)[1]


@pytest.mark.slow
def test_slow_clients_get_408_and_do_not_starve_a_normal_session(gunicorn: Gunicorn) -> None:
    """Six connections (more than the 4 threads) send headers and half a body, then stall."""
    stalled = []
    for _ in range(6):
        sock = socket.create_connection(("127.0.0.1", int(gunicorn.host.rsplit(":", 1)[1])), timeout=30)
        sock.sendall(
            post_head("/qbwc", gunicorn.host, "Content-Length: 1000").encode() + b"\r\n\r\n<soap:Env"
        )
        stalled.append(sock)
    try:
        started = time.monotonic()
        assert gunicorn.session() == "ok"
        assert time.monotonic() - started < 20
        for sock in stalled:
            status, _, body = read_reply(sock)
            assert status == 408 and fault_of(body)[0].endswith("Client")
            assert sock.recv(1) == b"", "the connection is closed after the 408"
    finally:
        for sock in stalled:
            sock.close()


@pytest.mark.slow
def test_a_body_trickled_in_below_the_minimum_rate_is_cut_off(gunicorn: Gunicorn) -> None:
    """A byte every half second never trips the 2 s pause timeout; the body's budget does."""
    started = time.monotonic()
    status, _, body = raw(
        gunicorn.url,
        post_head("/qbwc", gunicorn.host, "Content-Length: 1000"),
        [b"<"] * 40,
        pause=0.5,
    )
    assert status == 408, body
    assert time.monotonic() - started < 10


@pytest.mark.slow
def test_a_worker_grown_past_its_bound_is_recycled_after_the_call(gunicorn: Gunicorn) -> None:
    before = gunicorn.workers()
    reply = call(gunicorn.url, "receiveResponseXML", ("ticket", "t"), ("response", "x" * (10 * MB)))
    assert reply.integer("receiveResponseXML") == -1, "the large call itself is answered"
    deadline = time.monotonic() + 20
    while not before - gunicorn.workers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(before - gunicorn.workers()) == 1, "the worker that took the call was replaced"
    assert gunicorn.session() == "ok"


def test_a_utf16_envelope_with_its_byte_order_mark_is_answered_whatever_the_charset_says(server) -> None:
    """RFC 7303 3.3: a byte order mark says how the body is encoded, even against the
    Content-Type's charset; the Web Connector sends UTF-8, other clients may not. (A Header
    sends it to Spyne, which decodes by the charset.)"""
    declared = (
        f'<?xml version="1.0" encoding="UTF-16"?><soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Header/>'
        '<soap:Body><serverVersion xmlns="http://developer.intuit.com/"/></soap:Body></soap:Envelope>'
    )
    reply = post(
        server.url, declared.encode("utf-16"), soap_action='"http://developer.intuit.com/serverVersion"'
    )
    assert reply.status == 200 and b"serverVersionResult" in reply.body
