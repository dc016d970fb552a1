"""The job queue: every piece of qbXML work for a tenant, from queued to done."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, SmallInteger, func, text
from sqlalchemy.orm import Mapped, mapped_column

from qbwc_server.models.base import Base, bigint_pk, created_at, int_zero, updated_at


class JobStatus(enum.StrEnum):
    #: Waiting to go out on a session (not before `run_after`, and after its dependencies).
    QUEUED = "queued"
    #: Handed to the Web Connector; its response is awaited (leased by a session ticket).
    SENT = "sent"
    #: A write went out and its answer was never applied: QuickBooks may have done it. The next
    #: step is a look-up in QuickBooks (`look_up` jobs) or an admin's decision (`hold`), never a
    #: blind re-send.
    UNCONFIRMED = "unconfirmed"
    #: Response applied.
    DONE = "done"
    #: QuickBooks rejected it in a way only an admin can fix; `jobs retry` requeues it.
    FAILED = "failed"
    #: Held back because a job it depends on failed or died.
    BLOCKED = "blocked"
    #: Transient failures exhausted its attempts; visible and retryable.
    DEAD = "dead"


class IfUnanswered(enum.StrEnum):
    """What becomes of a sent job whose answer never arrives (session abandoned, worker killed)."""

    #: A read: sending it again changes nothing in QuickBooks.
    RESEND = "resend"
    #: A write whose effect can be looked up in QuickBooks (by name, RefNumber…): look, then decide.
    LOOK_UP = "look_up"
    #: A write we cannot look up (a raw …AddRq): held as unconfirmed until an admin decides.
    HOLD = "hold"


#: Statuses a job can be claimed from; the claim index and `queue.runnable_condition` share it.
CLAIMABLE = "(status = 'queued' OR (status = 'unconfirmed' AND if_unanswered = 'look_up'))"


def claimable(row: str) -> str:
    """CLAIMABLE for the job row `row` (an alias, or NEW/OLD in a trigger)."""
    return CLAIMABLE.replace("status", f"{row}.status").replace("if_unanswered", f"{row}.if_unanswered")


class JobKind(enum.StrEnum):
    #: An admin-enqueued qbXML request; the response is stored on the job.
    RAW_QBXML = "qbxml.raw"


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[bigint_pk]
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str]
    entity_ref: Mapped[str | None]
    #: Lower runs first.
    priority: Mapped[int] = mapped_column(SmallInteger, server_default=text("100"))
    status: Mapped[str] = mapped_column(server_default=JobStatus.QUEUED.value)
    attempts: Mapped[int_zero]
    max_attempts: Mapped[int] = mapped_column(server_default=text("5"))
    #: Unused since migration 0003 (dependencies live in `job_dependencies`); kept until no running
    #: release reads it, then dropped.
    depends_on: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    if_unanswered: Mapped[str] = mapped_column(server_default=IfUnanswered.RESEND.value)
    run_after: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    #: Ticket of the session the job was last sent on (kept after it finishes, for the summary).
    lease_ticket: Mapped[str | None]
    sent_at: Mapped[dt.datetime | None]
    #: The qbXML messages to send (the QBXMLMsgsRq children); the envelope is added at send time.
    request_body: Mapped[str | None]
    #: QuickBooks' answer to a raw job, gzipped (queue/stored.py; stored as is, not TOAST-compressed).
    response_gz: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: The same, as text, for answers stored before migration 0009 (none are written since).
    response_xml: Mapped[str | None]
    iterator_id: Mapped[str | None]
    iterator_remaining: Mapped[int | None]
    #: What a generated job was asked to do (a pull's window, its iterator's progress).
    params: Mapped[dict[str, Any] | None]
    #: Mirror rows the job inserted or changed (all pages of a pull); unchanged rows don't count.
    records: Mapped[int_zero]
    last_status_code: Mapped[int | None]
    last_message: Mapped[str | None]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
    finished_at: Mapped[dt.datetime | None]

    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s.value) for s in JobStatus)})", name="status"),
        CheckConstraint(
            "status <> 'sent' OR (sent_at IS NOT NULL AND lease_ticket IS NOT NULL)",
            name="sent_has_lease",
        ),
        CheckConstraint(
            "(status IN ('done', 'failed', 'dead')) = (finished_at IS NOT NULL)",
            name="finished_at_matches_status",
        ),
        CheckConstraint("depends_on IS NULL OR depends_on <> id", name="not_self_dependent"),
        CheckConstraint(
            f"if_unanswered IN ({', '.join(repr(s.value) for s in IfUnanswered)})", name="if_unanswered"
        ),
        # The claim query: runnable jobs of one tenant, by priority then age.
        Index("ix_jobs_claimable", "tenant_id", "priority", "id", postgresql_where=text(CLAIMABLE)),
        Index("ix_jobs_lease_ticket", "lease_ticket", postgresql_where=text("lease_ticket IS NOT NULL")),
        Index("ix_jobs_depends_on", "depends_on", postgresql_where=text("depends_on IS NOT NULL")),
        Index("ix_jobs_tenant_status", "tenant_id", "status", "id"),
        # Retention: a tenant's finished jobs, oldest first (queue/retention.py).
        Index(
            "ix_jobs_tenant_id_finished_at",
            "tenant_id",
            "finished_at",
            postgresql_where=text("finished_at IS NOT NULL"),
        ),
        # authenticate's next-due hint: the tenant's earliest queued run_after, one probe.
        Index(
            "ix_jobs_queued_run_after", "tenant_id", "run_after", postgresql_where=text("status = 'queued'")
        ),
        # A record's push jobs (sync/push.py reuses one not yet sent instead of queueing another).
        Index(
            "ix_jobs_push_entity",
            "tenant_id",
            "kind",
            "entity_ref",
            postgresql_where=text("entity_ref IS NOT NULL AND kind LIKE '%.push'"),
        ),
    )


class JobDependency(Base):
    """Job `job_id` runs only once job `depends_on_id` is done (a job may wait on several)."""

    __tablename__ = "job_dependencies"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    #: Deleting a finished job (retention) deletes the row: a dependency that is gone is met.
    depends_on_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))

    __table_args__ = (
        CheckConstraint("job_id <> depends_on_id", name="not_self"),
        # Blocking and releasing dependents walk this way.
        Index("ix_job_dependencies_depends_on_id", "depends_on_id"),
    )
