"""The simulated Web Connector on its own: envelopes, strict parsing, the canned QuickBooks, the transcript,
and whole sessions against a scripted fake server on loopback. No qbwc-server, no database.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from lxml import etree

from qbwc_server.simulator import (
    OPERATIONS,
    Call,
    CannedProcessor,
    QuickBooksConnectionError,
    QuickBooksRequestError,
    SessionReport,
    SimulatedWebConnector,
    SoapFault,
    WebConnectorProtocolError,
    WebConnectorTransportError,
    build_envelope,
    format_report,
    parse_response,
    request_headers,
    soap_call,
)
from qbwc_server.simulator.processor import CANNED_DIRECTORY
from tests.conftest import shared_file

INTUIT = "http://developer.intuit.com/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
PROLOG = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
    "<soap:Body>"
)
EPILOG = "</soap:Body></soap:Envelope>"
PARSE_ERROR = ("0x80040400", "QuickBooks found an error when parsing the provided XML text stream.")
PASSWORD = "s3cret-PASSWORD-never-shown"


def qbxml_request(*requests: str, version: str = "13.0", on_error: str = "stopOnError") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="{version}"?>\n'
        f'<QBXML><QBXMLMsgsRq onError="{on_error}">{"".join(requests)}</QBXMLMsgsRq></QBXML>'
    )


CUSTOMER_QUERY = qbxml_request(
    '<CustomerQueryRq requestID="1"><MaxReturned>2</MaxReturned></CustomerQueryRq>'
)
ITEM_QUERY = qbxml_request('<ItemInventoryQueryRq requestID="2"/>')


def response_envelope(operation: str, value: str | list[str] | int, *, prefixed: bool = False) -> bytes:
    """A server's answer, in the default-namespace or the `tns:`-prefixed form."""
    p = "tns:" if prefixed else ""
    if isinstance(value, list):
        inner = "".join(
            f"<{p}string>{escape(item)}</{p}string>" if item else f"<{p}string />" for item in value
        )
    else:
        inner = escape(str(value))
    declaration = f'xmlns:tns="{INTUIT}"' if prefixed else f'xmlns="{INTUIT}"'
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP}"><soap:Body>'
        f"<{p}{operation}Response {declaration}><{p}{operation}Result>{inner}</{p}{operation}Result>"
        f"</{p}{operation}Response></soap:Body></soap:Envelope>"
    ).encode()


def raw_envelope(body_xml: str) -> bytes:
    envelope = f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body>{body_xml}</soap:Body></soap:Envelope>'
    return f'<?xml version="1.0"?>{envelope}'.encode()


# --- envelopes ------------------------------------------------------------------------------------


def test_authenticate_envelope_is_byte_exact_with_escaping() -> None:
    body = build_envelope("authenticate", {"strUserName": "a<b&\"c'>", "strPassword": "Olé"})
    assert body == (
        PROLOG + '<authenticate xmlns="http://developer.intuit.com/">'
        "<strUserName>a&lt;b&amp;\"c'&gt;</strUserName><strPassword>Olé</strPassword>"
        "</authenticate>" + EPILOG
    ).encode("utf-8")


def test_empty_operation_and_empty_strings_are_empty_elements() -> None:
    assert (
        build_envelope("serverVersion")
        == (PROLOG + '<serverVersion xmlns="http://developer.intuit.com/" />' + EPILOG).encode()
    )
    body = build_envelope(
        "receiveResponseXML", {"ticket": "t-1", "response": "", "hresult": "", "message": ""}
    )
    assert (
        b'<receiveResponseXML xmlns="http://developer.intuit.com/"><ticket>t-1</ticket><response />' in body
    )
    assert body.endswith(b"<hresult /><message /></receiveResponseXML>" + EPILOG.encode())


def test_send_request_envelope_children_in_wsdl_order_with_ints() -> None:
    arguments: dict[str, str | int] = {
        "qbXMLMinorVers": 0,
        "qbXMLMajorVers": 13,
        "qbXMLCountry": "US",
        "strCompanyFileName": r"C:\Files\A&B.QBW",
        "strHCPResponse": "",
        "ticket": "abc",
    }
    body = build_envelope("sendRequestXML", arguments).decode()
    assert body == (
        PROLOG + '<sendRequestXML xmlns="http://developer.intuit.com/"><ticket>abc</ticket><strHCPResponse />'
        r"<strCompanyFileName>C:\Files\A&amp;B.QBW</strCompanyFileName><qbXMLCountry>US</qbXMLCountry>"
        "<qbXMLMajorVers>13</qbXMLMajorVers><qbXMLMinorVers>0</qbXMLMinorVers></sendRequestXML>" + EPILOG
    )


