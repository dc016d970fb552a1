"""The job queue: every piece of qbXML work for a tenant, from queued to done."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, func, text
from sqlalchemy.orm import Mapped, mapped_column

from qbwc_server.models.base import Base, bigint_pk, created_at, int_zero, updated_at


class JobStatus(enum.StrEnum):
    #: Waiting to go out on a session (possibly not before `run_after`, or after `depends_on`).
    QUEUED = "queued"
    #: Handed to the Web Connector; its response is awaited (leased by a session ticket).
    SENT = "sent"
    #: Response applied.
    DONE = "done"
    #: QuickBooks rejected it in a way only an admin can fix; `jobs retry` requeues it.
    FAILED = "failed"
    #: Held back because a job it depends on failed or died.
    BLOCKED = "blocked"
    #: Transient failures exhausted its attempts; visible and retryable.
    DEAD = "dead"


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
    depends_on: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    run_after: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    #: Ticket of the session the job was last sent on (kept after it finishes, for the summary).
    lease_ticket: Mapped[str | None]
    sent_at: Mapped[dt.datetime | None]
    #: The qbXML messages to send (the QBXMLMsgsRq children); the envelope is added at send time.
    request_body: Mapped[str | None]
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
        # The claim query: runnable jobs of one tenant, by priority then age.
        Index("ix_jobs_claimable", "tenant_id", "priority", "id", postgresql_where=text("status = 'queued'")),
        Index("ix_jobs_lease_ticket", "lease_ticket", postgresql_where=text("lease_ticket IS NOT NULL")),
        Index("ix_jobs_depends_on", "depends_on", postgresql_where=text("depends_on IS NOT NULL")),
        Index("ix_jobs_tenant_status", "tenant_id", "status", "id"),
    )
