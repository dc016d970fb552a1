"""Many tenants syncing at once, across gunicorn's workers: no job handed twice or to another
tenant, no row read or written across tenants, no deadlock.

Each tenant has its own simulated QuickBooks company (generated from its number, so ListIDs and
TxnIDs differ between tenants), paged pulls, raw reads of its own customers and a raw write. All
tenants poll at the same moment from their own threads, twice (QuickBooks changes between the
polls). Afterwards, row by row: each job was leased only to sessions of its own tenant and
reached only its own QuickBooks, once (pulls: one first page); each mirror row is a record of its
own tenant's company with the same values, and each tenant's mirror is complete; each raw read's
answer names only its own tenant's customers; PostgreSQL detected no deadlock and gunicorn logged
none. CI runs 20 tenants; bench/campaign.py runs 200.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from qbwc_server.db import make_engine
from qbwc_server.testing import spawn_gunicorn
from tests.campaign import World, deadlocks, distinct_ids, isolation_violations, run_parallel

pytestmark = [pytest.mark.campaign, pytest.mark.protocol, pytest.mark.slow]

TENANTS = 20
POLLS = 2


@pytest.fixture
def database(admin_engine: Engine, pg_admin_url: str, template_database: str) -> Iterator[tuple[str, Engine]]:
    name = f"qbwc_test_isolation_{os.getpid()}"
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    url = make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=10)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_tenants_syncing_in_parallel_never_see_each_others_jobs_or_rows(
    database: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = database
    taken: set[str] = set()
    worlds = [World.create(engine, number, prefix="iso", taken=taken) for number in range(TENANTS)]
    for world in worlds:
        world.enqueue_read(engine)
        world.enqueue_read(engine)
        world.enqueue_write(engine)
    assert not distinct_ids(worlds), "the companies must not share ids, or a leak could hide"
    deadlocks_before = deadlocks(engine)
    log = tmp_path / "gunicorn.log"
    environ = {**os.environ, "QBWC_WORKERS": "3", "QBWC_THREADS": "2"}
    with log.open("wb") as sink:
        process, base = spawn_gunicorn(url, environ=environ, output=sink)
    try:
        run_parallel(base + "/qbwc", engine, worlds, POLLS)
    finally:
        process.terminate()
        process.wait(timeout=60)

    violations = isolation_violations(engine, worlds)

    assert not violations, "\n".join(map(str, violations[:40]))
    assert deadlocks(engine) == deadlocks_before
    output = log.read_text(errors="replace")
    assert "deadlock detected" not in output and "Traceback" not in output, output[-3000:]
