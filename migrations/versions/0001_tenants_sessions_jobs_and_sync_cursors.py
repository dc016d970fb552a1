"""tenants, sessions, jobs and sync cursors

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 08:31:15.488138

Must stay compatible with the previous release's code: add columns nullable or with a default,
drop only what the previous release no longer reads.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("password_kind", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("file_id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("company_file", sa.Text(), nullable=True),
        sa.Column("qbxml_version", sa.Text(), nullable=True),
        sa.Column("host_product", sa.Text(), nullable=True),
        sa.Column("host_version", sa.Text(), nullable=True),
        sa.Column("host_country", sa.Text(), nullable=True),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("connection_error", sa.Text(), nullable=True),
        sa.Column("connection_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_logins", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("api_token_hash", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("password_kind IN ('token', 'argon2')", name=op.f("ck_tenants_password_kind")),
        sa.CheckConstraint("length(username) > 0", name=op.f("ck_tenants_username_not_empty")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("name", name=op.f("uq_tenants_name")),
        sa.UniqueConstraint("username", name=op.f("uq_tenants_username")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("entity_ref", sa.Text(), nullable=True),
        sa.Column("priority", sa.SmallInteger(), server_default=sa.text("100"), nullable=False),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default=sa.text("5"), nullable=False),
        sa.Column("depends_on", sa.BigInteger(), nullable=True),
        sa.Column("run_after", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("lease_ticket", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("request_body", sa.Text(), nullable=True),
        sa.Column("response_xml", sa.Text(), nullable=True),
        sa.Column("iterator_id", sa.Text(), nullable=True),
        sa.Column("iterator_remaining", sa.Integer(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status IN ('done', 'failed', 'dead')) = (finished_at IS NOT NULL)",
            name=op.f("ck_jobs_finished_at_matches_status"),
        ),
        sa.CheckConstraint(
            "status <> 'sent' OR (sent_at IS NOT NULL AND lease_ticket IS NOT NULL)",
            name=op.f("ck_jobs_sent_has_lease"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'done', 'failed', 'blocked', 'dead')", name=op.f("ck_jobs_status")
        ),
        sa.CheckConstraint("depends_on IS NULL OR depends_on <> id", name=op.f("ck_jobs_not_self_dependent")),
        sa.ForeignKeyConstraint(
            ["depends_on"], ["jobs.id"], name=op.f("fk_jobs_depends_on_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_jobs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    # Raw responses can be large: lz4 (PostgreSQL 14+, when built with it) stores them about twice
    # as fast as the default pglz at the same size; elsewhere the default stays.
    op.execute(
        """
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM pg_settings
                       WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
                ALTER TABLE jobs ALTER COLUMN response_xml SET COMPRESSION lz4;
                ALTER TABLE jobs ALTER COLUMN request_body SET COMPRESSION lz4;
            END IF;
        END $$
        """
    )
    op.create_index(
        "ix_jobs_claimable",
        "jobs",
        ["tenant_id", "priority", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index(
        "ix_jobs_depends_on",
        "jobs",
        ["depends_on"],
        unique=False,
        postgresql_where=sa.text("depends_on IS NOT NULL"),
    )
    op.create_index(
        "ix_jobs_lease_ticket",
        "jobs",
        ["lease_ticket"],
        unique=False,
        postgresql_where=sa.text("lease_ticket IS NOT NULL"),
    )
    op.create_index("ix_jobs_tenant_status", "jobs", ["tenant_id", "status", "id"], unique=False)
    op.create_table(
        "sync_cursors",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_full_refresh_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sync_cursors_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "entity", name=op.f("pk_sync_cursors")),
    )
    op.create_table(
        "qbwc_sessions",
        sa.Column("ticket", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), server_default="open", nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "last_call_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("company_file", sa.Text(), nullable=True),
        sa.Column("qbxml_version", sa.Text(), nullable=True),
        sa.Column("current_job_id", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("requests_sent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("jobs_done", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("jobs_failed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "(state = 'open') = (closed_at IS NULL)", name=op.f("ck_qbwc_sessions_closed_at_matches_state")
        ),
        sa.CheckConstraint(
            "state IN ('open', 'closed', 'expired', 'failed')", name=op.f("ck_qbwc_sessions_state")
        ),
        sa.ForeignKeyConstraint(
            ["current_job_id"],
            ["jobs.id"],
            name=op.f("fk_qbwc_sessions_current_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_qbwc_sessions_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket", name=op.f("pk_qbwc_sessions")),
    )
    op.create_index(
        "uq_qbwc_sessions_one_open_per_tenant",
        "qbwc_sessions",
        ["tenant_id"],
        unique=True,
        postgresql_where=sa.text("state = 'open'"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_qbwc_sessions_one_open_per_tenant",
        table_name="qbwc_sessions",
        postgresql_where=sa.text("state = 'open'"),
    )
    op.drop_table("qbwc_sessions")
    op.drop_table("sync_cursors")
    op.drop_index("ix_jobs_tenant_status", table_name="jobs")
    op.drop_index(
        "ix_jobs_lease_ticket", table_name="jobs", postgresql_where=sa.text("lease_ticket IS NOT NULL")
    )
    op.drop_index("ix_jobs_depends_on", table_name="jobs", postgresql_where=sa.text("depends_on IS NOT NULL"))
    op.drop_index("ix_jobs_claimable", table_name="jobs", postgresql_where=sa.text("status = 'queued'"))
    op.drop_table("jobs")
    op.drop_table("tenants")
