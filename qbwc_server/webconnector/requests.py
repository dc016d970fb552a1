"""sendRequestXML's work: lease the next job(s) and build the message that goes to QuickBooks.

The lease is one durable statement (SEND_CLAIM) that commits before the request leaves: a
request QuickBooks may run is never sent without a record that it was. Handlers build their
requests at send time, for the negotiated version, reading their rows if they need to. A call
asked again (its answer lost on the way) gets the same jobs back and rebuilds the same message:
a pull continues the page it asked for (its iterator is in the job's params), not the next one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from qbwc_server.db import SingleStatements
from qbwc_server.logsafe import safe, traceback_of
from qbwc_server.qbxml.core import MIN_VERSION, QbxmlVersion, wrap_request
from qbwc_server.qbxml.errors import Outcome
from qbwc_server.queue import ClaimedJob, JobResult
from qbwc_server.sync.base import Database, NotSent
from qbwc_server.sync.raw import is_raw_read
from qbwc_server.sync.registry import batch_sizes_json, handler_for
from qbwc_server.webconnector import statements as sql
from qbwc_server.webconnector.answers import settle

log = logging.getLogger(__name__)

#: Leases tried in one call when every job leased could not be built (each such job fails).
CLAIMS_PER_CALL = 5


@dataclass(frozen=True)
class NextMessage:
    #: (tenant id, negotiated version or None when QuickBooks is too old); None for a bad ticket.
    session: tuple[int, str | None] | None
    #: The qbXML request document, or None when nothing is runnable.
    message: str | None = None
    #: The session is past its lifetime (only a pull's next page still goes out).
    past_lifetime: bool = False
    #: The message is one raw query (its answer may be applied in one statement: raw_reads.py).
    raw_read: bool = False


class Requests:
    """Leases jobs and builds their message; one per process, no state of its own."""

    def __init__(self, engine: Engine, single: SingleStatements) -> None:
        self.engine = engine
        self.single = single

    def next_message(self, claim: dict[str, Any]) -> NextMessage:
        """The next message for the session in `claim` (SEND_CLAIM's parameters)."""
        batch_sizes = batch_sizes_json()
        statement = sql.SEND_CLAIM if batch_sizes == "{}" else sql.SEND_CLAIM_BATCH
        params = {**claim, "batch_sizes": batch_sizes}
        for _ in range(CLAIMS_PER_CALL):
            rows = self.single.all(statement, params)
            if not rows:
                return NextMessage(None)
            session = (rows[0]["session_tenant_id"], rows[0]["version"])
            outlived = bool(rows[0]["past_lifetime"])
            jobs = [ClaimedJob.from_row(row) for row in rows if row["id"] is not None]
            if session[1] is None or not jobs:
                return NextMessage(session, past_lifetime=outlived)
            if rows[0]["resent"]:
                log.info(
                    "sendRequestXML asked again: its message (jobs %s) goes again",
                    ", ".join(str(job.id) for job in jobs),
                    extra={"event": "session.resent"},
                )
            version = QbxmlVersion.parse(session[1]) or QbxmlVersion(*MIN_VERSION)
            requests = self._build(jobs, version)
            if requests:
                # continueOnError: one request QuickBooks refuses must not cost the others (3231).
                message = wrap_request("".join(requests), version, "continueOnError")
                raw_read = len(jobs) == 1 and is_raw_read(jobs[0])
                return NextMessage(session, message, outlived, raw_read)
            params["from_hcp"] = False  # the host was recorded by the first claim
        return NextMessage(session, past_lifetime=outlived)

    def _build(self, jobs: list[ClaimedJob], version: QbxmlVersion) -> list[str]:
        """Each job's request; a job whose request cannot be built fails with why, and one its
        handler chose not to send is settled as the handler said (nothing was sent)."""
        requests: list[str] = []
        unbuilt: list[tuple[ClaimedJob, str]] = []
        not_sent: list[tuple[ClaimedJob, NotSent]] = []
        with Database(self.engine, durable=False) as db:
            for job in jobs:
                handler = handler_for(job.kind)
                if handler is None:
                    unbuilt.append((job, f"unknown job kind {job.kind!r}"))
                    continue
                try:
                    requests.append(handler.build_request(db, job, version))
                except NotSent as exc:
                    not_sent.append((job, exc))
                except Exception as exc:  # a bad value or a bug: this job only, never the session
                    log.warning("job %s: its request could not be built: %s", job.id, traceback_of(exc))
                    unbuilt.append((job, f"its request could not be built ({safe(exc)}); nothing was sent"))
        if unbuilt or not_sent:
            with self.engine.begin() as conn:
                for job, reason in unbuilt:
                    settle(conn, job.id, JobResult.fail(Outcome.NEEDS_ADMIN, reason))
                for job, decision in not_sent:
                    decision.apply(conn, job.id)  # the row's state with the job's, durably
        return requests
