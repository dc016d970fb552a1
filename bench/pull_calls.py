"""Server-side cost of each call of a customers-pull session, in process (no HTTP); not a test.

bench/calls.py for `bench/sessions.py --job pull`: the same page (500 customers rendered by the
simulated QuickBooks, unchanged after the first session, or every customer changed with
`--changed`), driven through the WSGI app in this thread. Reports per call the median wall time
and this thread's CPU time: on a machine busy with other work, CPU time moves far less than
sessions per second do, so compare runs by it.

    DATABASE_URL=… python bench/pull_calls.py --sessions 20 [--changed] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
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
    parser.add_argument("--sessions", type=int, default=20, help="sessions to time (default 20)")
    parser.add_argument("--changed", action="store_true", help="every customer changes every session")
    parser.add_argument("--profile", action="store_true", help="cProfile receiveResponseXML")
    args = parser.parse_args()

    app, [(tenant, password)] = inprocess.app_with_tenants("bench-pull-calls")  # only the pull queued here
    timings: dict[str, list[tuple[float, float]]] = defaultdict(list)
    profile = cProfile.Profile()
    measuring = False

    def post(operation: str, body: bytes) -> bytes:
        profiled = measuring and args.profile and operation == "receiveResponseXML"
        wall, cpu = time.perf_counter(), time.thread_time()
        if profiled:
            profile.enable()
        reply = inprocess.post(app, operation, body)
        if profiled:
            profile.disable()
        timings[operation].append((time.perf_counter() - wall, time.thread_time() - cpu))
        return reply

    client = wire.Client(
        "bench", 80, "/qbwc", "bench-pull-calls", password, wire.pull_page(500, args.changed), "pull"
    )
    client.post = post  # type: ignore[method-assign]
    enqueue = text(wire.ENQUEUE_PULL.replace("$1", ":t").replace("$2", ":p"))

    def run(count: int) -> None:
        for _ in range(count):
            with app.engine.begin() as conn:
                conn.execute(enqueue, {"t": tenant.id, "p": wire.PULL.priority})
            client.session()

    try:
        run(3)  # warm-up: connections, the mirror's first rows
        timings.clear()
        measuring = True
        started = time.perf_counter()
        run(args.sessions)
        elapsed = time.perf_counter() - started
        print(
            f"{args.sessions / elapsed:.1f} sessions/s in process (enqueue included);"
            f" {'every customer changed' if args.changed else 'unchanged customers'}"
        )
        print(f"{'operation':20} {'wall p50':>10} {'cpu p50':>10}")
        for operation, samples in timings.items():
            wall = statistics.median(s[0] for s in samples) * 1e3
            cpu = statistics.median(s[1] for s in samples) * 1e3
            print(f"{operation:20} {wall:7.2f} ms {cpu:7.2f} ms")
        if args.profile:
            pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    finally:
        inprocess.drop_tenants(app, "bench-pull-calls")


if __name__ == "__main__":
    main()
