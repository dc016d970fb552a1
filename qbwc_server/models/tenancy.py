"""Tenants (one QuickBooks company each) and their Web Connector sessions."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, SmallInteger, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from qbwc_server.models.base import Base, bigint_pk, created_at, int_zero, timestamp, updated_at


class PasswordKind(enum.StrEnum):
    #: A generated secret of >=128 bits, stored as its SHA-256 digest (verify costs microseconds).
    TOKEN = "token"
    #: An admin-chosen password, stored with argon2id.
    ARGON2 = "argon2"


class SessionState(enum.StrEnum):
    #: Authenticated and exchanging requests.
    OPEN = "open"
    #: closeConnection was called.
    CLOSED = "closed"
    #: Went quiet past the idle timeout, or was superseded by a newer authenticate.
    EXPIRED = "expired"
    #: The Web Connector could not reach QuickBooks (connectionError).
    FAILED = "failed"


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[bigint_pk]
    name: Mapped[str] = mapped_column(unique=True)
    username: Mapped[str] = mapped_column(unique=True)
    password_kind: Mapped[str]
    password_hash: Mapped[str]
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, server_default=text("gen_random_uuid()"))
    file_id: Mapped[uuid.UUID] = mapped_column(Uuid, server_default=text("gen_random_uuid()"))
    #: Company file the Web Connector should open; NULL means "the one open in QuickBooks".
    company_file: Mapped[str | None]
    #: Highest qbXML version both sides support, from the last session's HCP response.
    qbxml_version: Mapped[str | None]
    host_product: Mapped[str | None]
    host_version: Mapped[str | None]
    host_country: Mapped[str | None]
    settings: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    last_seen_at: Mapped[dt.datetime | None]
    #: The last connectionError, in the admin's words, with its fix; cleared by a good session.
    connection_error: Mapped[str | None]
    connection_error_at: Mapped[dt.datetime | None]
    failed_logins: Mapped[int_zero]
    locked_until: Mapped[dt.datetime | None]
    #: What QuickBooks said of the company on the last session's first sendRequestXML (strHCPResponse):
    #: edition, class tracking, sales tax, estimates, sales orders (`qbxml/preferences.py`).
    company_preferences: Mapped[dict[str, Any] | None]
    #: Bumped, by triggers (migration 0010), in every transaction that makes work runnable sooner:
    #: a claimable job added, a job made claimable or due earlier, a pull due sooner, new settings.
    work_epoch: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    #: The idle poll's verdict (authenticate's look-up): nothing to do before `idle_until`, while
    #: `idle_epoch` is still `work_epoch`. An idle poll then reads this row and nothing else.
    idle_until: Mapped[dt.datetime | None]
    idle_epoch: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    __table_args__ = (
        CheckConstraint("password_kind IN ('token', 'argon2')", name="password_kind"),
        CheckConstraint("length(username) > 0", name="username_not_empty"),
    )


class QbwcSession(Base):
    __tablename__ = "qbwc_sessions"

    ticket: Mapped[str] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(server_default=SessionState.OPEN.value)
    started_at: Mapped[created_at]
    last_call_at: Mapped[created_at]
    closed_at: Mapped[dt.datetime | None]
    company_file: Mapped[str | None]
    qbxml_version: Mapped[str | None]
    #: Unused since migration 0003 (a message's jobs are those leased to the ticket); kept until
    #: no running release writes it, then dropped.
    current_job_id: Mapped[int | None] = mapped_column(BigInteger)
    #: What getLastError returns: an explanation, or "NoOp" to make the Web Connector wait and retry.
    last_error: Mapped[str | None]
    requests_sent: Mapped[int_zero]
    jobs_done: Mapped[int_zero]
    jobs_failed: Mapped[int_zero]
    #: The percent receiveResponseXML last answered (the bar never goes backwards).
    progress: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    #: The closing line closeConnection answered ("Done: pulled 3 customers, …"), kept for the
    #: status page and `status` (the jobs it counts may be gone by then).
    summary: Mapped[str | None]

    __table_args__ = (
        CheckConstraint(f"state IN ({', '.join(repr(s.value) for s in SessionState)})", name="state"),
        CheckConstraint("(state = 'open') = (closed_at IS NULL)", name="closed_at_matches_state"),
        # A tenant's newest sessions (health, `status`): migration 0007.
        Index("ix_qbwc_sessions_tenant_id_started_at", "tenant_id", "started_at"),
        # At most one live session per tenant: a second authenticate must expire the first.
        Index(
            "uq_qbwc_sessions_one_open_per_tenant",
            "tenant_id",
            unique=True,
            postgresql_where=text("state = 'open'"),
        ),
    )


class TokenKind(enum.StrEnum):
    #: Scopes every API route to its tenant.
    TENANT = "tenant"
    #: May call every tenant's routes under /api/v1/tenants/{tenant}/, and the cross-tenant ones.
    ADMIN = "admin"
    #: A per-tenant read-only link to the status page (`/status/t/<token>`).
    STATUS_LINK = "status_link"


class ApiToken(Base):
    """An API bearer token, kept only as its SHA-256 digest (API.md: one table for both kinds)."""

    __tablename__ = "api_tokens"

    id: Mapped[bigint_pk]
    #: NULL for an admin token; set for tenant tokens and status links.
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str]
    token_sha256: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[created_at]
    revoked_at: Mapped[dt.datetime | None]

    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k.value) for k in TokenKind)})", name="kind"),
        CheckConstraint("(kind = 'admin') = (tenant_id IS NULL)", name="tenant_matches_kind"),
    )


class PageSession(Base):
    """A login to the status page: the cookie holds a random secret, the table only its SHA-256.
    Revoking the admin token that logged in ends it (cascade)."""

    __tablename__ = "page_sessions"

    id: Mapped[bigint_pk]
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    #: Sent back in every form of the page and checked on each POST.
    csrf_token: Mapped[str]
    created_at: Mapped[created_at]
    expires_at: Mapped[timestamp] = mapped_column(index=True)


class AuthFailure(Base):
    """Wrong passwords in a row for one username from one address (webconnector/login.py).

    Keyed by the username as sent, not by tenant: unknown usernames are counted the same way, so
    neither the answers nor the work done tell which usernames exist (hence no tenant_id).
    """

    __tablename__ = "auth_failures"

    #: The username as sent; a digest ("sha256:…") of one too long to index.
    username: Mapped[str] = mapped_column(primary_key=True)
    #: The client's address (an IPv6 client's /64), or "" when the caller did not know it.
    source: Mapped[str] = mapped_column(primary_key=True)
    #: SHA-256 of the password verifier the failures were counted against: a new password (or a
    #: tenant created for a username tried before) starts the count over.
    verifier: Mapped[bytes] = mapped_column(LargeBinary)
    failures: Mapped[int]
    locked_until: Mapped[dt.datetime | None]
    last_failed_at: Mapped[timestamp] = mapped_column(index=True)
