"""Alembic environment: safe to run during a deploy.

Short lock and statement timeouts (a migration waiting on a busy table fails fast instead of
stalling the Web Connector's calls), and an advisory lock so two deploys never migrate at once.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, pool, text

from qbwc_server.config import load_settings, normalize_database_url
from qbwc_server.models import metadata
from qbwc_server.server_functions import install
from qbwc_server.webconnector.statements import FUNCTIONS

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

MIGRATION_LOCK_ID = 0x71627763  # "qbwc"


def _database_url() -> str:
    """The URL alembic was given, else QBWC_MIGRATIONS_DATABASE_URL (PostgreSQL itself when
    DATABASE_URL is a transaction pooler: the advisory lock and timeouts below are per session),
    else DATABASE_URL."""
    settings = load_settings()
    url = (
        config.get_main_option("sqlalchemy.url") or settings.migrations_database_url or settings.database_url
    )
    if not url:
        raise SystemExit("DATABASE_URL is not set: point it at the Postgres to migrate.")
    return normalize_database_url(url)


def run_migrations_offline() -> None:
    context.configure(url=_database_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
        head = ScriptDirectory.from_config(config).get_current_head()
        if context.get_revision_argument() in ("head", head):
            for function in FUNCTIONS:  # the script that migrates to head installs them too
                context.execute(function.create_sql)


def _install_server_functions(connection: Connection) -> None:
    """At head, the PL/pgSQL functions this release's statements call (server_functions.py):
    built from the code, so never frozen in a migration. Older releases' stay for their nodes."""
    head = ScriptDirectory.from_config(config).get_current_head()
    if context.get_context().get_current_revision() == head:
        install(connection.connection.dbapi_connection, FUNCTIONS)


def run_migrations_online() -> None:
    engine = create_engine(_database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("SET lock_timeout = '4s'"))
        connection.execute(text("SET statement_timeout = '5min'"))
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        try:
            connection.commit()
            context.configure(connection=connection, target_metadata=metadata, compare_server_default=True)
            with context.begin_transaction():
                context.run_migrations()
                _install_server_functions(connection)
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