def test_qbxml_travels_as_escaped_text_and_round_trips() -> None:
    response = CannedProcessor().process(CUSTOMER_QUERY)
    body = build_envelope(
        "receiveResponseXML", {"ticket": "t", "response": response, "hresult": "", "message": ""}
    )
    assert b"<CustomerQueryRs" not in body and b'&lt;CustomerQueryRs requestID="1"' in body
    assert b"Smith &amp;amp; Sons" in body  # the qbXML's own &amp; is escaped once more
    element = etree.fromstring(body).find(f".//{{{INTUIT}}}response")
    assert element is not None and element.text == response


@pytest.mark.parametrize(
    ("operation", "arguments", "error"),
    [
        ("nope", {}, ValueError),
        ("getLastError", {}, ValueError),
        ("getLastError", {"ticket": "t", "extra": "x"}, ValueError),
        ("getLastError", {"ticket": 5}, TypeError),
        ("authenticate", {"strUserName": "u\x01", "strPassword": ""}, ValueError),
        (
            "sendRequestXML",
            {
                "ticket": "t",
                "strHCPResponse": "",
                "strCompanyFileName": "",
                "qbXMLCountry": "US",
                "qbXMLMajorVers": "13",
                "qbXMLMinorVers": 0,
            },
            TypeError,
        ),
    ],
)
def test_envelope_refuses_bad_arguments(operation: str, arguments: dict[str, object], error: type) -> None:
    with pytest.raises(error):
        build_envelope(operation, arguments)  # type: ignore[arg-type]


def test_request_headers_are_the_dotnet_clients() -> None:
    assert request_headers("closeConnection") == {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": '"http://developer.intuit.com/closeConnection"',
        "User-Agent": "Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client Protocol 2.0.50727.9151)",
    }


# --- parsing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefixed", [False, True])
def test_parses_both_namespace_forms(prefixed: bool) -> None:
    def parse(operation: str, value: str | list[str] | int) -> object:
        return parse_response(
            operation, 200, "text/xml; charset=utf-8", response_envelope(operation, value, prefixed=prefixed)
        )

    assert parse("authenticate", ["3f9c-ticket", ""]) == ["3f9c-ticket", ""]
    assert parse("authenticate", ["", "nvu"]) == ["", "nvu"]
    assert parse("authenticate", ["t", "none", "300", ""]) == ["t", "none", "300", ""]
    assert parse("sendRequestXML", CUSTOMER_QUERY) == CUSTOMER_QUERY
    assert parse("clientVersion", "") == ""
    assert parse("receiveResponseXML", -1) == -1
    assert parse("receiveResponseXML", 100) == 100


def test_parses_nil_items_whitespace_ints_and_soap_headers() -> None:
    body = raw_envelope(
        f'<ns1:authenticateResponse xmlns:ns1="{INTUIT}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<ns1:authenticateResult><ns1:string>t</ns1:string>"
        '<ns1:string xsi:nil="true"/></ns1:authenticateResult>'
        "</ns1:authenticateResponse>"
    )
    assert parse_response("authenticate", 200, "text/xml", body) == ["t", ""]
    body = raw_envelope(
        f'<receiveResponseXMLResponse xmlns="{INTUIT}">'
        "<receiveResponseXMLResult> 50\n</receiveResponseXMLResult>"
        "</receiveResponseXMLResponse>"
    ).replace(b"<soap:Body>", b"<soap:Header/><soap:Body>")
    assert parse_response("receiveResponseXML", 200, "TEXT/XML", body) == 50


_OK = raw_envelope(
    f'<serverVersionResponse xmlns="{INTUIT}"><serverVersionResult>1</serverVersionResult>'
    "</serverVersionResponse>"
)


