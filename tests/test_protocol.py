"""Every Web Connector operation over real HTTP, with the envelopes QBWC sends (PROTOCOL.md §4)."""

from __future__ import annotations

import re

import pytest
from lxml import etree
from sqlalchemy import Engine, text

from qbwc_server import queue
from qbwc_server.models import JobKind
from qbwc_server.queue.stored import response_text
from qbwc_server.simulator import host_response
from qbwc_server.sync import raw
from qbwc_server.webconnector.session import BAD_TICKET
from tests.conftest import TenantCredentials
from tests.wire import SOAP_ENV, TNS, call, envelope, post

pytestmark = pytest.mark.protocol

COMPANY = r"C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\Acme.QBW"
VERSIONS_13 = [f"{major}.0" for major in range(1, 14)]
CUSTOMER_QUERY = '<CustomerQueryRq requestID="1"><MaxReturned>5</MaxReturned></CustomerQueryRq>'
CUSTOMER_RS = (
    '<?xml version="1.0" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<CustomerQueryRs requestID="1" statusCode="0"'
    ' statusSeverity="Info" statusMessage="Status OK"><CustomerRet><ListID>80000001-1234567890</ListID>'
    "<Name>Caf\u00e9 &amp; Co</Name></CustomerRet></CustomerQueryRs>\n</QBXMLMsgsRs>\n</QBXML>\n"
)


ADD_CUSTOMER = '<CustomerAddRq requestID="1"><CustomerAdd><Name>Acme</Name></CustomerAdd></CustomerAddRq>'


def hcp(versions: list[str] = VERSIONS_13) -> str:
    return host_response(company_file=COMPANY, supported_versions=versions, country="US")


def enqueue_raw(engine: Engine, tenant_id: int, body: str = CUSTOMER_QUERY, **kwargs: object) -> int:
    with engine.begin() as conn:
        return raw.enqueue_raw(conn, tenant_id, body, **kwargs)


def authenticate(url: str, creds: TenantCredentials) -> list[str]:
    return call(
        url, "authenticate", ("strUserName", creds.username), ("strPassword", creds.password)
    ).strings("authenticate")


def send_request(url: str, ticket: str, hcp_response: str = "", major: int = 13) -> str:
    reply = call(
        url,
        "sendRequestXML",
        ("ticket", ticket),
        ("strHCPResponse", hcp_response),
        ("strCompanyFileName", COMPANY),
        ("qbXMLCountry", "US"),
        ("qbXMLMajorVers", major),
        ("qbXMLMinorVers", 0),
    )
    return reply.text("sendRequestXML")


def receive(url: str, ticket: str, response: str = CUSTOMER_RS, hresult: str = "", message: str = "") -> int:
    reply = call(
        url,
        "receiveResponseXML",
        ("ticket", ticket),
        ("response", response),
        ("hresult", hresult),
        ("message", message),
    )
    return reply.integer("receiveResponseXML")


def job_row(engine: Engine, job_id: int):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM jobs WHERE id = :id"), {"id": job_id}).mappings().one()


# -- transport and envelope ----------------------------------------------------------------------


def test_server_version_answers_in_the_intuit_namespace(server) -> None:
    reply = call(server.url, "serverVersion")
    assert reply.status == 200
    assert reply.content_type == "text/xml; charset=utf-8"
    assert reply.text("serverVersion").startswith("qbwc-server ")


@pytest.mark.parametrize(("version", "expected"), [("2.3.0.215", ""), ("2.1.0.30", ""), ("1.0.0.1", "W:")])
def test_client_version_accepts_current_web_connectors(server, version: str, expected: str) -> None:
    result = call(server.url, "clientVersion", ("strVersion", version)).result("clientVersion")
    assert (result.text or "").startswith(expected)
    if not expected:
        assert not (result.text or "")


@pytest.mark.parametrize(
    "action", ['"http://developer.intuit.com/serverVersion"', "http://developer.intuit.com/serverVersion", ""]
)
def test_soap_action_quoted_unquoted_or_empty(server, action: str) -> None:
    reply = post(server.url, envelope("serverVersion"), soap_action=action)
    assert reply.status == 200
    assert reply.text("serverVersion")


