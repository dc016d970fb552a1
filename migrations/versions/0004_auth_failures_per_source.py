"""auth_failures: wrong passwords counted per username and client address

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Compatible with the previous release's code while both run during a deploy: a new table only.
The previous release keeps counting on `tenants.failed_logins` / `locked_until`, which this
release still writes as a summary (`tenant show`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_failures",
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("verifier", sa.LargeBinary(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", "source", name=op.f("pk_auth_failures")),
    )
    op.create_index(
        op.f("ix_auth_failures_last_failed_at"), "auth_failures", ["last_failed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_auth_failures_last_failed_at"), table_name="auth_failures")
    op.drop_table("auth_failures")
