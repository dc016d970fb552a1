"""An index on each tenant's sessions by start: health reads a tenant's newest sessions (every
tenant's at once for GET /tenants and `status`), and without it each read scans every session
of every tenant (sessions accumulate, one every few minutes per tenant)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

Compatible with the previous release's code: an index only. Built CONCURRENTLY, so the Web
Connector's calls (which write qbwc_sessions) are not held up while it builds.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_qbwc_sessions_tenant_id_started_at"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {_INDEX}")  # an interrupted build left it invalid
        op.create_index(_INDEX, "qbwc_sessions", ["tenant_id", "started_at"], postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(_INDEX, table_name="qbwc_sessions", postgresql_concurrently=True)
