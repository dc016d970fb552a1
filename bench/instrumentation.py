"""What metrics and structured logging cost the Web Connector's calls, in process; not a test.

Paired in one process, so the machine's noise hits both sides alike: the same calls with the
observability hooks as shipped and with every hook swapped for a no-op, in alternating blocks.
Reports the median thread CPU per idle poll (authenticate answering "none") and per raw-job
session (bench/calls.py's six calls). Logging is left unconfigured (info lines not written),
as bench/calls.py; set PROMETHEUS_MULTIPROC_DIR to a directory to count into files, as gunicorn.

    python bench/instrumentation.py                      # DATABASE_URL, or the embedded PostgreSQL
    PROMETHEUS_MULTIPROC_DIR=$(mktemp -d) python bench/instrumentation.py --blocks 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import inprocess
import sessions as wire

from qbwc_server import logs, metrics
from qbwc_server.app import QbwcApp
from qbwc_server.webconnector import answers, lifecycle
from qbwc_server.webconnector import session as session_module


def hooks(app: QbwcApp) -> list[tuple[Any, str]]:
    """Every place the observability hooks in: swapped for no-ops to measure without them."""
    return [
        (app.fast, "observe"),
        (logs, "bind"),
        (metrics, "session_started"),
        (metrics, "login_refused"),
        (metrics, "push_done"),
        (answers, "settled"),
        (lifecycle, "note_ended"),
        (session_module, "note_ended"),
    ]


def paired(app: QbwcApp, once: Callable[[], int], blocks: int, size: int) -> tuple[float, float]:
    """Median thread CPU (µs) of `once` with the hooks, and with them as no-ops."""
    places = hooks(app)
    shipped = [getattr(owner, name) for owner, name in places]

    def use(real: bool) -> None:
        for (owner, name), hook in zip(places, shipped, strict=True):
            setattr(owner, name, hook if real else (lambda *a, **k: None))

    samples: dict[bool, list[int]] = {True: [], False: []}
    for block in range(blocks):
        for real in (True, False) if block % 2 == 0 else (False, True):
            use(real)
            samples[real].extend(once() for _ in range(size))
    use(True)
    return statistics.median(samples[True]) / 1000, statistics.median(samples[False]) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=16, help="alternating blocks per side (default 16)")
    args = parser.parse_args()

    app, [(_, idle_password), (busy, password)] = inprocess.app_with_tenants("bench-idle", "bench-calls")

    poll = wire.envelope(
        "authenticate", f"<strUserName>bench-idle</strUserName><strPassword>{idle_password}</strPassword>"
    )

    def idle_poll() -> int:
        started = time.thread_time_ns()
        assert b">none<" in inprocess.post(app, "authenticate", poll)
        return time.thread_time_ns() - started

    client = wire.Client("bench", 80, "/qbwc", "bench-calls", password, wire.customer_response(1))
    client.post = lambda operation, body: inprocess.post(app, operation, body)  # type: ignore[method-assign]

    def session() -> int:
        with app.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO jobs (tenant_id, kind, request_body) VALUES (:t, 'qbxml.raw', :b)"),
                {"t": busy.id, "b": wire.REQUEST},
            )
        started = time.thread_time_ns()
        client.session()
        return time.thread_time_ns() - started

    for _ in range(300):  # warm-up: connections, prepared statements
        idle_poll()
    for _ in range(30):
        session()
    mode = "files (PROMETHEUS_MULTIPROC_DIR)" if app.sessions.settings.gunicorn.metrics_dir else "memory"
    print(f"metrics counted in {mode}; thread CPU per call, median")
    for label, once, size in (("idle poll", idle_poll, 500), ("raw-job session", session, 50)):
        shipped, bare = paired(app, once, args.blocks, size)
        print(
            f"{label:16} with hooks {shipped:7.1f} µs   hooks as no-ops {bare:7.1f} µs"
            f"   difference {shipped - bare:5.1f} µs ({(shipped - bare) / bare:+.1%})"
        )
    inprocess.drop_tenants(app, "bench-idle", "bench-calls")


if __name__ == "__main__":
    main()
