"""Retention: finished jobs, ended sessions and expired status-page sessions are deleted once
older than a bound, in small batches (each its own short transaction), so the tables stay
bounded without a long lock. Knows which finished job still tells something; not when to run.

What stays, however old: anything not finished (queued, sent, unconfirmed, blocked); a failed
or dead job that is still the newest of its record's pushes (or of its tenant's pulls of that
kind, or raw requests): the record reads `failed` from it, and an admin has yet to act; a
finished job that a job not yet finished depends on; a tenant's last session and last completed
one (`status` shows them). A deleted dependency counts as met (its `job_dependencies` rows go
with it, ON DELETE CASCADE): only done ones go while a dependent waits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

#: Rows deleted per statement: short transactions, a short lock on each row.
BATCH = 1000

#: SQL true when finished job `j` may go once old enough (see the module docstring).
PRUNABLE = """
    j.finished_at IS NOT NULL
    AND (j.status = 'done'
         OR (EXISTS (  -- a later job of the same record, or pull, or raw kind replaced it
                 SELECT 1 FROM jobs n WHERE n.tenant_id = j.tenant_id AND n.kind = j.kind
                                        AND n.entity_ref IS NOT DISTINCT FROM j.entity_ref AND n.id > j.id)
             AND NOT EXISTS (  -- and no job waits on it (only retrying it releases that one)
                 SELECT 1 FROM job_dependencies dep JOIN jobs w ON w.id = dep.job_id
                 WHERE dep.depends_on_id = j.id AND w.finished_at IS NULL)))
"""

#: One batch of the tenant's oldest prunable jobs (ix_jobs_tenant_id_finished_at finds them) and
#: of its ended sessions (ix_qbwc_sessions_tenant_id_started_at), in one statement.
_PRUNE_TENANT = text(f"""
    WITH sessions AS (
        DELETE FROM qbwc_sessions WHERE ticket IN (
            SELECT ticket FROM qbwc_sessions
            WHERE tenant_id = :t AND started_at < now() - :keep AND state <> 'open'
              -- the tenant's last session and last completed one stay: `status` shows them
              AND ticket NOT IN (
                  (SELECT ticket FROM qbwc_sessions WHERE tenant_id = :t
                   ORDER BY started_at DESC, ticket LIMIT 1)
                  UNION ALL
                  (SELECT ticket FROM qbwc_sessions WHERE tenant_id = :t AND state = 'closed'
                   ORDER BY started_at DESC, ticket LIMIT 1))
            ORDER BY started_at LIMIT :batch FOR UPDATE SKIP LOCKED
        )
        RETURNING 1
    ),
    jobs_ AS (
        DELETE FROM jobs WHERE id IN (
            SELECT j.id FROM jobs j
            WHERE j.tenant_id = :t AND j.finished_at < now() - :keep AND {PRUNABLE}
            ORDER BY j.finished_at LIMIT :batch
            FOR UPDATE SKIP LOCKED
        )
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM jobs_) AS jobs, (SELECT count(*) FROM sessions) AS sessions
""")

_DELETE_PAGE_SESSIONS = text("""
    DELETE FROM page_sessions WHERE id IN (
        SELECT id FROM page_sessions WHERE expires_at < now() LIMIT :batch FOR UPDATE SKIP LOCKED
    )
""")


def keep_for(days: int) -> dt.timedelta | None:
    """QBWC_JOB_RETENTION_DAYS as a bound; None (keep everything) for 0."""
    return dt.timedelta(days=days) if days > 0 else None


def prune_tenant(conn: Connection, tenant_id: int, keep: dt.timedelta, batch: int = BATCH) -> tuple[int, int]:
    """Delete one batch of the tenant's finished jobs and one of its ended sessions older than
    `keep`; returns how many of each.

    In the caller's transaction: the pull planner runs it beside its own work (a probe of two
    indexes when there is nothing to delete)."""
    row = conn.execute(_PRUNE_TENANT, {"t": tenant_id, "keep": keep, "batch": batch}).one()
    return int(row.jobs), int(row.sessions)


@dataclass(frozen=True)
class Pruned:
    jobs: int
    sessions: int
    page_sessions: int


def prune(engine: Engine, keep: dt.timedelta, batch: int = BATCH) -> Pruned:
    """Delete everything retention allows, tenant by tenant, a batch per transaction."""
    with engine.connect() as conn:
        tenant_ids = list(conn.execute(text("SELECT id FROM tenants ORDER BY id")).scalars())
    jobs = sessions = 0
    for tenant_id in tenant_ids:
        while True:
            with engine.begin() as conn:
                deleted = prune_tenant(conn, tenant_id, keep, batch)
            jobs, sessions = jobs + deleted[0], sessions + deleted[1]
            if max(deleted) < batch:
                break
    page_sessions = 0
    while True:
        with engine.begin() as conn:
            deleted_pages = conn.execute(_DELETE_PAGE_SESSIONS, {"batch": batch}).rowcount
        page_sessions += deleted_pages
        if deleted_pages < batch:
            return Pruned(jobs, sessions, page_sessions)
