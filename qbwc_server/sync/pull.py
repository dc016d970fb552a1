"""Pull jobs: ask QuickBooks for what changed in one entity and land it in the mirror.

A pull is one job that may take several round trips: with an iterator, each response is a page
(MaxReturned records) and the job goes straight back to the queue to ask for the next one
(iterators expire, so nothing else runs in between). The entity's cursor advances only when the
last page has been applied; an expired iterator (3391) restarts the pull from its first page,
which rewrites nothing that did not change.

Responses are read with `ResponseStream`, so a page of any size is parsed once, a batch of
records at a time. An incremental pull skips the records the mirror already holds as they are
(`sync/unchanged.py`) before reading their fields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from sqlalchemy import Connection, text

from qbwc_server.qbxml.core import QbxmlVersion, ResponseStatus
from qbwc_server.qbxml.errors import Outcome, explain_status
from qbwc_server.qbxml.fields import parse_datetime
from qbwc_server.qbxml.query import Iteration
from qbwc_server.queue import Action, ClaimedJob, JobResult
from qbwc_server.sync.base import Database, Reply
from qbwc_server.sync.unchanged import UnchangedCheck

#: Records applied per statement while a response streams in.
APPLY_BATCH = 500
#: qbXML status codes of an expired or unknown iterator.
ITERATOR_GONE = frozenset({3391})
#: No records matched: a normal, empty answer.
NO_MATCH = frozenset({1, 500})
#: An expired iterator restarts its pull at once this many times, then backs off like any retry.
RESTARTS_BEFORE_BACKOFF = 3


@dataclass(frozen=True, kw_only=True)
class PullWindow:
    """What one request of a pull asks for."""

    #: Only records modified (or deleted) since then; None for everything.
    since: dt.datetime | None
    iteration: Iteration | None
    request_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class PullSpec:
    """One pulled entity: how to ask for it, read it and land it, and how often."""

    #: The cursor's name and what `qbwc-server refresh` calls it, e.g. "customers".
    entity: str
    #: ("customer", "customers"): how the closing message counts pulled records.
    nouns: tuple[str, str]
    build: Callable[[PullWindow, QbxmlVersion], str]
    #: Record element names this pull reads (others in the response are ignored).
    record_tags: frozenset[str]
    parse: Callable[[etree._Element], Any]
    apply: Callable[[Connection, int, list[Any]], int]
    interval: dt.timedelta
    #: Lower goes first: lists before the records that refer to them, orders before invoices.
    priority: int
    #: MaxReturned per page; None when the query has no iterator (small lists, deletions).
    page_size: int | None = 500
    #: False: every pull is a full refresh (stock figures, which move without TimeModified).
    incremental: bool = True
    #: The record attribute the cursor follows.
    time_attribute: str = "time_modified"
    #: How an incremental pull tells records the mirror already holds apart, unread; None: it
    #: reads and compares every record.
    unchanged: UnchangedCheck | None = None

    @property
    def kind(self) -> str:
        return f"{self.entity}.pull"


@dataclass
class PullResult:
    """What one response did to its pull."""

    records: int = 0
    changed: int = 0
    newest: dt.datetime | None = None
    status: ResponseStatus | None = None
    failure: Outcome | None = None
    message: str | None = None
    #: The iterator to continue (records remain), else None.
    iterator_id: str | None = None
    remaining: int = 0
    restart: bool = False
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.failure is None and not self.restart and self.iterator_id is None


class PullHandler:
    """The job handler for one PullSpec. It reads its answer as a stream: pages can be large."""

    batch_size = 1  # a page is already as large as a round trip should be
    counts_records = True

    def __init__(self, spec: PullSpec) -> None:
        self.spec = spec
        self.kind = spec.kind
        self.nouns = spec.nouns

    def build_request(self, db: Database, job: ClaimedJob, version: QbxmlVersion) -> str:
        params = job.params or {}
        since = params.get("since")
        iteration = None
        page_size = params.get("page_size", self.spec.page_size)
        if page_size is not None:
            iteration = Iteration(max_returned=int(page_size), iterator_id=params.get("iterator_id"))
        window = PullWindow(
            since=parse_datetime(since) if since else None, iteration=iteration, request_id=str(job.id)
        )
        return self.spec.build(window, version)

    def receive(self, db: Database, job: ClaimedJob, reply: Reply) -> JobResult:
        """Apply one page and say what comes next: the next page at once, a restart, or done."""
        result = self.apply(db.conn, job.tenant_id, job, reply)
        code = result.status.code if result.status else None
        if result.failure is not None or (result.restart and job.attempts >= RESTARTS_BEFORE_BACKOFF):
            return JobResult.fail(result.failure or Outcome.RETRY, result.message or "failed", code)
        if result.restart:
            return JobResult(Action.RESTART, message=result.message, params=result.params)
        if not result.finished:
            return JobResult(
                Action.CONTINUE,
                params=result.params,
                remaining=result.remaining or None,
                records=result.changed,
            )
        return JobResult(Action.DONE, status_code=code, params=result.params, records=result.changed)

    def apply(self, conn: Connection, tenant_id: int, job: ClaimedJob, reply: Reply) -> PullResult:
        """Apply one response (a page) in the caller's transaction and say what it did.

        Raises QbxmlError for an answer that cannot be read (nothing is committed then: the
        caller rolls back).
        """
        spec = self.spec
        result = PullResult()
        skip = spec.unchanged if (job.params or {}).get("since") else None
        stream = reply.stream()
        for batch in stream.batches(spec.record_tags, APPLY_BATCH):
            elements = [element for _, element in batch]
            result.records += len(elements)
            if skip is not None:
                elements, newest = skip.split(conn, tenant_id, elements)
                result.newest = _newer(result.newest, newest)
            records = []
            for element in elements:
                record = spec.parse(element)
                records.append(record)
                result.newest = _newer(result.newest, getattr(record, spec.time_attribute, None))
            if records:
                result.changed += spec.apply(conn, tenant_id, records)
        result.status = stream.statuses[0] if stream.statuses else None
        self._judge(job, result)
        if result.finished:
            self._advance_cursor(conn, tenant_id, job, result)
        return result

    def _judge(self, job: ClaimedJob, result: PullResult) -> None:
        params = dict(job.params or {})
        status = result.status
        if status is None:
            # An answer reached us, so the job is settled, never treated as unanswered: the same
            # request would most likely get the same empty answer.
            result.failure = Outcome.NEEDS_ADMIN
            result.message = (
                f"QuickBooks' answer held no {self.spec.kind.split('.')[0]} response. This pull waits for"
                f" you: `qbwc-server jobs retry {job.id}`, or stop it with"
                f" `qbwc-server tenant set TENANT --pull {self.spec.entity}=off`."
            )
            return
        if status.code in ITERATOR_GONE:
            # 3391: the iterator expired (or QuickBooks restarted); start the pull over.
            params.pop("iterator_id", None)
            params.pop("newest", None)
            result.restart, result.params = True, params
            result.message = f"{status.code}: {status.message} — starting this pull over"
            return
        explanation = explain_status(status.code, status.message)
        if explanation.outcome is not Outcome.DONE:  # 0, no match (1, 500), a warning (530) go on
            # A query cannot wait for anything to appear: only retry, an admin, or give up.
            result.failure = (
                Outcome.RETRY if explanation.outcome is Outcome.WAIT_FOR_DEPENDENCY else explanation.outcome
            )
            result.message = f"{status.name} {status.code}: {status.message} {explanation.fix}".strip()
            if result.failure is not Outcome.RETRY:
                result.message += (
                    " This pull waits for you: `qbwc-server jobs retry ID` once fixed, or stop it with"
                    f" `qbwc-server tenant set TENANT --pull {self.spec.entity}=off`."
                )
            return
        newest = _later(params.get("newest"), result.newest)
        if newest is not None:
            params["newest"] = newest.isoformat()
        if status.iterator_id and (status.iterator_remaining or 0) > 0:
            params["iterator_id"] = status.iterator_id
            result.iterator_id, result.remaining = status.iterator_id, status.iterator_remaining or 0
        else:
            params.pop("iterator_id", None)
        result.params = params

    def _advance_cursor(self, conn: Connection, tenant_id: int, job: ClaimedJob, result: PullResult) -> None:
        """The pull is complete: move the cursor to the newest record seen, but not past the
        moment the pull started (records changed while it ran are asked for again next time)."""
        params = result.params
        newest = parse_datetime(params["newest"]) if params.get("newest") else None
        started = parse_datetime(params["started_at"]) if params.get("started_at") else None
        if newest is not None and started is not None:
            newest = min(newest, started)
        conn.execute(
            text("""
                INSERT INTO sync_cursors (tenant_id, entity, last_modified, last_completed_at,
                                          last_full_refresh_at, next_due_at)
                VALUES (:t, :entity, :newest, now(), CASE WHEN :full THEN now() END, now() + :interval)
                ON CONFLICT (tenant_id, entity) DO UPDATE SET
                    last_modified = greatest(sync_cursors.last_modified, EXCLUDED.last_modified),
                    last_completed_at = now(),
                    last_full_refresh_at = coalesce(EXCLUDED.last_full_refresh_at,
                                                    sync_cursors.last_full_refresh_at),
                    updated_at = now()
            """),
            {
                "t": tenant_id,
                "entity": self.spec.entity,
                "newest": newest,
                "full": not params.get("since"),
                "interval": self.spec.interval,
            },
        )


def _newer(newest: dt.datetime | None, seen: dt.datetime | None) -> dt.datetime | None:
    return seen if newest is None or (seen is not None and seen > newest) else newest


def _later(stored: str | None, seen: dt.datetime | None) -> dt.datetime | None:
    previous = parse_datetime(stored) if stored else None
    if previous is None or (seen is not None and seen > previous):
        return seen
    return previous
