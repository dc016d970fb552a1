"""Full Web Connector sessions per second against the app under gunicorn (not a test).

Each session is what QBWC does for one queued job: serverVersion, clientVersion,
authenticate, sendRequestXML (with the HCP response), receiveResponseXML, closeConnection —
the exact envelopes and headers of PROTOCOL.md §4 over one keep-alive connection. One load
process per concurrent Web Connector (each its own tenant, as in production); each enqueues one
job before each session. Prints sessions/s and latency per concurrency and response size.

The job is a raw CustomerQuery (`--job raw`, the default), or one page of a customers pull
(`--job pull`): the server's own CustomerQueryRq, answered with 500 customers the simulated
QuickBooks rendered, applied to the mirror. The same customers every session (unchanged after
the first: the common case of an incremental pull re-reading its overlap), or with `--changed`
a new EditSequence, TimeModified and name for every customer every session.

    python bench/sessions.py                       # embedded Postgres, or DATABASE_URL
    python bench/sessions.py --concurrency 1 4 --duration 15 --worker-class gthread --workers 3
    python bench/sessions.py --job pull --sizes large --concurrency 1 4 --duration 8 [--changed]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import multiprocessing as mp
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import psycopg2
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qbwc_server.admin import tenants  # noqa: E402
from qbwc_server.admin.settings import set_pull_settings, set_push_settings  # noqa: E402
from qbwc_server.config import load_settings  # noqa: E402
from qbwc_server.db import resolve_database_url, upgrade_to_head  # noqa: E402
from qbwc_server.qbxml.core import QbxmlVersion, wrap_request  # noqa: E402
from qbwc_server.queue import ClaimedJob  # noqa: E402
from qbwc_server.simulator import host_response  # noqa: E402
from qbwc_server.simulator.generator import generate_company  # noqa: E402
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks  # noqa: E402
from qbwc_server.sync.pull import PullHandler  # noqa: E402
from qbwc_server.sync.pulls import PULLS_BY_ENTITY  # noqa: E402
from qbwc_server.testing import (  # noqa: E402
    backend_pids,
    cpu_seconds,
    process_tree,
    spawn_gunicorn,
    wait_until_settled,
)

TNS = "http://developer.intuit.com/"
HEADERS = {
    "Content-Type": "text/xml; charset=utf-8",
    "User-Agent": "Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client Protocol 2.0.50727.9151)",
}
PREFIX = (
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
    "<soap:Body>"
)
SUFFIX = "</soap:Body></soap:Envelope>"
RESULT = re.compile(rb"Result>([^<]*)</")
STRINGS = re.compile(rb"<(?:\w+:)?string>([^<]*)</(?:\w+:)?string>|<(?:\w+:)?string\s*/>")
COMPANY = r"C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\Bench.QBW"
REQUEST = '<CustomerQueryRq requestID="1"><MaxReturned>500</MaxReturned></CustomerQueryRq>'
REQUEST_ID = re.compile(rb"requestID=(?:&quot;|\")(\d+)")
DONE_RAW = re.compile(rb"Done: 1 raw qbXML request\.")
DONE_PULL = re.compile(rb"Done: (?:pulled \d+ customers?|everything was already up to date)\.")
#: Per-session values in a pull page's template (control characters: never in qbXML text).
JOB_ID, STAMP, NOW = "\x01", "\x02", "\x03"
PULL = PULLS_BY_ENTITY["customers"]
#: What `sync/schedule.py` queues for a due incremental customers pull, in one statement.
ENQUEUE_PULL = (
    "INSERT INTO jobs (tenant_id, kind, priority, params) VALUES ($1, 'customers.pull', $2,"
    " jsonb_build_object('started_at', now(), 'page_size', 500, 'since', now() - interval '20 minutes'))"
)


def customer_response(customers: int) -> str:
    """A realistic CustomerQueryRs; 500 customers make about 650 kB."""
    rets = []
    for i in range(customers):
        rets.append(
            f"<CustomerRet><ListID>{800000 + i:X}-1234567890</ListID>"
            "<TimeCreated>2024-01-02T10:00:00-05:00</TimeCreated>"
            "<TimeModified>2024-06-01T12:30:00-05:00</TimeModified>"
            f"<EditSequence>{1700000000 + i}</EditSequence>"
            f"<Name>Customer {i} &amp; Sons</Name><FullName>Customer {i} &amp; Sons</FullName>"
            "<IsActive>true</IsActive><Sublevel>0</Sublevel><CompanyName>Customer Wholesale LLC</CompanyName>"
            "<BillAddress><Addr1>Customer Wholesale LLC</Addr1>"
            "<Addr2>1200 Peachtree Street NE, Suite 400</Addr2>"
            "<City>Atlanta</City><State>GA</State><PostalCode>30309</PostalCode><Country>USA</Country>"
            "</BillAddress><ShipAddress><Addr1>Customer Wholesale LLC</Addr1><Addr2>Dock 7, 55 Industrial Way"
            "</Addr2><City>Marietta</City><State>GA</State><PostalCode>30060</PostalCode></ShipAddress>"
            "<Phone>404-555-0100</Phone><Email>orders@customer.example.com</Email>"
            "<Contact>Pat Jones</Contact>"
            "<CustomerTypeRef><ListID>10000-1</ListID><FullName>Wholesale</FullName></CustomerTypeRef>"
            "<TermsRef><ListID>20000-1</ListID><FullName>Net 30</FullName></TermsRef>"
            "<SalesRepRef><ListID>30000-1</ListID><FullName>JD</FullName></SalesRepRef>"
            "<Balance>1234.56</Balance><TotalBalance>1234.56</TotalBalance>"
            "<SalesTaxCodeRef><ListID>40000-1</ListID><FullName>Non</FullName></SalesTaxCodeRef>"
            "<JobStatus>None</JobStatus><Notes>Preferred customer since 2019; deliver before noon.</Notes>"
            "</CustomerRet>"
        )
    return (
        '<?xml version="1.0" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<CustomerQueryRs requestID="1" statusCode="0"'
        ' statusSeverity="Info" statusMessage="Status OK">' + "".join(rets) + "</CustomerQueryRs>\n"
        "</QBXMLMsgsRs>\n</QBXML>\n"
    )


def pull_page(customers: int, changed: bool) -> str:
    """The page a customers pull gets: the server's own first request (MaxReturned 500, iterator
    Start), answered by the simulated QuickBooks, with the iterator ending there. A template:
    JOB_ID stands for the job's requestID; with `changed`, STAMP is appended to every
    EditSequence and name and NOW replaces every TimeModified."""
    company = generate_company(1, customers=customers, items=10, sales_orders=0, invoices=0, payments=0)
    job = ClaimedJob(id=1, tenant_id=0, kind=PULL.kind, params={"page_size": 500})
    version = QbxmlVersion(13, 0)
    request = PullHandler(PULL).build_request(None, job, version)  # type: ignore[arg-type]
    page = SimulatedQuickBooks(company).process(wrap_request(request, version))
    page = re.sub(r'iteratorRemainingCount="\d+"', 'iteratorRemainingCount="0"', page, count=1)
    page = page.replace('requestID="1"', f'requestID="{JOB_ID}"', 1)
    if changed:
        page = re.sub(r"(</EditSequence><Name>[^<]*)</Name>", rf"\1 {STAMP}</Name>", page)
        page = page.replace("</EditSequence>", f"{STAMP}</EditSequence>")
        page = re.sub(r"<TimeModified>[^<]*</TimeModified>", f"<TimeModified>{NOW}</TimeModified>", page)
    return page


def envelope(operation: str, children: str = "") -> bytes:
    if not children:
        return f'{PREFIX}<{operation} xmlns="{TNS}" />{SUFFIX}'.encode()
    return f'{PREFIX}<{operation} xmlns="{TNS}">{children}</{operation}>{SUFFIX}'.encode()


def element(name: str, value: str | int) -> str:
    text_value = escape(str(value))
    return f"<{name}>{text_value}</{name}>" if text_value else f"<{name} />"


class Client:
    """One Web Connector on one keep-alive connection; envelopes pre-built where nothing varies.

    HTTP/1.1 by hand on a raw socket, with the headers QBWC sends: http.client's own cost per
    request (about 0.25 ms here) would otherwise be measured instead of the server's.
    """

    def __init__(
        self, host: str, port: int, path: str, username: str, password: str, response: str, job: str = "raw"
    ) -> None:
        self.address, self.path, self.job = (host, port), path, job
        self.sock: socket.socket | None = None  # connected on the first call
        self.buffer = b""
        self.server_version = envelope("serverVersion")
        self.client_version = envelope("clientVersion", element("strVersion", "2.3.0.215"))
        self.authenticate = envelope(
            "authenticate", element("strUserName", username) + element("strPassword", password)
        )
        hcp = host_response(company_file=COMPANY, supported_versions=["12.0", "13.0"], country="US")
        self.send_tail = (
            element("strHCPResponse", hcp)
            + element("strCompanyFileName", COMPANY)
            + element("qbXMLCountry", "US")
            + element("qbXMLMajorVers", 13)
            + element("qbXMLMinorVers", 0)
        )
        self.receive_tail = element("response", response) + "<hresult /><message />"

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=120)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def post(self, operation: str, body: bytes) -> bytes:
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.address[0]}:{self.address[1]}\r\n"
            f"User-Agent: {HEADERS['User-Agent']}\r\nContent-Type: {HEADERS['Content-Type']}\r\n"
            f'SOAPAction: "{TNS}{operation}"\r\nContent-Length: {len(body)}\r\n\r\n'
        )
        if self.sock is None:
            self.sock, self.buffer = self._connect(), b""
        self.sock.sendall(head.encode() + body)
        status, headers, data = self._read_response()
        if status != 200:
            raise RuntimeError(f"{operation}: HTTP {status}: {data[:300]!r}")
        if headers.get(b"connection", b"").lower() == b"close":
            self.reconnect()
        return data

    def _read_response(self) -> tuple[int, dict[bytes, bytes], bytes]:
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        lines = self.buffer[:end].split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
        total = end + 4 + int(headers[b"content-length"])
        while len(self.buffer) < total:
            self._fill()
        data, self.buffer = self.buffer[end + 4 : total], self.buffer[total:]
        return status, headers, data

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def reconnect(self) -> None:
        """A new TCP connection, as the Web Connector opens when its last one idled out."""
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def session(self) -> None:
        self.post("serverVersion", self.server_version)
        self.post("clientVersion", self.client_version)
        auth = self.post("authenticate", self.authenticate)
        items = [m.group(1) or b"" for m in STRINGS.finditer(auth)]
        if len(items) < 2 or not items[0]:
            raise RuntimeError(f"authenticate gave {items!r}")
        ticket = items[0].decode()
        request = self.post(
            "sendRequestXML", envelope("sendRequestXML", element("ticket", ticket) + self.send_tail)
        )
        if b"CustomerQueryRq" not in request:
            raise RuntimeError(f"sendRequestXML gave {request[:300]!r}")
        tail = self.receive_tail
        if self.job == "pull":  # this job's requestID; a new version of every customer if --changed
            job_id = REQUEST_ID.search(request)
            if job_id is None:
                raise RuntimeError(f"sendRequestXML gave no requestID: {request[:300]!r}")
            tail = tail.replace(JOB_ID, job_id.group(1).decode(), 1)
            if STAMP in tail:
                now = dt.datetime.now(dt.UTC)
                tail = tail.replace(STAMP, str(time.time_ns() // 1000))
                tail = tail.replace(NOW, now.replace(microsecond=0).isoformat())
        receive = envelope("receiveResponseXML", element("ticket", ticket) + tail)
        percent = RESULT.search(self.post("receiveResponseXML", receive))
        if not percent or percent.group(1) != b"100":
            raise RuntimeError(f"receiveResponseXML gave {percent!r}")
        closing = self.post("closeConnection", envelope("closeConnection", element("ticket", ticket)))
        done = DONE_RAW if self.job == "raw" else DONE_PULL
        if not done.search(closing):
            raise RuntimeError(f"closeConnection did not report the job done: {closing[-300:]!r}")


#: Seconds each client runs sessions before the measurement (at least 3 sessions).
WARM_UP_SECONDS = 3.0


def load_process(args: tuple[str, str, str, str, str, float, bool, str, mp.Queue, Any, Any]) -> None:  # type: ignore[type-arg]
    """One Web Connector's loop: queue one job (the push or the due pull that makes its work),
    run one session. After the warm-up it waits at `warmed` (the parent then ANALYZEs the tables
    the warm-up grew) and at `start_line`, which the parent passes once it has read the CPU
    counters, so CPU and sessions are counted over one window."""
    url, database_url, username, password, response, duration, reconnect, job, results, warmed, start_line = (
        args
    )
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    client = Client(host, int(port), "/qbwc", username, password, response, job)
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    # closing(), not `with connection`: psycopg2's own context opens a transaction even in autocommit.
    with contextlib.closing(psycopg2.connect(dsn)) as db:
        db.autocommit = True
        cursor = db.cursor()
        cursor.execute("SELECT id FROM tenants WHERE username = %s", (username,))
        (tenant_id,) = cursor.fetchone()
        # Prepared, so the push costs the database what a real one does, not a fresh plan each time.
        if job == "pull":
            cursor.execute(f"PREPARE bench_enqueue AS {ENQUEUE_PULL}")
            enqueue = (tenant_id, PULL.priority)
        else:
            cursor.execute(
                "PREPARE bench_enqueue AS"
                " INSERT INTO jobs (tenant_id, kind, request_body) VALUES ($1, 'qbxml.raw', $2)"
            )
            enqueue = (tenant_id, REQUEST)
        latencies: list[float] = []
        # Warm-up: connections, prepared statements, the mirror's first rows, and tables grown
        # enough that the statistics ANALYZE takes next lead to index scans (autovacuum is off on
        # this machine: statements planned on near-empty tables kept sequential scans as they grew).
        warm_until = time.perf_counter() + WARM_UP_SECONDS
        for i in itertools.count():
            if i >= 3 and time.perf_counter() > warm_until:
                break
            cursor.execute("EXECUTE bench_enqueue(%s, %s)", enqueue)
            client.session()
        warmed.wait()
        start_line.wait()
        cpu = time.process_time()
        deadline = time.perf_counter() + duration
        while time.perf_counter() < deadline:
            cursor.execute("EXECUTE bench_enqueue(%s, %s)", enqueue)
            start = time.perf_counter()
            if reconnect:
                client.reconnect()
            client.session()
            latencies.append(time.perf_counter() - start)
    results.put((latencies, time.process_time() - cpu))


def start_gunicorn(
    database_url: str, worker_class: str | None, workers: int, threads: int | None
) -> tuple[subprocess.Popen[bytes], str]:
    environ = {**os.environ, "QBWC_WORKERS": str(workers)}
    if threads:
        environ["QBWC_THREADS"] = str(threads)
    log = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as gunicorn; closed with the process)
    options = ["--log-level", "warning"]
    if worker_class:  # else the config's (qbwc_server.http_worker.LingeringThreadWorker)
        options += ["--worker-class", worker_class]
    process, base_url = spawn_gunicorn(database_url, options=options, environ=environ, output=log)
    wait_until_settled(process.pid)  # every worker booted, not only the first
    return process, base_url + "/qbwc"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--sizes", nargs="+", choices=["small", "large"], default=["small", "large"])
    parser.add_argument(
        "--job",
        choices=["raw", "pull"],
        default="raw",
        help="raw: one raw CustomerQuery a session (default); pull: one page of a customers pull, applied",
    )
    parser.add_argument(
        "--changed", action="store_true", help="--job pull: every customer changes every session"
    )
    parser.add_argument(
        "--worker-class", default=None, help="gunicorn worker class (default: the config's), e.g. gthread"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn workers (default: the config's, 2 per core)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="threads per worker (default: the config's)"
    )
    parser.add_argument(
        "--reconnect",
        action="store_true",
        help="open a new connection for every session (the Web Connector does when polls are more than"
        " ~100 s apart) instead of keeping one per client",
    )
    args = parser.parse_args()

    settings = load_settings()
    database_url = resolve_database_url(settings)
    upgrade_to_head(database_url)
    engine = create_engine(database_url)
    passwords: dict[str, str] = {}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM tenants WHERE name LIKE 'bench-%'"))
        for i in range(max(args.concurrency)):
            info, password = tenants.add_tenant(conn, f"bench-{i}", f"bench-{i}")
            # The raw-job session is what is measured here; pulls have bench/ingest.py.
            set_pull_settings(conn, info.id, intervals={"default": 0})
            set_push_settings(conn, info.id, live_window_seconds=0)  # no live window: ends when done
            passwords[f"bench-{i}"] = password or ""
    workers = args.workers or 2 * (os.cpu_count() or 1)
    process, url = start_gunicorn(database_url, args.worker_class, workers, args.threads)
    print(
        f"gunicorn {args.worker_class or 'the config'}'s worker, workers={workers}"
        f" threads={args.threads or 'default'};"
        f" {'a new connection per session' if args.reconnect else 'one keep-alive connection per client'};"
        f" job: {args.job}{' (every customer changed)' if args.changed else ''};"
        f" {os.cpu_count()} cores; "
        f"load generator on the same machine"
    )
    try:
        for size in args.sizes:
            customers = 1 if size == "small" else 500
            if args.job == "pull":
                response = pull_page(customers, args.changed)
            else:
                response = customer_response(customers)
            for concurrency in args.concurrency:
                results: mp.Queue = mp.Queue()  # type: ignore[type-arg]
                warmed, start_line = mp.Barrier(concurrency + 1), mp.Barrier(concurrency + 1)
                procs = [
                    mp.Process(
                        target=load_process,
                        args=(
                            (
                                url,
                                database_url,
                                f"bench-{i}",
                                passwords[f"bench-{i}"],
                                response,
                                args.duration,
                                args.reconnect,
                                args.job,
                                results,
                                warmed,
                                start_line,
                            ),
                        ),
                    )
                    for i in range(concurrency)
                ]
                for p in procs:
                    p.start()
                warmed.wait(timeout=120)  # the clients' warm-up opened every pool's connections
                # autovacuum is off on this machine's cluster: each session leaves dead job and
                # session rows, which piled up run after run and slowed both sides' statements.
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE jobs, qbwc_sessions, tenants"))
                with engine.connect() as conn:
                    servers, backends = process_tree(process.pid), backend_pids(conn)
                    server_cpu, pg_cpu = cpu_seconds(servers), cpu_seconds(backends)
                    start_line.wait(timeout=120)  # the clients start once warmed up
                    answers = [results.get(timeout=args.duration + 120) for _ in procs]
                    server_cpu = cpu_seconds(servers) - server_cpu
                    pg_cpu = cpu_seconds(backends) - pg_cpu
                latencies = [lat for lats, _ in answers for lat in lats]
                client_cpu = sum(c for _, c in answers)
                for p in procs:
                    p.join()
                    if p.exitcode:
                        raise SystemExit(f"a load process failed (exit {p.exitcode})")
                rate = len(latencies) / args.duration
                q = statistics.quantiles(latencies, n=20)
                print(
                    f"response {len(response) / 1000:7.1f} kB  concurrency {concurrency}:"
                    f" {rate:7.1f} sessions/s"
                    f"  (p50 {statistics.median(latencies) * 1000:6.2f} ms, p95 {q[18] * 1000:6.2f} ms,"
                    f" {len(latencies)} sessions)",
                    flush=True,
                )
                n = len(latencies)
                print(
                    f"    CPU per session: gunicorn {server_cpu / n * 1e6:.0f} µs, PostgreSQL backends"
                    f" {pg_cpu / n * 1e6:.0f} µs (the clients' enqueue included), load clients"
                    f" {client_cpu / n * 1e6:.0f} µs",
                    flush=True,
                )
    finally:
        process.terminate()
        process.wait(timeout=30)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM tenants WHERE name LIKE 'bench-%'"))
        engine.dispose()


if __name__ == "__main__":
    main()
