"""The idle poll's verdict: a tenant's "nothing to do until T" on its row, kept true by a work
epoch that every change creating work bumps, so an idle poll reads one row instead of probing
the queue, the sessions and the pull schedule

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

`tenants.idle_until` / `idle_epoch` are written by authenticate's full look-up when it finds
nothing to do (webconnector/authenticate_sql.py); the verdict holds while `idle_epoch = work_epoch`
and `idle_until` is ahead. The triggers bump `work_epoch` in the same transaction as any change
that can make work runnable sooner: a claimable job added, a job made claimable or due earlier,
a pull made due sooner (or a cursor added or removed), a tenant's settings changed. A verdict
taken from a snapshot that missed such a change carries the older epoch, so it is never trusted.
Claims, finishes and everything else that only takes work away fire nothing.

Compatible with the previous release's code: added columns with defaults (no table rewrite),
triggers its statements do not notice. The authenticate function the new code calls is
installed after the migrations (migrations/env.py), named by the digest of its text.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: The statuses a job is claimed from, as of this revision (models.queue.CLAIMABLE), for the job
#: row NEW or OLD: frozen here, like 0003's index, so that this migration never changes later.
def claimable(row: str) -> str:
    return f"({row}.status = 'queued' OR ({row}.status = 'unconfirmed' AND {row}.if_unanswered = 'look_up'))"


#: Bump the tenant's epoch once per transaction (a bulk enqueue or requeue of one tenant's jobs
#: would otherwise write its row once per job). A savepoint rolled back takes its note with it.
_BUMP = """
CREATE FUNCTION qbwc_work_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tenant bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
    note text := txid_current()::text || ':' || tenant::text;
BEGIN
    IF current_setting('qbwc.work_changed', true) IS DISTINCT FROM note THEN
        UPDATE tenants SET work_epoch = work_epoch + 1 WHERE id = tenant;
        PERFORM set_config('qbwc.work_changed', note, true);
    END IF;
    RETURN NULL;
END $$
"""

_SETTINGS_CHANGED = """
CREATE FUNCTION qbwc_settings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.work_epoch := OLD.work_epoch + 1;
    RETURN NEW;
END $$
"""

#: name -> (table, events, condition)
_TRIGGERS = {
    "qbwc_jobs_added": ("jobs", "INSERT", claimable("NEW")),
    "qbwc_jobs_made_runnable": (
        "jobs",
        "UPDATE",
        f"""{claimable("NEW")} AND (
        NOT {claimable("OLD")} OR NEW.run_after < OLD.run_after OR NEW.tenant_id <> OLD.tenant_id)""",
    ),
    "qbwc_cursors_added_or_removed": ("sync_cursors", "INSERT OR DELETE", "true"),
    "qbwc_cursors_due_sooner": (
        "sync_cursors",
        "UPDATE",
        """
        NEW.next_due_at IS NULL OR NEW.next_due_at < OLD.next_due_at OR NEW.tenant_id <> OLD.tenant_id""",
    ),
}


def upgrade() -> None:
    op.execute("""
        ALTER TABLE tenants
            ADD COLUMN work_epoch bigint NOT NULL DEFAULT 0,
            ADD COLUMN idle_until timestamptz,
            ADD COLUMN idle_epoch bigint
    """)
    op.execute(_BUMP)
    op.execute(_SETTINGS_CHANGED)
    for name, (table, events, condition) in _TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {events} ON {table} FOR EACH ROW WHEN ({condition})"
            " EXECUTE FUNCTION qbwc_work_changed()"
        )
    op.execute("""
        CREATE TRIGGER qbwc_tenant_settings_changed BEFORE UPDATE OF settings ON tenants FOR EACH ROW
        WHEN (NEW.settings IS DISTINCT FROM OLD.settings) EXECUTE FUNCTION qbwc_settings_changed()
    """)


def downgrade() -> None:
    conn = op.get_bind()
    installed = conn.execute(
        sa.text("SELECT oid::regprocedure::text FROM pg_proc WHERE proname ~ '^qbwc_authenticate_'")
    ).scalars()
    for signature in list(installed):  # migrations/env.py's, which read the columns dropped below
        op.execute(f"DROP FUNCTION {signature}")
    op.execute("DROP TRIGGER qbwc_tenant_settings_changed ON tenants")
    for name, (table, _, _) in _TRIGGERS.items():
        op.execute(f"DROP TRIGGER {name} ON {table}")
    op.execute("DROP FUNCTION qbwc_settings_changed()")
    op.execute("DROP FUNCTION qbwc_work_changed()")
    op.execute("ALTER TABLE tenants DROP COLUMN idle_epoch, DROP COLUMN idle_until, DROP COLUMN work_epoch")
