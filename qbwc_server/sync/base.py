"""What every job kind provides: build its request, apply its response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from lxml import etree
from sqlalchemy import Connection

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.queue import ClaimedJob, FailureOutcome


@dataclass(frozen=True)
class Applied:
    """What applying a response did to its job."""

    #: None when the job is done; else how it failed.
    failure: FailureOutcome | None = None
    message: str | None = None
    status_code: int | None = None


class JobHandler(Protocol):
    #: The `jobs.kind` value it handles.
    kind: str
    #: How the closing message counts it: ("raw qbXML request", "raw qbXML requests").
    nouns: tuple[str, str]
    #: Store the raw response on the job (raw requests) rather than only what it applied.
    keeps_response: bool
    #: Whether `apply_response` writes anything; when not, a job finishes in one statement.
    writes_mirror: bool

    def build_request(self, job: ClaimedJob, version: QbxmlVersion) -> str:
        """The complete qbXML request document for `job` at the negotiated `version`."""
        ...

    def is_read_only(self, job: ClaimedJob) -> bool:
        """Whether the request only reads QuickBooks (queries): sending it twice changes nothing."""
        ...

    def read_response(self, job: ClaimedJob, messages: list[etree._Element]) -> Applied:
        """What the response's `*Rs` statuses mean for the job (no database)."""
        ...

    def apply_response(self, conn: Connection, job: ClaimedJob, messages: list[etree._Element]) -> None:
        """Land the response in the mirror, in the caller's transaction; do not finish the job."""
        ...