@pytest.mark.parametrize(
    ("operation", "status", "content_type", "body", "message"),
    [
        ("serverVersion", 404, "text/html", b"<html>Not Found</html>", "HTTP status 404"),
        ("serverVersion", 500, "text/xml", b"oops", "HTTP status 500"),
        ("serverVersion", 302, "text/xml", _OK, "HTTP status 302"),
        ("serverVersion", 200, "text/html; charset=utf-8", _OK, "content type 'text/html"),
        ("serverVersion", 200, "application/soap+xml", _OK, "expected text/xml"),
        ("serverVersion", 200, "", _OK, "expected text/xml"),
        ("serverVersion", 200, "text/xml", b"<br>Warning: x<soap:Envelope", "not well-formed"),
        ("serverVersion", 200, "text/xml", b"<Envelope/>", "SOAP 1.1 Envelope"),
        ("serverVersion", 200, "text/xml", f'<soap:Envelope xmlns:soap="{SOAP}"/>'.encode(), "no Body"),
        ("serverVersion", 200, "text/xml", raw_envelope(""), "holds nothing"),
        (
            "serverVersion",
            200,
            "text/xml",
            raw_envelope('<serverVersionResponse xmlns="http://developer.intuit.com"/>'),
            "expected {http://developer.intuit.com/}serverVersionResponse",
        ),
        (
            "clientVersion",
            200,
            "text/xml",
            raw_envelope(f'<serverVersionResponse xmlns="{INTUIT}"/>'),
            "expected {http://developer.intuit.com/}clientVersionResponse",
        ),
        (
            "clientVersion",
            200,
            "text/xml",
            raw_envelope(f'<clientVersionResponse xmlns="{INTUIT}"/>'),
            "no {http://developer.intuit.com/}clientVersionResult",
        ),
        (
            "clientVersion",
            200,
            "text/xml",
            raw_envelope(
                f'<v:clientVersionResponse xmlns:v="{INTUIT}"><clientVersionResult/>'
                "</v:clientVersionResponse>"
            ),
            "no {http://developer.intuit.com/}clientVersionResult",
        ),
        (
            "authenticate",
            200,
            "text/xml",
            raw_envelope(
                f'<authenticateResponse xmlns="{INTUIT}"><authenticateResult>'
                '<a:string xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays">t</a:string>'
                '<a:string xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays"/>'
                "</authenticateResult></authenticateResponse>"
            ),
            "QBWC1012",
        ),
        ("authenticate", 200, "text/xml", response_envelope("authenticate", ["only-ticket"]), "QBWC1012"),
        (
            "receiveResponseXML",
            200,
            "text/xml",
            raw_envelope(f'<receiveResponseXMLResponse xmlns="{INTUIT}"/>'),
            "no ",
        ),
        ("receiveResponseXML", 200, "text/xml", response_envelope("receiveResponseXML", "abc"), "xs:int"),
        ("receiveResponseXML", 200, "text/xml", response_envelope("receiveResponseXML", ""), "xs:int"),
        ("receiveResponseXML", 200, "text/xml", response_envelope("receiveResponseXML", "1.5"), "xs:int"),
        ("receiveResponseXML", 200, "text/xml", response_envelope("receiveResponseXML", 2**31), "xs:int"),
        (
            "sendRequestXML",
            200,
            "text/xml",
            raw_envelope(
                f'<sendRequestXMLResponse xmlns="{INTUIT}">'
                "<sendRequestXMLResult><QBXML/></sendRequestXMLResult>"
                "</sendRequestXMLResponse>"
            ),
            "must be escaped",
        ),
    ],
)
def test_strict_like_the_dotnet_client(
    operation: str, status: int, content_type: str, body: bytes, message: str
) -> None:
    with pytest.raises(WebConnectorProtocolError) as caught:
        parse_response(operation, status, content_type, body)
    assert not isinstance(caught.value, SoapFault)
    assert message in str(caught.value) and str(caught.value).startswith(f"{operation}: ")


@pytest.mark.parametrize("status", [500, 200])
def test_soap_fault_is_reported_with_its_faultstring(status: int) -> None:
    body = raw_envelope(
        "<soap:Fault><faultcode>soap:Server</faultcode>"
        "<faultstring>Bad ticket &amp; more</faultstring></soap:Fault>"
    )
    with pytest.raises(SoapFault) as caught:
        parse_response("getLastError", status, "text/xml; charset=utf-8", body)
    assert caught.value.faultstring == "Bad ticket & more"
    assert caught.value.faultcode == "soap:Server"
    assert str(caught.value) == "getLastError: SOAP Fault soap:Server: Bad ticket & more"


def test_every_operation_round_trips_through_build_and_parse() -> None:
    for operation, children in OPERATIONS.items():
        arguments = {
            name: 1 if name.startswith("qbXML") and name != "qbXMLCountry" else "x" for name in children
        }
        root = etree.fromstring(build_envelope(operation, arguments))
        wrapper = root[0][0]
        assert wrapper.tag == f"{{{INTUIT}}}{operation}"
        assert [child.tag for child in wrapper] == [f"{{{INTUIT}}}{name}" for name in children]


# --- the canned QuickBooks ------------------------------------------------------------------------


def test_canned_answer_copies_request_id_first_and_frames_like_quickbooks() -> None:
    processor = CannedProcessor()
    response = processor.process(CUSTOMER_QUERY)
    assert response.startswith(
        '<?xml version="1.0" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<CustomerQueryRs requestID="1" statusCode="0"'
    )
    assert response.endswith("</CustomerQueryRs>\n</QBXMLMsgsRs>\n</QBXML>\n")
    names = [e.findtext("Name") for e in etree.fromstring(response.encode()).iter("CustomerRet")]
    assert names == ["Smith & Sons Hardware", "Café Olé"]
    assert processor.requests_processed == 1


