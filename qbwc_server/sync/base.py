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

    def build_request(self, job: ClaimedJob, version: QbxmlVersion) -> str:
        """The complete qbXML request document for `job` at the negotiated `version`."""
        ...

    def apply_response(
        self, conn: Connection, job: ClaimedJob, messages: list[etree._Element], raw: str
    ) -> Applied:
        """Apply the response's `*Rs` elements in the caller's transaction; do not finish the job."""
        ...
