"""Raw qbXML jobs: an admin's request sent as-is (in our envelope), QuickBooks' answer kept on the job."""

from __future__ import annotations

import re

from lxml import etree
from sqlalchemy import Connection

from qbwc_server import queue
from qbwc_server.models import IfUnanswered, JobKind
from qbwc_server.qbxml.core import (
    SAFE_PARSER_OPTIONS,
    QbxmlParseError,
    QbxmlVersion,
    ResponseStatus,
    response_messages,
)
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
        return answered(reply.text)


def answered(response: str) -> JobResult:
    """A raw job's outcome: done whatever QuickBooks said (the admin asked, the answer is theirs
    to read), with the most severe status among the `*Rs` elements recorded on the job. It needs
    nothing but the answer, so receiveResponseXML may work it out before it reads the job
    (statements.RECEIVE_RAW_READ)."""
    worst: ResponseStatus | None = None
    for status in read_statuses(response):
        if worst is None or _severity(status) > _severity(worst):
            worst = status
    if worst is None:
        return JobResult(Action.DONE, message="QuickBooks returned no responses", response_xml=response)
    return JobResult(
        Action.DONE,
        status_code=worst.code,
        message=f"{worst.name}: {worst.message or 'no status message'}",
        response_xml=response,
    )


def is_raw_read(job: ClaimedJob) -> bool:
    """A raw query sent as itself (not a look-up): what RECEIVE_RAW_READ finishes."""
    return job.kind == RawQbxmlHandler.kind and not job.writes and not job.unconfirmed


def read_statuses(response: str) -> list[ResponseStatus]:
    """The status of each `*Rs` element of `response`, read in one pass without building its
    records: an answer of any size costs a few elements' memory, not a tree several times its
    size. It must still be well-formed qbXML (QbxmlError otherwise), as for any other job.

    An answer of up to SMALL_ANSWER characters (the common one) is parsed whole in C instead:
    its tree is small, and a target parser costs more to build than such a document to parse.
    Any fault there is read again the streaming way, so an error reads the same at any size.
    """
    if len(response) <= SMALL_ANSWER:
        body = _DECLARATION.sub("", response, count=1)
        try:
            root = etree.fromstring(body.encode("utf-8"), _WHOLE_PARSER)
        except (etree.XMLSyntaxError, ValueError):
            pass
        else:
            return [ResponseStatus.from_element(message) for message in response_messages(root)]
    skeleton = _Skeleton()
    parser = etree.XMLParser(target=skeleton, **_PARSER_OPTIONS)
    start = 0
    declaration = _DECLARATION.match(response)
    if declaration is not None:  # the declared encoding no longer applies to decoded text
        start = declaration.end()
    try:
        for offset in range(start, len(response), _SLICE):
            parser.feed(response[offset : offset + _SLICE])
        root = parser.close()
    except (etree.XMLSyntaxError, ValueError) as exc:  # ValueError: a name lxml refuses (bad prefix)
        raise QbxmlParseError(f"not well-formed XML: {exc}", response) from None
    if root is None:
        raise QbxmlParseError("not well-formed XML: no element found", response)
    return [ResponseStatus.from_element(message) for message in response_messages(root)]


#: Answers up to this many characters are parsed whole (a tree of a few MB at most).
SMALL_ANSWER = 256 * 1024
#: Characters handed to the parser at a time.
_SLICE = 1 << 20
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_PARSER_OPTIONS = SAFE_PARSER_OPTIONS  # no DTD, no entities, no network; large text nodes
_WHOLE_PARSER = etree.XMLParser(**_PARSER_OPTIONS)


class _Skeleton:
    """Parser target: builds the document's top three levels (QBXML, QBXMLMsgsRs, the `*Rs`
    elements with their attributes) and nothing below; the records are parsed, never built.

    Its `close` never raises: a malformed answer's error is the parser's own (line, column).
    """

    def __init__(self) -> None:
        self.root: etree._Element | None = None
        self._open: list[etree._Element] = []
        self._depth = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self._depth += 1
        if self._depth == 1:
            self.root = etree.Element(tag, attrib)
            self._open.append(self.root)
        elif self._depth <= 3:
            self._open.append(etree.SubElement(self._open[-1], tag, attrib))

    def end(self, tag: str) -> None:
        if self._depth <= 3:
            self._open.pop()
        self._depth -= 1

    def close(self) -> etree._Element | None:
        return self.root


def _severity(status: ResponseStatus) -> int:
    return {"Info": 0, "Warn": 1, "Error": 2}.get(status.severity, 0)