def test_request_without_request_id_gets_none_back() -> None:
    response = CannedProcessor().process(qbxml_request("<ItemInventoryQueryRq/>"))
    answer = etree.fromstring(response.encode())[0][0]
    assert answer.tag == "ItemInventoryQueryRs" and "requestID" not in answer.attrib
    assert [q.text for q in answer.iter("QuantityOnHand")] == ["240", "0"]


def test_unknown_request_gets_3250_and_on_error_is_honoured() -> None:
    processor = CannedProcessor()
    unknown = '<VendorQueryRq requestID="a&amp;b"/>'
    item = '<ItemInventoryQueryRq requestID="z"/>'
    stop = processor.process(qbxml_request(unknown, item, on_error="stopOnError"))
    assert (
        '<VendorQueryRs requestID="a&amp;b" statusCode="3250" statusSeverity="Error" '
        'statusMessage="This feature is '
        'not enabled or not available in this version of QuickBooks."/>\n</QBXMLMsgsRs>'
    ) in stop
    go_on = processor.process(qbxml_request(unknown, item, on_error="continueOnError"))
    assert [e.tag for e in etree.fromstring(go_on.encode())[0]] == ["VendorQueryRs", "ItemInventoryQueryRs"]


@pytest.mark.parametrize(
    "request_xml",
    [
        qbxml_request('<CustomerQueryRq requestID="1"/>', version="14.0"),
        qbxml_request('<CustomerQueryRq requestID="1"/>', version="thirteen"),
        qbxml_request('<CustomerQueryRq requestID="1"/>', on_error="keepGoing"),
        qbxml_request("<CustomerQuery/>"),
        qbxml_request("<CustomerQueryRq/>").replace('<?qbxml version="13.0"?>', ""),
        qbxml_request("<CustomerQueryRq>"),
        '<?qbxml version="13.0"?><Other><QBXMLMsgsRq onError="stopOnError"/></Other>',
        "",
    ],
    ids=[
        "version-above-highest",
        "bad-version",
        "bad-onError",
        "not-a-request",
        "no-qbxml-pi",
        "not-well-formed",
        "wrong-root",
        "empty",
    ],
)
def test_unparseable_request_raises_0x80040400(request_xml: str) -> None:
    processor = CannedProcessor()
    with pytest.raises(QuickBooksRequestError) as caught:
        processor.process(request_xml)
    assert (caught.value.hresult, caught.value.message) == PARSE_ERROR
    assert processor.requests_processed == 0


def test_versions_country_and_other_encodings() -> None:
    processor = CannedProcessor(supported_versions=("1.0", "2.1", "CA3.0", "8.0"), country="CA")
    assert processor.qbxml_version == (8, 0) and processor.country == "CA"
    with pytest.raises(QuickBooksRequestError):
        processor.process(qbxml_request("<HostQueryRq/>", version="9.0"))
    latin = qbxml_request('<CustomerQueryRq requestID="é"/>', version="8.0").replace("utf-8", "ISO-8859-1")
    assert 'requestID="é"' in processor.process(latin)


def test_open_company_and_failure_switches() -> None:
    processor = CannedProcessor()
    assert processor.open_company("").endswith(r"\Company Files\Sample Wholesale.QBW")
    assert processor.open_company(r"C:\Other.QBW") == r"C:\Other.QBW"
    failing = CannedProcessor(
        fail_connection=("0x80040408", "Could not start QuickBooks."), fail_requests=PARSE_ERROR
    )
    with pytest.raises(QuickBooksConnectionError) as connection:
        failing.open_company("")
    assert (connection.value.hresult, connection.value.message) == (
        "0x80040408",
        "Could not start QuickBooks.",
    )
    with pytest.raises(QuickBooksRequestError) as request:
        failing.process(CUSTOMER_QUERY)
    assert (
        str(request.value)
        == "0x80040400: QuickBooks found an error when parsing the provided XML text stream."
    )