def test_rpc_style_prefixed_envelope_is_understood(server, tenant) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        '<soap:Body><q1:authenticate xmlns:q1="http://developer.intuit.com/">'
        f'<q1:strUserName xsi:type="xsd:string">{tenant.username}</q1:strUserName>'
        '<q1:strPassword xsi:type="xsd:string">wrong</q1:strPassword>'
        "</q1:authenticate></soap:Body></soap:Envelope>"
    ).encode()
    assert post(server.url, body, soap_action='"http://developer.intuit.com/authenticate"').strings(
        "authenticate"
    ) == ["", "nvu"]


@pytest.mark.parametrize(
    "body",
    [
        b"this is not xml",
        b"<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Body>",
        envelope("noSuchOperation", ("ticket", "x")),
        b"",
    ],
    ids=["garbage", "truncated", "unknown-operation", "empty"],
)
def test_malformed_soap_gets_a_soap_fault_never_html_or_a_traceback(server, body: bytes) -> None:
    reply = post(server.url, body, soap_action='"http://developer.intuit.com/authenticate"')
    assert reply.status == 500
    assert reply.content_type == "text/xml; charset=utf-8"
    fault = reply.root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None
    assert fault.findtext("faultstring")
    assert b"Traceback" not in reply.body and b"<html" not in reply.body.lower()


@pytest.mark.parametrize("suffix", ["", "?wsdl", "?WSDL"])
def test_get_on_the_endpoint_answers_200_with_our_wsdl(server, suffix: str) -> None:
    reply = post(server.url, b"", method="GET", path_suffix=suffix)
    assert reply.status == 200
    wsdl = reply.root
    assert wsdl.get("targetNamespace") == TNS
    operations = {op.get("name") for op in wsdl.iter("{http://schemas.xmlsoap.org/wsdl/}operation")}
    assert {
        "serverVersion",
        "clientVersion",
        "authenticate",
        "sendRequestXML",
        "receiveResponseXML",
        "connectionError",
        "getLastError",
        "closeConnection",
    } <= operations
    actions = {a.get("soapAction") for a in wsdl.iter("{http://schemas.xmlsoap.org/wsdl/soap/}operation")}
    assert "http://developer.intuit.com/authenticate" in actions


def test_interactive_operations_answer_empty_strings(server) -> None:
    assert (
        call(server.url, "getInteractiveURL", ("wcTicket", "t"), ("sessionID", "s")).text("getInteractiveURL")
        == ""
    )
    assert call(server.url, "interactiveDone", ("wcTicket", "t")).text("interactiveDone") == ""
    assert (
        call(server.url, "interactiveRejected", ("wcTicket", "t"), ("reason", "r")).text(
            "interactiveRejected"
        )
        == ""
    )
    # Some sources name the argument `ticket`; that must work too.
    assert call(server.url, "interactiveDone", ("ticket", "t")).text("interactiveDone") == ""


# -- authenticate ------------------------------------------------------------------------------


def test_wrong_password_and_unknown_user_get_nvu(server, tenant) -> None:
    bad = call(server.url, "authenticate", ("strUserName", tenant.username), ("strPassword", "nope"))
    assert bad.strings("authenticate") == ["", "nvu"]
    unknown = call(server.url, "authenticate", ("strUserName", "nobody"), ("strPassword", tenant.password))
    assert unknown.strings("authenticate") == ["", "nvu"]


def test_nothing_to_do_answers_none_with_a_postpone_hint(server, tenant) -> None:
    result = authenticate(server.url, tenant)
    assert result[:2] == ["", "none"]
    assert int(result[2]) > 0


def test_queued_work_gets_a_fresh_random_ticket(server, tenant, engine) -> None:
    enqueue_raw(engine, tenant.id)
    ticket, company = authenticate(server.url, tenant)
    assert re.fullmatch(r"[0-9a-f]{32}", ticket)  # 128 random bits
    assert company == ""
    # closing and coming back with more work gives a different ticket
    call(server.url, "closeConnection", ("ticket", ticket))
    enqueue_raw(engine, tenant.id)
    assert authenticate(server.url, tenant)[0] not in ("", ticket)


def test_tenant_company_file_is_returned(server, make_tenant, engine) -> None:
    creds = make_tenant("bravo", company_file=COMPANY)
    enqueue_raw(engine, creds.id)
    assert authenticate(server.url, creds)[1] == COMPANY


