"""`qbwc-server demo`, the README's first command: endpoint, tenant, queued work and a session."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.console import cli_environment, run_in_process

pytestmark = pytest.mark.slow


def test_demo_serves_and_completes_a_simulated_session(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    result = subprocess.run(  # as a process: what a newcomer runs first
        [sys.executable, "-m", "qbwc_server.cli", "demo", "--exit", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Web Connector endpoint: http://127.0.0.1:" in out
    first, second = out.split("Session 2")
    assert "closeConnection(ticket=" in first and "Session ok:" in first
    assert "The Web Connector shows: Done: 1 raw qbXML request, pulled " in first
    # "Done" must be true of the raw request too: QuickBooks answered it, and the demo says how.
    assert re.search(r"Raw qbXML job \d+: QuickBooks answered 0 \([A-Za-z]+: Status OK\)", first), first
    assert "3250" not in out
    assert "300 customers" in first and "Mirror: customers 300," in first
    # Only what changed "in QuickBooks" comes back: 1 edited + 1 added + 1 deactivated customer.
    assert "The Web Connector shows: Done: pulled 3 customers, 1 stock figure." in second
    assert "Mirror: customers 301," in second
    assert "Traceback" not in result.stderr


def test_demo_reports_a_busy_port_without_touching_the_queue(database_url: str, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_in_process(
            ["demo", "--exit", "--port", str(port)], cli_environment(database_url, tmp_path)
        )
    assert result.returncode == 2
    assert f"Cannot listen on port {port}" in result.stdout and "--port 0" in result.stdout
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 0
    engine.dispose()
