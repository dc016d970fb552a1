"""job dependencies table, unconfirmed writes, sync states for pushes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Compatible with the previous release's code while both run during a deploy: `jobs.depends_on`
and `qbwc_sessions.current_job_id` stay (unused from now on; a later migration drops them), and
every new column has a default. The claim index changes its predicate, so it is rebuilt.
"""

import logging
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

MIRROR_TABLES = (
    "classes",
    "customer_types",
    "customers",
    "invoices",
    "items",
    "payments",
    "price_levels",
    "sales_orders",
    "sales_reps",
    "sales_tax_codes",
    "terms",
)
SYNC_STATES = "('pending', 'unconfirmed', 'synced', 'waiting', 'needs_mapping', 'needs_item', 'failed')"
OLD_SYNC_STATES = "('pending', 'synced', 'failed')"
JOB_STATUSES = "('queued', 'sent', 'unconfirmed', 'done', 'failed', 'blocked', 'dead')"
OLD_JOB_STATUSES = "('queued', 'sent', 'done', 'failed', 'blocked', 'dead')"
CLAIMABLE = "(status = 'queued' OR (status = 'unconfirmed' AND if_unanswered = 'look_up'))"
# Request elements are the only ones whose names end in "Rq"; a raw job that sends anything but
# queries may have written to QuickBooks.
_REQUEST_NAME = re.compile(r"<([A-Za-z0-9]+Rq)[\s/>]")


def upgrade() -> None:
    op.create_table(
        "job_dependencies",
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("depends_on_id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("job_id <> depends_on_id", name=op.f("ck_job_dependencies_not_self")),
        sa.ForeignKeyConstraint(
            ["depends_on_id"],
            ["jobs.id"],
            name=op.f("fk_job_dependencies_depends_on_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_dependencies_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_job_dependencies_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "depends_on_id", name=op.f("pk_job_dependencies")),
    )
    op.create_index("ix_job_dependencies_depends_on_id", "job_dependencies", ["depends_on_id"], unique=False)
    op.execute(
        "INSERT INTO job_dependencies (job_id, depends_on_id, tenant_id)"
        " SELECT id, depends_on, tenant_id FROM jobs WHERE depends_on IS NOT NULL"
    )

    op.add_column("jobs", sa.Column("if_unanswered", sa.Text(), server_default="resend", nullable=False))
    op.create_check_constraint("if_unanswered", "jobs", "if_unanswered IN ('resend', 'look_up', 'hold')")
    _hold_raw_writes()
    op.drop_constraint(op.f("ck_jobs_status"), "jobs", type_="check")
    op.create_check_constraint("status", "jobs", f"status IN {JOB_STATUSES}")
    op.drop_index("ix_jobs_claimable", table_name="jobs", postgresql_where=sa.text("status = 'queued'"))
    op.create_index(
        "ix_jobs_claimable", "jobs", ["tenant_id", "priority", "id"], postgresql_where=sa.text(CLAIMABLE)
    )
    # Deleting finished jobs (retention) would scan every session for this unindexed reference.
    op.drop_constraint(op.f("fk_qbwc_sessions_current_job_id_jobs"), "qbwc_sessions", type_="foreignkey")

    for table in MIRROR_TABLES:
        op.drop_constraint(op.f(f"ck_{table}_sync_state"), table, type_="check")
        op.create_check_constraint("sync_state", table, f"sync_state IN {SYNC_STATES}")


def _hold_raw_writes() -> None:
    """Raw jobs queued before this release: those whose request writes are held if unanswered."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, request_body FROM jobs WHERE kind = 'qbxml.raw' AND status NOT IN ('done', 'dead')"
        )
    )
    writes = [
        job_id
        for job_id, body in rows
        if any(not name.endswith("QueryRq") for name in _REQUEST_NAME.findall(body or ""))
    ]
    if writes:
        conn.execute(sa.text("UPDATE jobs SET if_unanswered = 'hold' WHERE id = ANY(:ids)"), {"ids": writes})


def downgrade() -> None:
    conn = op.get_bind()
    folded = 0
    for table in MIRROR_TABLES:
        folded += conn.execute(
            sa.text(f"UPDATE {table} SET sync_state = 'pending' WHERE sync_state NOT IN {OLD_SYNC_STATES}")
        ).rowcount
        op.drop_constraint(op.f(f"ck_{table}_sync_state"), table, type_="check")
        op.create_check_constraint("sync_state", table, f"sync_state IN {OLD_SYNC_STATES}")
    op.execute("UPDATE qbwc_sessions SET current_job_id = NULL")
    op.create_foreign_key(
        op.f("fk_qbwc_sessions_current_job_id_jobs"),
        "qbwc_sessions",
        "jobs",
        ["current_job_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.drop_index("ix_jobs_claimable", table_name="jobs", postgresql_where=sa.text(CLAIMABLE))
    op.create_index(
        "ix_jobs_claimable",
        "jobs",
        ["tenant_id", "priority", "id"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    # An unconfirmed write is not forgotten by a downgrade: it waits for an admin as failed.
    unconfirmed = conn.execute(
        sa.text(
            "UPDATE jobs SET status = 'failed', finished_at = now(), last_message = 'unconfirmed: ' || "
            "coalesce(last_message, 'sent without an answer') WHERE status = 'unconfirmed'"
        )
    ).rowcount
    if folded or unconfirmed:
        log.warning(
            "0003 downgrade: %s mirror row(s) in a sync state the older release lacks are now 'pending';"
            " %s unconfirmed write(s) are now 'failed' (check QuickBooks before retrying them)",
            folded,
            unconfirmed,
        )
    op.drop_constraint(op.f("ck_jobs_status"), "jobs", type_="check")
    op.create_check_constraint("status", "jobs", f"status IN {OLD_JOB_STATUSES}")
    op.drop_constraint(op.f("ck_jobs_if_unanswered"), "jobs", type_="check")
    op.drop_column("jobs", "if_unanswered")
    # The old schema holds one dependency per job: keep the first.
    op.execute(
        "UPDATE jobs SET depends_on = d.depends_on_id FROM (SELECT DISTINCT ON (job_id) job_id, depends_on_id"
        " FROM job_dependencies ORDER BY job_id, depends_on_id) d WHERE jobs.id = d.job_id"
    )
    op.drop_index("ix_job_dependencies_depends_on_id", table_name="job_dependencies")
    op.drop_table("job_dependencies")
