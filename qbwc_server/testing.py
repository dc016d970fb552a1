"""Helpers for the tests and the benchmarks: the app served from a thread, and gunicorn started
with deploy/gunicorn.conf.py in a child process, as production runs it.

Run from a source checkout (tests/, bench/): the gunicorn launcher reads deploy/ beside the
package. Nothing in the service imports this module.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import psycopg2
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from qbwc_server.app import BackgroundServer

__all__ = ["GUNICORN_CONF", "BackgroundServer", "free_port", "spawn_gunicorn"]

#: The gunicorn config production uses (systemd unit: `gunicorn -c deploy/gunicorn.conf.py …`).
GUNICORN_CONF = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"


def free_port() -> int:
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
    port: int | None = None,
    app: str = "qbwc_server.wsgi:application",
) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn with deploy/gunicorn.conf.py in a child process on a free loopback port (`port`
    if given: several instances share one with `options=["--reuse-port"]`, as nodes would).

    `app` is the WSGI application to serve (a benchmark may serve a floor app instead).
    `options` are more gunicorn command-line options (e.g. ["--worker-class", "sync"]); the
    environment (`os.environ` unless given) carries the QBWC_* settings. Returns the process and
    its base URL once /healthz answers; raises with gunicorn's output if it exits or stays
    unhealthy first.
    """
    if not GUNICORN_CONF.is_file():
        raise FileNotFoundError(f"{GUNICORN_CONF} not found: run from a source checkout")
    port = port or free_port()
    env = {**(os.environ if environ is None else environ), "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)]
    command += [*options, "--bind", f"127.0.0.1:{port}", app]
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


def process_tree(pid: int) -> list[int]:
    """Process `pid` and its children (gunicorn's master and its workers), found by parent in
    /proc: the master's `children` file lists only what its main thread forked, and missed the
    workers in some runs."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                pids.append(int(entry.name))
    return pids


def cpu_seconds(pids: Sequence[int]) -> float:
    """CPU seconds these processes' threads have run so far (gone ones count 0), from the
    scheduler's own count (/proc/*/task/*/schedstat, nanoseconds). /proc's user and system
    times are sampled at each clock tick and, on a loaded two-core VM, missed whole workers."""
    total = 0
    for pid in pids:
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, IndexError, ValueError):
                continue
    return total / 1e9


def backend_pids(conn: Connection) -> list[int]:
    """PostgreSQL backends connected to `conn`'s database (a server's pools), `conn`'s excepted."""
    rows = conn.execute(
        text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )
    return [int(r.pid) for r in rows]


def wait_until_settled(pid: int, *, busy: float = 0.1, limit_seconds: float = 60.0) -> None:
    """Wait until process `pid` and its children use less than `busy` of a core: gunicorn answers
    /healthz from its first worker while the others are still importing the app (seconds of CPU
    each), which a benchmark must not measure."""
    deadline = time.monotonic() + limit_seconds
    before = cpu_seconds(process_tree(pid))
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(process_tree(pid))
        if now - before < busy * 0.5:
            return
        before = now


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


#: Where Debian's package puts PgBouncer (not on a non-root PATH).
PGBOUNCER_PATHS = ("pgbouncer", "/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")


def find_pgbouncer() -> str | None:
    """The PgBouncer binary, or None."""
    return next((found for name in PGBOUNCER_PATHS if (found := shutil.which(name))), None)


class PgBouncer:
    """PgBouncer in transaction pooling mode in front of the server of `database_url`, on a free
    loopback port, its files under `directory`; `url(database_url)` is that database through it.

    `auth_type = trust`, loopback only: a test and benchmark stand-in, not a deployment (README
    "Several nodes and a pooler" has one). As root it runs as `nobody` (PgBouncer refuses root).
    """

    def __init__(self, database_url: str, directory: Path, *, pool_size: int = 10) -> None:
        binary = find_pgbouncer()
        if binary is None:
            raise FileNotFoundError("pgbouncer is not installed (apt-get install pgbouncer)")
        target = make_url(database_url)
        self.user = target.username or "postgres"
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        self._log_path = directory / "pgbouncer.log"
        self._log = self._log_path.open("wb")
        # The embedded server is reached by its socket directory (?host=/…&port=…).
        host = target.host or target.query.get("host") or "127.0.0.1"
        port = target.port or target.query.get("port") or 5432
        server = f"host={host} port={port} user={self.user}"
        if target.password:
            server += f" password={target.password}"
        (directory / "users.txt").write_text(f'"{self.user}" ""\n')
        (directory / "pgbouncer.ini").write_text(
            f"[databases]\n* = {server}\n\n[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {directory / 'users.txt'}\nadmin_users = {self.user}\n"
            f"pool_mode = transaction\ndefault_pool_size = {pool_size}\nmax_client_conn = 5000\n"
        )
        # As the embedded server's own user when that is what it reaches: its socket is private.
        as_root = (
            ["-u", "embedded_postgres" if str(host).startswith("/") else "nobody"]
            if os.geteuid() == 0
            else []
        )
        if as_root:
            directory.chmod(0o755)
        self.process = subprocess.Popen(
            [binary, *as_root, str(directory / "pgbouncer.ini")],
            # Into a file, not a pipe: nobody reads a pipe while it runs, and once its 64 kB
            # fill up (a few hundred connections logged) PgBouncer blocks, and every client with it.
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"pgbouncer did not start: {self.output()}")
            time.sleep(0.05)

    def url(self, database_url: str) -> str:
        """`database_url`'s database, reached through this PgBouncer."""
        parsed = make_url(database_url).difference_update_query(["host", "port"])
        parsed = parsed.set(host="127.0.0.1", port=self.port, password=None)
        return parsed.render_as_string(hide_password=False)

    def show(self, what: str) -> list[dict[str, object]]:
        """Its admin console's `SHOW what` (STATS, POOLS, SERVERS …), rows by column name."""
        with contextlib.closing(
            psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="pgbouncer")
        ) as admin:
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute(f"SHOW {what}")
                names = [column.name for column in cur.description]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def _answers(self) -> bool:
        try:
            self.show("VERSION")
        except psycopg2.OperationalError:
            return False
        return True

    def output(self) -> str:
        """What it has logged so far."""
        return self._log_path.read_text(errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=10)
        self._log.close()
