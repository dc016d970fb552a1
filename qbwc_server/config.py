"""Settings from the environment: the one place that reads os.environ.

Everything else receives a frozen `Settings`, so tests and the CLI can build their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

from qbwc_server.errors import QbwcError


class ConfigError(QbwcError, ValueError):
    """A setting in the environment is malformed; the message names it."""

    code = "config_invalid"


def normalize_database_url(url: str) -> str:
    """Pin SQLAlchemy to psycopg2: SQLAlchemy 2.1 maps bare `postgresql://` to psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Runtime settings; every field has a working default except where noted."""

    #: SQLAlchemy URL of the Postgres to use; None means the embedded server under `data_dir`.
    database_url: str | None
    #: Where the embedded Postgres and other local state live.
    data_dir: Path
    #: AppURL written into .qwc files (must be https:// except for localhost).
    public_url: str
    #: A session with no call for this long is stale: the next authenticate expires it.
    session_idle_seconds: int = 600
    #: Postpone hint (authenticate[2]) when there is nothing to do.
    idle_postpone_seconds: int = 60
    #: Consecutive bad passwords before a username is locked out for a while.
    auth_failures_before_lockout: int = 5
    #: Longest lockout after repeated bad passwords.
    auth_max_lockout_seconds: int = 300
    #: How long a verified argon2 password may be re-checked with a fast in-memory digest.
    fast_verifier_seconds: int = 900
    #: Attempts for transient failures before a job is dead.
    job_max_attempts: int = 5
    #: Connection pool size per process (gunicorn worker).
    db_pool_size: int = 5

    def with_database(self, url: str) -> Settings:
        return replace(self, database_url=normalize_database_url(url))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (`os.environ` unless given)."""
    env = os.environ if environ is None else environ
    url = env.get("DATABASE_URL") or None
    data_dir = Path(env.get("QBWC_DATA_DIR") or platformdirs.user_data_dir("qbwc-server"))
    public_url = env.get("QBWC_PUBLIC_URL") or "http://localhost:8000/qbwc"
    if not public_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"QBWC_PUBLIC_URL must start with https:// (or http:// for localhost), got {public_url!r}"
        )
    return Settings(
        database_url=normalize_database_url(url) if url else None,
        data_dir=data_dir.expanduser(),
        public_url=public_url,
        session_idle_seconds=_int(env, "QBWC_SESSION_IDLE_SECONDS", 600, 30),
        idle_postpone_seconds=_int(env, "QBWC_IDLE_POSTPONE_SECONDS", 60),
        auth_failures_before_lockout=_int(env, "QBWC_AUTH_FAILURES_BEFORE_LOCKOUT", 5, 1),
        auth_max_lockout_seconds=_int(env, "QBWC_AUTH_MAX_LOCKOUT_SECONDS", 300),
        fast_verifier_seconds=_int(env, "QBWC_FAST_VERIFIER_SECONDS", 900),
        job_max_attempts=_int(env, "QBWC_JOB_MAX_ATTEMPTS", 5, 1),
        db_pool_size=_int(env, "QBWC_DB_POOL_SIZE", 5, 1),
    )
