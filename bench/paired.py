"""Two checkouts' small sessions, alternated in blocks of a few sessions (not a test).

On a machine whose speed drifts by a quarter from one minute to the next (this shared one), two
runs a minute apart compare the minutes as much as the code. Here both checkouts serve at once,
each from its own directory, database and gunicorn (its own deploy/gunicorn.conf.py), and one Web
Connector (bench/sessions.py's client: the same envelopes, one keep-alive connection per side)
runs a block of sessions on one side, then on the other, in ABBA order: every pair of blocks
ran under the same conditions. Concurrency 1 only: a latency, where drift hurts most; at
concurrency 4 the sides would share the CPU and measure each other.

Each session is what sessions.py times at concurrency 1: the job queued (prepared INSERT), then
serverVersion … closeConnection. Prints each side's sessions/s (from the mean time of a session,
the enqueue included, as sessions.py's rate) and the median of the block pairs' ratios.

    python bench/paired.py --base ../old-checkout --admin-url postgresql://postgres@127.0.0.1/postgres
    python bench/paired.py --base ../old --new . --sessions 3000 --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import psycopg2
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import sessions as wire  # noqa: E402

from qbwc_server.testing import free_port, scratch_database, wait_until_settled  # noqa: E402

#: Run in each side's own checkout: its schema, one tenant with no pulls and no live window.
SETUP = """
import os
from sqlalchemy import create_engine
from qbwc_server.admin import tenants
from qbwc_server.admin.settings import set_pull_settings, set_push_settings
from qbwc_server.db import upgrade_to_head
url = os.environ["DATABASE_URL"]
upgrade_to_head(url)
with create_engine(url).begin() as conn:
    info, password = tenants.add_tenant(conn, "bench-paired", "bench-paired")
    set_pull_settings(conn, info.id, intervals={"default": 0})
    set_push_settings(conn, info.id, live_window_seconds=0)
print(info.id, password)
"""


#: Sessions each side runs before the first measured round.
WARM_UP = 1000


class Served:
    """One checkout served by its own gunicorn on its own database, made ready by `setup` (Python
    run in the checkout, with DATABASE_URL set): what it prints is kept as `made`."""

    def __init__(self, name: str, checkout: Path, database_url: str, workers: int, setup: str) -> None:
        self.name, self.checkout, self.database_url = name, checkout, database_url
        self.environ = {**os.environ, "PYTHONPATH": str(checkout), "DATABASE_URL": database_url}
        made = subprocess.run(
            [sys.executable, "-c", setup],
            cwd=checkout,
            env=self.environ,
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode != 0:
            raise SystemExit(f"{name}: setting up its database failed:\n{made.stderr[-2000:]}")
        self.made = made.stdout
        self.port = free_port()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as gunicorn)
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "-c", str(checkout / "deploy" / "gunicorn.conf.py")),
                *("--log-level", "warning", "--bind", f"127.0.0.1:{self.port}"),
                "qbwc_server.wsgi:application",
            ],
            cwd=checkout,  # gunicorn puts its directory first on sys.path: this side's code
            env={**self.environ, "QBWC_WORKERS": str(workers)},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        _wait_healthy(f"http://127.0.0.1:{self.port}/healthz", self.process)
        wait_until_settled(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class Side(Served):
    """One checkout's sessions: one tenant, and the bench's enqueue on a connection of its own."""

    def __init__(self, name: str, checkout: Path, database_url: str, workers: int) -> None:
        super().__init__(name, checkout, database_url, workers, SETUP)
        tenant_id, password = self.made.split()[-2:]
        self.client = wire.Client(
            "127.0.0.1", self.port, "/qbwc", "bench-paired", password, wire.customer_response(1)
        )
        dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.db = psycopg2.connect(dsn)
        self.db.autocommit = True
        self.cursor = self.db.cursor()
        self.cursor.execute(
            "PREPARE bench_enqueue AS"
            " INSERT INTO jobs (tenant_id, kind, request_body) VALUES ($1, 'qbxml.raw', $2)"
        )
        self.enqueue = (int(tenant_id), wire.REQUEST)
        self.times: list[float] = []

    def session(self) -> float:
        """One queued job and its session; seconds it took."""
        started = time.perf_counter()
        self.cursor.execute("EXECUTE bench_enqueue(%s, %s)", self.enqueue)
        self.client.session()
        return time.perf_counter() - started

    def vacuum(self) -> None:
        """autovacuum is off on this machine's cluster: dead job and session rows pile up."""
        self.cursor.execute("VACUUM ANALYZE jobs, qbwc_sessions, tenants")

    def stop(self) -> None:
        super().stop()
        self.db.close()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited ({process.returncode}) before {url} answered")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def pair_arguments(doc: str) -> argparse.ArgumentParser:
    """The options every paired bench takes: the two checkouts, where their databases go, and
    gunicorn's workers per side."""
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", type=Path, required=True, help="the checkout to compare against")
    parser.add_argument("--new", type=Path, default=REPO, help="the checkout measured (default: this one)")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL URL with the right to create databases (default: DATABASE_URL)",
    )
    parser.add_argument(
        "--workers", type=int, default=2 * (os.cpu_count() or 1), help="gunicorn workers per side"
    )
    return parser


