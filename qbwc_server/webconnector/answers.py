"""receiveResponseXML's work: apply QuickBooks' answer to the jobs of the last message.

The rule this module keeps: once an answer has reached us, each of its jobs is settled — done,
failed with the reason, or (a write whose effect cannot be read from the answer) unconfirmed —
and never goes back as if unanswered. One job's failure never ends the session for the others:
it shows in the closing message and `status`; -1 is kept for a session that cannot go on.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import defaultdict

from lxml import etree
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError

from qbwc_server import metrics, queue
from qbwc_server.db import SingleStatements
from qbwc_server.logsafe import STORED_LIMIT, safe, traceback_of
from qbwc_server.models import JobStatus
from qbwc_server.qbxml.core import QbxmlError, parse_xml, response_messages
from qbwc_server.qbxml.errors import Outcome, describe_hresult, explain_hresult, request_not_run
from qbwc_server.queue import Action, ClaimedJob, JobResult, QueueError
from qbwc_server.sync.base import Database, Reply
from qbwc_server.sync.registry import handler_for
from qbwc_server.webconnector import statements as sql

log = logging.getLogger(__name__)

#: getLastError value that makes the Web Connector wait a few seconds and ask again.
NOOP = "NoOp"
#: Work due within this many seconds keeps a session open (NoOp) rather than ending it.
NOOP_WINDOW_SECONDS = 10
#: Statement errors caused by what the answer held (a value the mirror cannot store): the job's
#: fault, not the database's. Connection failures are not among them: those end the call.
_ANSWER_FAULTS = (QbxmlError, DataError, IntegrityError, ProgrammingError)


class Answers:
    """Settles answered jobs; one per process, no state of its own."""

    def __init__(
        self, engine: Engine, single: SingleStatements, bookkeeping: SingleStatements, *, lifetime: int
    ) -> None:
        self.engine = engine
        self.single = single
        self.bookkeeping = bookkeeping
        #: QBWC_SESSION_MAX_SECONDS: past it, no live window keeps a session open.
        self.lifetime = lifetime

    def apply(self, ticket: str, tenant_id: int, jobs: list[ClaimedJob], response: str) -> int:
        """Apply `response` to `jobs` (one message); the progress to show."""
        replies = _split(jobs, response)
        failed = 0
        for job in jobs:
            reply = replies.get(job.id)
            if reply is None:
                result = _unusable(job, "QuickBooks' answer held nothing for this request")
                self._settle_alone(job, result)
                failed += 1
                continue
            fast = len(jobs) == 1
            status, percent = self._apply_one(ticket, tenant_id, job, reply, fast=fast)
            if percent is not None:
                return percent
            failed += status in queue.HOLDING or status == "unconfirmed"
        return self._progress(ticket, tenant_id, failed=failed)

    def hresult(self, ticket: str, tenant_id: int, jobs: list[ClaimedJob], hresult: str, message: str) -> int:
        """QuickBooks' request processor failed on the message instead of answering it.

        A request QuickBooks could not even read (0x80040400) did not run: its jobs fail and the
        session goes on. After any other HRESULT a write may or may not have happened
        (unconfirmed), and QuickBooks itself is in trouble: -1, getLastError says why.
        """
        started = time.perf_counter()
        error = describe_hresult(hresult, message)
        not_run = request_not_run(hresult)
        outcome = explain_hresult(hresult).outcome
        with self.engine.begin() as conn:
            for job in jobs:
                if job.writes and not not_run:
                    result = JobResult(Action.UNCONFIRMED, message=f"{error} It may have been done.")
                else:
                    result = JobResult.fail(outcome, error)
                settled(job, settle(conn, job.id, result), result, started)
            if not_run:
                return _progress_on(conn, ticket, tenant_id, self.lifetime, failed=len(jobs))
            touch(conn, ticket, error=error, failed=len(jobs))
        return -1

    def _apply_one(
        self, ticket: str, tenant_id: int, job: ClaimedJob, reply: Reply, *, fast: bool
    ) -> tuple[str, int | None]:
        """Apply one job's reply and settle it: (its new status, the progress when the settling
        statement also answered it, else None)."""
        started = time.perf_counter()
        handler = handler_for(job.kind)
        assert handler is not None  # it built the request
        # A read's outcome need not wait for the WAL flush: if a crash lost it, the job is still
        # leased and is simply asked again. A write's outcome is never forgotten (exactly once).
        db = Database(self.engine, durable=job.writes)
        try:
            try:
                result = handler.receive(db, job, reply)
            except _ANSWER_FAULTS as exc:
                db.rollback()  # nothing of a page that could not be read in full is kept
                result = _unusable(job, _reason(exc))
            except Exception as exc:  # a bug must not make an answered job look unanswered
                log.error("job %s: applying QuickBooks' answer failed: %s", job.id, traceback_of(exc))
                db.rollback()
                result = _unusable(
                    job, f"qbwc-server could not apply QuickBooks' answer ({type(exc).__name__})"
                )
            if fast and not db.opened and result.action is Action.DONE:  # the common raw job: one statement
                pool = self.single if job.writes else self.bookkeeping
                row = pool.one(
                    sql.FINISH,
                    {
                        **queue.completion_params(job.id, bounded(result)),
                        "ticket": ticket,
                        "tenant_id": tenant_id,
                        "within": NOOP_WINDOW_SECONDS,
                        "lifetime": self.lifetime,
                    },
                )
                settled(job, JobStatus.DONE, result, started)
                return "done", (int(row["progress"]) if row else 100)
            try:
                status = settle(db.conn, job.id, result)
            except QueueError:  # taken back meanwhile (a newer session took over): not ours to settle
                db.rollback()
                log.info("job %s: answered after it was taken back; the answer is dropped", job.id)
                return "gone", None
            db.commit()
            settled(job, status, result, started)
            return status.value, None
        finally:
            db.close()

    def _settle_alone(self, job: ClaimedJob, result: JobResult) -> None:
        started = time.perf_counter()
        with self.engine.begin() as conn:
            status = settle(conn, job.id, result)
        settled(job, status, result, started)

    def _progress(self, ticket: str, tenant_id: int, *, failed: int = 0) -> int:
        with self.engine.begin() as conn:
            return _progress_on(conn, ticket, tenant_id, self.lifetime, failed=failed)


def bounded(result: JobResult) -> JobResult:
    """`result` with its message fit to store: QuickBooks' statusMessage, a reader's complaint
    about a value, may be any length and hold any character."""
    message = result.message
    if message is None or (len(message) <= STORED_LIMIT and message.isprintable()):
        return result
    return dataclasses.replace(result, message=safe(message, STORED_LIMIT))


def settle(conn: Connection, job_id: int, result: JobResult) -> JobStatus:
    """`queue.settle`, with the message bounded."""
    return queue.settle(conn, job_id, bounded(result))


#: What a job's round trip did when its status alone would mislead (a pull's next page is "queued").
_GOING_ON = {Action.CONTINUE: "next_page", Action.RESTART: "restart"}


def settled(job: ClaimedJob, status: JobStatus, result: JobResult, started: float) -> None:
    """Count a job QuickBooks answered and log it on one line: info when it is done or goes on,
    a warning with the reason (never the answer itself) when it failed, waits or is unconfirmed."""
    outcome = _GOING_ON.get(result.action) or str(status)  # str(): a StrEnum's value, without .value's cost
    metrics.job_settled(job.kind, outcome, result.status_code)
    fields = {
        "event": "job.settled",
        "tenant": job.tenant_id,
        "job": job.id,
        "kind": job.kind,
        "outcome": outcome,
        "status_code": result.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if status is JobStatus.DONE or result.action in _GOING_ON:
        log.info("job %s %s", job.id, outcome, extra=fields)
    else:
        log.warning("job %s %s: %s", job.id, outcome, safe(result.message), extra=fields)


def _split(jobs: list[ClaimedJob], response: str) -> dict[int, Reply]:
    """Each job's part of the answer: the whole text for a message of one job (read as a stream),
    else its `*Rs` elements by requestID. An unreadable batch gives every job an unreadable reply."""
    if len(jobs) == 1:
        return {jobs[0].id: Reply(text=response)}
    try:
        messages = response_messages(parse_xml(response))
    except QbxmlError:
        return {job.id: Reply(text=response) for job in jobs}  # each fails reading it, with why
    by_request: dict[str, list[etree._Element]] = defaultdict(list)
    for message in messages:
        by_request[message.get("requestID") or ""].append(message)
    return {job.id: Reply(messages=by_request[str(job.id)]) for job in jobs if by_request.get(str(job.id))}


def _unusable(job: ClaimedJob, reason: str) -> JobResult:
    """An answer that arrived but cannot be used. A write may have happened: unconfirmed, to be
    looked up. A read fails with the reason, for an admin: the same request would get the same
    answer, so it is not sent again by itself."""
    if job.writes:
        return JobResult(Action.UNCONFIRMED, message=f"{reason}; QuickBooks may have done it")
    return JobResult.fail(
        Outcome.NEEDS_ADMIN, f"{reason}. It is not asked again by itself: `qbwc-server jobs retry {job.id}`"
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, QbxmlError):
        return f"QuickBooks' answer could not be read: {exc}"
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
    return f"QuickBooks' answer held a value the mirror cannot store ({detail})"


def _progress_on(conn: Connection, ticket: str, tenant_id: int, lifetime: int, *, failed: int = 0) -> int:
    """Note the call on the session and answer with the progress so far."""
    params = {
        "ticket": ticket,
        "failed": failed,
        "error": None,
        "tenant_id": tenant_id,
        "within": NOOP_WINDOW_SECONDS,
        "lifetime": lifetime,
    }
    rows = sql.TOUCH_AND_COUNT.on(conn, params)
    return int(rows[0]["progress"]) if rows else 100


def touch(conn: Connection, ticket: str, *, error: str | None, failed: int = 0) -> None:
    """Note a call on the session, with what getLastError should say (or NULL)."""
    conn.execute(
        text("""
            UPDATE qbwc_sessions SET last_call_at = now(), last_error = :error,
                   jobs_failed = jobs_failed + :failed
            WHERE ticket = :ticket
        """),
        {"ticket": ticket, "error": None if error is None else safe(error, STORED_LIMIT), "failed": failed},
    )
