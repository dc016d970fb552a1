"""receiveResponseXML for a raw query in one statement (webconnector/raw_reads.py): the process
that sent the query applies its answer as it looks the job up. An admin must not be able to tell
which way an answer went: these tests answer the same queries both ways, over real HTTP, and
compare what the job, the session and the Web Connector were told.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from qbwc_server.config import Settings
from qbwc_server.queue.stored import response_text
from qbwc_server.testing import BackgroundServer
from qbwc_server.webconnector.raw_reads import SentRawReads
from tests.conftest import served
from tests.test_protocol import CUSTOMER_RS, authenticate, enqueue_raw, hcp, job_row, receive, send_request

pytestmark = pytest.mark.protocol

WARNED = (
    '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><CustomerQueryRs requestID="1" statusCode="500"'
    ' statusSeverity="Warn" statusMessage="The query request has not been fully completed."/>'
    "</QBXMLMsgsRs></QBXML>"
)


@pytest.fixture
def other_process(settings: Settings, engine: Engine) -> Iterator[BackgroundServer]:
    """A second app on the same database: a Web Connector's calls may reach another worker
    process, which never saw the request go out."""
    with served(settings, engine) as running:
        yield running


def outcome(engine: Engine, job_id: int) -> tuple[object, ...]:
    row = job_row(engine, job_id)
    kept = response_text(row["response_gz"], row["response_xml"])
    return (row["status"], row["last_status_code"], row["last_message"], row["attempts"], kept)


@pytest.mark.parametrize("answer", [CUSTOMER_RS, WARNED])
def test_a_raw_query_answered_to_its_own_process_or_another_ends_the_same(
    server, other_process, tenant, engine, answer: str
) -> None:
    folded, usual = enqueue_raw(engine, tenant.id), enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]

    assert "<CustomerQueryRq" in send_request(server.url, ticket, hcp())
    assert receive(server.url, ticket, answer) == 50, "the sending process applies it in one statement"
    assert "<CustomerQueryRq" in send_request(server.url, ticket)
    assert receive(other_process.url, ticket, answer) == 100, "another process looks the job up first"

    assert outcome(engine, folded) == outcome(engine, usual)
    assert outcome(engine, folded)[0] == "done" and outcome(engine, folded)[4] == answer
    with engine.connect() as conn:
        done, failed, error = conn.execute(
            text("SELECT jobs_done, jobs_failed, last_error FROM qbwc_sessions WHERE ticket = :t"),
            {"t": ticket},
        ).one()
    assert (done, failed, error) == (2, 0, None)


def test_an_answer_to_a_session_taken_over_meanwhile_finishes_nothing(server, tenant, engine) -> None:
    job = enqueue_raw(engine, tenant.id)
    first = authenticate(server.url, tenant)[0]
    send_request(server.url, first, hcp())  # this process now expects a raw query's answer on it
    second = authenticate(server.url, tenant)[0]  # the old session is over; its job goes back

    assert receive(server.url, first) == -1
    assert job_row(engine, job)["status"] == "queued", "the late answer settles nothing"
    assert "<CustomerQueryRq" in send_request(server.url, second, hcp())
    assert receive(server.url, second) == 100
    assert job_row(engine, job)["status"] == "done"


def test_a_raw_query_answered_with_an_hresult_goes_the_usual_way(server, tenant, engine) -> None:
    job = enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    send_request(server.url, ticket, hcp())

    assert receive(server.url, ticket, "", hresult="0x80040400", message="QuickBooks found an error") == 100
    row = job_row(engine, job)
    assert row["status"] == "failed" and "0x80040400" in row["last_message"]


def test_the_hint_is_taken_once_and_a_full_memory_starts_over() -> None:
    hints = SentRawReads(limit=2)
    hints.sent("a")
    assert hints.answered("a") and not hints.answered("a"), "an answer uses the hint up"
    hints.sent("b")
    hints.sent("c")
    hints.sent("d")  # over the limit: the old ones are dropped, and only cost a round trip
    assert not hints.answered("b") and hints.answered("d")
    hints.sent("e")
    hints.forget("e")  # closeConnection: a query sent and never answered
    assert not hints.answered("e")
