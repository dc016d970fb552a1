"""What every `qbwc-server` command shares: the one-line usage error, opening the database,
and finding a tenant by name. Kept apart so command modules need not import `cli` itself
(run as `python -m qbwc_server.cli`, that would be a second copy of the module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

from qbwc_server.config import Settings

if TYPE_CHECKING:
    from qbwc_server.tenants import TenantInfo


class UsageError(Exception):
    """Bad input: printed as one line, exit status 2."""


# -- database access for commands -------------------------------------------------------------


def open_engine(settings: Settings) -> Engine:
    """Engine for the configured database; the embedded one is created and migrated on demand."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from qbwc_server.db import alembic_config, make_engine, resolve_database_url, upgrade_to_head

    url = resolve_database_url(settings)
    if settings.database_url is None:
        upgrade_to_head(url)
    engine = make_engine(url, pool_size=1)
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise UsageError(f"cannot connect to the database: {reason}") from None
    if current != head:
        raise UsageError(
            f"the database schema is at {current or 'nothing'}, this release needs {head}:"
            " run `alembic upgrade head` first"
        )
    return engine


def tenant_named(conn: Connection, name: str) -> TenantInfo:
    """The tenant called `name` (or with that username), or a one-line UsageError."""
    from qbwc_server import tenants

    try:
        return tenants.get_tenant(conn, name)
    except tenants.TenantError as exc:
        raise UsageError(str(exc)) from None