def test_argon2_password_authenticates(server, make_tenant, engine) -> None:
    creds = make_tenant("charlie", password="correct horse battery staple")
    enqueue_raw(engine, creds.id)
    assert authenticate(server.url, creds)[0]
    wrong = TenantCredentials(creds.id, creds.name, creds.username, "correct horse battery stapler")
    assert authenticate(server.url, wrong) == ["", "nvu"]


def test_repeated_failures_lock_the_address_for_a_while(server, make_tenant, engine) -> None:
    """An admin-chosen password: the address that failed is locked out (the rule: README,
    Passwords; the details: tests/test_sessions_hardening.py)."""
    creds = make_tenant("charlie", password="correct horse battery staple")
    enqueue_raw(engine, creds.id)
    wrong = TenantCredentials(creds.id, creds.name, creds.username, "guess")
    for _ in range(5):
        assert authenticate(server.url, wrong) == ["", "nvu"]
    with engine.begin() as conn:  # however slow this machine, the lock still holds for the next call
        conn.execute(text("UPDATE auth_failures SET locked_until = now() + interval '1 minute'"))
    assert authenticate(server.url, creds) == ["", "nvu"], "locked out even with the right password"
    with engine.begin() as conn:  # the lockout expires
        conn.execute(text("UPDATE auth_failures SET locked_until = now() - interval '1 second'"))
    assert authenticate(server.url, creds)[0]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT failed_logins FROM tenants")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM auth_failures")).scalar_one() == 0


def test_a_new_authenticate_takes_over_an_abandoned_session_at_once(server, tenant, engine) -> None:
    job = enqueue_raw(engine, tenant.id)
    first = authenticate(server.url, tenant)[0]
    assert send_request(server.url, first, hcp())  # leased to the first session, which then goes silent
    second = authenticate(server.url, tenant)[0]
    assert second and second != first, "one session at a time: a new authenticate means the old is over"
    assert job_row(engine, job)["status"] == "queued", "its unanswered read goes back to the queue"
    assert "<CustomerQueryRq" in send_request(server.url, second, hcp())
    assert send_request(server.url, first) == "", "the old ticket is dead"
    assert "newer Web Connector session" in call(server.url, "getLastError", ("ticket", first)).text(
        "getLastError"
    )


def test_a_session_quiet_past_the_idle_timeout_expires(server, tenant, engine) -> None:
    job = enqueue_raw(engine, tenant.id)
    first = authenticate(server.url, tenant)[0]
    assert send_request(server.url, first, hcp())
    with engine.begin() as conn:  # the session goes quiet past the idle timeout
        conn.execute(text("UPDATE qbwc_sessions SET last_call_at = now() - interval '1 hour'"))
    assert send_request(server.url, first) == ""
    assert call(server.url, "getLastError", ("ticket", first)).text("getLastError") == BAD_TICKET
    assert job_row(engine, job)["status"] == "queued", "the dead session's lease is reclaimed"


# -- sendRequestXML / receiveResponseXML -------------------------------------------------------------


def test_first_send_reads_hcp_and_negotiates_the_version(server, tenant, engine) -> None:
    enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    request = send_request(server.url, ticket, hcp([*VERSIONS_13, "14.0", "15.0", "16.0"]), major=16)
    assert request.startswith('<?xml version="1.0"')
    assert '<?qbxml version="13.0"?>' in request, "capped at 13.0, the schema we validate against"
    root = etree.fromstring(request.encode())
    assert root.tag == "QBXML"
    assert root.find("QBXMLMsgsRq/CustomerQueryRq/MaxReturned").text == "5"
    with engine.connect() as conn:
        row = conn.execute(text("SELECT qbxml_version, host_product, host_country FROM tenants")).one()
    assert row.qbxml_version == "13.0"
    assert "QuickBooks" in row.host_product and row.host_country == "US"


