"""Typed SQLAlchemy models; importing this package registers every table on `metadata`."""

from qbwc_server.models.base import Base, metadata
from qbwc_server.models.mirror import SyncCursor
from qbwc_server.models.queue import Job, JobKind, JobStatus
from qbwc_server.models.tenancy import PasswordKind, QbwcSession, SessionState, Tenant

__all__ = [
    "Base",
    "Job",
    "JobKind",
    "JobStatus",
    "PasswordKind",
    "QbwcSession",
    "SessionState",
    "SyncCursor",
    "Tenant",
    "metadata",
]
