"""Two checkouts' idle polls at concurrency N, alternated in windows of a few seconds (not a test).

bench/polls.py measures one checkout at a time; on this shared machine, whose speed drifts by a
quarter from one minute to the next, two of its runs a minute apart compare the minutes as much
as the code (bench/README.md). Here both checkouts serve at once, each from its own directory,
database (its companies made by its own bench/polls.py) and gunicorn, and `--concurrency` load
processes poll one side for a window, then the other, in ABBA order, all on the same side at
once (the other side idles meanwhile, so the sides never share the CPU). Each load process polls
on one keep-alive connection, as in polls.py, opened anew at each window: a kept-alive
connection stays with the worker that accepted it, and with four connections on four workers
that draw (two on one worker, or each on its own) moved a whole run by 5 % either way; each side's
rate is over 16 draws, not one.

Prints each side's idle polls/s over all its windows, its CPU per poll (gunicorn, PostgreSQL
backends, load processes) and the median of the window pairs' ratios.

    python bench/paired_polls.py --base ../old-checkout
    python bench/paired_polls.py --base ../old --new . --windows 24 --window 3
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg2
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from paired import Served, pair_arguments, print_ratios, tear_down  # noqa: E402
from polls import login_envelope, poll  # noqa: E402
from sessions import Client  # noqa: E402

from qbwc_server.testing import cpu_seconds, process_tree, scratch_database  # noqa: E402

#: Run in each side's own checkout: its schema and `count` companies made by its bench/polls.py,
#: their logins written to `path`.
SETUP = """
import os, sys
sys.path.insert(0, "bench")
from sqlalchemy import create_engine
from qbwc_server.db import normalize_database_url, upgrade_to_head
import polls
url = os.environ["DATABASE_URL"]
upgrade_to_head(url)
engine = create_engine(normalize_database_url(url))
with engine.begin() as conn:
    logins = polls.make_tenants(conn, {count})
polls.polled_once(engine, logins)
polls.tidy(engine)
with open({path!r}, "w") as out:
    out.write("\\n".join(f"{{u}} {{p}}" for u, p in logins))
"""

#: Seconds each load process polls each side before the first window.
WARM_UP_SECONDS = 3.0


def load_process(args: tuple[list[int], list[list[tuple[str, str]]], list[str], float, Any, Any]) -> None:
    """Polls side `order[k]` during window k, which starts and ends at barriers all load processes
    and the parent pass; puts (polls per window, CPU seconds per window)."""
    ports, logins, order, window, line, results = args
    clients = [Client("127.0.0.1", port, "/qbwc", "", "", "") for port in ports]
    envelopes = [[login_envelope(u, p) for u, p in side] for side in logins]
    turn = [0, 0]
    for side in (0, 1):
        deadline = time.perf_counter() + WARM_UP_SECONDS
        while time.perf_counter() < deadline:
            poll(clients[side], envelopes[side][turn[side] % len(envelopes[side])], auth_only=False)
            turn[side] += 1
    line.wait()  # every load process warmed up (a worker first used later opens its pools then)
    counts, cpus = [], []
    for name in order:
        side = 0 if name == "base" else 1
        line.wait()  # the window starts: the parent has read the counters
        clients[side].reconnect()  # which worker holds the connection is drawn again (see above)
        cpu, deadline, polls = time.process_time(), time.perf_counter() + window, 0
        while time.perf_counter() < deadline:
            poll(clients[side], envelopes[side][turn[side] % len(envelopes[side])], auth_only=False)
            turn[side] += 1
            polls += 1
        counts.append(polls)
        cpus.append(time.process_time() - cpu)
        line.wait()  # the window ends: every load process is done with it
    results.put((counts, cpus))


def backends(database_url: str) -> list[int]:
    """The PostgreSQL backends serving `database_url`'s database (its gunicorn's pools)."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with contextlib.closing(psycopg2.connect(dsn)) as db, db.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return [int(pid) for (pid,) in cur.fetchall() if pid != db.get_backend_pid()]


