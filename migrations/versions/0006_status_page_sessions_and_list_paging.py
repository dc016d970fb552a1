"""What the operations surface keeps: a session's closing summary, status-page logins, read-only
status links, and the index every list endpoint pages through

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Compatible with the previous release's code while both run during a deploy: a new table, a
nullable column, a wider check and a replaced index (same leading columns, so the old release's
queries keep their plans).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every table built by `models.mirror.record_constraints`: the lists page by (updated_at, id).
_RECORDS = (
    "customers", "items", "sales_orders", "invoices", "payments", "price_levels", "sales_reps",
    "terms", "customer_types", "classes", "sales_tax_codes",
)  # fmt: skip


def upgrade() -> None:
    op.add_column("qbwc_sessions", sa.Column("summary", sa.Text(), nullable=True))
    _token_kinds("'tenant', 'admin', 'status_link'")
    op.create_table(
        "page_sessions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("secret_sha256", sa.LargeBinary(), nullable=False),
        sa.Column("token_id", sa.BigInteger(), nullable=False),
        sa.Column("csrf_token", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_page_sessions_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_sessions")),
        sa.UniqueConstraint("secret_sha256", name=op.f("uq_page_sessions_secret_sha256")),
    )
    op.create_index(op.f("ix_page_sessions_expires_at"), "page_sessions", ["expires_at"], unique=False)
    for table in _RECORDS:
        op.create_index(f"ix_{table}_tenant_id_updated_at_id", table, ["tenant_id", "updated_at", "id"])
        op.drop_index(f"ix_{table}_tenant_id_updated_at", table_name=table)


def downgrade() -> None:
    for table in _RECORDS:
        op.create_index(f"ix_{table}_tenant_id_updated_at", table, ["tenant_id", "updated_at"])
        op.drop_index(f"ix_{table}_tenant_id_updated_at_id", table_name=table)
    op.drop_index(op.f("ix_page_sessions_expires_at"), table_name="page_sessions")
    op.drop_table("page_sessions")
    op.execute("DELETE FROM api_tokens WHERE kind = 'status_link'")
    _token_kinds("'tenant', 'admin'")
    op.drop_column("qbwc_sessions", "summary")


def _token_kinds(kinds: str) -> None:
    op.drop_constraint(op.f("ck_api_tokens_kind"), "api_tokens", type_="check")
    op.create_check_constraint(op.f("ck_api_tokens_kind"), "api_tokens", f"kind IN ({kinds})")
