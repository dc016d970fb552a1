"""The live window (issue 8 §3): a session whose work is done stays open with NoOp for the
tenant's window after its last work, a push made meanwhile goes out on the next sendRequestXML,
and once the window has passed the session ends normally (a closing HostQuery answered 100).

Over real HTTP with the raw protocol calls QBWC makes, and once with the simulated Web Connector.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from qbwc_server.app import create_app
from qbwc_server.config import Settings
from qbwc_server.simulator.processor import CannedProcessor
from qbwc_server.simulator.webconnector import SimulatedWebConnector
from qbwc_server.testing import BackgroundServer
from qbwc_server.webconnector.lifecycle import OUTLIVED
from tests.conftest import TenantCredentials
from tests.test_protocol import authenticate, enqueue_raw, hcp, receive, send_request
from tests.wire import call

pytestmark = pytest.mark.protocol

HOST_RS = (
    '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><HostQueryRs requestID="closing" statusCode="0"'
    ' statusSeverity="Info" statusMessage="Status OK"><HostRet><ProductName>QuickBooks Pro 2014'
    "</ProductName><MajorVersion>24</MajorVersion></HostRet></HostQueryRs></QBXMLMsgsRs></QBXML>"
)


def last_error(url: str, ticket: str) -> str:
    return call(url, "getLastError", ("ticket", ticket)).text("getLastError")


def close(url: str, ticket: str) -> str:
    return call(url, "closeConnection", ("ticket", ticket)).text("closeConnection")


def session_state(engine: Engine, ticket: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT state FROM qbwc_sessions WHERE ticket = :t"), {"t": ticket}
            ).scalar_one()
        )


def noop_until_request(url: str, ticket: str, *, within: float) -> tuple[str, int]:
    """Poll as QBWC does after NoOp (faster): the next request, and how many NoOps came first."""
    deadline = time.monotonic() + within
    noops = 0
    while time.monotonic() < deadline:
        request = send_request(url, ticket)
        if request:
            return request, noops
        assert last_error(url, ticket) == "NoOp"
        noops += 1
        time.sleep(0.2)
    raise AssertionError(f"no request within {within} s ({noops} NoOps)")


def test_window_zero_ends_at_once_as_before(server, tenant, engine) -> None:
    enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert send_request(server.url, ticket, hcp())
    assert receive(server.url, ticket) == 100
    assert close(server.url, ticket) == "Done: 1 raw qbXML request."


def test_a_push_made_in_the_window_goes_out_on_the_same_session(server, make_tenant, engine) -> None:
    tenant = make_tenant(live_window=60)
    enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert "CustomerQueryRq" in send_request(server.url, ticket, hcp())
    assert receive(server.url, ticket) == 99, "work done, the window keeps the session going"
    assert send_request(server.url, ticket) == ""
    assert last_error(server.url, ticket) == "NoOp"
    assert send_request(server.url, ticket) == ""
    assert last_error(server.url, ticket) == "NoOp"

    pushed = enqueue_raw(
        engine, tenant.id, '<CustomerQueryRq requestID="1"><FullName>Later</FullName></CustomerQueryRq>'
    )
    request = send_request(server.url, ticket)
    assert "<FullName>Later</FullName>" in request, "the next sendRequestXML sends it"
    assert receive(server.url, ticket) == 99
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM jobs WHERE id = :id"), {"id": pushed}).scalar() == "done"
    assert session_state(engine, ticket) == "open"


def test_the_session_ends_normally_once_the_window_has_passed(server, make_tenant, engine) -> None:
    tenant = make_tenant(live_window=2)
    enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert send_request(server.url, ticket, hcp())
    started = time.monotonic()
    assert receive(server.url, ticket) == 99
    request, noops = noop_until_request(server.url, ticket, within=10)
    waited = time.monotonic() - started
    # NoOp polls are calls (they keep the session from idling out) but not work: the window
    # is measured from the last job, so polling does not stretch it.
    assert 1.5 <= waited < 6 and noops >= 3
    assert "<HostQueryRq" in request and '<?qbxml version="13.0"?>' in request
    assert receive(server.url, ticket, HOST_RS) == 100
    assert close(server.url, ticket) == "Done: 1 raw qbXML request."
    assert session_state(engine, ticket) == "closed"


def test_a_push_made_while_the_closing_request_was_out_still_goes(server, make_tenant, engine) -> None:
    tenant = make_tenant(live_window=1)
    enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert send_request(server.url, ticket, hcp())
    assert receive(server.url, ticket) == 99
    closing, _ = noop_until_request(server.url, ticket, within=10)
    assert "<HostQueryRq" in closing
    enqueue_raw(engine, tenant.id)
    assert receive(server.url, ticket, HOST_RS) == 99, "a push is waiting: ask again"
    assert "CustomerQueryRq" in send_request(server.url, ticket)
    assert receive(server.url, ticket) == 99  # it is work: a new window starts
    closing, _ = noop_until_request(server.url, ticket, within=10)
    assert receive(server.url, ticket, HOST_RS) == 100
    assert close(server.url, ticket) == "Done: 2 raw qbXML requests."


def test_window_changes_apply_to_the_next_answer(server, make_tenant, engine) -> None:
    tenant = make_tenant(live_window=60)
    enqueue_raw(engine, tenant.id)
    enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert send_request(server.url, ticket, hcp())
    assert receive(server.url, ticket) < 99
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE tenants SET settings = settings || CAST(:off AS jsonb) WHERE id = :id"),
            {"off": '{"push": {"live_window_seconds": 0}}', "id": tenant.id},
        )
    assert send_request(server.url, ticket)
    assert receive(server.url, ticket) == 100


@pytest.fixture
def short_lived(settings: Settings, engine: Engine):  # type: ignore[no-untyped-def]
    """A server whose sessions may last 60 s (QBWC_SESSION_MAX_SECONDS' lowest)."""
    from dataclasses import replace

    with BackgroundServer(create_app(replace(settings, session_max_seconds=60), engine)) as running:
        yield running


def age_session(engine: Engine, ticket: str, seconds: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE qbwc_sessions SET started_at = started_at - :s * interval '1 second'"
                " WHERE ticket = :t"
            ),
            {"s": seconds, "t": ticket},
        )


