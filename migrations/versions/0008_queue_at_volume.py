"""The queue at volume: an index for retention (each tenant's finished jobs by age) and one for
authenticate's next-due look-up (each tenant's queued jobs by run_after), so neither reads a
tenant's whole history as the jobs table grows

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

Compatible with the previous release's code: indexes only. Built CONCURRENTLY, so the Web
Connector's calls (which write jobs) are not held up while they build; an interrupted build
leaves an invalid index, dropped and built again on the next upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: name -> (columns, partial index predicate)
_INDEXES = {
    "ix_jobs_tenant_id_finished_at": (["tenant_id", "finished_at"], "finished_at IS NOT NULL"),
    "ix_jobs_queued_run_after": (["tenant_id", "run_after"], "status = 'queued'"),
}


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, (columns, where) in _INDEXES.items():
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")  # an interrupted build left it invalid
            op.create_index(
                name, "jobs", columns, postgresql_where=sa.text(where), postgresql_concurrently=True
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in _INDEXES:
            op.drop_index(name, table_name="jobs", postgresql_concurrently=True)
