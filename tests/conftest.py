"""Real PostgreSQL for every test: TEST_DATABASE_URL when set, else an embedded server.

A template database is migrated once per run (which also proves the migrations work); each test
gets its own database copied from it, so tests that commit from several connections stay isolated.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from qbwc_server.admin import tenants
from qbwc_server.app import create_app
from qbwc_server.config import Settings, normalize_database_url
from qbwc_server.db import make_engine, start_embedded_postgres, stop_embedded_postgres, upgrade_to_head
from qbwc_server.testing import BackgroundServer

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


def _url_for(admin_url: str, database: str) -> str:
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A URL with the right to create databases."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield normalize_database_url(configured)
        return
    data_dir = Path(tempfile.mkdtemp(prefix="qbwc-test-pg-"))
    url = start_embedded_postgres(data_dir)
    yield _url_for(url, "postgres")
    stop_embedded_postgres(data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def admin_engine(pg_admin_url: str) -> Iterator[Engine]:
    engine = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    yield engine
    engine.dispose()


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
def fresh_database(admin_engine: Engine, pg_admin_url: str) -> Iterator[Callable[..., str]]:
    """Factory for databases copied from the migrated template (or empty ones); all dropped after."""
    created: list[str] = []

    def make(template: str | None) -> str:
        name = f"qbwc_test_{os.getpid()}_{next(_counter)}"
        clause = f' TEMPLATE "{template}"' if template else ""
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


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, public_url="https://qbwc.example.com/qbwc")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    assert settings.database_url
    engine = make_engine(settings.database_url)
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
    """

    def make(
        name: str = "acme",
        *,
        password: str | None = None,
        company_file: str | None = None,
        pulls: bool = False,
    ) -> TenantCredentials:
        with engine.begin() as conn:
            info, generated = tenants.add_tenant(
                conn, name, f"{name}-qbwc", password=password, company_file=company_file
            )
            if not pulls:
                conn.execute(
                    text("UPDATE tenants SET settings = CAST(:off AS jsonb) WHERE id = :id"),
                    {"off": '{"pull_intervals": {"default": 0}}', "id": info.id},
                )
        return TenantCredentials(info.id, info.name, info.username, password or generated or "")

    return make


@pytest.fixture
def tenant(make_tenant: Callable[..., TenantCredentials]) -> TenantCredentials:
    return make_tenant()


@pytest.fixture
def server(settings: Settings, engine: Engine) -> Iterator[BackgroundServer]:
    """The real WSGI app over real HTTP (threaded stdlib server on 127.0.0.1)."""
    with BackgroundServer(create_app(settings, engine)) as running:
        yield running
