"""How fast pulled QuickBooks data lands in the mirror, and at what memory cost (not a test).

1. Apply rate: realistic CustomerQueryRs pages (500 CustomerRet each, written by the simulated
   QuickBooks) through `PullHandler.apply`, one transaction per page as the server commits,
   into a freshly migrated database; again with every record unchanged; then the limit: the same
   pages read with bare lxml and loaded with COPY into a plain table.
2. Peak RSS: one ~100 MB CustomerQueryRs applied through `PullHandler.apply`, in a child process.
3. First full sync (--sync): a generated company through the served app, the simulated Web
   Connector and the simulated QuickBooks, one session from authenticate to closeConnection.

    python bench/ingest.py                                  # 1 and 2
    python bench/ingest.py --sync                           # 1, 2 and 3
    python bench/ingest.py --sync-only --sync-customers 1000 --sync-items 200 --sync-invoices 2000
    python bench/ingest.py --profile                        # 1, plus where apply() spends its time

Works in its own scratch database (--database, default qbwc_ingest) on the server of
--admin-url, created at the start and dropped at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import ctypes
import dataclasses
import datetime as dt
import gc
import io
import json
import multiprocessing as mp
import os
import pstats
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg2
from lxml import etree
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qbwc_server.admin import tenants  # noqa: E402
from qbwc_server.admin.settings import set_push_settings  # noqa: E402
from qbwc_server.app import create_app  # noqa: E402
from qbwc_server.config import load_settings  # noqa: E402
from qbwc_server.db import make_engine, upgrade_to_head  # noqa: E402
from qbwc_server.qbxml.core import QbxmlVersion, wrap_request  # noqa: E402
from qbwc_server.queue import ClaimedJob  # noqa: E402
from qbwc_server.simulator import render  # noqa: E402
from qbwc_server.simulator.generator import generate_company  # noqa: E402
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks  # noqa: E402
from qbwc_server.simulator.webconnector import SimulatedWebConnector  # noqa: E402
from qbwc_server.sync.base import Database, Reply  # noqa: E402
from qbwc_server.sync.pull import PullHandler  # noqa: E402
from qbwc_server.sync.pulls import PULLS_BY_ENTITY  # noqa: E402
from qbwc_server.testing import BackgroundServer, scratch_database, spawn_gunicorn  # noqa: E402

VERSION = QbxmlVersion(13, 0)
SPEC = PULLS_BY_ENTITY["customers"]
ITERATOR_ID = re.compile(r'iteratorID="([^"]+)"')
REMAINING = re.compile(r'iteratorRemainingCount="(\d+)"')
HEAD = '<?xml version="1.0" ?>\n<QBXML>\n<QBXMLMsgsRs>\n'
TAIL = "\n</QBXMLMsgsRs>\n</QBXML>\n"
MB = 1_000_000
#: A pull builds its request without the database.
NO_DATABASE = Database(None)  # type: ignore[arg-type]
RATIO_TARGET = 0.50
RSS_TARGET_MB = 100.0


# -- the pages -------------------------------------------------------------------------------


def customer_pages(customers: int, seed: int, validate: bool) -> list[str]:
    """The responses a full customer pull gets: the server's own requests, answered by the simulator."""
    company = generate_company(seed, customers=customers, items=50, sales_orders=0, invoices=0, payments=0)
    quickbooks = SimulatedQuickBooks(company, validate=validate)
    handler = PullHandler(SPEC)
    pages: list[str] = []
    params: dict[str, Any] = {}
    while True:
        job = ClaimedJob(id=1, tenant_id=0, kind=SPEC.kind, params=params)
        page = quickbooks.process(wrap_request(handler.build_request(NO_DATABASE, job, VERSION), VERSION))
        pages.append(page)
        head = page[:1000]
        remaining = REMAINING.search(head)
        if remaining is None or remaining[1] == "0":
            return pages
        params = {"iterator_id": ITERATOR_ID.search(head)[1]}  # type: ignore[index]


