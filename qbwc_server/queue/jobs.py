"""What a job is to the code that runs it: a leased job (ClaimedJob), and what an answer does
to it (JobResult). No SQL here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qbwc_server.errors import QbwcError
from qbwc_server.models import IfUnanswered, JobStatus
from qbwc_server.qbxml.errors import Outcome


class QueueError(QbwcError):
    """A queue operation that cannot be done as asked (unknown job, wrong state)."""

    code = "conflict"


#: The columns a claimed job is read with, by name: a new one is added here and in ClaimedJob.
JOB_COLUMNS = ("id", "tenant_id", "kind", "entity_ref", "request_body", "attempts", "params", "if_unanswered")

#: SQL for ClaimedJob.unconfirmed on a sent job `j` (the claim marks a look-up in its params).
LOOKING_UP = "coalesce((j.params ->> 'looking_up')::boolean, false)"


@dataclass(frozen=True)
class ClaimedJob:
    """A job leased to a session, with what is needed to build its request."""

    id: int
    tenant_id: int
    kind: str
    entity_ref: str | None = None
    request_body: str | None = None
    attempts: int = 1
    #: A generated job's parameters (a pull's window and iterator, a push's plan).
    params: dict[str, Any] | None = None
    if_unanswered: str = IfUnanswered.RESEND.value
    #: Claimed from `unconfirmed`: look in QuickBooks for what the lost write did before anything else.
    unconfirmed: bool = False

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ClaimedJob:
        return cls(**{name: row[name] for name in (*JOB_COLUMNS, "unconfirmed")})

    @property
    def writes(self) -> bool:
        """Whether sending it may change QuickBooks (its outcome must never be guessed)."""
        return self.if_unanswered != IfUnanswered.RESEND


class Action(enum.StrEnum):
    #: Finished: the answer is applied.
    DONE = "done"
    #: Another round trip at once (the next page of an iterator); this attempt succeeded.
    CONTINUE = "continue"
    #: Start over at once (QuickBooks forgot the iterator); the attempt still counts.
    RESTART = "restart"
    #: QuickBooks said no, or its answer was unusable: `outcome` says what happens next.
    FAIL = "fail"
    #: A write was answered, but what QuickBooks did cannot be read from the answer.
    UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class JobResult:
    """What an answer does to its job: the one value every handler returns."""

    action: Action
    #: For FAIL: retry (backoff), wait for a dependency (blocked), needs an admin, or dead.
    outcome: Outcome = Outcome.DONE
    message: str | None = None
    status_code: int | None = None
    #: Kept on the job (raw jobs: the answer is the result).
    response_xml: str | None = None
    #: The job's parameters from now on (None keeps them).
    params: dict[str, Any] | None = None
    #: Mirror rows this round trip inserted or changed.
    records: int = 0
    #: Records an iterator still holds (CONTINUE).
    remaining: int | None = None

    @classmethod
    def fail(cls, outcome: Outcome, message: str, status_code: int | None = None) -> JobResult:
        return cls(Action.FAIL, outcome, message, status_code)


#: Backoff for transient failures: 30 s, 1 min, 2 min, … capped at an hour.
BACKOFF_BASE_SECONDS = 30

BACKOFF_CAP_SECONDS = 3600

#: Statuses whose dependents are held back (blocked) until they are retried.
HOLDING = ("failed", "dead", "blocked")

#: Where a failed job goes, by outcome; RETRY is decided in SQL (queued, or dead at the cap).
_HELD_BY = {
    Outcome.WAIT_FOR_DEPENDENCY: JobStatus.BLOCKED,
    Outcome.NEEDS_ADMIN: JobStatus.FAILED,
    Outcome.DEAD: JobStatus.DEAD,
}
