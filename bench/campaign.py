"""The hardening campaign at a large size (not a test): fuzz, faults and isolation, with figures.

The same properties the CI tests check small (tests/test_fuzz_soap.py, tests/test_fuzz_qbxml.py,
tests/test_faults.py, tests/test_isolation.py), run against gunicorn as deployed: thousands of
hostile SOAP envelopes and qbXML answers, every fault at every target repeatedly, 200 tenants
syncing at once. Prints tried/failed per kind, each broken property with its first input, the
slowest call, and the RSS of gunicorn's workers before and after the fuzz. Never a pass/fail
gate: `--check` exits 1 when anything failed, for whoever wants one.

    python bench/campaign.py                                     # the medium size (a few minutes)
    python bench/campaign.py --soap 10000 --qbxml 3000 --fault-rounds 5 --tenants 200
    python bench/campaign.py --only fuzz --soap 500               # one part

Works in its own scratch database (--database, default qbwc_campaign) on the server of
--admin-url, created at the start and dropped at the end (unless --keep). PostgreSQL restarts use
a throwaway embedded server of the bench's own, never the one at --admin-url.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qbwc_server.admin import tenants  # noqa: E402
from qbwc_server.admin.settings import set_pull_settings, set_push_settings  # noqa: E402
from qbwc_server.app import create_app  # noqa: E402
from qbwc_server.config import Settings  # noqa: E402
from qbwc_server.db import make_engine, upgrade_to_head  # noqa: E402
from qbwc_server.testing import BackgroundServer, scratch_database, spawn_gunicorn  # noqa: E402
from tests import test_fuzz_qbxml as qbxml_fuzz  # noqa: E402
from tests import test_fuzz_soap as soap_fuzz  # noqa: E402
from tests.campaign import (  # noqa: E402
    SESSION_FAULTS,
    TARGETS,
    PostgresRestarted,
    Tally,
    ThrowawayPostgres,
    Violation,
    WorkerKilled,
    World,
    deadlocks,
    distinct_ids,
    isolation_violations,
    rss_kb,
    run_fault,
    run_parallel,
    session_fault,
    workers,
)

#: gunicorn's and the app's log lines with their level, so an ERROR can be told from a WARNING.
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    },
    "root": {"level": "WARNING", "handlers": ["stderr"]},
    "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False}},
}


class Served:
    """gunicorn with deploy/gunicorn.conf.py on the scratch database, its output in a file."""

    def __init__(self, url: str, directory: Path, name: str, workers: int, threads: int) -> None:
        self.log = directory / f"gunicorn-{name}.log"
        config = directory / "logging.json"
        config.write_text(json.dumps(LOG_CONFIG))
        environ = {**os.environ, "QBWC_WORKERS": str(workers), "QBWC_THREADS": str(threads)}
        with self.log.open("wb") as sink:
            self.process, self.base_url = spawn_gunicorn(
                url, environ=environ, output=sink, options=["--log-config-json", str(config)]
            )
        self.url = self.base_url + "/qbwc"
        self.offset = 0

    def rss(self) -> dict[int, int]:
        return {pid: rss_kb(pid) for pid in workers(self.process.pid)}

    def log_violations(self) -> tuple[list[Violation], str]:
        """What the workers logged since the last look (tracebacks, ERROR lines), and the type of
        the first exception among them ("" if none)."""
        with self.log.open("rb") as output:
            output.seek(self.offset)
            data = output.read()
        self.offset += len(data)
        found, cause, in_traceback = [], "", False
        for line in data.decode("utf-8", errors="replace").splitlines():
            if line.startswith("Traceback"):
                found.append(Violation("logged-exception", line))
                in_traceback = True
            elif in_traceback and line and not line.startswith(" "):
                cause = cause or line.split(":", 1)[0].rsplit(".", 1)[-1]
                found[-1] = Violation("logged-exception", line[:240])
                in_traceback = False
            elif line.startswith(("ERROR ", "CRITICAL ")) and "gunicorn.error" not in line:
                found.append(Violation("logged-error", line[:240]))
        return found, cause

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=90)


@contextlib.contextmanager
def served(url: str, directory: Path, name: str, workers: int, threads: int) -> Iterator[Served]:
    server = Served(url, directory, name, workers, threads)
    try:
        yield server
    finally:
        server.stop()


def fuzz_settings(examples: int, chosen_seed: int | None) -> Callable[[Any], Any]:
    """Hypothesis settings for a bench run: generate only (no shrinking), seeded, no database."""
    common = settings(
        max_examples=examples,
        derandomize=chosen_seed is None,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    return common if chosen_seed is None else (lambda f: common(seed(chosen_seed)(f)))


def fuzz_soap(
    args: argparse.Namespace, server: Served, engine: Engine, tenant: tuple[int, str, str]
) -> Tally:
    tally = Tally()
    tenant_id, username, password = tenant

    @fuzz_settings(args.soap, args.seed)
    @given(case=soap_fuzz.soap_cases(huge=args.huge))
    def one(case: soap_fuzz.SoapCase) -> None:
        try:
            ticket = ""
            if soap_fuzz.TICKET.encode() in case.body:
                ticket = soap_fuzz.open_session(server.url, engine, tenant_id, (username, password))
                server.log_violations()  # what opening the session logged is not this case's
            reply = soap_fuzz.send_case(server.url, case, (username, password), ticket)
            logged, cause = server.log_violations()
            violations, seconds = soap_fuzz.case_violations(case, reply) + logged, reply.seconds
        except Exception as exc:  # the harness must go on: a dropped connection is a finding too
            violations, seconds, cause = [Violation("no-reply", f"{type(exc).__name__}: {exc}")], 0.0, ""
        kinds = [f"operation {case.operation}", *(f"feature {f}" for f in sorted(set(case.features)))]
        tally.record(kinds, violations, seconds, repr(case), cause)

    one()
    return tally


def fuzz_qbxml(args: argparse.Namespace, server: Served, engine: Engine, tenant: Any) -> Tally:
    tally = Tally()
    plans = qbxml_fuzz.plans(huge=args.huge, copies=args.copies, depth=args.depth)

    @fuzz_settings(args.qbxml, args.seed)
    @given(kind=st.sampled_from(qbxml_fuzz.KINDS), plan=plans)
    def one(kind: str, plan: qbxml_fuzz.Plan) -> None:
        try:
            violations, seconds = qbxml_fuzz.answer_job(server.url, engine, tenant, kind, plan)
            logged, cause = server.log_violations()
            violations += logged
        except Exception as exc:
            violations, seconds = [Violation("harness", f"{type(exc).__name__}: {str(exc)[:300]}")], 0.0
            cause = ""
        shapes = [f"replace {plan.replace[0]}"] if plan.replace else [e[0] for e in plan.edits] or ["proper"]
        extra = ([f"hresult {plan.hresult.strip() or 'blank'}"] if plan.hresult else []) + (
            [f"dtd {plan.doctype}"] if plan.doctype != "none" else []
        )
        tally.record([f"job {kind}", *(f"spoil {s}" for s in sorted(set(shapes))), *extra], violations,
                     seconds, f"{kind}: {plan!r}", cause)  # fmt: skip

    one()
    return tally


class _Tenant:
    def __init__(self, tenant_id: int, username: str, password: str) -> None:
        self.id, self.username, self.password = tenant_id, username, password


def fuzz_tenant(engine: Engine) -> _Tenant:
    with engine.begin() as conn:
        info, password = tenants.add_tenant(conn, "fuzz", "fuzz-qbwc")
        set_pull_settings(conn, info.id, intervals={"default": 0})
        set_push_settings(conn, info.id, live_window_seconds=0)  # no live window: ends when done
    return _Tenant(info.id, info.username, password or "")


def faults(args: argparse.Namespace, url: str, engine: Engine, directory: Path) -> Tally:
    """Every fault at every target, `--fault-rounds` times, each on a fresh tenant."""
    tally = Tally()
    number = 1000

    def run(kind: str, make: Callable[[World], Any], world_engine: Engine, served_url: str) -> None:
        nonlocal number
        number += 1
        world = World.create(world_engine, number, prefix="fault")
        try:
            violations = run_fault(served_url, world_engine, world, make(world))
        except Exception as exc:
            violations = [Violation("harness", f"{type(exc).__name__}: {str(exc)[:300]}")]
        tally.record([kind], violations, 0.0, kind)  # a scenario, not one call: no call time

    with served(url, directory, "faults", 2, 2) as server:
        for _ in range(args.fault_rounds):
            for name in SESSION_FAULTS:
                for target in (None,) if name == "quickbooks unavailable" else tuple(TARGETS):
                    label = f"{name} at {target}" if target else name

                    def session(world: World, n: str = name, t: str | None = target) -> Any:
                        return session_fault(n, t, url=server.url, engine=engine, world=world)

                    run(label, session, engine, server.url)
            for target in TARGETS:
                for before_apply in (True, False):
                    for kills in (1, 2):
                        where = "before applying" if before_apply else "mid-apply"

                        def kill(
                            world: World, t: str = target, b: bool = before_apply, k: int = kills
                        ) -> Any:
                            return WorkerKilled(
                                t, base_url=server.base_url, master=server.process.pid, engine=engine,
                                before_apply=b, kills=k,
                            )  # fmt: skip

                        run(f"worker killed {where} x{kills} at {target}", kill, engine, server.url)
    postgres = ThrowawayPostgres(directory / "throwaway-pg")
    pg_url = postgres.start()
    try:
        upgrade_to_head(pg_url)
        pg_engine = create_engine(make_url(pg_url), poolclass=NullPool)
        for _ in range(args.fault_rounds):
            for target in TARGETS:
                settings_ = Settings(
                    database_url=pg_url, data_dir=directory, public_url="https://q.example/qbwc"
                )

                def restart(world: World, t: str = target) -> Any:
                    return PostgresRestarted(t, postgres)

                with BackgroundServer(create_app(settings_)) as thread_server:
                    run(f"postgres restarted at {target}", restart, pg_engine, thread_server.url)
        pg_engine.dispose()
    finally:
        postgres.stop()
    return tally


def isolation(args: argparse.Namespace, url: str, engine: Engine, directory: Path) -> tuple[list[str], int]:
    taken: set[str] = set()
    worlds = [World.create(engine, 10_000 + n, prefix="iso", taken=taken) for n in range(args.tenants)]
    for world in worlds:
        world.enqueue_read(engine)
        world.enqueue_read(engine)
        world.enqueue_write(engine)
    shared = distinct_ids(worlds)
    before = deadlocks(engine)
    with served(url, directory, "isolation", args.workers, args.threads) as server:
        started = time.perf_counter()
        run_parallel(server.url, engine, worlds, args.polls)
        seconds = time.perf_counter() - started
        log = server.log.read_text(errors="replace")
    violations = isolation_violations(engine, worlds)
    jobs = sum(len(w.reads) + len(w.writes) for w in worlds)
    sessions = sum(len(w.reports) for w in worlds)
    requests = sum(len(w.qb.received) for w in worlds)
    lines = [
        f"isolation: {args.tenants} tenants x {args.polls} polls in parallel on gunicorn"
        f" {args.workers} workers x {args.threads} threads: {seconds:.1f} s, {sessions} sessions,"
        f" {requests} requests to QuickBooks, {jobs} raw jobs plus pulls",
        f"  ids shared between companies: {len(shared)} (must be 0)",
        f"  deadlocks detected by PostgreSQL: {deadlocks(engine) - before};"
        f" 'deadlock detected' in gunicorn's log: {log.count('deadlock detected')};"
        f" tracebacks: {log.count('Traceback')}",
        f"  violations: {len(violations)}",
    ]
    by_prop: dict[str, list[Violation]] = {}
    for violation in violations:
        by_prop.setdefault(violation.prop, []).append(violation)
    for prop, found in by_prop.items():
        lines.append(f"  broken {prop} x{len(found)}: {found[0].detail}")
    return lines, len(violations) + len(shared)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--only", choices=["fuzz", "faults", "isolation"], action="append",
                        help="run only these parts (repeatable); default all")  # fmt: skip
    parser.add_argument("--soap", type=int, default=2000, help="SOAP envelopes (default 2000)")
    parser.add_argument("--qbxml", type=int, default=500, help="qbXML answers (default 500)")
    parser.add_argument("--huge", type=int, default=1_000_000, help="longest generated string (default 1e6)")
    parser.add_argument("--copies", type=int, default=2000, help="most copies of one record (default 2000)")
    parser.add_argument("--depth", type=int, default=5000, help="deepest nesting (default 5000)")
    parser.add_argument(
        "--seed", type=int, help="a Hypothesis seed (default: derandomized, the same every run)"
    )
    parser.add_argument("--fault-rounds", type=int, default=2, help="times each fault is staged (default 2)")
    parser.add_argument("--tenants", type=int, default=200, help="tenants syncing at once (default 200)")
    parser.add_argument("--polls", type=int, default=2, help="polls per tenant (default 2)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers for isolation (default 4)")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker for isolation (default 2)")
    parser.add_argument("--check", action="store_true", help="exit 1 when anything failed")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a database on the server to use (default: local postgres)")  # fmt: skip
    parser.add_argument("--database", default="qbwc_campaign", help="scratch database, dropped and recreated")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database at the end")
    args = parser.parse_args()
    parts = set(args.only or ["fuzz", "faults", "isolation"])

    url = scratch_database(args.admin_url, args.database)
    failed = 0
    report: dict[str, Any] = {}
    directory = Path(tempfile.mkdtemp(prefix="qbwc-campaign-"))
    # The app served from a thread (the PostgreSQL restarts) logs here, not over the figures.
    logging.basicConfig(filename=directory / "in-process.log", level=logging.WARNING)
    print(f"{os.cpu_count()} cores; PostgreSQL {args.admin_url.rsplit('@', 1)[-1]}, database {args.database}")
    try:
        upgrade_to_head(url)
        engine = make_engine(url, pool_size=10)
        if "fuzz" in parts:
            tenant = fuzz_tenant(engine)
            with served(url, directory, "fuzz", 2, 2) as server:
                qbxml_fuzz.answer_job(
                    server.url, engine, tenant, "customers", qbxml_fuzz.Plan((), "", "none", None, "", "")
                )
                before = server.rss()
                started = time.perf_counter()
                soap = fuzz_soap(args, server, engine, (tenant.id, tenant.username, tenant.password))
                after_soap = server.rss()
                print("\n".join(soap.lines(f"fuzz SOAP ({time.perf_counter() - started:.0f} s)")))
                report["fuzz SOAP"] = soap.inputs
                started = time.perf_counter()
                answers = fuzz_qbxml(args, server, engine, tenant)
                after = server.rss()
                print("\n".join(answers.lines(f"fuzz qbXML ({time.perf_counter() - started:.0f} s)")))
                report["fuzz qbXML"] = answers.inputs
                print("worker RSS (kB) before fuzz -> after SOAP -> after qbXML:")
                for pid in sorted(set(before) | set(after)):
                    figures = (before.get(pid, "-"), after_soap.get(pid, "-"), after.get(pid, "-"))
                    print(f"  worker {pid}: {figures[0]} -> {figures[1]} -> {figures[2]}")
                failed += sum(soap.failed.values()) + sum(answers.failed.values())
        if "faults" in parts:
            started = time.perf_counter()
            tally = faults(args, url, engine, directory)
            print("\n".join(tally.lines(f"faults ({time.perf_counter() - started:.0f} s)")))
            report["faults"] = tally.inputs
            failed += sum(tally.failed.values())
        if "isolation" in parts:
            lines, broken = isolation(args, url, engine, directory)
            print("\n".join(lines))
            failed += broken
        engine.dispose()
    finally:
        if not args.keep:
            scratch_database(args.admin_url, args.database, drop_only=True)
    (directory / "failures.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"logs, and each failure's first input in full (failures.json): {directory}")
    if args.check and failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