def big_response(chars: int, seed: int, id_base: int) -> str:
    """One CustomerQueryRs of about `chars` characters: simulator-rendered customers, repeated
    with fresh ListIDs (the first <ListID> of a CustomerRet is its own) until big enough."""
    company = generate_company(seed, customers=1000, items=50, sales_orders=0, invoices=0, payments=0)
    parent = etree.Element("CustomerQueryRs")
    options = render.Options(data_ext=True)
    templates = []
    for customer in company.customers.values():
        ret = etree.tostring(render.render(parent, customer, options), encoding="unicode")
        templates.append((ret, f"<ListID>{customer.list_id}</ListID>", customer.list_id.split("-")[1]))
    parts: list[str] = []
    size = n = 0
    while size < chars:
        ret, own_id, stamp = templates[n % len(templates)]
        part = ret.replace(own_id, f"<ListID>{id_base + n:X}-{stamp}</ListID>", 1)
        parts.append(part)
        size += len(part)
        n += 1
    status = 'statusCode="0" statusSeverity="Info" statusMessage="Status OK"'
    opening = f'<CustomerQueryRs requestID="1" {status} retCount="{n}">'
    return HEAD + opening + "".join(parts) + "</CustomerQueryRs>" + TAIL


# -- our path --------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """One measured pass over the pages."""

    rows: int
    seconds: float
    cpu: float  # this process
    db_cpu: float  # the PostgreSQL backend the pass used
    changed: int = 0
    parse_seconds: float = 0.0  # inside spec.parse: a record element read (into its row)
    apply_seconds: float = 0.0  # inside spec.apply: rows built, SQL sent and answered

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def cpu_rate(self) -> float:
        """Rows per CPU second (ours and our backend's): what other load on the machine does
        not change much, unlike wall time."""
        return self.rows / (self.cpu + self.db_cpu)


def pull_job(incremental: bool = False) -> ClaimedJob:
    """A full pull's job; `incremental`: one from a cursor (it skips records the mirror holds)."""
    started = dt.datetime.now(dt.UTC)
    params = {"page_size": SPEC.page_size, "started_at": started.isoformat()}
    if incremental:
        params["since"] = (started - dt.timedelta(days=365)).isoformat()
    return ClaimedJob(id=1, tenant_id=0, kind=SPEC.kind, params=params)


def apply_pages(
    engine: Engine,
    tenant_id: int,
    pages: list[str],
    profile: cProfile.Profile | None = None,
    incremental: bool = False,
) -> Run:
    """Each page through `receive` in its own transaction, as the session commits it.

    `spec.parse` and `spec.apply` are timed (a clock read around each call, ~0.1 µs): the rest
    of `apply` is the XML stream itself, the transaction and bookkeeping.
    """
    spent = {"parse": 0.0, "apply": 0.0}

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args)
            finally:
                spent[name] += time.perf_counter() - start

        return call

    spec = dataclasses.replace(SPEC, parse=timed("parse", SPEC.parse), apply=timed("apply", SPEC.apply))
    handler = PullHandler(spec)
    job = pull_job(incremental)
    rows = changed = 0
    with engine.connect() as conn:  # the pool holds one connection: the backend every page uses
        backend = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    with measured(backend) as clock:
        for page in pages:
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL synchronous_commit = off"))  # as the server does for pulls
                if profile is not None:
                    profile.enable()
                result = handler.apply(conn, tenant_id, job, Reply(text=page))
                if profile is not None:
                    profile.disable()
            rows += result.records
            changed += result.changed
    return Run(rows, *clock(), changed=changed, parse_seconds=spent["parse"], apply_seconds=spent["apply"])


# -- the limit: bare lxml and COPY -----------------------------------------------------------