def test_the_window_never_outlives_the_session_lifetime(short_lived, make_tenant, engine) -> None:
    tenant = make_tenant(live_window=600)
    enqueue_raw(engine, tenant.id)
    enqueue_raw(engine, tenant.id)
    ticket = authenticate(short_lived.url, tenant)[0]
    assert send_request(short_lived.url, ticket, hcp())
    assert receive(short_lived.url, ticket) < 100
    assert send_request(short_lived.url, ticket)
    age_session(engine, ticket, 61)
    assert receive(short_lived.url, ticket) == 100, "past its lifetime: no window"


def test_a_session_waiting_in_its_window_ends_normally_at_its_lifetime(
    short_lived, make_tenant, engine
) -> None:
    tenant = make_tenant(live_window=600)
    enqueue_raw(engine, tenant.id)
    ticket = authenticate(short_lived.url, tenant)[0]
    assert send_request(short_lived.url, ticket, hcp())
    assert receive(short_lived.url, ticket) == 99
    assert send_request(short_lived.url, ticket) == ""
    assert last_error(short_lived.url, ticket) == "NoOp"
    age_session(engine, ticket, 61)
    assert "<HostQueryRq" in send_request(short_lived.url, ticket)
    assert receive(short_lived.url, ticket, HOST_RS) == 100
    assert close(short_lived.url, ticket) == "Done: 1 raw qbXML request."


def test_a_push_too_late_for_an_outlived_session_waits_for_the_next(short_lived, make_tenant, engine) -> None:
    tenant = make_tenant(live_window=600)
    enqueue_raw(engine, tenant.id)
    ticket = authenticate(short_lived.url, tenant)[0]
    assert send_request(short_lived.url, ticket, hcp())
    assert receive(short_lived.url, ticket) == 99
    age_session(engine, ticket, 61)
    pushed = enqueue_raw(engine, tenant.id)
    assert send_request(short_lived.url, ticket) == ""
    assert last_error(short_lived.url, ticket) == OUTLIVED, "as before: work is left for the next run"
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT status FROM jobs WHERE id = :id"), {"id": pushed}).scalar() == "queued"
        )


def test_the_simulated_web_connector_loops_on_noop(
    server: BackgroundServer, make_tenant: Callable[..., TenantCredentials], engine: Engine
) -> None:
    tenant = make_tenant(live_window=2)
    enqueue_raw(engine, tenant.id)
    processor = CannedProcessor()
    connector = SimulatedWebConnector(server.url, tenant.username, tenant.password, processor, noop_delay=0.2)

    def push_later() -> None:
        time.sleep(1.0)
        enqueue_raw(
            engine, tenant.id, '<CustomerQueryRq requestID="1"><FullName>Later</FullName></CustomerQueryRq>'
        )

    pusher = threading.Thread(target=push_later)
    pusher.start()
    report = connector.run_session()
    pusher.join()
    assert report.ok, report.errors
    sent = [call.result for call in report.calls if call.operation == "sendRequestXML"]
    assert "<FullName>Later</FullName>" in "".join(str(request) for request in sent)
    assert "<HostQueryRq" in str(sent[-1]), "the window's end: the closing request"
    assert report.requests_processed == 3
    assert [c.result for c in report.calls if c.operation == "getLastError"].count("NoOp") >= 3
    assert report.progress[-1] == 100 and set(report.progress[:-1]) == {99}
    assert report.close_message == "Done: 2 raw qbXML requests."
