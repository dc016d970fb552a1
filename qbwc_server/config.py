"""Settings: the environment's (the one place that reads os.environ, gunicorn's included) and each
tenant's (the `tenants.settings` jsonb: tenant_settings.py, re-exported here), as frozen, checked objects.

Everything else receives a `Settings`, a `GunicornSettings` or a `TenantSettings`, so tests and
the CLI can build their own. A malformed value is a `ConfigError` naming it, never a traceback.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import overload

import platformdirs

from qbwc_server.errors import QbwcError
from qbwc_server.logs import gunicorn_logger
from qbwc_server.metrics_server import ServerHooks
from qbwc_server.tenant_settings import DISABLED_KEY as DISABLED_KEY
from qbwc_server.tenant_settings import MAX_PULL_INTERVAL_SECONDS as MAX_PULL_INTERVAL_SECONDS
from qbwc_server.tenant_settings import MAX_PULL_PAGE_SIZE as MAX_PULL_PAGE_SIZE
from qbwc_server.tenant_settings import TenantSettings as TenantSettings
from qbwc_server.tenant_settings import TenantSettingsError as TenantSettingsError
from qbwc_server.webconnector.memory import recycle_grown_worker


class ConfigError(QbwcError, ValueError):
    """A setting in the environment is malformed; the message names it."""

    code = "config_invalid"


def normalize_database_url(url: str) -> str:
    """Pin SQLAlchemy to psycopg2: SQLAlchemy 2.1 maps bare `postgresql://` to psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


#: What DATABASE_URL must look like, for the error that says it does not.
DATABASE_URL_EXAMPLE = "postgresql://USER:PASSWORD@HOST:5432/DBNAME"


