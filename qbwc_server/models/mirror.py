"""Mirror-side sync state. The mirror tables themselves (customers, items, …) join this module."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from qbwc_server.models.base import Base, updated_at


class SyncCursor(Base):
    """How far a pull of one entity has been applied for one tenant."""

    __tablename__ = "sync_cursors"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    entity: Mapped[str] = mapped_column(primary_key=True)
    #: Highest TimeModified fully applied; advanced only when an iteration completes.
    last_modified: Mapped[dt.datetime | None]
    last_full_refresh_at: Mapped[dt.datetime | None]
    updated_at: Mapped[updated_at]