def print_ratios(overall: str, pairs: str, ratios: list[float]) -> None:
    """The last line of a paired bench: new / base overall, and over its pairs of blocks."""
    quartiles = statistics.quantiles(ratios, n=4)
    print(
        f"new / base: {overall}; {pairs} pairs' ratios median {statistics.median(ratios):.3f}"
        f" (quartiles {quartiles[0]:.3f}-{quartiles[2]:.3f})"
    )


def tear_down(sides: Iterable[Served], admin_url: str, databases: Iterable[str]) -> None:
    """Stop each side's gunicorn and drop the scratch databases."""
    for side in sides:
        side.stop()
    for name in databases:
        scratch_database(admin_url, name, drop_only=True)


def main() -> None:
    parser = pair_arguments(__doc__)
    parser.add_argument(
        "--sessions", type=int, default=2000, help="sessions per side per round (default 2000)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each after a VACUUM (default 3)")
    parser.add_argument(
        "--block",
        type=int,
        default=10,
        help="sessions in a row on one side (default 10): the Web Connector's calls come back to back,"
        " and a worker keeps its thread on a connection only for a request within 2 ms of the last"
        " (http_worker.py); alternating every session would make each one's first call arrive cold",
    )
    args = parser.parse_args()

    names = {"base": "qbwc_paired_base", "new": "qbwc_paired_new"}
    urls = {side: scratch_database(args.admin_url, name) for side, name in names.items()}
    sides = [
        Side("base", args.base.resolve(), urls["base"], args.workers),
        Side("new", args.new.resolve(), urls["new"], args.workers),
    ]
    print(f"base {sides[0].checkout}, new {sides[1].checkout}; {args.workers} gunicorn workers each")
    ratios: list[float] = []
    try:
        for side in sides:
            # Warm-up: connections, prepared statements, and tables big enough that the statistics
            # each round's ANALYZE takes lead to index scans. With autovacuum off (this machine),
            # statements planned on a table of 50 rows kept their sequential scans while it grew
            # 40-fold, and the first round measured that (the other rounds did not).
            for _ in range(WARM_UP):
                side.session()
        for round_ in range(1, args.rounds + 1):
            for side in sides:
                side.vacuum()
            base_times, new_times = [], []
            for i in range(args.sessions // args.block):
                order = sides if i % 2 == 0 else sides[::-1]  # ABBA: neither side always goes first
                taken = {side.name: [side.session() for _ in range(args.block)] for side in order}
                base_times += taken["base"]
                new_times += taken["new"]
                ratios.append(statistics.fmean(taken["base"]) / statistics.fmean(taken["new"]))
            sides[0].times += base_times
            sides[1].times += new_times
            print(
                f"round {round_}: base {1 / statistics.fmean(base_times):6.1f} sessions/s,"
                f" new {1 / statistics.fmean(new_times):6.1f};"
                f" new / base {statistics.fmean(base_times) / statistics.fmean(new_times):.3f} by the means"
            )
        print(f"{'side':6} {'sessions':>9} {'median':>10} {'p95':>10} {'sessions/s':>11}")
        for side in sides:
            times = sorted(side.times)
            p95 = times[int(0.95 * (len(times) - 1))]
            print(
                f"{side.name:6} {len(times):9d} {statistics.median(times) * 1e3:7.2f} ms"
                f" {p95 * 1e3:7.2f} ms {1 / statistics.fmean(times):11.1f}"
            )
        means = statistics.fmean(sides[0].times) / statistics.fmean(sides[1].times)
        print_ratios(f"{means:.3f} by the means", "block", ratios)
    finally:
        tear_down(sides, args.admin_url, names.values())


if __name__ == "__main__":
    main()