ADDRESS_KEYS = {
    "Addr1": "addr1", "Addr2": "addr2", "Addr3": "addr3", "Addr4": "addr4", "Addr5": "addr5",
    "City": "city", "State": "state", "PostalCode": "postal_code", "Country": "country", "Note": "note",
}  # fmt: skip
#: (column, element path) read with findtext, as strings; PostgreSQL converts them.
PLAIN = (
    ("qb_list_id", "ListID"), ("edit_sequence", "EditSequence"), ("qb_time_created", "TimeCreated"),
    ("qb_time_modified", "TimeModified"), ("name", "Name"), ("parent_list_id", "ParentRef/ListID"),
    ("company_name", "CompanyName"), ("salutation", "Salutation"), ("first_name", "FirstName"),
    ("last_name", "LastName"), ("email", "Email"), ("phone", "Phone"), ("alt_phone", "AltPhone"),
    ("fax", "Fax"), ("contact", "Contact"), ("alt_contact", "AltContact"),
    ("customer_type_list_id", "CustomerTypeRef/ListID"), ("customer_type_name", "CustomerTypeRef/FullName"),
    ("terms_list_id", "TermsRef/ListID"), ("terms_name", "TermsRef/FullName"),
    ("sales_rep_list_id", "SalesRepRef/ListID"), ("sales_rep_code", "SalesRepRef/FullName"),
    ("sales_tax_code_name", "SalesTaxCodeRef/FullName"), ("price_level_list_id", "PriceLevelRef/ListID"),
    ("price_level_name", "PriceLevelRef/FullName"), ("balance", "Balance"), ("total_balance", "TotalBalance"),
    ("credit_limit", "CreditLimit"), ("account_number", "AccountNumber"), ("job_status", "JobStatus"),
    ("notes", "Notes"),
)  # fmt: skip
CUSTOMER_COLUMNS = (
    "id", "tenant_id", *(c for c, _ in PLAIN), "full_name", "is_active", "sublevel",
    "bill_address", "ship_address", "custom_fields",
)  # fmt: skip
SHIP_TO_COLUMNS = ("id", "tenant_id", "customer_id", "position", "name", "is_default", *ADDRESS_KEYS.values())
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_line(values: list[Any]) -> str:
    """One row in COPY's text format."""
    return "\t".join("\\N" if v is None else str(v).translate(_COPY_ESCAPES) for v in values) + "\n"


