"""Raw jobs' answers kept gzipped (`jobs.response_gz`) instead of as text: a large answer (up to
the body limit) no longer passes through the worker as several whole copies on its way in (the
table held it lz4-compressed already; gzip takes a third less)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

Answers already stored stay in `response_xml`, which readers still read. A column added
without a default: no table rewrite. Stored EXTERNAL: out of line like any large value, but
PostgreSQL does not try to compress what is already compressed. While the previous release's
code still runs beside this one (a rolling upgrade), it shows an answer stored compressed as
missing; the downgrade writes them back as text.
"""

import zlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Rows written back as text per statement by the downgrade.
_BATCH = 100


def upgrade() -> None:
    op.add_column("jobs", sa.Column("response_gz", sa.LargeBinary(), nullable=True))
    op.execute("ALTER TABLE jobs ALTER COLUMN response_gz SET STORAGE EXTERNAL")


def downgrade() -> None:
    conn = op.get_bind()
    while True:  # the previous release reads text only: decompress what this one stored
        rows = conn.execute(
            sa.text("SELECT id, response_gz FROM jobs WHERE response_gz IS NOT NULL ORDER BY id LIMIT :n"),
            {"n": _BATCH},
        ).all()
        for job_id, stored in rows:
            conn.execute(
                sa.text("UPDATE jobs SET response_xml = :text, response_gz = NULL WHERE id = :id"),
                {"text": zlib.decompress(stored, 16 + zlib.MAX_WBITS).decode("utf-8"), "id": job_id},
            )
        if len(rows) < _BATCH:
            break
    op.drop_column("jobs", "response_gz")
