"""Pushes through the served app with the simulators (not a test): round trips and wall time for a
backlog, PUT /orders per second while sessions run, and push latency with and without the live window.

QuickBooks is the simulated company behind a cost model stated in the output: each message costs
a fixed time plus a time per write and per read request in it (QuickBooks Desktop is the slow
part of a real push; the defaults are deliberately modest). The Web Connector is the simulated one,
in this process, talking HTTP to gunicorn.

    python bench/pushes.py                                 # every section; embedded Postgres or DATABASE_URL
    python bench/pushes.py --section backlog --orders 1000 --customers 100 --payments 300
    python bench/pushes.py --section put-rate --duration 10
    python bench/pushes.py --section latency --poll-every 60 --latency-duration 300
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import http.client
import json
import random
import re
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qbwc_server.admin import tenants  # noqa: E402
from qbwc_server.admin.settings import set_pull_settings  # noqa: E402
from qbwc_server.admin.tokens import issue_tenant_token  # noqa: E402
from qbwc_server.config import TenantSettings, load_settings  # noqa: E402
from qbwc_server.db import resolve_database_url, upgrade_to_head  # noqa: E402
from qbwc_server.simulator.generator import generate_company  # noqa: E402
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks  # noqa: E402
from qbwc_server.simulator.webconnector import SimulatedWebConnector  # noqa: E402
from qbwc_server.sync.push_settings import PushSettings  # noqa: E402
from qbwc_server.testing import spawn_gunicorn  # noqa: E402

WRITE = re.compile(r"<(\w+)(?:Add|Mod)Rq\b")
READ = re.compile(r"<(\w+)QueryRq\b")
REF = re.compile(r"<SalesOrderAdd>.*?<RefNumber>([^<]+)</RefNumber>", re.S)


@dataclass
class CostModel:
    """QuickBooks' time per message: fixed + per write + per read (seconds)."""

    fixed: float
    per_write: float
    per_read: float

    def __str__(self) -> str:
        return (
            f"QuickBooks cost model: {self.fixed * 1000:.0f} ms per message + {self.per_write * 1000:.0f} ms"
            f" per Add/Mod + {self.per_read * 1000:.0f} ms per query"
        )


@dataclass
class TimedQuickBooks:
    """The simulated company, taking the cost model's time per message; notes when each order landed."""

    inner: SimulatedQuickBooks
    cost: CostModel
    landed: dict[str, float] = field(default_factory=dict)
    messages: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def open_company(self, path: str) -> str:
        return self.inner.open_company(path)

    def host_response(self) -> str:
        return self.inner.host_response()

    def process(self, request_xml: str) -> str:
        writes, reads = len(WRITE.findall(request_xml)), len(READ.findall(request_xml))
        time.sleep(self.cost.fixed + writes * self.cost.per_write + reads * self.cost.per_read)
        with self.lock:
            self.messages += 1
            answer = self.inner.process(request_xml)
            now = time.monotonic()
            for ref in REF.findall(request_xml):
                self.landed.setdefault(ref, now)
        return answer


class Api:
    """A keep-alive JSON client for one thread."""

    def __init__(self, base_url: str, token: str) -> None:
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def put(self, path: str, body: dict[str, Any]) -> int:
        self.conn.request("PUT", f"/api/v1{path}", json.dumps(body), self.headers)
        reply = self.conn.getresponse()
        said = reply.read()
        if reply.status not in (200, 201):
            raise RuntimeError(f"PUT {path}: {reply.status} {said[:300]!r}")
        return reply.status


def customer_body(i: int) -> dict[str, Any]:
    return {
        "name": f"Bench Customer {i:05d}",
        "email": f"buyer{i}@bench.example",
        "billing_address": {
            "line1": f"{i} Main St",
            "city": "Atlanta",
            "state": "Georgia",
            "postal_code": "30301",
        },
        "terms": "Net 30",
    }


