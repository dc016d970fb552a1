"""Raw qbXML jobs: an admin's request sent as-is (in our envelope), QuickBooks' answer kept on the job."""

from __future__ import annotations

import re

from sqlalchemy import Connection

from qbwc_server import queue
from qbwc_server.models import IfUnanswered, JobKind
from qbwc_server.qbxml.core import QbxmlVersion, ResponseStatus
from qbwc_server.queue import Action, ClaimedJob, JobResult
from qbwc_server.sync.base import Database, Reply

# Request elements are the only ones whose names end in "Rq" (their children never do).
_REQUEST_NAME = re.compile(r"<([A-Za-z0-9]+Rq)[\s/>]")


def writes(request_body: str) -> bool:
    """Whether a raw request may change QuickBooks: anything but queries (…QueryRq, e.g.
    CustomerQueryRq, TxnDeletedQueryRq) counts as a write, an AddRq or ModRq above all."""
    names = _REQUEST_NAME.findall(request_body)
    return not names or not all(name.endswith("QueryRq") for name in names)


def enqueue_raw(conn: Connection, tenant_id: int, request_body: str, **options: object) -> int:
    """Queue a raw request. A write whose answer is lost is held as unconfirmed for an admin to
    check in QuickBooks (nothing generic can look it up); a query is simply sent again."""
    if_unanswered = IfUnanswered.HOLD if writes(request_body) else IfUnanswered.RESEND
    return queue.enqueue(
        conn,
        tenant_id,
        JobKind.RAW_QBXML,
        request_body=request_body,
        if_unanswered=if_unanswered,
        **options,  # type: ignore[arg-type]
    )


class RawQbxmlHandler:
    kind = JobKind.RAW_QBXML.value
    nouns = ("raw qbXML request", "raw qbXML requests")
    #: The admin chose the requestIDs inside, so its answers cannot be told apart in a batch.
    batch_size = 1
    counts_records = False

    def build_request(self, db: Database, job: ClaimedJob, version: QbxmlVersion) -> str:
        return job.request_body or ""

    def receive(self, db: Database, job: ClaimedJob, reply: Reply) -> JobResult:
        """Done whatever QuickBooks said: the admin asked, the answer is theirs to read.

        The most severe status among the `*Rs` elements is recorded on the job.
        """
        worst: ResponseStatus | None = None
        for message in reply.messages():
            status = ResponseStatus.from_element(message)
            if worst is None or _severity(status) > _severity(worst):
                worst = status
        if worst is None:
            return JobResult(Action.DONE, message="QuickBooks returned no responses", response_xml=reply.text)
        return JobResult(
            Action.DONE,
            status_code=worst.code,
            message=f"{worst.name}: {worst.message or 'no status message'}",
            response_xml=reply.text,
        )


def _severity(status: ResponseStatus) -> int:
    return {"Info": 0, "Warn": 1, "Error": 2}.get(status.severity, 0)