def test_custom_directory(tmp_path: Path) -> None:
    (tmp_path / "TermsQueryRs.xml").write_text(
        '<!-- test --><TermsQueryRs statusCode="1" statusSeverity="Info" statusMessage="No match"/>', "utf-8"
    )
    (tmp_path / "ClassQueryRs.xml").write_text(
        '<AccountQueryRs statusCode="0" statusSeverity="Info"/>', "utf-8"
    )
    processor = CannedProcessor(tmp_path)
    response = processor.process(
        qbxml_request(
            '<TermsQueryRq requestID="5"/>', '<CustomerQueryRq requestID="6"/>', on_error="continueOnError"
        )
    )
    assert (
        '<TermsQueryRs requestID="5" statusCode="1" statusSeverity="Info" statusMessage="No match"/>'
        in response
    )
    assert '<CustomerQueryRs requestID="6" statusCode="3250"' in response
    with pytest.raises(ValueError, match="AccountQueryRs"):
        processor.process(qbxml_request("<ClassQueryRq/>"))


def test_host_response_reflects_settings() -> None:
    processor = CannedProcessor(company_file=r"D:\QB\Acme & Co.QBW", supported_versions=("12.0", "13.0"))
    host = etree.fromstring(processor.host_response().encode())
    assert [e.text for e in host.iter("SupportedQBXMLVersion")] == ["12.0", "13.0"]
    assert host.findtext(".//HostRet/Country") == "US"
    assert host.findtext(".//CompanyRet/CompanyName") == "Acme & Co"
    assert [rs.get("requestID") for rs in host[0]] == ["0", "1", "2"]


# --- validity against Intuit's schema -------------------------------------------------------------


@pytest.fixture(scope="module")
def qbxml_schema() -> etree.XMLSchema:
    return etree.XMLSchema(file=str(shared_file("QBXML_XSD", "qbxml/qbxmlops130.xsd")))


def _validate(schema: etree.XMLSchema, document: str) -> None:
    assert schema.validate(etree.fromstring(document.encode())), schema.error_log


@pytest.mark.parametrize("path", sorted(CANNED_DIRECTORY.glob("*.xml")), ids=lambda p: p.name)
def test_canned_file_is_valid_qbxml_13(path: Path, qbxml_schema: etree.XMLSchema) -> None:
    text = path.read_text("utf-8")
    assert text.startswith("<!-- qbXML 13.0 ")
    _validate(qbxml_schema, f"<QBXML><QBXMLMsgsRs>{text}</QBXMLMsgsRs></QBXML>")


def test_shipped_canned_files() -> None:
    assert {p.name for p in CANNED_DIRECTORY.glob("*.xml")} >= {
        "CustomerQueryRs.xml",
        "ItemInventoryQueryRs.xml",
        "CompanyQueryRs.xml",
        "HostQueryRs.xml",
    }


def test_processor_output_and_host_response_are_valid(qbxml_schema: etree.XMLSchema) -> None:
    processor = CannedProcessor()
    _validate(qbxml_schema, processor.host_response())
    requests = [
        f'<{name} requestID="{i}"/>'
        for i, name in enumerate(
            ["HostQueryRq", "CompanyQueryRq", "CustomerQueryRq", "ItemInventoryQueryRq", "VendorQueryRq"]
        )
    ]
    _validate(qbxml_schema, processor.process(qbxml_request(*requests, on_error="continueOnError")))


# --- whole sessions against a scripted fake server ------------------------------------------------


Answer = str | list[str] | int | Callable[[], tuple[int, str, bytes]]


@dataclass
class FakeQBWC:
    """Answers each operation from its queue (the last answer repeats); records what arrived and over how
    many TCP connections. A callable answer returns raw (status, content type, body)."""

    script: dict[str, list[Answer]]
    drop_keep_alive: bool = False
    received: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    connections: int = 0
    url: str = ""

    def answer(self, operation: str) -> tuple[int, str, bytes]:
        queue = self.script.get(operation)
        if not queue:
            return 500, "text/plain", f"fake server has no answer left for {operation}".encode()
        value = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(value):
            return value()
        return 200, "text/xml; charset=utf-8", response_envelope(operation, value)


def _handler(fake: FakeQBWC) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            fake.connections += 1
            super().setup()
            # Headers and body go out in two writes; without this, Nagle + delayed ACK cost 40 ms a call.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            wrapper = etree.fromstring(body)[0][0]
            operation = etree.QName(wrapper).localname
            children = {etree.QName(child).localname: child.text or "" for child in wrapper}
            fake.received.append((operation, dict(self.headers), children))
            status, content_type, data = fake.answer(operation)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            # Close without saying so, as a server dropping an idle keep-alive connection does.
            self.close_connection = fake.drop_keep_alive

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def fake_qbwc() -> Iterator[FakeQBWC]:
    fake = FakeQBWC(script={})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/qbwc"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


def script(**answers: list[Answer]) -> dict[str, list[Answer]]:
    base: dict[str, list[Answer]] = {
        "serverVersion": ["fake 1.0"],
        "clientVersion": [""],
        "authenticate": [["3f9c0d5e-ticket", ""]],
        "closeConnection": ["Done: 2 raw qbXML requests."],
    }
    return base | answers