def test_quickbooks_describing_itself_as_before_rewrites_nothing_and_a_change_is_kept(
    server, tenant, engine
) -> None:
    """Every session's first sendRequestXML brings the same description of QuickBooks: writing
    it on the tenant again each time would cost a row version and its WAL a session for nothing."""

    def session(versions: list[str]) -> None:
        enqueue_raw(engine, tenant.id)
        ticket = authenticate(server.url, tenant)[0]
        send_request(server.url, ticket, hcp(versions))
        assert receive(server.url, ticket) == 100
        call(server.url, "closeConnection", ("ticket", ticket))

    def host_writes() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM test_host_writes")).scalar_one())

    with engine.begin() as conn:  # a trigger sees every UPDATE that sets the description
        conn.execute(text("CREATE TABLE test_host_writes (at timestamptz DEFAULT now())"))
        conn.execute(
            text("""CREATE FUNCTION test_note_host_write() RETURNS trigger LANGUAGE plpgsql AS
                    $$ BEGIN INSERT INTO test_host_writes DEFAULT VALUES; RETURN NEW; END $$""")
        )
        conn.execute(
            text("""CREATE TRIGGER test_host_write AFTER UPDATE OF host_product, host_version,
                    host_country, qbxml_version, company_preferences ON tenants
                    FOR EACH ROW EXECUTE FUNCTION test_note_host_write()""")
        )
    try:
        session(VERSIONS_13)
        assert host_writes() == 1, "the first description is kept"
        session(VERSIONS_13)
        session(VERSIONS_13)
        assert host_writes() == 1, "the same description again is not written again"
        session([f"{m}.0" for m in range(1, 13)])  # QuickBooks downgraded: 12.0 now
        assert host_writes() == 2
        with engine.connect() as conn:
            assert conn.execute(text("SELECT qbxml_version FROM tenants")).scalar_one() == "12.0"
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER test_host_write ON tenants"))
            conn.execute(text("DROP FUNCTION test_note_host_write()"))
            conn.execute(text("DROP TABLE test_host_writes"))


def test_older_quickbooks_gets_its_own_version(server, tenant, engine) -> None:
    enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    request = send_request(server.url, ticket, hcp([f"{m}.0" for m in range(1, 13)]), major=12)
    assert '<?qbxml version="12.0"?>' in request


def test_too_old_quickbooks_is_refused_with_a_plain_reason(server, tenant, engine) -> None:
    enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert send_request(server.url, ticket, hcp(["1.0", "2.0"]), major=2) == ""
    error = call(server.url, "getLastError", ("ticket", ticket)).text("getLastError")
    assert "2.0" in error and "Update QuickBooks" in error


def test_two_jobs_report_truthful_progress_and_store_responses(server, tenant, engine) -> None:
    first, second = enqueue_raw(engine, tenant.id), enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert send_request(server.url, ticket, hcp())
    assert receive(server.url, ticket) == 50
    assert send_request(server.url, ticket)
    assert receive(server.url, ticket) == 100
    for job_id in (first, second):
        row = job_row(engine, job_id)
        assert row["status"] == "done"
        assert "Caf\u00e9 &amp; Co" in str(response_text(row["response_gz"], row["response_xml"]))
        assert row["last_status_code"] == 0
    summary = call(server.url, "closeConnection", ("ticket", ticket)).text("closeConnection")
    assert summary == "Done: 2 raw qbXML requests."


def test_a_request_quickbooks_could_not_parse_fails_its_job_and_the_session_goes_on(
    server, tenant, engine
) -> None:
    job = enqueue_raw(engine, tenant.id)
    later = enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    send_request(server.url, ticket, hcp())
    parse_error = "QuickBooks found an error when parsing the provided XML text stream."
    assert receive(server.url, ticket, "", "0x80040400", parse_error) == 50, "the next job still goes"
    row = job_row(engine, job)
    assert row["status"] == "failed"
    assert "could not parse the request" in row["last_message"] and "Fix:" in row["last_message"]
    assert "<CustomerQueryRq" in send_request(server.url, ticket)
    assert receive(server.url, ticket) == 100
    assert job_row(engine, later)["status"] == "done"
    summary = call(server.url, "closeConnection", ("ticket", ticket)).text("closeConnection")
    assert "1 needs attention" in summary


