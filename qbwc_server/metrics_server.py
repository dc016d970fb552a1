"""gunicorn's master and the metrics: a fresh directory for the workers' metric files at each
start (PROMETHEUS_MULTIPROC_DIR), a dead worker's live gauges dropped, and on QBWC_METRICS_BIND
a listener in the master that serves every worker's counts without a token.

config.py hands these hooks to gunicorn, so this module is imported early, in the master: it
imports prometheus_client and the database only inside the hooks, once the directory is set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

#: The variable prometheus_client reads in each worker; the workers inherit it from the master.
DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class ServerHooks:
    """gunicorn hooks (`options()` by gunicorn's names) for `directory` (None: a temporary one,
    removed when gunicorn exits) and the token-free listener on `bind` (None: none)."""

    def __init__(self, directory: Path | None, bind: str | None) -> None:
        self.directory = directory
        self.bind = bind
        self.path: Path | None = None
        self._made: Path | None = None

    def options(self) -> dict[str, object]:
        return {
            "on_starting": self.on_starting,
            "when_ready": self.when_ready,
            "child_exit": self.child_exit,
            "on_exit": self.on_exit,
        }

    def on_starting(self, server: Any) -> None:
        """Before any worker: the directory, emptied (a previous run's counts must not add to this one's)."""
        # In memory where there is /dev/shm, like gunicorn's heartbeat files: counts need no disk.
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        path = self.directory or Path(tempfile.mkdtemp(prefix="qbwc-server-metrics-", dir=shm))
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        self.path, self._made = path, (None if self.directory else path)
        os.environ[DIRECTORY_VARIABLE] = str(path)

    def when_ready(self, server: Any) -> None:
        """With QBWC_METRICS_BIND: serve the workers' files and the database's gauges from here."""
        if self.bind is None or self.path is None:
            return
        from prometheus_client import start_http_server
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        from qbwc_server.config import load_settings, normalize_database_url
        from qbwc_server.db import resolve_database_url
        from qbwc_server.metrics_scrape import scrape_registry

        url = normalize_database_url(resolve_database_url(load_settings()))
        # No pool: a connection the master kept open would be inherited by every worker forked later.
        engine = create_engine(url, poolclass=NullPool, connect_args={"application_name": "qbwc-server"})
        host, _, port = self.bind.rpartition(":")
        registry = scrape_registry(engine, self.path)
        start_http_server(int(port), host.strip("[]") or "0.0.0.0", registry=registry)
        server.log.info("metrics of every worker served without a token on http://%s/metrics", self.bind)

    def child_exit(self, server: Any, worker: Any) -> None:
        """A worker is gone: its live gauges go with it (its counters stay: they are history)."""
        if self.path is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(worker.pid, str(self.path))  # type: ignore[no-untyped-call]

    def on_exit(self, server: Any) -> None:
        if self._made is not None:
            shutil.rmtree(self._made, ignore_errors=True)
