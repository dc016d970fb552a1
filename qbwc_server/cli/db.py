"""`qbwc-server db url|upgrade|stop`: the database in use, its migrations, the embedded server."""

from __future__ import annotations

import argparse
from typing import Any

from qbwc_server.cli.common import UsageError
from qbwc_server.config import Settings
from qbwc_server.db import resolve_database_url, stop_embedded_postgres, upgrade_to_head


def cmd_url(args: argparse.Namespace, settings: Settings) -> int:
    print(libpq_url(resolve_database_url(settings), show_password=args.show_password))
    return 0


def libpq_url(url: str, *, show_password: bool = False) -> str:
    """`url` as psql and libpq take it (postgresql://, no SQLAlchemy driver), password masked
    as *** unless `show_password` (the line ends up in terminals, logs and tickets)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=not show_password)


def cmd_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    # Straight to PostgreSQL when DATABASE_URL is a pooler: the advisory lock and the session's
    # timeouts (migrations/env.py) must stay on one server session.
    upgrade_to_head(settings.migrations_database_url or resolve_database_url(settings))
    print("The database schema is up to date.")
    return 0


def cmd_stop(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url:
        raise UsageError("DATABASE_URL is set: that server is yours to stop, not qbwc-server's")
    stopped = stop_embedded_postgres(settings.data_dir)
    print("Stopped the embedded PostgreSQL." if stopped else "The embedded PostgreSQL was not running.")
    return 0


def register(sub: Any) -> None:
    """Add `db …` to `qbwc-server`'s commands."""
    group = sub.add_parser("db", help="database helpers")
    dsub = group.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    p = dsub.add_parser(
        "url",
        help="print the database URL in use, for psql (starting the embedded one if needed)",
        description="Print the database URL in use, as psql takes it (postgresql://…); the password is"
        " shown as *** unless --show-password.",
    )
    p.add_argument("--show-password", action="store_true", help="print the password too")
    p.set_defaults(func=cmd_url)
    p = dsub.add_parser("upgrade", help="apply the database migrations (what `alembic upgrade head` does)")
    p.set_defaults(func=cmd_upgrade)
    p = dsub.add_parser("stop", help="stop the embedded PostgreSQL (it keeps running between commands)")
    p.set_defaults(func=cmd_stop)
