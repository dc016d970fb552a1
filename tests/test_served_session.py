"""Whole Web Connector sessions against the app as deployed: gunicorn, our config, real HTTP.

The simulated Web Connector drives it exactly as Intuit's does; the canned processor plays QuickBooks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from qbwc_server import queue
from qbwc_server.admin import tenants
from qbwc_server.admin.jobs import get_job
from qbwc_server.admin.settings import set_pull_settings, set_push_settings
from qbwc_server.db import make_engine
from qbwc_server.models import JobKind
from qbwc_server.simulator import CannedProcessor, SimulatedWebConnector, soap_call
from qbwc_server.testing import spawn_gunicorn
from tests.wire import envelope, post

pytestmark = [pytest.mark.protocol, pytest.mark.slow]


@dataclass(frozen=True)
class Served:
    url: str
    engine: Engine
    tenant_id: int
    username: str
    password: str

    def enqueue(
        self, body: str = '<CustomerQueryRq requestID="1"><MaxReturned>2</MaxReturned></CustomerQueryRq>'
    ) -> int:
        with self.engine.begin() as conn:
            return queue.enqueue(conn, self.tenant_id, JobKind.RAW_QBXML, request_body=body)

    def scalar(self, sql: str, **params: object) -> object:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()


@pytest.fixture(scope="module")
def gunicorn(admin_engine, pg_admin_url: str, template_database: str) -> Iterator[Served]:  # type: ignore[no-untyped-def]
    name = f"qbwc_test_gunicorn_{os.getpid()}"
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    url = make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    with engine.begin() as conn:
        info, password = tenants.add_tenant(conn, "acme", "acme-qbwc")
        set_pull_settings(conn, info.id, intervals={"default": 0})  # only the jobs queued here
        set_push_settings(conn, info.id, live_window_seconds=0)  # no live window: ends when done
    process, base = spawn_gunicorn(url, environ={**os.environ, "QBWC_WORKERS": "2"})
    try:
        yield Served(base + "/qbwc", engine, info.id, info.username, password or "")
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode(errors="replace")
        engine.dispose()
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        assert "Traceback" not in output, output


def session(served: Served, processor: CannedProcessor | None = None, password: str | None = None):  # type: ignore[no-untyped-def]
    connector = SimulatedWebConnector(
        served.url,
        served.username,
        served.password if password is None else password,
        processor or CannedProcessor(),
        noop_delay=0.1,
    )
    return connector.run_session()


def test_complete_session_with_two_raw_jobs(gunicorn: Served) -> None:
    jobs = [gunicorn.enqueue(), gunicorn.enqueue('<ItemInventoryQueryRq requestID="7"/>')]
    report = session(gunicorn)
    assert report.outcome == "ok"
    assert [c.operation for c in report.calls] == [
        "serverVersion",
        "clientVersion",
        "authenticate",
        "sendRequestXML",
        "receiveResponseXML",
        "sendRequestXML",
        "receiveResponseXML",
        "closeConnection",
    ]
    hcp_sent = [c.arguments["strHCPResponse"] for c in report.calls if c.operation == "sendRequestXML"]
    assert hcp_sent[0] and not hcp_sent[1], "the HCP response travels on the first sendRequestXML only"
    assert report.progress == (50, 100)
    assert report.close_message == "Done: 2 raw qbXML requests."
    for job in jobs:
        assert gunicorn.scalar("SELECT status FROM jobs WHERE id = :id", id=job) == "done"
    with gunicorn.engine.connect() as conn:
        assert "ItemInventoryRet" in str(get_job(conn, jobs[1]).response_xml)
    assert (
        gunicorn.scalar("SELECT qbxml_version FROM tenants WHERE id = :id", id=gunicorn.tenant_id) == "13.0"
    )


def test_nothing_queued_means_no_work(gunicorn: Served) -> None:
    report = session(gunicorn)
    assert report.outcome == "no work" and report.postpone_seconds


def test_bad_password(gunicorn: Served) -> None:
    gunicorn.enqueue()
    assert session(gunicorn, password="wrong").outcome == "invalid user"
    with gunicorn.engine.begin() as conn:  # leave the queue clean for the next test
        conn.execute(text("UPDATE tenants SET failed_logins = 0, locked_until = NULL"))
        conn.execute(text("DELETE FROM jobs WHERE status = 'queued'"))


def test_bad_ticket_answers_cleanly(gunicorn: Served) -> None:
    assert (
        soap_call(
            gunicorn.url,
            "receiveResponseXML",
            {"ticket": "nope", "response": "", "hresult": "", "message": ""},
        )
        == -1
    )
    assert "unknown or has expired" in str(soap_call(gunicorn.url, "getLastError", {"ticket": "nope"}))


def test_quickbooks_not_running_calls_connection_error(gunicorn: Served) -> None:
    job = gunicorn.enqueue()
    report = session(gunicorn, CannedProcessor(fail_connection=("0x80040408", "Could not start QuickBooks.")))
    assert report.outcome == "could not connect to QuickBooks"
    assert "connectionError" in [c.operation for c in report.calls]
    problem = str(
        gunicorn.scalar("SELECT connection_error FROM tenants WHERE id = :id", id=gunicorn.tenant_id)
    )
    assert "Open QuickBooks" in problem
    assert gunicorn.scalar("SELECT status FROM jobs WHERE id = :id", id=job) == "queued"
    assert session(gunicorn).outcome == "ok", "the queued work goes out once QuickBooks is back"
    assert (
        gunicorn.scalar("SELECT connection_error FROM tenants WHERE id = :id", id=gunicorn.tenant_id) is None
    )


def test_hresult_on_receive_response(gunicorn: Served) -> None:
    job = gunicorn.enqueue()
    unexpected = ("0x80040402", "Unexpected error. Check the qbsdklog.txt file for more information.")
    report = session(gunicorn, CannedProcessor(fail_requests=unexpected))
    assert report.outcome == "error"
    assert [c.operation for c in report.calls][-3:] == [
        "receiveResponseXML",
        "getLastError",
        "closeConnection",
    ]
    assert any("0x80040402" in e for e in report.errors)
    assert gunicorn.scalar("SELECT status FROM jobs WHERE id = :id", id=job) == "queued", "a read: retried"


def test_a_request_quickbooks_cannot_parse_fails_alone(gunicorn: Served) -> None:
    job = gunicorn.enqueue()
    parse_error = ("0x80040400", "QuickBooks found an error when parsing the provided XML text stream.")
    report = session(gunicorn, CannedProcessor(fail_requests=parse_error))
    assert report.outcome == "ok", "one request's failure does not end the session"
    assert "1 needs attention" in (report.close_message or "")
    assert gunicorn.scalar("SELECT status FROM jobs WHERE id = :id", id=job) == "failed"


def test_malformed_soap_and_get(gunicorn: Served) -> None:
    reply = post(gunicorn.url, b"<not-soap", soap_action='"http://developer.intuit.com/authenticate"')
    assert reply.status == 500 and reply.content_type == "text/xml; charset=utf-8"
    assert b"Fault" in reply.body
    not_an_int = envelope(
        "sendRequestXML",
        ("ticket", "t"),
        ("strHCPResponse", ""),
        ("strCompanyFileName", ""),
        ("qbXMLCountry", "US"),
        ("qbXMLMajorVers", "thirteen"),
        ("qbXMLMinorVers", 0),
    )
    bad_type = post(gunicorn.url, not_an_int, soap_action='"http://developer.intuit.com/sendRequestXML"')
    assert bad_type.status == 500 and b"Fault" in bad_type.body and b"Traceback" not in bad_type.body
    get = post(gunicorn.url, b"", method="GET")
    assert get.status == 200 and b"QBWebConnectorSvc" in get.body
    assert post(gunicorn.url, envelope("serverVersion")).status == 200