def run(fake: FakeQBWC, processor: CannedProcessor | None = None, max_requests: int = 100) -> SessionReport:
    processor = processor or CannedProcessor()
    connector = SimulatedWebConnector(
        fake.url, "acme", PASSWORD, processor, noop_delay=0, max_requests=max_requests, timeout=5
    )
    return connector.run_session()


def operations(report: SessionReport) -> list[str]:
    return [call.operation for call in report.calls]


def test_normal_session(fake_qbwc: FakeQBWC) -> None:
    fake_qbwc.script = script(sendRequestXML=[CUSTOMER_QUERY, ITEM_QUERY], receiveResponseXML=[50, 100])
    report = run(fake_qbwc)
    assert operations(report) == [
        "serverVersion",
        "clientVersion",
        "authenticate",
        "sendRequestXML",
        "receiveResponseXML",
        "sendRequestXML",
        "receiveResponseXML",
        "closeConnection",
    ]
    assert report.ok and report.outcome == "ok"
    assert (report.ticket, report.requests_processed, report.progress) == ("3f9c0d5e-ticket", 2, (50, 100))
    assert report.close_message == "Done: 2 raw qbXML requests." and report.errors == ()
    assert fake_qbwc.connections == 1  # one keep-alive connection for the whole session
    for operation, headers, _ in fake_qbwc.received:
        assert headers["SOAPAction"] == f'"http://developer.intuit.com/{operation}"'
        assert headers["Content-Type"] == "text/xml; charset=utf-8"
        assert headers["User-Agent"].startswith("Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client")
    sent = {op: [args for o, _, args in fake_qbwc.received if o == op] for op in OPERATIONS}
    assert sent["clientVersion"] == [{"strVersion": "2.3.0.215"}]
    assert sent["authenticate"] == [{"strUserName": "acme", "strPassword": PASSWORD}]
    first, second = sent["sendRequestXML"]
    assert first["strHCPResponse"].startswith('<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><HostQueryRs')
    assert second["strHCPResponse"] == ""
    assert first["strCompanyFileName"].endswith("Sample Wholesale.QBW") and first["qbXMLCountry"] == "US"
    assert (first["qbXMLMajorVers"], first["qbXMLMinorVers"]) == ("13", "0")
    assert 'CustomerQueryRs requestID="1"' in sent["receiveResponseXML"][0]["response"]
    assert sent["receiveResponseXML"][1]["hresult"] == "" and sent["closeConnection"] == [
        {"ticket": "3f9c0d5e-ticket"}
    ]


def test_reconnects_when_the_server_drops_keep_alive(fake_qbwc: FakeQBWC) -> None:
    fake_qbwc.drop_keep_alive = True
    fake_qbwc.script = script(sendRequestXML=[CUSTOMER_QUERY], receiveResponseXML=[100])
    report = run(fake_qbwc)
    assert report.ok and fake_qbwc.connections == len(report.calls) == 6


@pytest.mark.parametrize(
    ("answer", "outcome", "postpone"),
    [
        (["", "nvu"], "invalid user", None),
        (["t", "none", "300"], "no work", 300),
        (["t", "BUSY"], "busy", None),
    ],
)
def test_authenticate_ends_session(
    fake_qbwc: FakeQBWC, answer: list[str], outcome: str, postpone: int | None
) -> None:
    fake_qbwc.script = script(authenticate=[answer])
    report = run(fake_qbwc)
    assert operations(report) == ["serverVersion", "clientVersion", "authenticate"]
    assert (report.outcome, report.postpone_seconds, report.ok) == (outcome, postpone, False)


def test_client_version_verdicts(fake_qbwc: FakeQBWC) -> None:
    fake_qbwc.script = script(clientVersion=["E:Upgrade the Web Connector."])
    report = run(fake_qbwc)
    assert operations(report) == ["serverVersion", "clientVersion"]
    assert report.outcome == "rejected by server version check" and report.errors == (
        "E:Upgrade the Web Connector.",
    )
    fake_qbwc.script = script(clientVersion=["W:Old client."], authenticate=[["t", "none"]])
    report = run(fake_qbwc)
    assert report.outcome == "no work" and report.warnings == ("W:Old client.",)


def test_connection_error_done(fake_qbwc: FakeQBWC) -> None:
    fake_qbwc.script = script(connectionError=["DONE"])
    report = run(fake_qbwc, CannedProcessor(fail_connection=("0x80040408", "Could not start QuickBooks.")))
    assert operations(report) == ["serverVersion", "clientVersion", "authenticate", "connectionError"]
    assert report.calls[-1].arguments == {
        "ticket": "3f9c0d5e-ticket",
        "hresult": "0x80040408",
        "message": "Could not start QuickBooks.",
    }
    assert report.outcome == "could not connect to QuickBooks" and report.close_message is None


