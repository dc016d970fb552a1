"""The one contract every job kind implements (pulls, raw requests, pushes): build the request
at send time, apply the answer, say what becomes of the job.

The Web Connector session knows only this contract and the registry; a handler knows its qbXML
and its mirror tables, nothing of SOAP. Several jobs of one kind may share a message: each `*Rq`
carries its job id as requestID, and each job gets back its own `*Rs` (a `Reply`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

from lxml import etree
from sqlalchemy import Connection, Engine, text

from qbwc_server import queue
from qbwc_server.qbxml.core import QbxmlVersion, ResponseStream, parse_xml, response_messages
from qbwc_server.queue import ClaimedJob, JobResult

#: Writes a handler's decision not to send makes beside the job's own (the row's sync state, a
#: dependency), run in the session's transaction that settles the job.
Record = Callable[[Connection], None]


class NotSent(Exception):
    """Raised by `build_request`: this job is not sent, and nothing reached QuickBooks.

    The session settles the job with `result` (a FAIL: the edition cannot take it, a dependency
    is missing…) and runs `record` in the same durable transaction, so the row says why. The
    build's own transaction is read-only and rolled back: what must stay is written here.
    """

    def __init__(self, result: JobResult, *, record: Record | None = None) -> None:
        super().__init__(result.message or "not sent")
        self.result = result
        self.record = record

    def apply(self, conn: Connection, job_id: int) -> None:
        if self.record is not None:
            self.record(conn)
        queue.settle(conn, job_id, self.result)


class Deferred(NotSent):
    """Not yet: the job goes back to the queue until `run_after` (now when None), its lease
    dropped and the attempt not counted, `params` merged into its own (`queue.defer`). A payment
    waiting for its order's invoice; an order whose customer's push must go first."""

    def __init__(
        self,
        run_after: dt.datetime | None,
        message: str,
        *,
        params: dict[str, Any] | None = None,
        record: Record | None = None,
    ) -> None:
        super().__init__(JobResult.fail(queue.Outcome.RETRY, message), record=record)
        self.run_after = run_after
        self.params = params

    def apply(self, conn: Connection, job_id: int) -> None:
        if self.record is not None:
            self.record(conn)
        queue.defer(conn, job_id, self.run_after, self.result.message or "", self.params)


class Database:
    """A transaction opened only when a handler first asks for it (`conn`).

    Raw jobs never touch the database while building or applying, so their round trip stays
    one statement; a pull or a push opens it to read its rows or land its page. `durable=False`
    lets the commit skip the WAL flush: only for reads, whose loss in a crash means asking again.
    """

    def __init__(self, engine: Engine, *, durable: bool = True) -> None:
        self._engine = engine
        self._durable = durable
        self._conn: Connection | None = None
        #: What the jobs of one message share and read once (a tenant's settings, say).
        self.memo: dict[object, object] = {}

    @property
    def opened(self) -> bool:
        return self._conn is not None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            conn = self._engine.connect()
            conn.begin()
            if not self._durable:
                conn.execute(text("SET LOCAL synchronous_commit = off"))
            self._conn = conn
        return self._conn

    def commit(self) -> None:
        if self._conn is not None:
            self._conn.commit()
            self.close()

    def rollback(self) -> None:
        if self._conn is not None:
            self._conn.rollback()
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.rollback()  # whatever was not committed explicitly


class Reply:
    """One job's part of QuickBooks' answer.

    A message that carried only this job: the whole response text, to be read as a stream (a
    page of a pull can be large). A batch: this job's `*Rs` elements, matched by requestID and
    parsed once for the whole message.
    """

    def __init__(self, text: str | None = None, messages: list[etree._Element] | None = None) -> None:
        self._text = text
        self._messages = messages

    def stream(self) -> ResponseStream:
        return ResponseStream(self.text)

    def messages(self) -> list[etree._Element]:
        """The `*Rs` elements (QbxmlError when the answer is not a qbXML response)."""
        if self._messages is None:
            self._messages = response_messages(parse_xml(self._text or ""))
        return self._messages

    @property
    def text(self) -> str:
        """The answer as qbXML text: what raw jobs keep for the admin."""
        if self._text is None:
            parts = "".join(etree.tostring(m, encoding="unicode") for m in self._messages or ())
            self._text = f"<QBXML><QBXMLMsgsRs>{parts}</QBXMLMsgsRs></QBXML>"
        return self._text


class JobHandler(Protocol):
    #: The `jobs.kind` value it handles.
    kind: str
    #: How the closing message counts it: ("raw qbXML request", "raw qbXML requests").
    nouns: tuple[str, str]
    #: Most jobs of this kind one message may carry (1: one request per round trip).
    batch_size: int
    #: Whether the closing message counts records (pulls) rather than jobs.
    counts_records: bool

    def build_request(self, db: Database, job: ClaimedJob, version: QbxmlVersion) -> str:
        """The job's `*Rq` element(s) for the negotiated `version`, requestID = the job id.

        Called at send time, so it may read the job's current rows (`db.conn`, read-only). A job
        claimed from `unconfirmed` (`job.unconfirmed`) asks QuickBooks what its lost write did.
        `NotSent` / `Deferred` say the job is not sent (failed with a reason, or later); any
        other exception fails the job (nothing was sent) with the error as the reason.
        """
        ...

    def receive(self, db: Database, job: ClaimedJob, reply: Reply) -> JobResult:
        """Apply the answer (in `db.conn`'s transaction if it lands anything) and say what becomes
        of the job. QbxmlError means the answer could not be read: the session settles the job
        (failed for a read, unconfirmed for a write) and nothing it wrote is kept.
        """
        ...
