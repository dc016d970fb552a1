"""Helpers for the tests and the benchmarks: the app served from a thread, and gunicorn started
with deploy/gunicorn.conf.py in a child process, as production runs it.

Run from a source checkout (tests/, bench/): the gunicorn launcher reads deploy/ beside the
package. Nothing in the service imports this module.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import psycopg2
from sqlalchemy.engine import make_url

from qbwc_server.app import BackgroundServer

__all__ = ["GUNICORN_CONF", "BackgroundServer", "spawn_gunicorn"]

#: The gunicorn config production uses (systemd unit: `gunicorn -c deploy/gunicorn.conf.py …`).
GUNICORN_CONF = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"


def _free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (another process may take it before you do)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def spawn_gunicorn(
    database_url: str,
    *,
    options: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    output: int | IO[bytes] = subprocess.PIPE,
    wait_seconds: float = 30.0,
) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn with deploy/gunicorn.conf.py in a child process on a free loopback port.

    `options` are more gunicorn command-line options (e.g. ["--worker-class", "sync"]); the
    environment (`os.environ` unless given) carries the QBWC_* settings. Returns the process and
    its base URL once /healthz answers; raises with gunicorn's output if it exits or stays
    unhealthy first.
    """
    if not GUNICORN_CONF.is_file():
        raise FileNotFoundError(f"{GUNICORN_CONF} not found: run from a source checkout")
    port = _free_port()
    env = {**(os.environ if environ is None else environ), "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)]
    command += [*options, "--bind", f"127.0.0.1:{port}", "qbwc_server.wsgi:application"]
    process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = process.communicate()[0] if output == subprocess.PIPE else b""
            raise RuntimeError(f"gunicorn exited ({process.returncode}): {said.decode(errors='replace')}")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=1) as reply:
                if reply.status == 200:
                    return process, base_url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn did not become healthy in {wait_seconds:.0f} s")


def scratch_database(admin_url: str, name: str, drop_only: bool = False) -> str:
    """A fresh empty database `name` on the server of `admin_url` (dropped first; with
    `drop_only`, only dropped) for a benchmark's run; returns its SQLAlchemy URL."""
    admin = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with contextlib.closing(psycopg2.connect(admin)) as db:
        db.autocommit = True
        with db.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if not drop_only:
                cur.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(drivername="postgresql+psycopg2", database=name).render_as_string(False)