def test_connection_error_path_is_tried_once_more(fake_qbwc: FakeQBWC) -> None:
    fake_qbwc.script = script(connectionError=[r"C:\Other.QBW", r"C:\Third.QBW"])
    report = run(fake_qbwc, CannedProcessor(fail_connection=("0x80040401", "Could not access QuickBooks")))
    assert operations(report)[3:] == ["connectionError", "connectionError"]
    assert report.outcome == "could not connect to QuickBooks" and len(report.errors) == 2

    class Flaky(CannedProcessor):
        def open_company(self, path: str) -> str:
            if path != r"C:\Other.QBW":
                raise QuickBooksConnectionError("0x80040401", "Could not access QuickBooks")
            return super().open_company(path)

    fake_qbwc.script = script(
        authenticate=[["t", r"C:\First.QBW"]],
        connectionError=[r"C:\Other.QBW"],
        sendRequestXML=[ITEM_QUERY],
        receiveResponseXML=[100],
    )
    report = run(fake_qbwc, Flaky())
    assert report.ok and report.calls[4].arguments["strCompanyFileName"] == r"C:\Other.QBW"


def test_negative_progress_asks_get_last_error_then_closes(fake_qbwc: FakeQBWC) -> None:
    fake_qbwc.script = script(
        sendRequestXML=[CUSTOMER_QUERY],
        receiveResponseXML=[-1],
        getLastError=["Customer 'X' not found (3240)."],
        closeConnection=["Failed"],
    )
    report = run(fake_qbwc)
    assert operations(report)[3:] == [
        "sendRequestXML",
        "receiveResponseXML",
        "getLastError",
        "closeConnection",
    ]
    assert report.outcome == "error" and report.errors == ("Customer 'X' not found (3240).",)
    assert report.close_message == "Failed" and report.progress == ()


def test_noop_waits_and_asks_again(fake_qbwc: FakeQBWC) -> None:
    fake_qbwc.script = script(
        sendRequestXML=["", CUSTOMER_QUERY], getLastError=["NoOp"], receiveResponseXML=[100]
    )
    report = run(fake_qbwc)
    assert operations(report)[3:] == [
        "sendRequestXML",
        "getLastError",
        "sendRequestXML",
        "receiveResponseXML",
        "closeConnection",
    ]
    assert report.ok and report.calls[3].arguments["strHCPResponse"] != ""
    assert report.calls[5].arguments["strHCPResponse"] == ""


def test_empty_request_with_error_closes(fake_qbwc: FakeQBWC) -> None:
    fake_qbwc.script = script(sendRequestXML=[""], getLastError=["noop"])
    report = run(fake_qbwc)
    assert operations(report)[3:] == ["sendRequestXML", "getLastError", "closeConnection"]
    assert report.outcome == "error" and report.errors == ("noop",)


def test_request_limit(fake_qbwc: FakeQBWC) -> None:
    fake_qbwc.script = script(sendRequestXML=[""], getLastError=["NoOp"])
    report = run(fake_qbwc, max_requests=3)
    assert operations(report).count("sendRequestXML") == 3 and operations(report)[-1] == "closeConnection"
    assert report.outcome == "request limit reached"


def test_quickbooks_request_error_goes_in_hresult(fake_qbwc: FakeQBWC) -> None:
    fake_qbwc.script = script(
        sendRequestXML=[qbxml_request("<CustomerQueryRq/>", version="99.0")], receiveResponseXML=[100]
    )
    report = run(fake_qbwc)
    assert report.calls[4].arguments == {
        "ticket": "3f9c0d5e-ticket",
        "response": "",
        "hresult": PARSE_ERROR[0],
        "message": PARSE_ERROR[1],
    }
    assert report.ok and report.requests_processed == 0 and report.errors == (": ".join(PARSE_ERROR),)


def test_protocol_error_carries_partial_report(fake_qbwc: FakeQBWC) -> None:
    fake_qbwc.script = script(
        sendRequestXML=[CUSTOMER_QUERY], receiveResponseXML=[lambda: (200, "text/html", b"<b>Warning</b>")]
    )
    with pytest.raises(
        WebConnectorProtocolError, match="receiveResponseXML: response content type"
    ) as caught:
        run(fake_qbwc)
    partial = caught.value.report
    assert partial is not None and partial.outcome == "aborted"
    assert operations(partial)[-1] == "sendRequestXML" and partial.requests_processed == 1