def address_json(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return json.dumps({ADDRESS_KEYS[c.tag]: c.text for c in element if c.tag in ADDRESS_KEYS and c.text})


def limit_pages(dsn: str, tenant_id: int, pages: list[str], ship_tos: bool) -> Run:
    """The same pages parsed whole by lxml, columns read with findtext, loaded with COPY."""
    copy_customers = f"COPY ingest_limit_customers ({', '.join(CUSTOMER_COLUMNS)}) FROM STDIN"
    copy_ship_tos = f"COPY ingest_limit_ship_addresses ({', '.join(SHIP_TO_COLUMNS)}) FROM STDIN"
    rows, next_id, next_ship_to = 0, 1, 1
    with contextlib.closing(psycopg2.connect(dsn, options="-c timezone=UTC")) as db, db.cursor() as cur:
        cur.execute("TRUNCATE ingest_limit_customers, ingest_limit_ship_addresses")
        cur.execute("SELECT pg_backend_pid()")
        (backend,) = cur.fetchone()
        db.commit()
        with measured(backend) as clock:
            for page in pages:
                customers, addresses = io.StringIO(), io.StringIO()
                for ret in etree.fromstring(page).iter("CustomerRet"):
                    name = ret.findtext("Name") or ""
                    fields = {
                        e.findtext("DataExtName"): e.findtext("DataExtValue")
                        for e in ret.iterfind("DataExtRet")
                        if e.findtext("OwnerID") == "0"
                    }
                    values = [next_id, tenant_id, *(ret.findtext(path) for _, path in PLAIN)]
                    values += [
                        ret.findtext("FullName") or name,
                        ret.findtext("IsActive") or "true",
                        ret.findtext("Sublevel") or "0",
                        address_json(ret.find("BillAddress")),
                        address_json(ret.find("ShipAddress")),
                        json.dumps(fields) if fields else None,
                    ]
                    customers.write(copy_line(values))
                    if ship_tos:
                        for position, ship_to in enumerate(ret.iterfind("ShipToAddress")):
                            parts = [ship_to.findtext(tag) for tag in ADDRESS_KEYS]
                            default = ship_to.findtext("DefaultShipTo") or "false"
                            line = [
                                next_ship_to,
                                tenant_id,
                                next_id,
                                position,
                                ship_to.findtext("Name") or "",
                            ]
                            addresses.write(copy_line([*line, default, *parts]))
                            next_ship_to += 1
                    next_id += 1
                    rows += 1
                cur.execute("SET LOCAL synchronous_commit = off")
                customers.seek(0)
                cur.copy_expert(copy_customers, customers)
                if ship_tos:
                    addresses.seek(0)
                    cur.copy_expert(copy_ship_tos, addresses)
                db.commit()
    return Run(rows, *clock())


def create_limit_tables(engine: Engine) -> None:
    """Same columns as the mirror's tables; a primary key on id and nothing else (no unique
    (tenant_id, qb_list_id), no updated_at index, no foreign keys, no identity: ids come from us)."""
    with engine.begin() as conn:
        conn.execute(
            text("""
            DROP TABLE IF EXISTS ingest_limit_customers, ingest_limit_ship_addresses;
            CREATE TABLE ingest_limit_customers (LIKE customers INCLUDING DEFAULTS);
            ALTER TABLE ingest_limit_customers ADD PRIMARY KEY (id);
            CREATE TABLE ingest_limit_ship_addresses (LIKE customer_ship_addresses INCLUDING DEFAULTS);
            ALTER TABLE ingest_limit_ship_addresses ADD PRIMARY KEY (id);
        """)
        )


# -- measuring -------------------------------------------------------------------------------


def postgres_cpu(backend: int | None = None) -> float:
    """CPU seconds used so far by PostgreSQL backend `backend`, else by every process named
    postgres (the server and its backends, other people's included)."""
    total = 0
    for pid in [str(backend)] if backend else os.listdir("/proc"):
        if not pid.isdigit():
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            if stat[stat.index("(") + 1 : stat.rindex(")")] == "postgres":
                fields = stat[stat.rindex(")") + 2 :].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (gunicorn's master and workers)."""
    total = 0.0
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                total += sum(tree_cpu(int(child)) for child in f.read().split())
    return total


@contextlib.contextmanager
def measured(backend: int | None = None) -> Iterator[Callable[[], tuple[float, float, float]]]:
    """Wall, own CPU and PostgreSQL CPU seconds of the block (of `backend` when given), read by
    calling what it yields."""
    wall, cpu, db = time.perf_counter(), time.process_time(), postgres_cpu(backend)
    done: list[float] = []
    yield lambda: (done[0], done[1], done[2])
    done += [time.perf_counter() - wall, time.process_time() - cpu, postgres_cpu(backend) - db]


def checkpoint(engine: Engine) -> None:
    """Each measurement starts right after a checkpoint, so each pays the same full-page writes,
    and after a full garbage collection, so that none pays for the garbage of what ran before it
    (making the pages, the pass before; one collection of this process' heap costs 70 to 100 ms,
    a tenth of a pass)."""
    gc.collect()
    with engine.connect() as conn:
        conn.execute(text("CHECKPOINT"))


def memory() -> dict[str, float]:
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return {key: int(fields[key].split()[0]) * 1024 / MB for key in ("VmRSS", "VmHWM")}


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def rss_child(url: str, chars: int, seed: int, results: Any) -> None:
    """In a fresh process: build the text, then apply it, watching the peak RSS."""
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        tenant_id = tenants.add_tenant(conn, "ingest-rss", "ingest-rss")[0].id
    handler = PullHandler(SPEC)
    job = pull_job()
    with engine.begin() as conn:  # warm up imports, connection and caches on a small response
        handler.apply(conn, tenant_id, job, Reply(text=big_response(200_000, seed, 0xC0000000)))
    text_ = big_response(chars, seed, 0xA0000000)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand back what building the text freed
    before = memory()
    reset = reset_peak()
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        result = handler.apply(conn, tenant_id, job, Reply(text=text_))
    seconds = time.perf_counter() - start
    after = memory()
    results.put(
        {
            "chars": len(text_),
            "text_mb": sys.getsizeof(text_) / MB,
            "records": result.records,
            "seconds": seconds,
            "rss_before": before["VmRSS"],
            "peak": after["VmHWM"],
            "rss_after": after["VmRSS"],
            "hwm_reset": reset,
        }
    )
    engine.dispose()


# -- the full sync ---------------------------------------------------------------------------

SYNC_TABLES = {
    "customers": "customers",
    "customer_ship_addresses": None,
    "items": "items",
    "price_levels": "price_levels",
    "sales_orders": "sales_orders",
    "sales_order_lines": None,
    "invoices": "invoices",
    "invoice_lines": None,
    "payments": "payments",
    "payment_applications": None,
}


def full_sync(args: argparse.Namespace, url: str) -> None:
    company = generate_company(
        args.seed,
        customers=args.sync_customers,
        items=args.sync_items,
        invoices=args.sync_invoices,
        sales_orders=args.sync_sales_orders,
        payments=args.sync_payments,
    )
    collections = ("customers", "items", "sales_orders", "invoices", "payments")
    counts = {name: len(getattr(company, name)) for name in collections}
    quickbooks = SimulatedQuickBooks(company, validate=args.validate)
    inside = [0.0]
    process = quickbooks.process

    def timed_process(request_xml: str) -> str:
        start = time.perf_counter()
        try:
            return process(request_xml)
        finally:
            inside[0] += time.perf_counter() - start

    quickbooks.process = timed_process  # type: ignore[method-assign]
    engine = make_engine(url)
    with engine.begin() as conn:
        info, password = tenants.add_tenant(conn, "ingest-sync", "ingest-sync")
        set_push_settings(conn, info.id, live_window_seconds=0)  # no live window: ends when done
    with contextlib.ExitStack() as stack:
        server_pid = None
        if args.server == "gunicorn":
            log = stack.enter_context(tempfile.TemporaryFile())
            options = ["--log-level", "warning"]
            gunicorn, base_url = spawn_gunicorn(url, options=options, output=log)
            stack.callback(gunicorn.wait, 30)
            stack.callback(gunicorn.terminate)
            endpoint, server_pid = base_url + "/qbwc", gunicorn.pid
        else:
            settings = load_settings({"DATABASE_URL": url})
            endpoint = stack.enter_context(BackgroundServer(create_app(settings, engine))).url
        connector = SimulatedWebConnector(endpoint, "ingest-sync", password or "", quickbooks, timeout=300)
        server_before = tree_cpu(server_pid) if server_pid else 0.0
        with measured() as clock:
            report = connector.run_session()
        wall, cpu, db_cpu = clock()
        server_cpu = tree_cpu(server_pid) - server_before if server_pid else None
    calls = sum(call.seconds for call in report.calls)
    print(
        f"\nFirst full sync: {counts['customers']:,} customers, {counts['items']:,} items,"
        f" {counts['sales_orders']:,} sales orders, {counts['invoices']:,} invoices,"
        f" {counts['payments']:,} payments; server: {args.server}; XSD validation"
        f" {'on' if args.validate else 'off'}"
    )
    print(f"  session: {report.outcome}; {report.close_message!r}")
    for problem in (*report.errors, *report.warnings):
        print(f"  ! {problem}")
    print(f"  wall time, authenticate to closeConnection: {wall:8.1f} s")
    trips = report.requests_processed
    print(f"  round trips (request documents answered):   {trips:8d}   ({len(report.calls)} SOAP calls)")
    print(f"  inside SimulatedQuickBooks.process:         {inside[0]:8.1f} s  ({inside[0] / wall:.0%})")
    print(f"  in SOAP calls (server + HTTP, as timed by the client): {calls:8.1f} s  ({calls / wall:.0%})")
    if server_cpu is not None:
        print(f"  server CPU (gunicorn master + workers):    {server_cpu:8.1f} s")
    print(f"  PostgreSQL CPU (all postgres processes):    {db_cpu:8.1f} s")
    print(f"  this process' CPU (simulators, HTTP client): {cpu:8.1f} s")
    print(f"  {'table':26} {'rows':>9} {'in the company':>15}")
    with engine.connect() as conn:
        for table, collection in SYNC_TABLES.items():
            rows = conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": info.id}
            ).scalar()
            expected = len(getattr(company, collection)) if collection else None
            if table == "invoices":  # only invoices made from a (mirrored) sales order are kept
                made = sum(
                    any(link.txn_type == "SalesOrder" for link in invoice.linked_txns)
                    for invoice in company.invoices.values()
                )
                expected_note = f" ({made:,} from a sales order)"
            else:
                expected_note = ""
            mark = (
                ""
                if expected is None or expected == rows or expected_note.startswith(f" ({rows:,} ")
                else "   <- differs"
            )
            print(
                f"  {table:26} {rows:>9,} {'' if expected is None else f'{expected:,}':>15}"
                f"{expected_note}{mark}"
            )
        jobs = conn.execute(
            text("SELECT kind, status, count(*) FROM jobs WHERE tenant_id = :t GROUP BY 1, 2 ORDER BY 1"),
            {"t": info.id},
        ).all()
        bad = [f"{kind} {status} x{n}" for kind, status, n in jobs if status != "done"]
        print(f"  jobs: {len(jobs)} kinds, {'all done' if not bad else 'not done: ' + ', '.join(bad)}")
    engine.dispose()


# -- main ------------------------------------------------------------------------------------


def apply_rate(args: argparse.Namespace, url: str) -> tuple[float, list[str]]:
    start = time.perf_counter()
    pages = customer_pages(args.customers, args.seed, args.validate)
    made = time.perf_counter() - start
    size = sum(len(p.encode()) for p in pages)
    ship_tos = sum(p.count("<ShipToAddress>") for p in pages)
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        tenant_id = tenants.add_tenant(conn, "ingest", "ingest")[0].id
    create_limit_tables(engine)
    checkpoint(engine)
    first = apply_pages(engine, tenant_id, pages)
    checkpoint(engine)
    second = apply_pages(engine, tenant_id, pages)
    checkpoint(engine)
    third = apply_pages(engine, tenant_id, pages, incremental=True)
    with engine.connect() as conn:
        count = "SELECT count(*) FROM {} WHERE tenant_id = :t"
        landed = conn.execute(text(count.format("customers")), {"t": tenant_id}).scalar()
        landed_ship = conn.execute(text(count.format("customer_ship_addresses")), {"t": tenant_id}).scalar()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    checkpoint(engine)
    limit = limit_pages(dsn, tenant_id, pages, ship_tos=False)
    checkpoint(engine)
    limit_ship = limit_pages(dsn, tenant_id, pages, ship_tos=True)

    print(
        f"Apply rate: {first.rows:,} customers ({ship_tos:,} ship-to addresses) in {len(pages)} pages,"
        f" {size / MB:.1f} MB of qbXML ({size / len(pages) / 1000:.0f} kB a page);"
        f" made by the simulator in {made:.1f} s"
    )
    print(
        f"  landed: {landed:,} customers, {landed_ship:,} ship-to addresses;"
        f" second pass changed {second.changed}"
    )
    print(
        f"  {'path':54} {'s':>6} {'rows/s':>8} {'vs limit':>8} {'our CPU':>8} {'PG CPU':>7}"
        f" {'rows/CPU s':>10} {'vs limit':>8}"
    )
    table = [
        ("ours: apply(), first pass (all new)", first, limit),
        ("ours: apply(), second pass (all unchanged)", second, limit),
        ("ours: apply(), incremental pass (all unchanged)", third, limit),
        ("limit: lxml + COPY, customers table", limit, None),
        ("limit: lxml + COPY, customers + ship-to addresses", limit_ship, None),
        ("ours first pass vs limit with ship-to addresses", first, limit_ship),
    ]
    for label, run, against in table:
        ratio = f"{run.rate / against.rate:8.0%}" if against else " " * 8
        cpu_ratio = f"{run.cpu_rate / against.cpu_rate:8.0%}" if against else " " * 8
        print(
            f"  {label:54} {run.seconds:6.2f} {run.rate:8,.0f} {ratio} {run.cpu:7.2f}s {run.db_cpu:6.2f}s"
            f" {run.cpu_rate:10,.0f} {cpu_ratio}"
        )
    for label, run in (("first", first), ("second", second)):
        rest = run.seconds - run.parse_seconds - run.apply_seconds
        print(
            f"  ours, {label} pass: {run.parse_seconds:5.2f} s {SPEC.parse.__name__},"
            f" {run.apply_seconds:5.2f} s {SPEC.apply.__name__} (rows + SQL),"
            f" {rest:5.2f} s the rest (ResponseStream, commit)"
        )
    if args.profile:
        with engine.begin() as conn:
            profiled_tenant = tenants.add_tenant(conn, "ingest-profile", "ingest-profile")[0].id
        for label, passes in (("first pass (all new)", 1), ("second pass (all unchanged)", 2)):
            profile = cProfile.Profile()
            for n in range(passes):
                apply_pages(engine, profiled_tenant, pages, profile if n == passes - 1 else None)
            print(f"\ncProfile of apply(), {label}, by own time:")
            stats = pstats.Stats(profile, stream=sys.stdout)
            stats.sort_stats("tottime").print_stats(args.profile_lines)
            stats.sort_stats("cumulative").print_stats(args.profile_lines)
    engine.dispose()
    return first.rate / limit.rate, pages


def peak_rss(args: argparse.Namespace, url: str) -> float:
    context = mp.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=rss_child, args=(url, int(args.rss_mb * MB), args.seed, results))
    child.start()
    outcome = results.get(timeout=1800)
    child.join()
    growth = float(outcome["peak"] - outcome["rss_before"])
    print(
        f"\nPeak RSS: one CustomerQueryRs of {outcome['chars'] / MB:.1f} M characters"
        f" ({outcome['text_mb']:.1f} MB as a str), {outcome['records']:,} customers, applied in"
        f" {outcome['seconds']:.1f} s ({outcome['records'] / outcome['seconds']:,.0f} rows/s)"
    )
    print(
        f"  RSS with the text built {outcome['rss_before']:.1f} MB;"
        f" peak while applying {outcome['peak']:.1f} MB"
        f" ({'HWM reset before' if outcome['hwm_reset'] else 'HWM NOT reset: an upper bound'});"
        f" after {outcome['rss_after']:.1f} MB"
    )
    print(f"  peak growth beyond the text: {growth:.1f} MB (target < {RSS_TARGET_MB:.0f} MB)")
    return growth


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument(
        "--customers", type=int, default=20_000, help="customers for the apply rate (default 20000)"
    )
    parser.add_argument(
        "--rss-mb", type=float, default=100.0, help="size of the one big response, MB (default 100)"
    )
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS measurement")
    parser.add_argument("--sync", action="store_true", help="also run the first full sync (slow)")
    parser.add_argument("--sync-only", action="store_true", help="run only the first full sync")
    parser.add_argument("--sync-customers", type=int, default=10_000, help="default 10000")
    parser.add_argument("--sync-items", type=int, default=2_000, help="default 2000")
    parser.add_argument("--sync-invoices", type=int, default=20_000, help="default 20000")
    parser.add_argument("--sync-sales-orders", type=int, help="default: the generator's (= invoices)")
    parser.add_argument("--sync-payments", type=int, help="default: the generator's (60%% of invoices)")
    parser.add_argument("--server", choices=["gunicorn", "thread"], default="gunicorn",
                        help="gunicorn with our config (default), or a thread of this process")  # fmt: skip
    parser.add_argument(
        "--validate", action="store_true", help="the simulated QuickBooks validates against the XSD"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile apply() on both passes and print the top"
    )
    parser.add_argument("--profile-lines", type=int, default=25)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a database on the server to use (default: local postgres)")  # fmt: skip
    parser.add_argument("--database", default="qbwc_ingest", help="scratch database, dropped and recreated")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database at the end")
    args = parser.parse_args()

    url = scratch_database(args.admin_url, args.database)
    missed: list[str] = []
    try:
        upgrade_to_head(url)
        print(
            f"{os.cpu_count()} cores; PostgreSQL {args.admin_url.rsplit('@', 1)[-1]},"
            f" database {args.database}"
        )
        if not args.sync_only:
            ratio, _ = apply_rate(args, url)
            if ratio < RATIO_TARGET:
                missed.append(f"apply rate {ratio:.0%} of the limit (target ≥ {RATIO_TARGET:.0%})")
            if not args.no_rss:
                growth = peak_rss(args, url)
                if growth >= RSS_TARGET_MB:
                    missed.append(f"peak RSS growth {growth:.0f} MB (target < {RSS_TARGET_MB:.0f} MB)")
        if args.sync or args.sync_only:
            full_sync(args, url)
    finally:
        if not args.keep:
            scratch_database(args.admin_url, args.database, drop_only=True)
    for miss in missed:
        print(f"MISSED: {miss}")
    if args.check and missed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
