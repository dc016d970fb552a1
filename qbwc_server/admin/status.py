"""How tenants are doing: their queue by status, their pulls, what landed in their mirror.

What `qbwc-server status` and `tenant list|show` print, and what the API's status will answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, text

from qbwc_server.admin.jobs import job_counts
from qbwc_server.admin.pulls import PullsOverview, overview, pull_states
from qbwc_server.admin.tenants import TenantInfo, get_tenant, list_tenants

#: Job statuses that wait for an admin.
NEEDS_ATTENTION = ("failed", "dead", "blocked")
#: The mirror tables a first sync fills, in that order (lines and applications left out).
MIRROR_TABLES = (
    "customers",
    "customer_ship_addresses",
    "items",
    "price_levels",
    "sales_reps",
    "terms",
    "sales_orders",
    "invoices",
    "payments",
)


@dataclass(frozen=True)
class TenantSummary:
    """A tenant and its jobs per status."""

    tenant: TenantInfo
    jobs: Mapping[str, int]

    @property
    def queued(self) -> int:
        return self.jobs.get("queued", 0)

    @property
    def needing_attention(self) -> int:
        """Jobs failed, dead or blocked: each waits for an admin."""
        return sum(self.jobs.get(status, 0) for status in NEEDS_ATTENTION)


@dataclass(frozen=True)
class TenantStatus(TenantSummary):
    """A tenant in full: its jobs and how far its pulls got."""

    pulls: PullsOverview


def tenant_summaries(conn: Connection) -> list[TenantSummary]:
    """Every tenant, by name, with its jobs per status."""
    return [TenantSummary(t, job_counts(conn, t.id)) for t in list_tenants(conn)]


def tenant_status(conn: Connection, name_or_username: str) -> TenantStatus:
    """One tenant in full (TenantNotFound if there is none by that name or username)."""
    tenant = get_tenant(conn, name_or_username)
    return TenantStatus(tenant, job_counts(conn, tenant.id), overview(pull_states(conn, tenant.id)))


def mirror_counts(conn: Connection, tenant_id: int) -> dict[str, int]:
    """Rows per mirror table for one tenant, in MIRROR_TABLES' order."""
    return {
        table: conn.execute(
            text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": tenant_id}
        ).scalar_one()
        for table in MIRROR_TABLES
    }
