"""Settings: the environment's (the one place that reads os.environ, gunicorn's included) and each
tenant's (the `tenants.settings` jsonb), as frozen, checked objects.

Everything else receives a `Settings`, a `GunicornSettings` or a `TenantSettings`, so tests and
the CLI can build their own. A malformed value is a `ConfigError` naming it, never a traceback.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

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


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {env.get(name)!r}")
    return value


@dataclass(frozen=True)
class GunicornSettings:
    """How gunicorn serves the app (deploy/gunicorn.conf.py and `qbwc-server serve` both use these).

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
    log_level: str = "info"
    #: gunicorn >= 25.1 opens a control socket at one fixed path per user, which collides when
    #: several instances run (tests, benchmarks, more than one deployment): off unless a path is given.
    control_socket: str | None = None

    def options(self) -> dict[str, object]:
        """gunicorn's settings by gunicorn's names: these values plus the choices that are not
        settings (the worker class, timeouts and limits every deployment wants)."""
        return {
            "bind": self.bind,
            "worker_class": "gthread",
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
            "loglevel": self.log_level,
            "proc_name": "qbwc-server",
            "control_socket": self.control_socket or "unused",
            "control_socket_disable": self.control_socket is None,
        }


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def load_gunicorn_settings(env: Mapping[str, str]) -> GunicornSettings:
    """gunicorn's part of `load_settings`."""
    defaults = GunicornSettings()
    bind = (env.get("QBWC_BIND") or defaults.bind).strip()
    if not bind:
        raise ConfigError("QBWC_BIND must be an address such as 127.0.0.1:8000")
    return GunicornSettings(
        bind=bind,
        workers=_int(env, "QBWC_WORKERS", defaults.workers, 1),
        threads=_int(env, "QBWC_THREADS", defaults.threads, 1),
        worker_connections=_int(env, "QBWC_WORKER_CONNECTIONS", defaults.worker_connections, 1),
        keepalive=_int(env, "QBWC_KEEPALIVE", defaults.keepalive),
        timeout=_int(env, "QBWC_WORKER_TIMEOUT", defaults.timeout),
        forwarded_allow_ips=env.get("QBWC_FORWARDED_ALLOW_IPS") or defaults.forwarded_allow_ips,
        access_log=env.get("QBWC_ACCESS_LOG") or None,
        log_level=_choice(env, "QBWC_LOG_LEVEL", defaults.log_level, LOG_LEVELS),
        control_socket=env.get("QBWC_CONTROL_SOCKET") or None,
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
    #: How gunicorn serves the app (deploy/gunicorn.conf.py, `qbwc-server serve`).
    gunicorn: GunicornSettings = field(default_factory=GunicornSettings)

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
        session_max_seconds=_int(env, "QBWC_SESSION_MAX_SECONDS", 4 * 3600, 60, 7 * 86400),
        idle_postpone_seconds=_int(env, "QBWC_IDLE_POSTPONE_SECONDS", 60),
        auth_failures_before_lockout=_int(env, "QBWC_AUTH_FAILURES_BEFORE_LOCKOUT", 5, 1, 1000),
        auth_max_lockout_seconds=_int(env, "QBWC_AUTH_MAX_LOCKOUT_SECONDS", 300, 0, 86400),
        fast_verifier_seconds=_int(env, "QBWC_FAST_VERIFIER_SECONDS", 900),
        job_max_attempts=_int(env, "QBWC_JOB_MAX_ATTEMPTS", 5, 1),
        db_pool_size=_int(env, "QBWC_DB_POOL_SIZE", 5, 1),
        gunicorn=load_gunicorn_settings(env),
    )


#: Bounds of a tenant's pull settings. A pull rarer than monthly is better turned off (0).
MAX_PULL_INTERVAL_SECONDS = 31 * 86400
MAX_PULL_PAGE_SIZE = 10_000


class TenantSettingsError(QbwcError, ValueError):
    """A tenant setting of the wrong type or out of bounds; the message names it."""

    code = "validation_failed"


@dataclass(frozen=True)
class TenantSettings:
    """One tenant's settings, typed: the `tenants.settings` jsonb, whose shape stays as it is.

    Keys this release does not read are kept in `other` and written back unchanged, so settings
    a newer release added survive an older one's change.
    """

    #: Seconds between pulls per entity, or "default" for every entity without its own; 0 turns
    #: a pull off. An entity in neither uses its pull's own interval (sync/pulls.py).
    pull_intervals: Mapping[str, int] = field(default_factory=dict)
    #: Records per page of a pull (MaxReturned); None: the pull's own (500).
    pull_page_size: int | None = None
    other: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, seconds in self.pull_intervals.items():
            if not isinstance(seconds, int) or isinstance(seconds, bool):
                raise TenantSettingsError(
                    f"{name}: an interval is a whole number of seconds, got {seconds!r}"
                )
            if seconds < 0:
                raise TenantSettingsError(f"{name}: an interval cannot be negative")
            if seconds > MAX_PULL_INTERVAL_SECONDS:
                raise TenantSettingsError(
                    f"{name}: an interval cannot exceed 31 days; turn the pull off instead"
                )
        size = self.pull_page_size
        if size is not None and (
            not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_PULL_PAGE_SIZE
        ):
            raise TenantSettingsError(f"the page size must be between 1 and {MAX_PULL_PAGE_SIZE} records")
        object.__setattr__(self, "pull_intervals", MappingProxyType(dict(self.pull_intervals)))
        object.__setattr__(self, "other", MappingProxyType(dict(self.other)))

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> TenantSettings:
        """From the stored jsonb (None or {} for a tenant that never set anything)."""
        raw = dict(raw or {})
        intervals = raw.pop("pull_intervals", None) or {}
        if not isinstance(intervals, Mapping):
            raise TenantSettingsError(f"pull_intervals must map entities to seconds, got {intervals!r}")
        return cls(pull_intervals=intervals, pull_page_size=raw.pop("pull_page_size", None), other=raw)

    def to_json(self) -> dict[str, Any]:
        """The jsonb to store: the same shape `from_json` reads."""
        stored: dict[str, Any] = dict(self.other)
        if self.pull_intervals:
            stored["pull_intervals"] = dict(self.pull_intervals)
        if self.pull_page_size is not None:
            stored["pull_page_size"] = self.pull_page_size
        return stored

    def pull_interval(self, entity: str) -> int | None:
        """Seconds between pulls of `entity` (0: off), or None when the tenant set none."""
        return self.pull_intervals.get(entity, self.pull_intervals.get("default"))

    def with_pulls(
        self, *, intervals: Mapping[str, int] | None = None, page_size: int | None = None
    ) -> TenantSettings:
        """These settings with `intervals` merged over the current ones, and `page_size` if given."""
        return replace(
            self,
            pull_intervals={**self.pull_intervals, **(intervals or {})},
            pull_page_size=self.pull_page_size if page_size is None else page_size,
        )