def test_quickbooks_failing_ends_the_session_and_a_write_is_unconfirmed(server, tenant, engine) -> None:
    job = enqueue_raw(engine, tenant.id, ADD_CUSTOMER)
    ticket = authenticate(server.url, tenant)[0]
    send_request(server.url, ticket, hcp())
    assert receive(server.url, ticket, "", "0x80040402", "Unexpected error") == -1
    error = call(server.url, "getLastError", ("ticket", ticket)).text("getLastError")
    assert "unexpected error" in error and "0x80040402" in error and "Fix:" in error
    row = job_row(engine, job)
    assert row["status"] == "unconfirmed", "QuickBooks may have added the customer: never resent blindly"
    summary = call(server.url, "closeConnection", ("ticket", ticket)).text("closeConnection")
    assert "1 may have reached QuickBooks" in summary


def test_an_unreadable_answer_fails_its_read_with_the_reason_and_is_not_sent_again(
    server, tenant, engine
) -> None:
    job = enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    send_request(server.url, ticket, hcp())
    assert receive(server.url, ticket, "<QBXML><QBXMLMsgsRs><CustomerQueryRs") == 100
    row = job_row(engine, job)
    assert row["status"] == "failed" and row["attempts"] == 1
    assert "could not be read" in row["last_message"]
    assert "1 needs attention" in call(server.url, "closeConnection", ("ticket", ticket)).text(
        "closeConnection"
    )
    assert authenticate(server.url, tenant)[1] == "none", "nothing is sent again by itself"


def test_qbxml_error_status_in_a_raw_response_is_recorded_not_fatal(server, tenant, engine) -> None:
    job = enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    send_request(server.url, ticket, hcp())
    response = (
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><CustomerQueryRs requestID="1" statusCode="500"'
        ' statusSeverity="Warn" statusMessage="The query request has not been fully completed."/>'
        "</QBXMLMsgsRs></QBXML>"
    )
    assert receive(server.url, ticket, response) == 100
    row = job_row(engine, job)
    assert row["status"] == "done" and row["last_status_code"] == 500


def test_response_declaring_windows_1252_is_parsed(server, tenant, engine) -> None:
    job = enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    send_request(server.url, ticket, hcp())
    assert (
        receive(
            server.url,
            ticket,
            CUSTOMER_RS.replace('version="1.0" ?', 'version="1.0" encoding="windows-1252" ?'),
        )
        == 100
    )
    assert job_row(engine, job)["status"] == "done"


def test_noop_keeps_the_session_open_for_work_due_in_seconds(server, tenant, engine) -> None:
    enqueue_raw(engine, tenant.id)
    with engine.begin() as conn:
        later = queue.enqueue(
            conn,
            tenant.id,
            JobKind.RAW_QBXML,
            request_body=CUSTOMER_QUERY,
            run_after=conn.execute(text("SELECT now() + interval '3 seconds'")).scalar_one(),
        )
    ticket = authenticate(server.url, tenant)[0]
    send_request(server.url, ticket, hcp())
    assert receive(server.url, ticket) < 100, "work due in seconds keeps the session going"
    assert send_request(server.url, ticket) == ""
    assert call(server.url, "getLastError", ("ticket", ticket)).text("getLastError") == "NoOp"
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET run_after = now() WHERE id = :id"), {"id": later})
    assert send_request(server.url, ticket)
    assert receive(server.url, ticket) == 100


# -- connectionError, closeConnection, bad tickets ------------------------------------------------


def test_connection_error_is_recorded_with_the_fix_and_work_is_kept(server, tenant, engine) -> None:
    job = enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    reply = call(
        server.url,
        "connectionError",
        ("ticket", ticket),
        ("hresult", "0x80040408"),
        ("message", "Could not start QuickBooks."),
    )
    assert reply.text("connectionError") == "done"
    with engine.connect() as conn:
        problem = conn.execute(text("SELECT connection_error FROM tenants")).scalar_one()
        state = conn.execute(
            text("SELECT state FROM qbwc_sessions WHERE ticket = :t"), {"t": ticket}
        ).scalar_one()
    assert (
        "could not start QuickBooks" in problem and "0x80040408" in problem and "Open QuickBooks" in problem
    )
    assert state == "failed"
    assert job_row(engine, job)["status"] == "queued"
    # The next good session clears the problem.
    ticket = authenticate(server.url, tenant)[0]
    send_request(server.url, ticket, hcp())
    receive(server.url, ticket)
    call(server.url, "closeConnection", ("ticket", ticket))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT connection_error FROM tenants")).scalar_one() is None


