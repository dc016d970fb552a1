"""Raw qbXML jobs: an admin's request sent as-is (in our envelope), its response kept on the job."""

from __future__ import annotations

import re

from lxml import etree
from sqlalchemy import Connection

from qbwc_server.models import JobKind
from qbwc_server.qbxml.core import QbxmlVersion, wrap_request
from qbwc_server.queue import ClaimedJob
from qbwc_server.sync.base import Applied

# Request elements are the only ones whose names end in "Rq" (their children never do).
_REQUEST_NAME = re.compile(r"<([A-Za-z0-9]+Rq)[\s/>]")


class RawQbxmlHandler:
    kind = JobKind.RAW_QBXML.value
    nouns = ("raw qbXML request", "raw qbXML requests")
    #: The response is the result: keep it on the job for the admin.
    keeps_response = True
    writes_mirror = False

    def build_request(self, job: ClaimedJob, version: QbxmlVersion) -> str:
        # continueOnError: an admin batching several queries wants every answer back.
        return wrap_request(job.request_body or "", version, on_error="continueOnError")

    def is_read_only(self, job: ClaimedJob) -> bool:
        """Only queries (every request element is a …QueryRq, e.g. CustomerQueryRq, TxnDeletedQueryRq)."""
        names = _REQUEST_NAME.findall(job.request_body or "")
        return bool(names) and all(name.endswith("QueryRq") for name in names)

    def read_response(self, job: ClaimedJob, messages: list[etree._Element]) -> Applied:
        """Done whatever QuickBooks said: the admin asked, the answer is theirs to read.

        The most severe status among the `*Rs` elements is recorded on the job.
        """
        worst: etree._Element | None = None
        for message in messages:
            if worst is None or _severity(message) > _severity(worst):
                worst = message
        if worst is None:
            return Applied(message="QuickBooks returned no responses")
        code = worst.get("statusCode")
        return Applied(
            status_code=int(code) if code and code.lstrip("-").isdigit() else None,
            message=f"{worst.tag}: {worst.get('statusMessage') or 'no status message'}",
        )

    def apply_response(self, conn: Connection, job: ClaimedJob, messages: list[etree._Element]) -> None:
        """Nothing to land: the response itself, kept on the job, is the result."""


def _severity(message: etree._Element) -> int:
    return {"Info": 0, "Warn": 1, "Error": 2}.get(message.get("statusSeverity", ""), 0)
