"""A job lifecycle that can never repeat a write: what becomes of a job once QuickBooks answered
(or did not), over real HTTP to the served app, against a real database.

The rules: an answer that reached us settles its job — done, failed with the reason, or
unconfirmed for a write — and never sends it again as if unanswered; one job's failure never
ends the session for the others; a write whose answer was lost is never resent blindly.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import Engine, text

from qbwc_server import queue
from qbwc_server.models import IfUnanswered
from qbwc_server.qbxml.core import QbxmlVersion, ResponseStatus
from qbwc_server.qbxml.errors import Outcome
from qbwc_server.queue import Action, ClaimedJob, JobResult, QueueError
from qbwc_server.sync import registry
from qbwc_server.sync.base import Database, Reply
from tests.test_protocol import (
    ADD_CUSTOMER,
    CUSTOMER_RS,
    authenticate,
    call,
    enqueue_raw,
    hcp,
    job_row,
    receive,
    send_request,
)

STAMP = "2026-11-20T10:00:00-05:00"


def customer_ret(list_id: str, name: str, **overrides: str) -> str:
    fields = {
        "ListID": list_id,
        "TimeCreated": STAMP,
        "TimeModified": STAMP,
        "EditSequence": "1700000000",
        "Name": name,
        "FullName": name,
        "IsActive": "true",
        "Sublevel": "0",
        "Balance": "10.00",
        **overrides,
    }
    return "<CustomerRet>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</CustomerRet>"


def customer_rs(*rets: str, status: str = "0", request_id: str = "1", **attributes: str) -> str:
    extra = "".join(f' {k}="{v}"' for k, v in attributes.items())
    return (
        f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><CustomerQueryRs requestID="{request_id}"'
        f' statusCode="{status}" statusSeverity="Info" statusMessage="Status OK"{extra}>'
        + "".join(rets)
        + "</CustomerQueryRs></QBXMLMsgsRs></QBXML>"
    )


def enqueue_pull(engine: Engine, tenant_id: int) -> int:
    with engine.begin() as conn:
        params = {"started_at": dt.datetime.now(dt.UTC).isoformat(), "page_size": 100}
        return queue.enqueue(conn, tenant_id, "customers.pull", params=params)


# -- an answer that reached us is never treated as unanswered ---------------------------------------

GARBAGE = [
    pytest.param(customer_rs(status="99999999999"), "statusCode", id="status-past-int32"),
    pytest.param(customer_rs(status="-2147483649"), "statusCode", id="status-below-int32"),
    pytest.param(customer_rs(status="\u00b2"), "statusCode", id="status-superscript-two"),
    pytest.param(customer_rs(status="\u0661\u0663"), "statusCode", id="status-arabic-digits"),
    pytest.param(customer_rs(status="1_3"), "statusCode", id="status-underscore"),
    pytest.param(
        customer_rs(customer_ret("80000001-1", "A"), iteratorRemainingCount="4294967296", iteratorID="{x}"),
        "iteratorRemainingCount",
        id="remaining-past-int32",
    ),
    pytest.param(
        customer_rs(customer_ret("80000001-1", "A", TimeModified="9999-99-99T99:99:99")),
        "TimeModified",
        id="time-modified-impossible",
    ),
    pytest.param(
        customer_rs(customer_ret("80000001-1", "A", Balance="1e400")), "Balance", id="balance-1e400"
    ),
    pytest.param(
        customer_rs(customer_ret("80000001-1", "A", Sublevel="99999999999")),
        "Sublevel",
        id="sublevel-overflow",
    ),
]


@pytest.mark.protocol
@pytest.mark.parametrize(("response", "named"), GARBAGE)
def test_an_answer_with_garbage_values_fails_its_job_with_the_reason_and_is_never_resent(
    server, tenant, engine, response: str, named: str
) -> None:
    job = enqueue_pull(engine, tenant.id)
    after = enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert "<CustomerQueryRq" in send_request(server.url, ticket, hcp())

    progress = receive(server.url, ticket, response.replace('requestID="1"', f'requestID="{job}"'))

    assert 0 <= progress <= 100, "a number the Web Connector understands, never -1 or a fault"
    row = job_row(engine, job)
    assert row["status"] == "failed" and row["attempts"] == 1
    assert named in row["last_message"], "the reason names what was wrong"
    assert "Status OK" not in row["last_message"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar() == 0, "nothing half-applied"
    assert "<CustomerQueryRq" in send_request(server.url, ticket), "the next job still goes"
    assert receive(server.url, ticket) == 100
    assert job_row(engine, after)["status"] == "done"
    summary = call(server.url, "closeConnection", ("ticket", ticket)).text("closeConnection")
    assert "1 needs attention" in summary
    assert authenticate(server.url, tenant)[1] == "none", "the failed job is not sent again by itself"


@pytest.mark.protocol
def test_a_write_whose_answer_cannot_be_read_is_unconfirmed_not_resent(server, tenant, engine) -> None:
    job = enqueue_raw(engine, tenant.id, ADD_CUSTOMER)
    ticket = authenticate(server.url, tenant)[0]
    assert "<CustomerAddRq" in send_request(server.url, ticket, hcp())
    garbage = '<QBXML><QBXMLMsgsRs><CustomerAddRs requestID="1" statusCode="\u00b2"/></QBXMLMsgsRs></QBXML>'

    assert receive(server.url, ticket, garbage) == 100

    row = job_row(engine, job)
    assert row["status"] == "unconfirmed" and "statusCode" in row["last_message"]
    assert authenticate(server.url, tenant)[1] == "none", "never resent blindly"


# -- a write whose answer was lost -----------------------------------------------------------------


@pytest.mark.protocol
def test_a_raw_write_released_without_an_answer_is_unconfirmed_and_not_sent_again(
    server, tenant, engine
) -> None:
    add = enqueue_raw(engine, tenant.id, ADD_CUSTOMER)
    read = enqueue_raw(engine, tenant.id)
    first = authenticate(server.url, tenant)[0]
    assert "<CustomerAddRq" in send_request(server.url, first, hcp())
    # The Web Connector dies here: QuickBooks may or may not have added the customer.

    second = authenticate(server.url, tenant)[0]  # a new session takes over at once

    row = job_row(engine, add)
    assert row["status"] == "unconfirmed"
    assert f"jobs retry {add} --resend" in row["last_message"] and f"jobs cancel {add}" in row["last_message"]
    assert "<CustomerQueryRq" in send_request(server.url, second, hcp()), "only the read goes"
    assert receive(server.url, second) == 100
    assert job_row(engine, read)["status"] == "done"
    assert "<CustomerAddRq" not in send_request(server.url, second), "the write is not sent again"
    summary = call(server.url, "closeConnection", ("ticket", second)).text("closeConnection")
    assert "may have reached QuickBooks" not in summary, "the second session sent no write"

    with engine.begin() as conn, pytest.raises(QueueError, match="may already have done it"):
        queue.retry_job(conn, add)
    with engine.begin() as conn:  # an admin checked QuickBooks: not there, send it
        queue.retry_job(conn, add, resend=True)
    assert job_row(engine, add)["status"] == "queued"


@pytest.mark.protocol
def test_a_session_closed_with_a_write_unanswered_says_so(server, tenant, engine) -> None:
    add = enqueue_raw(engine, tenant.id, ADD_CUSTOMER)
    ticket = authenticate(server.url, tenant)[0]
    assert "<CustomerAddRq" in send_request(server.url, ticket, hcp())

    summary = call(server.url, "closeConnection", ("ticket", ticket)).text("closeConnection")

    assert "1 may have reached QuickBooks" in summary
    assert job_row(engine, add)["status"] == "unconfirmed"


def test_a_look_up_write_is_claimed_again_to_look_first(engine, tenant) -> None:
    with engine.begin() as conn:
        job = queue.enqueue(conn, tenant.id, "test.push", if_unanswered=IfUnanswered.LOOK_UP)
        first = queue.claim_next_job(conn, tenant.id, "ticket-A")
        assert first is not None and not first.unconfirmed
        queue.release_leases(conn, "ticket-A")
    assert job_row(engine, job)["status"] == "unconfirmed"
    with engine.begin() as conn:
        again = queue.claim_next_job(conn, tenant.id, "ticket-B")
    assert again is not None and again.id == job and again.unconfirmed, "the look-up goes out first"
    assert job_row(engine, job)["params"] == {"looking_up": True}


def test_a_held_write_is_not_claimable_and_holds_its_dependents(engine, tenant) -> None:
    with engine.begin() as conn:
        job = queue.enqueue(conn, tenant.id, "qbxml.raw", if_unanswered=IfUnanswered.HOLD)
        dependent = queue.enqueue(conn, tenant.id, "qbxml.raw", depends_on=job)
        queue.claim_next_job(conn, tenant.id, "ticket-A")
        queue.release_leases(conn, "ticket-A")
        assert queue.claim_next_job(conn, tenant.id, "ticket-B") is None
    assert job_row(engine, dependent)["status"] == "blocked"
    assert "may or may not have reached QuickBooks" in job_row(engine, dependent)["last_message"]


# -- several dependencies, batches by requestID ------------------------------------------------------


def test_a_job_waits_for_all_of_its_dependencies(engine, tenant) -> None:
    with engine.begin() as conn:
        first = queue.enqueue(conn, tenant.id, "customers.push")
        second = queue.enqueue(conn, tenant.id, "customers.push")
        payment = queue.enqueue(conn, tenant.id, "payments.push", depends_on=[first, second])
        assert queue.dependencies_of(conn, payment) == [first, second]
        assert [queue.claim_next_job(conn, tenant.id, "t").id for _ in range(2)] == [first, second]  # type: ignore[union-attr]
        assert queue.claim_next_job(conn, tenant.id, "t") is None, "the payment waits for both"
        queue.settle(conn, first, JobResult(Action.DONE))
        assert queue.claim_next_job(conn, tenant.id, "t") is None, "one done is not enough"
        queue.settle(conn, second, JobResult(Action.DONE))
        claimed = queue.claim_next_job(conn, tenant.id, "t")
    assert claimed is not None and claimed.id == payment


def test_a_job_queued_behind_a_failed_dependency_starts_blocked(engine, tenant) -> None:
    with engine.begin() as conn:
        ok = queue.enqueue(conn, tenant.id, "customers.push")
        bad = queue.enqueue(conn, tenant.id, "customers.push", if_unanswered=IfUnanswered.LOOK_UP)
        queue.claim_next_job(conn, tenant.id, "t")
        queue.settle(conn, ok, JobResult(Action.DONE))
        queue.claim_next_job(conn, tenant.id, "t")
        queue.settle(conn, bad, JobResult.fail(Outcome.NEEDS_ADMIN, "name in use", 3100))
        payment = queue.enqueue(conn, tenant.id, "payments.push", depends_on=[ok, bad])
    row = job_row(engine, payment)
    assert row["status"] == "blocked" and f"waiting on job {bad}" in row["last_message"]


class EchoHandler:
    """A test job kind that batches: each request asks for one customer by ListID."""

    kind = "test.echo"
    nouns = ("echo", "echoes")
    batch_size = 3
    counts_records = False

    def build_request(self, db: Database, job: ClaimedJob, version: QbxmlVersion) -> str:
        if (job.params or {}).get("unbuildable"):
            raise ValueError("CustomerRef/FullName is longer than 209 characters")
        return f'<CustomerQueryRq requestID="{job.id}"><ListID>{job.entity_ref}</ListID></CustomerQueryRq>'

    def receive(self, db: Database, job: ClaimedJob, reply: Reply) -> JobResult:
        (message,) = reply.messages()
        if (job.params or {}).get("buggy"):
            raise RuntimeError("a bug in a handler")
        status = ResponseStatus.from_element(message)
        return JobResult(Action.DONE, status_code=status.code, message=status.message)


@pytest.fixture
def echo() -> Any:
    handler = EchoHandler()
    registry.register(handler)
    yield handler
    registry.unregister(handler.kind)


def answer(*parts: tuple[int, str]) -> str:
    """A response holding one CustomerQueryRs per (request id, message), in the order given."""
    rs = "".join(
        f'<CustomerQueryRs requestID="{rid}" statusCode="0" statusSeverity="Info" statusMessage="{msg}"/>'
        for rid, msg in parts
    )
    return f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>{rs}</QBXMLMsgsRs></QBXML>'


@pytest.mark.protocol
def test_one_message_carries_a_batch_and_each_answer_goes_to_its_job_by_request_id(
    server, tenant, engine, echo
) -> None:
    with engine.begin() as conn:
        jobs = [queue.enqueue(conn, tenant.id, echo.kind, entity_ref=f"8000000{n}-1") for n in range(5)]
    ticket = authenticate(server.url, tenant)[0]

    first = etree.fromstring(send_request(server.url, ticket, hcp()).encode())
    sent = [rq.get("requestID") for rq in first.find("QBXMLMsgsRq")]
    assert sent == [str(j) for j in jobs[:3]], "three of one kind in one message"
    assert first.find("QBXMLMsgsRq").get("onError") == "continueOnError"
    progress = receive(server.url, ticket, answer(*((j, f"answer for {j}") for j in reversed(jobs[:3]))))
    assert 0 < progress < 100
    for j in jobs[:3]:
        assert job_row(engine, j)["last_message"] == f"answer for {j}", "matched by requestID, not order"

    second = etree.fromstring(send_request(server.url, ticket).encode())
    assert [rq.get("requestID") for rq in second.find("QBXMLMsgsRq")] == [str(j) for j in jobs[3:]]
    # QuickBooks answered only one of the two: the other read fails with why, the first is done.
    assert receive(server.url, ticket, answer((jobs[3], "fine"))) == 100
    assert job_row(engine, jobs[3])["status"] == "done"
    missing = job_row(engine, jobs[4])
    assert missing["status"] == "failed" and "held nothing for this request" in missing["last_message"]


@pytest.mark.protocol
def test_a_handler_bug_fails_only_its_job_and_the_session_goes_on(server, tenant, engine, echo) -> None:
    with engine.begin() as conn:
        buggy = queue.enqueue(conn, tenant.id, echo.kind, entity_ref="1", params={"buggy": True}, priority=1)
        unbuildable = queue.enqueue(conn, tenant.id, echo.kind, entity_ref="2", params={"unbuildable": True})
        fine = queue.enqueue(conn, tenant.id, echo.kind, entity_ref="3")
    ticket = authenticate(server.url, tenant)[0]
    message = etree.fromstring(send_request(server.url, ticket, hcp()).encode())
    assert [rq.get("requestID") for rq in message.find("QBXMLMsgsRq")] == [str(buggy), str(fine)]
    row = job_row(engine, unbuildable)
    assert (
        row["status"] == "failed"
        and "longer than 209" in row["last_message"]
        and "nothing was sent" in (row["last_message"])
    )

    assert receive(server.url, ticket, answer((buggy, "x"), (fine, "ok"))) == 100

    assert job_row(engine, fine)["status"] == "done"
    row = job_row(engine, buggy)
    assert row["status"] == "failed" and "RuntimeError" in row["last_message"]


# -- the mirror's conflict rule ---------------------------------------------------------------------


def test_a_pull_leaves_a_pending_local_change_alone(engine, tenant) -> None:
    from qbwc_server.sync.pull import PullHandler
    from qbwc_server.sync.pulls import PULLS_BY_ENTITY

    handler = PullHandler(PULLS_BY_ENTITY["customers"])
    job = ClaimedJob(id=1, tenant_id=tenant.id, kind=handler.kind, params={"page_size": 100})
    first = customer_rs(customer_ret("80000001-1", "Acme"), customer_ret("80000002-1", "Globex"))
    with engine.begin() as conn:
        handler.apply(conn, tenant.id, job, Reply(text=first))
        conn.execute(  # the commerce side renamed Acme; its push has not gone out yet
            text("UPDATE customers SET name = 'Acme Hardware', sync_state = 'pending' WHERE name = 'Acme'")
        )
    edited = {"EditSequence": "1700000099", "TimeModified": "2026-11-21T10:00:00-05:00", "Balance": "99.00"}
    second = customer_rs(
        customer_ret("80000001-1", "Acme Corp", **edited), customer_ret("80000002-1", "Globex Inc", **edited)
    )
    with engine.begin() as conn:
        changed = handler.apply(conn, tenant.id, job, Reply(text=second)).changed
    with engine.connect() as conn:
        rows = {
            r.qb_list_id: r
            for r in conn.execute(
                text("SELECT qb_list_id, name, sync_state, edit_sequence, balance FROM customers")
            )
        }
    assert changed == 1
    pending = rows["80000001-1"]
    assert (pending.name, pending.sync_state, pending.edit_sequence) == (
        "Acme Hardware",
        "pending",
        "1700000000",
    ), (
        "the local change and the EditSequence it will be pushed with stay: QuickBooks' newer version"
        " comes back through the push (3200: re-read, merge, Mod again)"
    )
    assert (rows["80000002-1"].name, rows["80000002-1"].sync_state) == ("Globex Inc", "synced")


def test_the_cli_resends_an_unconfirmed_write_only_when_told(engine, tenant, database_url, tmp_path) -> None:
    from tests.console import cli_environment, run_in_process

    environ = cli_environment(database_url, tmp_path)
    add = enqueue_raw(engine, tenant.id, ADD_CUSTOMER)
    with engine.begin() as conn:
        queue.claim_next_job(conn, tenant.id, "ticket-A")
        queue.release_leases(conn, "ticket-A")  # the session died with the Add in QuickBooks' hands

    listed = run_in_process(["jobs", "list", "--status", "unconfirmed"], environ)
    assert listed.returncode == 0 and f"{add:>6}" in listed.stdout
    refused = run_in_process(["jobs", "retry", str(add)], environ)
    assert refused.returncode == 2
    assert "may already have done it" in refused.stderr and "--resend" in refused.stderr
    assert job_row(engine, add)["status"] == "unconfirmed"
    resent = run_in_process(["jobs", "retry", str(add), "--resend"], environ)
    assert resent.returncode == 0 and job_row(engine, add)["status"] == "queued"


def test_a_page_whose_answer_never_came_is_asked_for_in_halves(server, tenant, engine) -> None:
    job = enqueue_pull(engine, tenant.id)  # pages of 100
    first = authenticate(server.url, tenant)[0]
    assert "<MaxReturned>100</MaxReturned>" in send_request(server.url, first, hcp())
    # The answer is too large for the proxy (413) or too slow; the Web Connector gives up.
    second = authenticate(server.url, tenant)[0]
    assert "<MaxReturned>50</MaxReturned>" in send_request(server.url, second, hcp())
    row = job_row(engine, job)
    assert row["params"]["page_size"] == 50
    with engine.begin() as conn:  # and down to a single record, never to nothing
        conn.execute(
            text("UPDATE jobs SET params = params || '{\"page_size\": 1}' WHERE id = :id"), {"id": job}
        )
    third = authenticate(server.url, tenant)[0]
    assert "<MaxReturned>1</MaxReturned>" in send_request(server.url, third, hcp())


@pytest.mark.protocol
def test_a_send_request_repeated_after_its_answer_was_lost_leaves_the_first_message_to_go_again(
    server, tenant, engine
) -> None:
    first = enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    lost = send_request(server.url, ticket, hcp())  # this answer never arrives
    assert "<CustomerQueryRq" in lost
    second = enqueue_raw(engine, tenant.id)
    # The client sends the POST again (.NET resends on a dropped keep-alive connection), so
    # QuickBooks gets only what this second call returns and answers that.
    request = send_request(server.url, ticket, hcp())
    assert request == lost, "the same message again, not more work"
    request_id = etree.fromstring(request.encode()).find(".//CustomerQueryRq").get("requestID")
    answer = CUSTOMER_RS.replace('requestID="1"', f'requestID="{request_id}"')
    assert receive(server.url, ticket, answer) < 100, "one job left"
    row = job_row(engine, first)
    assert (row["status"], row["attempts"]) == ("done", 1), "sent once as far as QuickBooks knows"
    assert job_row(engine, second)["status"] == "queued"
    assert "<CustomerQueryRq" in send_request(server.url, ticket)
    assert job_row(engine, second)["status"] == "sent", "the next job goes next"
