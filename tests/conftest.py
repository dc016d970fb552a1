"""Real PostgreSQL for every test: TEST_DATABASE_URL when set, else an embedded server.

A template database is migrated once per run (which also proves the migrations work); each test
gets its own database copied from it, so tests that commit from several connections stay isolated.
Names carry the process id, so pytest-xdist's workers (one embedded server each when
TEST_DATABASE_URL is unset) never meet. No test may open a socket beyond loopback (see
`network_guard`). `cli` runs `qbwc-server` in this process against the test's database.

With QBWC_TEST_POOLER=pgbouncer the server under test (`settings`, `server`, `cli`) reaches its
database through a PgBouncer in transaction mode (one per xdist worker) with
QBWC_DB_POOLER=transaction, as nodes behind a pooler do; migrations, the template and the tests'
own `engine` connect directly.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import itertools
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from qbwc_server.admin import tenants
from qbwc_server.app import create_app
from qbwc_server.config import Settings, normalize_database_url
from qbwc_server.db import make_engine, start_embedded_postgres, stop_embedded_postgres, upgrade_to_head
from qbwc_server.testing import BackgroundServer, PgBouncer
from tests.console import cli_environment, run_in_process

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_file(env_var: str, relative: str) -> Path:
    """A file from ../shared (or the path in `env_var`): Intuit's XSD or WSDL.

    Missing on a developer's machine, the tests that need it are skipped with the reason; in CI
    (CI set) shared/ is always beside the clone, so a missing file fails instead of hiding tests.
    """
    candidates = [Path(os.environ[env_var])] if os.environ.get(env_var) else []
    candidates.append(REPO_ROOT.parent / "shared" / relative)
    for path in candidates:
        if path.is_file():
            return path
    reason = f"{candidates[-1]} not found: set {env_var} or keep ../shared beside the repository"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


#: `pgbouncer`: run the server under test through PgBouncer (see the module's docstring).
TEST_POOLER = os.environ.get("QBWC_TEST_POOLER", "")


def _url_for(admin_url: str, database: str) -> str:
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A URL with the right to create databases."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield normalize_database_url(configured)
        return
    data_dir = Path(tempfile.mkdtemp(prefix="qbwc-test-pg-"))  # one per xdist worker
    # Registered first, so it runs last: embedded_postgres' own exit hook re-creates its lock file.
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    url = start_embedded_postgres(data_dir)
    yield _url_for(url, "postgres")
    stop_embedded_postgres(data_dir)


@pytest.fixture(scope="session")
def admin_engine(pg_admin_url: str) -> Iterator[Engine]:
    engine = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def copy_strategy(admin_engine: Engine) -> str:
    """How CREATE DATABASE copies the template: file by file where the server can (PostgreSQL
    15+), about twice as fast for our small template as the WAL-logged default."""
    with admin_engine.connect() as conn:
        version = int(conn.execute(text("SHOW server_version_num")).scalar_one())
    return " STRATEGY FILE_COPY" if version >= 150000 else ""


@pytest.fixture(scope="session")
def template_database(admin_engine: Engine, pg_admin_url: str) -> Iterator[str]:
    name = f"qbwc_test_tpl_{os.getpid()}_{secrets.token_hex(3)}"
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade_to_head(_url_for(pg_admin_url, name))
    yield name
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_counter = itertools.count()


@pytest.fixture
def fresh_database(
    admin_engine: Engine, pg_admin_url: str, copy_strategy: str
) -> Iterator[Callable[..., str]]:
    """Factory for databases copied from the migrated template (or empty ones); all dropped after."""
    created: list[str] = []

    def make(template: str | None) -> str:
        # random too: a crashed run's databases remain, and its process ids come round again
        name = f"qbwc_test_{os.getpid()}_{next(_counter)}_{secrets.token_hex(3)}"
        clause = f' TEMPLATE "{template}"{copy_strategy}' if template else ""
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        created.append(name)
        return _url_for(pg_admin_url, name)

    yield make
    with admin_engine.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(fresh_database: Callable[..., str], template_database: str) -> str:
    return fresh_database(template_database)


@pytest.fixture(scope="session")
def test_pooler(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgBouncer | None]:
    """The PgBouncer the server under test goes through (QBWC_TEST_POOLER=pgbouncer), else None."""
    if not TEST_POOLER:
        yield None
        return
    if TEST_POOLER != "pgbouncer":
        pytest.fail(f"QBWC_TEST_POOLER={TEST_POOLER!r}: only 'pgbouncer' is known")
    # Few server connections per database, so that clients share server sessions as in production.
    bouncer = PgBouncer(pg_admin_url, tmp_path_factory.mktemp("pgbouncer"), pool_size=4)
    yield bouncer
    bouncer.close()


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, test_pooler: PgBouncer | None, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The server's settings; through the pooler under QBWC_TEST_POOLER (and QBWC_DB_POOLER set in
    the environment for the gunicorn a test starts)."""
    url = database_url
    if test_pooler is not None:
        url = test_pooler.url(database_url)
        monkeypatch.setenv("QBWC_DB_POOLER", "transaction")
    return Settings(
        database_url=url,
        db_pooled=test_pooler is not None,
        data_dir=tmp_path,
        public_url="https://qbwc.example.com/qbwc",
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The test's own connections, always straight to PostgreSQL."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@dataclass(frozen=True)
class TenantCredentials:
    id: int
    name: str
    username: str
    password: str


@pytest.fixture
def make_tenant(engine: Engine) -> Callable[..., TenantCredentials]:
    """Create a tenant with a generated password (or `password=` for an argon2 one).

    Scheduled pulls are off unless `pulls=True`: protocol tests count only the jobs they queue.
    No live window unless `live_window=` seconds: a session ends when its work is done.
    """

    def make(
        name: str = "acme",
        *,
        password: str | None = None,
        company_file: str | None = None,
        pulls: bool = False,
        live_window: int = 0,
    ) -> TenantCredentials:
        with engine.begin() as conn:
            info, generated = tenants.add_tenant(
                conn, name, f"{name}-qbwc", password=password, company_file=company_file
            )
            stored: dict[str, Any] = {"push": {"live_window_seconds": live_window}}
            if not pulls:
                stored["pull_intervals"] = {"default": 0}
            conn.execute(
                text("UPDATE tenants SET settings = settings || CAST(:s AS jsonb) WHERE id = :id"),
                {"s": json.dumps(stored), "id": info.id},
            )
        return TenantCredentials(info.id, info.name, info.username, password or generated or "")

    return make


@pytest.fixture
def tenant(make_tenant: Callable[..., TenantCredentials]) -> TenantCredentials:
    return make_tenant()


@contextlib.contextmanager
def served(settings: Settings, engine: Engine) -> Iterator[BackgroundServer]:
    """The real WSGI app over real HTTP (threaded stdlib server on 127.0.0.1); on its own engine
    through the pooler under QBWC_TEST_POOLER. Each one is a process of its own to the app."""
    if not settings.db_pooled:
        with BackgroundServer(create_app(settings, engine)) as running:
            yield running
        return
    assert settings.database_url
    pooled = make_engine(settings.database_url, pool_size=settings.db_pool_size, pooled=True)
    try:
        with BackgroundServer(create_app(settings, pooled)) as running:
            yield running
    finally:
        pooled.dispose()


@pytest.fixture
def server(settings: Settings, engine: Engine) -> Iterator[BackgroundServer]:
    """The app served over real HTTP (`served`)."""
    with served(settings, engine) as running:
        yield running


# -- the CLI ----------------------------------------------------------------------------------

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(database_url: str, tmp_path: Path, test_pooler: PgBouncer | None) -> Run:
    """Run `qbwc-server ARGS…` (in this process) against this test's database; `stdin=` feeds it.
    Through the pooler under QBWC_TEST_POOLER, migrations straight to PostgreSQL."""
    environ = cli_environment(database_url, tmp_path)
    if test_pooler is not None:
        environ["DATABASE_URL"] = test_pooler.url(database_url)
        environ["QBWC_DB_POOLER"] = "transaction"
        environ["QBWC_MIGRATIONS_DATABASE_URL"] = database_url

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return run_in_process(list(args), environ, stdin)

    return run


# -- no socket beyond loopback ----------------------------------------------------------------


class NetworkAccessDenied(RuntimeError):
    """A test tried to connect beyond loopback (not an OSError: code that retries on network
    errors must not swallow it)."""


def is_loopback(address: Any) -> bool:
    """True for Unix sockets, localhost, 127.0.0.0/8 and ::1 (IPv4-mapped included)."""
    if isinstance(address, str | bytes):  # AF_UNIX: a path (or an abstract name)
        return True
    host = address[0] if isinstance(address, tuple) and address else None
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # a host name: connecting to it would resolve it first, beyond loopback
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


@pytest.fixture(scope="session", autouse=True)
def network_guard() -> Iterator[list[str]]:
    """Refuse `connect`/`connect_ex` to anything but loopback on every Python socket of this
    process, its threads included (so `socket.create_connection`, urllib, http.client and zeep's
    requests too); each refusal also fails the test that made it, even if the code caught it.

    Not covered: child processes (gunicorn, the CLI smoke tests), libpq's own sockets
    (psycopg2, so TEST_DATABASE_URL may point anywhere), DNS look-ups and UDP `sendto`.
    """
    refused: list[str] = []
    original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(sock: socket.socket, address: Any) -> None:
        if not is_loopback(address):
            refused.append(repr(address))
            sock.close()  # create_connection closes its socket on OSError only
            raise NetworkAccessDenied(f"tests must not connect beyond loopback: {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return original_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    try:
        yield refused
    finally:
        socket.socket.connect, socket.socket.connect_ex = original_connect, original_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _no_network(network_guard: list[str]) -> Iterator[None]:
    """Fail the test during which a connection beyond loopback was refused."""
    before = len(network_guard)
    yield
    attempts = network_guard[before:]
    del network_guard[before:]
    if attempts:
        pytest.fail(f"tried to connect beyond loopback: {', '.join(attempts)}", pytrace=False)
