"""api_tokens, and what the pushes keep: the commerce side's last body per record, QuickBooks'
company preferences per tenant, the order's line ids and document type

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

Compatible with the previous release's code while both run during a deploy: a new table and
nullable columns only. `tenants.api_token_hash` (never used) is dropped: tokens live in
`api_tokens`, one table for both kinds (API.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PUSHED = ("customers", "sales_orders", "payments")


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("token_sha256", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('tenant', 'admin')", name=op.f("ck_api_tokens_kind")),
        sa.CheckConstraint(
            "(kind = 'admin') = (tenant_id IS NULL)", name=op.f("ck_api_tokens_tenant_matches_kind")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_api_tokens_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_tokens_token_sha256")),
    )
    op.create_index(op.f("ix_api_tokens_tenant_id"), "api_tokens", ["tenant_id"], unique=False)
    op.drop_column("tenants", "api_token_hash")
    op.add_column(
        "tenants", sa.Column("company_preferences", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    for table in _PUSHED:
        op.add_column(
            table, sa.Column("commerce_body", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
        )
        op.add_column(table, sa.Column("commerce_updated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("sales_orders", sa.Column("qb_txn_type", sa.Text(), nullable=True))
    op.add_column(
        "sales_orders", sa.Column("line_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.create_index(
        "ix_jobs_push_entity",
        "jobs",
        ["tenant_id", "kind", "entity_ref"],
        unique=False,
        postgresql_where=sa.text("entity_ref IS NOT NULL AND kind LIKE '%.push'"),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_push_entity", table_name="jobs")
    op.drop_column("sales_orders", "line_ids")
    op.drop_column("sales_orders", "qb_txn_type")
    for table in _PUSHED:
        op.drop_column(table, "commerce_updated_at")
        op.drop_column(table, "commerce_body")
    op.drop_column("tenants", "company_preferences")
    op.add_column("tenants", sa.Column("api_token_hash", sa.Text(), nullable=True))
    op.drop_index(op.f("ix_api_tokens_tenant_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