def test_close_connection_invalidates_the_ticket(server, tenant, engine) -> None:
    enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    first = call(server.url, "closeConnection", ("ticket", ticket)).text("closeConnection")
    assert first == "Nothing was completed."
    assert send_request(server.url, ticket) == ""
    assert call(server.url, "closeConnection", ("ticket", ticket)).text("closeConnection") == first


@pytest.mark.parametrize("ticket", ["", "not-a-ticket", "0" * 32])
def test_bad_ticket_gets_a_clear_answer_on_every_call(server, ticket: str) -> None:
    assert send_request(server.url, ticket) == ""
    assert receive(server.url, ticket) == -1
    assert call(server.url, "getLastError", ("ticket", ticket)).text("getLastError") == BAD_TICKET
    assert (
        call(
            server.url, "connectionError", ("ticket", ticket), ("hresult", "0x80040408"), ("message", "x")
        ).text("connectionError")
        == "done"
    )
    assert "unknown or has expired" in call(server.url, "closeConnection", ("ticket", ticket)).text(
        "closeConnection"
    )


def test_database_outage_gets_a_soap_fault_and_healthz_says_so(
    fresh_database, template_database: str, admin_engine, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.engine import make_url

    from qbwc_server.app import create_app
    from qbwc_server.config import Settings
    from qbwc_server.db import make_engine
    from qbwc_server.testing import BackgroundServer

    url = fresh_database(template_database)
    engine = make_engine(url)
    settings = Settings(database_url=url, data_dir=tmp_path, public_url="https://qbwc.example.com/qbwc")
    with BackgroundServer(create_app(settings, engine)) as served:
        name = make_url(url).database
        with admin_engine.connect() as conn:  # the database disappears under the running server
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        reply = call(served.url, "authenticate", ("strUserName", "acme"), ("strPassword", "x"))
        assert reply.status == 500 and reply.content_type == "text/xml; charset=utf-8"
        fault = reply.root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
        assert fault is not None and fault.findtext("faultstring") == "Internal Error"
        assert b"Traceback" not in reply.body and b"psycopg2" not in reply.body
        health = post(served.base_url + "/healthz", b"", method="GET")
        assert health.status == 503 and b"database unreachable" in health.body
    engine.dispose()


@pytest.mark.parametrize(
    ("body", "read_only"),
    [
        ('<CustomerQueryRq requestID="1"/>', True),
        ('<CustomerQueryRq requestID="1"/><TxnDeletedQueryRq requestID="2"/>', True),
        ('<CustomerAddRq requestID="1"><CustomerAdd><Name>X</Name></CustomerAdd></CustomerAddRq>', False),
        ('<CustomerQueryRq requestID="1"/><InvoiceModRq requestID="2"/>', False),
    ],
)
def test_raw_jobs_that_only_read_may_be_asked_twice(body: str, read_only: bool) -> None:
    """A read-only request's outcome is committed without waiting for the disk, and it is simply
    sent again if its answer is lost; a write's never is, and it is never resent blindly."""
    assert raw.writes(body) is not read_only


def test_raw_writes_and_queries_both_finish_through_their_own_commit_paths(server, tenant, engine) -> None:
    add = '<CustomerAddRq requestID="1"><CustomerAdd><Name>Acme</Name></CustomerAdd></CustomerAddRq>'
    jobs = [enqueue_raw(engine, tenant.id, add), enqueue_raw(engine, tenant.id)]
    ticket = authenticate(server.url, tenant)[0]
    added = (
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><CustomerAddRs requestID="1" statusCode="0"'
        ' statusSeverity="Info" statusMessage="Status OK"><CustomerRet><ListID>80000002-1</ListID>'
        "<Name>Acme</Name></CustomerRet></CustomerAddRs></QBXMLMsgsRs></QBXML>"
    )
    assert "<CustomerAddRq" in send_request(server.url, ticket, hcp())
    assert receive(server.url, ticket, added) == 50
    assert "<CustomerQueryRq" in send_request(server.url, ticket)
    assert receive(server.url, ticket) == 100
    assert [job_row(engine, j)["status"] for j in jobs] == ["done", "done"]