def test_soap_fault_over_http_and_single_calls(fake_qbwc: FakeQBWC) -> None:
    fault = raw_envelope(
        "<soap:Fault><faultcode>soap:Client</faultcode>"
        "<faultstring>Server was unable to read request.</faultstring></soap:Fault>"
    )
    fake_qbwc.script = {
        "serverVersion": ["1.2.3"],
        "getLastError": [lambda: (500, "text/xml; charset=utf-8", fault)],
    }
    assert soap_call(fake_qbwc.url, "serverVersion") == "1.2.3"
    with pytest.raises(SoapFault, match="Server was unable to read request"):
        soap_call(fake_qbwc.url, "getLastError", {"ticket": "t"})


def test_transport_error_when_nothing_listens() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(WebConnectorTransportError, match="serverVersion"):
        soap_call(f"http://127.0.0.1:{port}/qbwc", "serverVersion", timeout=2)


# --- the transcript -------------------------------------------------------------------------------


def test_report_transcript_of_a_session(fake_qbwc: FakeQBWC) -> None:
    fake_qbwc.script = script(sendRequestXML=[CUSTOMER_QUERY, ITEM_QUERY], receiveResponseXML=[50, 100])
    report = run(fake_qbwc)
    text = format_report(report)
    lines = text.splitlines()
    assert len(lines) == len(report.calls) + 1
    assert lines[0] == "serverVersion()".ljust(48) + " -> 'fake 1.0'"
    assert lines[1] == "clientVersion(strVersion='2.3.0.215')".ljust(48) + " -> ''"
    assert lines[2] == "authenticate(strUserName='acme')".ljust(48) + " -> ['3f9c…', '']"
    assert lines[3].startswith("sendRequestXML(ticket='3f9c…', HCP=")
    assert r"strCompanyFileName='…ooks\Company Files\Sample Wholesale.QBW', qbXML=US 13.0)" in lines[3]
    assert lines[3].endswith(f"-> qbXML 13.0: CustomerQueryRq ({len(CUSTOMER_QUERY)} B)")
    assert lines[4].startswith("receiveResponseXML(ticket='3f9c…', CustomerQueryRs (") and lines[4].endswith(
        "-> 50"
    )
    assert lines[5].startswith("sendRequestXML(ticket='3f9c…')")
    assert lines[-2] == "closeConnection(ticket='3f9c…')".ljust(48) + " -> 'Done: 2 raw qbXML requests.'"
    assert lines[-1].startswith("Session ok: 2 requests processed in ") and lines[-1].endswith(
        " s; progress 50, 100."
    )
    assert PASSWORD not in text and PASSWORD not in repr(report)


def test_report_formats_errors_and_never_the_password() -> None:
    report = SessionReport(
        calls=(
            Call(
                "authenticate",
                {"strUserName": "acme", "strPassword": PASSWORD},
                ("abcdef0123456789", ""),
                0.01,
            ),
            Call(
                "sendRequestXML",
                {
                    "ticket": "abcdef0123456789",
                    "strHCPResponse": "x" * 1234,
                    "strCompanyFileName": "",
                    "qbXMLCountry": "US",
                    "qbXMLMajorVers": 13,
                    "qbXMLMinorVers": 0,
                },
                qbxml_request("<CustomerAddRq/>", "<CustomerAddRq/>", "<InvoiceQueryRq/>"),
                0.01,
            ),
            Call(
                "receiveResponseXML",
                {
                    "ticket": "abcdef0123456789",
                    "response": "",
                    "hresult": PARSE_ERROR[0],
                    "message": PARSE_ERROR[1],
                },
                -1,
                0.01,
            ),
            Call("getLastError", {"ticket": "abcdef0123456789"}, "Line 1\nline 2", 0.01),
        ),
        outcome="error",
        ticket="abcdef0123456789",
        requests_processed=1,
        progress=(),
        close_message=None,
        errors=("0x80040400: QuickBooks found an error when parsing the provided XML text stream.",),
        warnings=(),
        postpone_seconds=None,
        seconds=1.5,
    )
    text = format_report(report)
    assert PASSWORD not in text
    assert "HCP=1.2 kB" in text and "-> qbXML 13.0: CustomerAddRq x2, InvoiceQueryRq (" in text
    assert "hresult='0x80040400', message='QuickBooks found an error when parsing …')" in text
    assert "-> 'Line 1\\nline 2'" in text and len(text.splitlines()) == 5
    assert (
        text.splitlines()[-1]
        == "Session error: 1 request processed in 1.50 s; errors: '0x80040400: QuickBooks found an error w…'."
    )
