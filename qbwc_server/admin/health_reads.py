"""The detail of one tenant's health (admin/health.py): its recent sessions, the jobs waiting for
an admin with QuickBooks' code and the fix, QuickBooks' host, the customers waiting for a link.

Only for one tenant at a time: the cross-tenant summary is admin/status.py's one statement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, text

from qbwc_server.qbxml.errors import explain_status
from qbwc_server.sync.push import sync_error


@dataclass(frozen=True)
class Failure:
    """A job that waits for an admin, with QuickBooks' code and our fix."""

    job_id: int
    kind: str
    entity_ref: str | None
    #: failed, dead, blocked, or unconfirmed (a write held until an admin looks in QuickBooks).
    status: str
    quickbooks_code: int | None
    message: str
    #: The record's own fix when the push wrote one (it names the SKU or the customer), else the
    #: fix for QuickBooks' code.
    fix: str | None
    updated_at: dt.datetime
    #: The commerce record the job pushes, in words ("order WC3001 (o-1)"); None for other jobs.
    record: str | None = None


@dataclass(frozen=True)
class SessionSummary:
    """One Web Connector session as admins read it."""

    #: The ticket's first 8 characters: enough to tell sessions apart, never the ticket.
    ticket_prefix: str
    state: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    #: The closing line closeConnection answered ("Done: pulled 3 customers, …").
    summary: str | None
    #: Why it failed (connectionError) or expired.
    error: str | None


@dataclass(frozen=True)
class QuickBooksHost:
    """What QuickBooks told us of itself and the company (the last session's first calls)."""

    product: str | None
    version: str | None
    country: str | None
    edition: str | None
    qbxml_version: str | None
    #: The file QuickBooks had open in the last session that reached it, else the one the tenant
    #: expects (`tenant set --company-file`); None: whichever is open.
    company_file: str | None


@dataclass(frozen=True)
class MappingWait:
    """A commerce customer QuickBooks refused (3100: the name is in use) until an admin links it."""

    customer_id: str
    name: str
    message: str | None
    fix: str | None


#: Jobs that wait for an admin: failed, dead, blocked, and unconfirmed writes held for one.
_WAITING = """
    FROM jobs WHERE tenant_id = :t
      AND (status IN ('failed', 'dead', 'blocked') OR (status = 'unconfirmed' AND if_unanswered = 'hold'))
"""
#: A push job's record (`entity_ref` is the mirror row's id): its words and its own sync_error.
_RECORD = """(SELECT {label} || coalesce(' (' || r.commerce_id || ')', ''), r.sync_error FROM {table} r
              WHERE f.kind = '{kind}' AND r.tenant_id = :t
                AND r.id = CASE WHEN f.entity_ref ~ '^[0-9]{{1,18}}$'
                                THEN CAST(f.entity_ref AS bigint) END)"""
_RECORDS = {
    "customers.push": ("customers", "'customer ' || r.name"),
    "orders.push": ("sales_orders", "'order ' || coalesce(r.ref_number, r.commerce_body ->> 'number', '')"),
    "payments.push": (
        "payments",
        "'payment ' || coalesce(r.ref_number, r.commerce_body ->> 'reference', '')",
    ),
}
_LATERALS = "\n".join(
    f"LEFT JOIN LATERAL {_RECORD.format(label=label, table=table, kind=kind)} AS r{i}(record, error) ON true"
    for i, (kind, (table, label)) in enumerate(_RECORDS.items())
)
_RECORD_COLUMNS = ", ".join(
    f"coalesce({', '.join(f'r{i}.{column}' for i in range(len(_RECORDS)))}) AS {column}"
    for column in ("record", "error")
)


def failures(conn: Connection, tenant_id: int, limit: int) -> tuple[Failure, ...]:
    """The newest `limit` jobs waiting for an admin (the facts count them all)."""
    rows = conn.execute(
        text(f"""
            SELECT f.*, {_RECORD_COLUMNS} FROM (
                SELECT id, kind, entity_ref, status, last_status_code, last_message, updated_at {_WAITING}
                ORDER BY updated_at DESC, id DESC LIMIT :n
            ) f
            {_LATERALS}
            ORDER BY f.updated_at DESC, f.id DESC
        """),
        {"t": tenant_id, "n": limit},
    )
    found = []
    for row in rows:
        own = sync_error({"sync_error": row.error}) or {}
        generic = (
            explain_status(row.last_status_code, row.last_message or "").fix if row.last_status_code else ""
        )
        found.append(
            Failure(
                job_id=row.id,
                kind=row.kind,
                entity_ref=row.entity_ref,
                status=row.status,
                quickbooks_code=row.last_status_code,
                message=row.last_message or "",
                fix=own.get("fix") or generic or None,
                updated_at=row.updated_at,
                record=row.record,
            )
        )
    return tuple(found)


def sessions(conn: Connection, tenant_id: int, limit: int) -> tuple[SessionSummary, ...]:
    """The newest `limit` sessions, newest first."""
    rows = conn.execute(
        text("""
            SELECT left(ticket, 8) AS ticket_prefix, state, started_at, closed_at AS ended_at, summary,
                   CASE WHEN state IN ('failed', 'expired') THEN last_error END AS error
            FROM qbwc_sessions WHERE tenant_id = :t ORDER BY started_at DESC, ticket LIMIT :n
        """),
        {"t": tenant_id, "n": limit},
    )
    return tuple(SessionSummary(**row._mapping) for row in rows)


def quickbooks_host(conn: Connection, tenant_id: int) -> QuickBooksHost:
    """QuickBooks' host and company as last reported."""
    row = conn.execute(
        text("""
            SELECT host_product AS product, host_version AS version, host_country AS country,
                   company_preferences ->> 'edition' AS edition, qbxml_version,
                   coalesce((SELECT s.company_file FROM qbwc_sessions s
                             WHERE s.tenant_id = t.id AND s.qbxml_version IS NOT NULL
                             ORDER BY s.started_at DESC LIMIT 1), company_file) AS company_file
            FROM tenants t WHERE id = :t
        """),
        {"t": tenant_id},
    ).one()
    return QuickBooksHost(**row._mapping)


def needs_mapping(conn: Connection, tenant_id: int) -> tuple[MappingWait, ...]:
    """The tenant's customers QuickBooks refused for a name in use, waiting for a link."""
    rows = conn.execute(
        text("""
            SELECT commerce_id, name, sync_error FROM customers
            WHERE tenant_id = :t AND sync_state = 'needs_mapping' ORDER BY name, id
        """),
        {"t": tenant_id},
    )
    waits = []
    for row in rows:
        error = sync_error(dict(row._mapping)) or {}
        waits.append(MappingWait(row.commerce_id or "", row.name, error.get("message"), error.get("fix")))
    return tuple(waits)
