"""Server-side cost of each Web Connector call, in process (no HTTP, no gunicorn); not a test.

Drives the real WSGI app with the same envelopes as bench/sessions.py and reports, per operation,
wall time and this thread's CPU time: what the server itself spends, apart from the transport.

    python bench/calls.py                 # DATABASE_URL, or the embedded PostgreSQL
    python bench/calls.py --sessions 1000 --customers 500
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import inprocess
import sessions as wire


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=500, help="sessions to time (default 500)")
    parser.add_argument("--customers", type=int, default=1, help="customers in the response (500 = ~650 kB)")
    args = parser.parse_args()

    app, [(tenant, password)] = inprocess.app_with_tenants("bench-calls")  # raw jobs only

    timings: dict[str, list[tuple[float, float]]] = defaultdict(list)

    def post(operation: str, body: bytes) -> bytes:
        wall, cpu = time.perf_counter(), time.thread_time()
        reply = inprocess.post(app, operation, body)
        timings[operation].append((time.perf_counter() - wall, time.thread_time() - cpu))
        return reply

    response = wire.customer_response(args.customers)
    client = wire.Client("bench", 80, "/qbwc", "bench-calls", password, response)
    client.post = post  # type: ignore[method-assign]

    def run(count: int) -> None:
        for _ in range(count):
            with app.engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO jobs (tenant_id, kind, request_body) VALUES (:t, 'qbxml.raw', :b)"),
                    {"t": tenant.id, "b": wire.REQUEST},
                )
            client.session()

    run(20)  # warm-up: connections, prepared statements
    timings.clear()
    started = time.perf_counter()
    run(args.sessions)
    elapsed = time.perf_counter() - started
    print(
        f"{args.sessions / elapsed:.1f} sessions/s in process (enqueue included),"
        f" {args.customers} customer(s) in the response"
    )
    print(f"{'operation':20} {'wall p50':>10} {'cpu p50':>10}")
    for operation, samples in timings.items():
        wall = statistics.median(s[0] for s in samples) * 1e6
        cpu = statistics.median(s[1] for s in samples) * 1e6
        print(f"{operation:20} {wall:8.0f} µs {cpu:8.0f} µs")
    inprocess.drop_tenants(app, "bench-calls")


if __name__ == "__main__":
    main()