def order_body(i: int, customer: int, skus: list[str], rng: random.Random) -> dict[str, Any]:
    lines = [
        {
            "line_id": f"o{i}-{n}",
            "sku": sku,
            "quantity": str(rng.randint(1, 9)),
            "rate": f"{rng.randint(100, 9999) / 100}",
        }
        for n, sku in enumerate(rng.sample(skus, 5))
    ]
    return {"number": f"WB{i:07d}", "customer_id": f"c-{customer}", "date": "2026-11-29", "lines": lines}


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        settings = load_settings()
        self.database_url = resolve_database_url(settings)
        upgrade_to_head(self.database_url)
        self.engine = create_engine(self.database_url)
        self.cost = CostModel(args.qb_fixed_ms / 1000, args.qb_write_ms / 1000, args.qb_read_ms / 1000)
        self.process, self.url = spawn_gunicorn(self.database_url, options=["--workers", str(args.workers)])
        self.rng = random.Random(7)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM tenants WHERE name LIKE 'bench-push-%'"))
        self.engine.dispose()

    def tenant(self, name: str, *, live_window: int = 0) -> tuple[str, str, str]:
        """(username, password, API token) of a fresh tenant with pulls off."""
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM tenants WHERE name = :n"), {"n": name})
            info, password = tenants.add_tenant(conn, name, name)
            set_pull_settings(conn, info.id, intervals={"default": 0})
            stored = conn.execute(
                text("SELECT settings FROM tenants WHERE id = :id"), {"id": info.id}
            ).scalar_one()
            current = TenantSettings.from_stored(stored)
            updated = PushSettings.of(current).changed(live_window_seconds=live_window).store(current)
            conn.execute(
                text("UPDATE tenants SET settings = CAST(:s AS jsonb) WHERE id = :id"),
                {"s": json.dumps(updated.to_json()), "id": info.id},
            )
        return name, password or "", issue_tenant_token(self.engine, name)

    def first_sync(self, connector: SimulatedWebConnector, name: str) -> None:
        """The company's first full sync (items by SKU are in the mirror), then pulls off."""
        with self.engine.begin() as conn:
            tenant_id = conn.execute(text("SELECT id FROM tenants WHERE name = :n"), {"n": name}).scalar_one()
            set_pull_settings(conn, tenant_id, intervals={"default": 3600})
        report = connector.run_session()
        assert report.outcome == "ok", report.errors
        with self.engine.begin() as conn:
            set_pull_settings(conn, tenant_id, intervals={"default": 0})

    def quickbooks(self, items: int = 60) -> TimedQuickBooks:
        company = generate_company(seed=11, customers=5, items=items, sales_orders=0, invoices=0, payments=0)
        return TimedQuickBooks(SimulatedQuickBooks(company), self.cost)

    def connector(
        self, user: str, password: str, qb: TimedQuickBooks, noop_delay: float = 5.0
    ) -> SimulatedWebConnector:
        return SimulatedWebConnector(
            f"{self.url}/qbwc", user, password, qb, noop_delay=noop_delay, max_requests=100_000
        )


def put_all(bench: Bench, token: str, bodies: list[tuple[str, dict[str, Any]]], concurrency: int) -> float:
    """PUT every (path, body) with `concurrency` clients; returns the seconds it took."""
    chunks = [bodies[i::concurrency] for i in range(concurrency)]

    def run(chunk: list[tuple[str, dict[str, Any]]]) -> None:
        api = Api(bench.url, token)
        for path, body in chunk:
            api.put(path, body)

    started = time.perf_counter()
    with cf.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(run, chunks))
    return time.perf_counter() - started


def section_backlog(bench: Bench, args: argparse.Namespace) -> None:
    user, password, token = bench.tenant("bench-push-backlog")
    qb = bench.quickbooks()
    skus = [item.name for item in qb.inner.company.items.values()]
    customers = [(f"/customers/c-{i}", customer_body(i)) for i in range(args.customers)]
    orders = [
        (f"/orders/o-{i}", order_body(i, i % args.customers, skus, bench.rng)) for i in range(args.orders)
    ]
    payments = [
        (
            f"/payments/p-{i}",
            {
                "customer_id": f"c-{i % args.customers}",
                "amount": "10.00",
                "date": "2026-11-29",
                "reference": f"WP{i:06d}",
            },
        )
        for i in range(args.payments)
    ]
    connector = bench.connector(user, password, qb)
    bench.first_sync(connector, user)
    seconds = sum(put_all(bench, token, batch, 8) for batch in (customers, orders, payments))
    print(
        f"backlog: {len(customers)} customers, {len(orders)} orders (5 lines), {len(payments)} payments"
        f" PUT in {seconds:.1f} s while QuickBooks was away"
    )
    started = time.perf_counter()
    round_trips = {"customers": 0, "orders": 0, "payments": 0, "other": 0}
    sessions = 0
    while True:
        report = connector.run_session()
        sessions += 1
        for call in report.calls:
            if call.operation == "sendRequestXML" and call.result:
                kind = str(call.result)
                key = (
                    "orders"
                    if "SalesOrder" in kind
                    else "payments"
                    if "ReceivePayment" in kind
                    else "customers"
                    if "Customer" in kind
                    else "other"
                )
                round_trips[key] += 1
        if report.outcome != "ok" or not report.requests_processed:
            break
    wall = time.perf_counter() - started
    company = qb.inner.company
    print(
        f"  delivered in {wall:.1f} s, {sessions} session(s); round trips: "
        + ", ".join(f"{k} {v}" for k, v in round_trips.items())
    )
    print(
        f"  QuickBooks now holds {len(company.sales_orders)} sales orders, {len(company.payments)} payments"
    )