def main() -> None:
    parser = pair_arguments(__doc__)
    parser.add_argument("--concurrency", type=int, default=4, help="load processes (default 4)")
    parser.add_argument("--tenants", type=int, default=20000, help="companies per side (default 20,000)")
    parser.add_argument("--windows", type=int, default=16, help="windows per side (default 16)")
    parser.add_argument("--window", type=float, default=3.0, help="seconds per window (default 3)")
    args = parser.parse_args()

    names = {"base": "qbwc_paired_polls_base", "new": "qbwc_paired_polls_new"}
    folder = tempfile.TemporaryDirectory()
    sides: list[Served] = []
    try:
        for name, checkout in (("base", args.base.resolve()), ("new", args.new.resolve())):
            url = scratch_database(args.admin_url, names[name])
            path = os.path.join(folder.name, name)
            print(f"{name}: {checkout}, {args.tenants} companies …", flush=True)
            sides.append(
                Served(name, checkout, url, args.workers, SETUP.format(count=args.tenants, path=path))
            )
        logins = [
            [tuple(line.split(" ", 1)) for line in Path(folder.name, name).read_text().splitlines()]
            for name in names
        ]
        order = [("base", "new") if i % 2 == 0 else ("new", "base") for i in range(args.windows)]
        flat = [name for pair in order for name in pair]
        line = mp.Barrier(args.concurrency + 1)
        results: mp.Queue = mp.Queue()  # type: ignore[type-arg]
        ports = [side.port for side in sides]
        procs = [
            mp.Process(
                target=load_process,
                args=(
                    (
                        ports,
                        [side[i :: args.concurrency] for side in logins],
                        flat,
                        args.window,
                        line,
                        results,
                    ),
                ),
            )
            for i in range(args.concurrency)
        ]
        for p in procs:
            p.start()
        line.wait(timeout=WARM_UP_SECONDS * 2 + 120)  # the load processes warmed up
        trees = {side.name: process_tree(side.process.pid) for side in sides}
        urls = {side.name: side.database_url for side in sides}
        workers = {name: [cpu_seconds([pid]) for pid in trees[name]] for name in names}
        server_cpu = {name: 0.0 for name in names}
        pg_cpu = {name: 0.0 for name in names}
        for name in flat:
            # a worker first used in this window opens its pools' connections during it: the
            # backends are listed again after the window, and a new one counts from its start
            before = {pid: cpu_seconds([pid]) for pid in backends(urls[name])}
            server = cpu_seconds(trees[name])
            line.wait(timeout=120)  # the window starts
            line.wait(timeout=args.window + 120)  # and ends
            server_cpu[name] += cpu_seconds(trees[name]) - server
            pg_cpu[name] += sum(
                cpu_seconds([pid]) - before.get(pid, 0.0) for pid in {*before, *backends(urls[name])}
            )
        for name in names:  # how evenly the windows' connections spread over the workers
            shares = [cpu_seconds([pid]) - was for pid, was in zip(trees[name], workers[name], strict=True)]
            print(
                f"{name}: CPU by gunicorn process (master first): {', '.join(f'{s:.1f}' for s in shares)} s"
            )
        answers = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join()
            if p.exitcode:
                raise SystemExit(f"a load process failed (exit {p.exitcode})")
        polls = [sum(counts[k] for counts, _ in answers) for k in range(len(flat))]
        client_cpu = [sum(cpus[k] for _, cpus in answers) for k in range(len(flat))]
        print(
            f"{args.concurrency} load processes, {args.windows} windows of {args.window:g} s per side"
            f" (ABBA), {args.workers} gunicorn workers per side, {os.cpu_count()} cores"
        )
        print(f"{'side':6} {'polls/s':>8}   CPU per poll: {'gunicorn':>9} {'PostgreSQL':>11} {'clients':>8}")
        rates = {}
        for name in names:
            ks = [k for k, n in enumerate(flat) if n == name]
            total = sum(polls[k] for k in ks)
            rates[name] = total / (len(ks) * args.window)
            clients = sum(client_cpu[k] for k in ks)
            print(
                f"{name:6} {rates[name]:8.1f}   {'':13} {server_cpu[name] / total * 1e6:6.0f} µs"
                f" {pg_cpu[name] / total * 1e6:8.0f} µs {clients / total * 1e6:5.0f} µs"
            )
        ratios = []
        for k in range(0, len(flat), 2):
            pair = {flat[k]: polls[k], flat[k + 1]: polls[k + 1]}
            ratios.append(pair["new"] / pair["base"])
        print_ratios(f"{rates['new'] / rates['base']:.3f} by the rates", "window", ratios)
    finally:
        tear_down(sides, args.admin_url, names.values())
        folder.cleanup()


if __name__ == "__main__":
    main()