def check_database_url(url: str, name: str = "DATABASE_URL") -> str:
    """`url` pinned to psycopg2 (normalize_database_url), or a ConfigError naming what is wrong.

    The message never repeats the URL (it may hold a password): only its scheme.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    scheme = url.split("://", 1)[0] + "://" if "://" in url else None
    wanted = f"{name} must be a PostgreSQL URL such as {DATABASE_URL_EXAMPLE}"
    if scheme is None:
        raise ConfigError(f"{wanted}; got a value without a scheme")
    normalized = normalize_database_url(url)
    try:
        parsed = make_url(normalized)
        port = parsed.port
    except (ArgumentError, ValueError):
        raise ConfigError(f"{wanted}; this {scheme} URL cannot be read") from None
    if parsed.get_backend_name() == "postgresql" and parsed.drivername != "postgresql+psycopg2":
        raise ConfigError(f"{wanted} (the driver is psycopg2: write postgresql://, not {scheme})")
    if parsed.drivername != "postgresql+psycopg2":
        raise ConfigError(f"{wanted}; got a {scheme} URL")
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"{name}: the port must be from 1 to 65535, got {port}")
    return normalized


def _int(
    env: Mapping[str, str], name: str, default: int, minimum: int = 0, maximum: int | None = None
) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


@overload
def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str: ...
@overload
def _choice(env: Mapping[str, str], name: str, default: None, choices: tuple[str, ...]) -> str | None: ...
def _choice(env: Mapping[str, str], name: str, default: str | None, choices: tuple[str, ...]) -> str | None:
    """`name` lowercased, one of `choices`; `default` when it is unset or empty."""
    raw = env.get(name)
    if not raw:
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value


def _address(env: Mapping[str, str], name: str) -> str | None:
    """`name` as HOST:PORT, or None when it is unset."""
    raw = (env.get(name) or "").strip()
    port = raw.rpartition(":")[2]
    if raw and not (":" in raw and port.isdigit() and 1 <= int(port) <= 65535):
        raise ConfigError(f"{name} must be HOST:PORT such as 127.0.0.1:9100, got {raw!r}")
    return raw or None


def _directory(env: Mapping[str, str], name: str) -> Path | None:
    """`name` as a directory that exists or can be made, or None when it is unset."""
    path = Path(env[name]) if env.get(name) else None
    if path is not None and path.exists() and not path.is_dir():
        raise ConfigError(f"{name} must be a directory, got the file {str(path)!r}")
    return path


@dataclass(frozen=True)
class GunicornSettings:
    """How gunicorn serves the app (deploy/gunicorn.conf.py and `qbwc-server serve` both use these),
    and the limits of the HTTP edge the app applies (body size, body timeout, worker memory).

    Chosen by measurement (bench/README.md): gthread keeps the Web Connector's connection alive
    for the whole session (sync closes it after every call, and measured slower); two workers
    per core with two threads each, because a kept-alive connection stays with the worker that
    accepted it and several Web Connectors can land on one worker: a second thread lets it
    overlap their database waits.
    """

    bind: str = "127.0.0.1:8000"
    workers: int = 2 * multiprocessing.cpu_count()
    threads: int = 2
    #: Most connections one worker holds open at once, idle keep-alive ones included.
    worker_connections: int = 1000
    #: Longer than the .NET client's 100 s idle timeout, so the client, not the server, closes an
    #: idle connection: a server-side close racing the client's next POST fails that call.
    keepalive: int = 120
    #: Must exceed the slowest receiveResponseXML (a large iterator page parsed and applied): a
    #: worker killed mid-apply loses that response. Pages are bounded (MaxReturned) to stay far below.
    timeout: int = 300
    #: Behind a TLS proxy on the same host: trust its X-Forwarded-* headers.
    forwarded_allow_ips: str = "127.0.0.1,::1"
    #: None: no access log; "-": standard output; else a file path.
    access_log: str | None = None
    #: QBWC_LOG_LEVEL and QBWC_LOG_FORMAT as set; None: info and JSON for the server, warning and
    #: text for interactive commands (logs.py).
    log_level: str | None = None
    log_format: str | None = None
    #: HOST:PORT where gunicorn's master serves /metrics without a token; None: only the app's /metrics.
    metrics_bind: str | None = None
    #: The workers' metric files (PROMETHEUS_MULTIPROC_DIR); None: a fresh temporary one per start.
    metrics_dir: Path | None = None
    #: gunicorn >= 25.1 opens a control socket at one fixed path per user, which collides when
    #: several instances run (tests, benchmarks, more than one deployment): off unless a path is given.
    control_socket: str | None = None
    #: Largest request body the SOAP endpoint reads, in MB (2^20 bytes); larger gets 413. The
    #: largest qbXML page arrives in one receiveResponseXML; pages are bounded (MaxReturned).
    max_body_mb: int = 100
    #: Seconds a request body may pause before the call gets 408, and the budget of a body that
    #: arrives slower than 16 kB/s (gunicorn only: it hands the app the socket).
    body_timeout: int = 30
    #: A worker whose resident memory is above this many MB after a large call is replaced once
    #: it has answered (memory a large call took is otherwise kept by the process); 0: never.
    worker_max_rss_mb: int = 1024

    def options(self) -> dict[str, object]:
        """gunicorn's settings by gunicorn's names: these values plus the choices that are not
        settings (the worker class, timeouts and limits every deployment wants)."""
        return {
            "bind": self.bind,
            # gthread, serving back-to-back requests on one thread (http_worker.py)
            "worker_class": "qbwc_server.http_worker.LingeringThreadWorker",
            "workers": self.workers,
            "threads": self.threads,
            "worker_connections": self.worker_connections,
            "keepalive": self.keepalive,
            # The heartbeat file is touched on every request; keep it in memory, not on disk.
            "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
            "timeout": self.timeout,
            "graceful_timeout": 60,
            # The largest qbXML page arrives in one POST; headers stay bounded, bodies are limited
            # at the proxy.
            "limit_request_line": 8190,
            "forwarded_allow_ips": self.forwarded_allow_ips,
            "accesslog": self.access_log,
            "errorlog": "-",
            "loglevel": self.log_level or "info",
            # Our log format for gunicorn's lines and ours, at "loglevel" (logs.py).
            "logger_class": gunicorn_logger(self.log_format or "json"),
            "proc_name": "qbwc-server",
            "control_socket": self.control_socket or "unused",
            "control_socket_disable": self.control_socket is None,
            # Retires a worker the app found grown past worker_max_rss_mb (webconnector/memory.py).
            "post_request": recycle_grown_worker,
            # The metric files' directory and the master's /metrics listener (metrics_server.py).
            **ServerHooks(self.metrics_dir, self.metrics_bind).options(),
        }


#: QBWC_DB_POOLER: what DATABASE_URL points at; `transaction`: a pooler in transaction mode.
DB_POOLERS = ("none", "transaction")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
#: QBWC_LOG_FORMAT: one JSON object per line (for a log pipeline), or plain text (for a person).
LOG_FORMATS = ("json", "text")


def load_gunicorn_settings(env: Mapping[str, str]) -> GunicornSettings:
    """gunicorn's part of `load_settings`."""
    defaults = GunicornSettings()
    bind = (env.get("QBWC_BIND") or defaults.bind).strip()
    if not bind:
        raise ConfigError("QBWC_BIND must be an address such as 127.0.0.1:8000")
    if bind == (env.get("QBWC_METRICS_BIND") or "").strip():
        raise ConfigError(
            "QBWC_METRICS_BIND must be another address than QBWC_BIND: /metrics there has no token"
        )
    return GunicornSettings(
        bind=bind,
        workers=_int(env, "QBWC_WORKERS", defaults.workers, 1),
        threads=_int(env, "QBWC_THREADS", defaults.threads, 1),
        worker_connections=_int(env, "QBWC_WORKER_CONNECTIONS", defaults.worker_connections, 1),
        keepalive=_int(env, "QBWC_KEEPALIVE", defaults.keepalive),
        timeout=_int(env, "QBWC_WORKER_TIMEOUT", defaults.timeout),
        forwarded_allow_ips=env.get("QBWC_FORWARDED_ALLOW_IPS") or defaults.forwarded_allow_ips,
        access_log=env.get("QBWC_ACCESS_LOG") or None,
        log_level=_choice(env, "QBWC_LOG_LEVEL", None, LOG_LEVELS),
        log_format=_choice(env, "QBWC_LOG_FORMAT", None, LOG_FORMATS),
        metrics_bind=_address(env, "QBWC_METRICS_BIND"),
        metrics_dir=_directory(env, "PROMETHEUS_MULTIPROC_DIR"),
        control_socket=env.get("QBWC_CONTROL_SOCKET") or None,
        max_body_mb=_int(env, "QBWC_MAX_BODY_MB", defaults.max_body_mb, 1),
        body_timeout=_int(env, "QBWC_BODY_TIMEOUT", defaults.body_timeout, 1),
        worker_max_rss_mb=_int(env, "QBWC_WORKER_MAX_RSS_MB", defaults.worker_max_rss_mb),
    )


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
    #: A session older than this gets no new work and ends at its next sendRequestXML (a pull in
    #: the middle of its pages finishes first): a ticket is never good forever.
    session_max_seconds: int = 4 * 3600
    #: Postpone hint (authenticate[2]) when there is nothing to do.
    idle_postpone_seconds: int = 60
    #: Consecutive bad passwords from one address before that address is locked out for a while.
    auth_failures_before_lockout: int = 5
    #: Longest lockout after repeated bad passwords.
    auth_max_lockout_seconds: int = 300
    #: How long a verified argon2 password may be re-checked with a fast in-memory digest.
    fast_verifier_seconds: int = 900
    #: Attempts for transient failures before a job is dead.
    job_max_attempts: int = 5
    #: Connection pool size per process (gunicorn worker).
    db_pool_size: int = 5
    #: DATABASE_URL is a transaction pooler (QBWC_DB_POOLER=transaction, e.g. PgBouncer): nothing
    #: may outlive a transaction, so no PREPARE and no startup `options` (db.make_engine).
    db_pooled: bool = False
    #: Where migrations run when DATABASE_URL is a pooler: PostgreSQL itself (an advisory lock and
    #: session timeouts must stay on one session). None: DATABASE_URL.
    migrations_database_url: str | None = None
    #: Finished jobs (and ended sessions) older than this many days are deleted; 0 keeps them.
    job_retention_days: int = 30
    #: Largest JSON body the API (/api/v1) takes, in kB (2^10 bytes); larger is 413.
    api_max_body_kb: int = 1024
    #: Label SOAP call and session metrics with the tenant's name (QBWC_METRICS_TENANT_LABELS=1).
    metrics_tenant_labels: bool = False
    #: How gunicorn serves the app (deploy/gunicorn.conf.py, `qbwc-server serve`).
    gunicorn: GunicornSettings = field(default_factory=GunicornSettings)

    def with_database(self, url: str) -> Settings:
        return replace(self, database_url=normalize_database_url(url))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (`os.environ` unless given)."""
    env = os.environ if environ is None else environ
    url = env.get("DATABASE_URL") or None
    migrations_url = env.get("QBWC_MIGRATIONS_DATABASE_URL") or None
    data_dir = Path(env.get("QBWC_DATA_DIR") or platformdirs.user_data_dir("qbwc-server"))
    public_url = env.get("QBWC_PUBLIC_URL") or "http://localhost:8000/qbwc"
    if not public_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"QBWC_PUBLIC_URL must start with https:// (or http:// for localhost), got {public_url!r}"
        )
    return Settings(
        database_url=check_database_url(url) if url else None,
        data_dir=data_dir.expanduser(),
        public_url=public_url,
        session_idle_seconds=_int(env, "QBWC_SESSION_IDLE_SECONDS", 600, 30),
        session_max_seconds=_int(env, "QBWC_SESSION_MAX_SECONDS", 4 * 3600, 60, 7 * 86400),
        idle_postpone_seconds=_int(env, "QBWC_IDLE_POSTPONE_SECONDS", 60),
        auth_failures_before_lockout=_int(env, "QBWC_AUTH_FAILURES_BEFORE_LOCKOUT", 5, 1, 1000),
        auth_max_lockout_seconds=_int(env, "QBWC_AUTH_MAX_LOCKOUT_SECONDS", 300, 0, 86400),
        fast_verifier_seconds=_int(env, "QBWC_FAST_VERIFIER_SECONDS", 900),
        job_max_attempts=_int(env, "QBWC_JOB_MAX_ATTEMPTS", 5, 1),
        db_pool_size=_int(env, "QBWC_DB_POOL_SIZE", 5, 1),
        db_pooled=_choice(env, "QBWC_DB_POOLER", "none", DB_POOLERS) == "transaction",
        migrations_database_url=(
            check_database_url(migrations_url, "QBWC_MIGRATIONS_DATABASE_URL") if migrations_url else None
        ),
        job_retention_days=_int(env, "QBWC_JOB_RETENTION_DAYS", 30, 0, 36500),
        api_max_body_kb=_int(env, "QBWC_API_MAX_BODY_KB", 1024, 1),
        metrics_tenant_labels=_choice(env, "QBWC_METRICS_TENANT_LABELS", "0", ("0", "1")) == "1",
        gunicorn=load_gunicorn_settings(env),
    )
