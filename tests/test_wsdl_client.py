"""A client generated from Intuit's own WSDL (zeep) calls every operation of our server successfully."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from zeep import Client

from qbwc_server import queue
from qbwc_server.models import JobKind
from qbwc_server.simulator import host_response
from tests.conftest import TenantCredentials, shared_file

pytestmark = pytest.mark.protocol


def intuit_wsdl() -> Path:
    return shared_file("QBWC_WSDL", "qbwc/QBWebConnectorSvc.wsdl")


@pytest.fixture
def intuit_client(server) -> object:  # type: ignore[no-untyped-def]
    client = Client(str(intuit_wsdl()))
    return client.create_service("{http://developer.intuit.com/}QBWebConnectorSvcSoap", server.url)


def test_every_operation_through_intuits_wsdl(
    intuit_client, tenant: TenantCredentials, engine: Engine
) -> None:
    svc = intuit_client
    with engine.begin() as conn:
        job = queue.enqueue(
            conn, tenant.id, JobKind.RAW_QBXML, request_body='<CustomerQueryRq requestID="1"/>'
        )

    assert svc.serverVersion().startswith("qbwc-server")
    assert svc.clientVersion("2.3.0.215") in (None, "")
    # zeep unwraps ArrayOfString into a list of its <string> items; "" comes back as None.
    assert [item or "" for item in svc.authenticate("nobody", "x")] == ["", "nvu"]
    ticket, company = svc.authenticate(tenant.username, tenant.password)
    assert ticket and company in (None, "")

    hcp = host_response(company_file=r"C:\Acme.QBW", supported_versions=["12.0", "13.0"], country="US")
    request = svc.sendRequestXML(ticket, hcp, r"C:\Acme.QBW", "US", 13, 0)
    assert '<?qbxml version="13.0"?>' in request and "<CustomerQueryRq" in request

    response = (
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><CustomerQueryRs requestID="1" statusCode="0"'
        ' statusSeverity="Info" statusMessage="Status OK"/></QBXMLMsgsRs></QBXML>'
    )
    assert svc.receiveResponseXML(ticket, response, "", "") == 100
    assert svc.getLastError(ticket) in (None, "")
    assert svc.closeConnection(ticket) == "Done: 1 raw qbXML request."
    assert svc.connectionError(ticket, "0x80040408", "Could not start QuickBooks.") == "done"
    assert svc.receiveResponseXML(ticket, response, "", "") == -1  # closed ticket

    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT status FROM jobs WHERE id = :id"), {"id": job}).scalar_one() == "done"
        )