def section_put_rate(bench: Bench, args: argparse.Namespace) -> None:
    """PUT /orders per second at concurrency 1 and 8 while the Web Connector runs sessions."""
    user, password, token = bench.tenant("bench-push-rate", live_window=30)
    qb = bench.quickbooks()
    skus = [item.name for item in qb.inner.company.items.values()]
    bench.first_sync(bench.connector(user, password, qb), user)
    put_all(bench, token, [(f"/customers/c-{i}", customer_body(i)) for i in range(20)], 4)
    stop = threading.Event()

    def sessions() -> None:
        connector = bench.connector(user, password, qb, noop_delay=1.0)
        while not stop.is_set():
            connector.run_session()

    runner = threading.Thread(target=sessions, daemon=True)
    runner.start()
    counter = iter(range(10**9))
    for concurrency in (1, 8):
        done: list[float] = []

        def client(done: list[float] = done) -> None:
            api = Api(bench.url, token)
            rng = random.Random()
            deadline = time.monotonic() + args.duration
            while time.monotonic() < deadline:
                i = next(counter)
                started = time.perf_counter()
                api.put(f"/orders/r-{i}", order_body(i, i % 20, skus, rng))
                done.append(time.perf_counter() - started)

        with cf.ThreadPoolExecutor(concurrency) as pool:
            for future in [pool.submit(client) for _ in range(concurrency)]:
                future.result()
        q = statistics.quantiles(done, n=20)
        print(
            f"put-rate: concurrency {concurrency}: {len(done) / args.duration:7.1f} PUT /orders per s"
            f" (5 lines; p50 {statistics.median(done) * 1000:.1f} ms, p95 {q[18] * 1000:.1f} ms)"
            " while sessions ran",
            flush=True,
        )
    stop.set()
    runner.join(timeout=120)


def section_latency(bench: Bench, args: argparse.Namespace) -> None:
    """PUT -> the order in QuickBooks, the Web Connector polling every --poll-every seconds."""
    for window in (PushSettings().live_window_seconds, 0):
        user, password, token = bench.tenant(f"bench-push-latency-{window}", live_window=window)
        qb = bench.quickbooks()
        skus = [item.name for item in qb.inner.company.items.values()]
        connector = bench.connector(user, password, qb)
        bench.first_sync(connector, user)
        put_all(bench, token, [(f"/customers/c-{i}", customer_body(i)) for i in range(10)], 2)
        connector.run_session()  # the customers are in; the clock starts with a quiet company
        stop = threading.Event()
        session_open = threading.Event()

        def scheduler(
            stop: threading.Event = stop,
            session_open: threading.Event = session_open,
            connector: SimulatedWebConnector = connector,
        ) -> None:
            next_start = time.monotonic() + bench.rng.uniform(0, args.poll_every)
            while not stop.is_set():
                if time.monotonic() >= next_start:
                    started = time.monotonic()
                    session_open.set()
                    connector.run_session()
                    session_open.clear()
                    next_start = max(started + args.poll_every, time.monotonic())
                time.sleep(0.05)

        runner = threading.Thread(target=scheduler, daemon=True)
        runner.start()
        api = Api(bench.url, token)
        rng = random.Random(window)
        put_at: dict[str, tuple[float, bool]] = {}
        deadline = time.monotonic() + args.latency_duration
        i = 0
        while time.monotonic() < deadline:
            time.sleep(rng.expovariate(1 / max(args.poll_every / 4, 1)))
            body = order_body(i, i % 10, skus, rng)
            put_at[body["number"]] = (time.monotonic(), session_open.is_set())
            api.put(f"/orders/l-{window}-{i}", body)
            i += 1
        wait_until = time.monotonic() + args.poll_every + 60
        while time.monotonic() < wait_until and not set(put_at) <= set(qb.landed):
            time.sleep(0.2)
        stop.set()
        runner.join(timeout=args.poll_every + 60)
        for label, subset in (("made while a session was open", True), ("made at random times", None)):
            lat = [
                qb.landed[ref] - t
                for ref, (t, opened) in put_at.items()
                if ref in qb.landed and (subset is None or opened == subset)
            ]
            if len(lat) < 2:
                print(f"latency: live window {window} s, {label}: {len(lat)} pushes (too few)")
                continue
            q = statistics.quantiles(lat, n=20)
            print(
                f"latency: live window {window:3d} s, poll every {args.poll_every:.0f} s, {label}:"
                f" p50 {statistics.median(lat):5.1f} s, p95 {q[18]:5.1f} s ({len(lat)} pushes,"
                f" {len(put_at) - len(qb.landed)} not landed)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--section", choices=["all", "backlog", "put-rate", "latency"], default="all")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per PUT-rate measurement")
    parser.add_argument("--poll-every", type=float, default=60.0, help="the Web Connector's interval (s)")
    parser.add_argument("--latency-duration", type=float, default=300.0, help="seconds per latency run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--qb-fixed-ms", type=float, default=40.0)
    parser.add_argument("--qb-write-ms", type=float, default=20.0)
    parser.add_argument("--qb-read-ms", type=float, default=5.0)
    args = parser.parse_args()
    bench = Bench(args)
    print(bench.cost, flush=True)
    try:
        if args.section in ("all", "backlog"):
            section_backlog(bench, args)
        if args.section in ("all", "put-rate"):
            section_put_rate(bench, args)
        if args.section in ("all", "latency"):
            section_latency(bench, args)
    finally:
        bench.close()


if __name__ == "__main__":
    main()
