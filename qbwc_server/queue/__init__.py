"""The Postgres job queue: enqueue, claim, settle, release, retry, cancel.

Knows jobs and their states, nothing of SOAP or of qbXML text. Every function takes the
caller's `Connection`, so an answer is applied and its job settled in the caller's one
transaction. Each transition is written once, here; the Web Connector's one-statement calls
reuse the SQL fragments (`runnable_condition`, `claim_ctes`, `complete_cte`).

    queued ──claim──> sent ──answered──> done | failed | dead | blocked | queued (retry, backoff)
       ^               │   └─answered, but what QuickBooks did cannot be read (a write)─> unconfirmed
       └─unanswered, a read┘
                        └─unanswered, a write─> unconfirmed ─ look_up: claimed again to look first
                                                            └ hold: an admin resends or cancels
    blocked: held until something happens (a dependency failed or waits; QuickBooks lacks what it needs)

Outcomes (`qbxml.errors.Outcome`) map to statuses in one place, `settle`.
"""

from qbwc_server.qbxml.errors import Outcome
from qbwc_server.queue.claim import claim_jobs, claim_next_job, count_runnable, dependencies_of, enqueue
from qbwc_server.queue.jobs import (
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    HOLDING,
    JOB_COLUMNS,
    LOOKING_UP,
    Action,
    ClaimedJob,
    JobResult,
    QueueError,
)
from qbwc_server.queue.manual import cancel_job, retry_job
from qbwc_server.queue.settle import (
    block_dependents,
    completion_params,
    defer,
    reclaim_expired_leases,
    release_leases,
    settle,
)
from qbwc_server.queue.sql import claim_ctes, complete_cte, round_trips_left, runnable_condition

__all__ = [
    "BACKOFF_BASE_SECONDS",
    "BACKOFF_CAP_SECONDS",
    "HOLDING",
    "JOB_COLUMNS",
    "LOOKING_UP",
    "Action",
    "ClaimedJob",
    "JobResult",
    "Outcome",
    "QueueError",
    "block_dependents",
    "cancel_job",
    "claim_ctes",
    "claim_jobs",
    "claim_next_job",
    "complete_cte",
    "completion_params",
    "count_runnable",
    "defer",
    "dependencies_of",
    "enqueue",
    "reclaim_expired_leases",
    "release_leases",
    "retry_job",
    "round_trips_left",
    "runnable_condition",
    "settle",
]
