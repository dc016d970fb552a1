"""Memory of a gunicorn worker around one huge receiveResponseXML, over HTTP (not a test).

Starts gunicorn with deploy/gunicorn.conf.py and one worker, then for each size posts one
receiveResponseXML whose envelope is that many MB (a CustomerQueryRs, escaped as QBWC sends it)
and samples the worker's VmRSS from /proc every 10 ms: before, peak during, right after the
reply, and 3 s later (a recycled worker shows as a new pid). Each row has a gunicorn of its own,
so "before" is a fresh worker's. `--ticket bad` measures the HTTP/SOAP edge alone (the session
answers -1 at once); `--ticket live` sends it as the answer to a queued job: `--job raw` (a raw
qbXML job, which stores the answer in PostgreSQL) and/or `--job pull` (a customers pull, whose
page is applied to the mirror).

    python bench/edge_memory.py                        # 100 and 200 MB: bad, live raw, live pull
    python bench/edge_memory.py --sizes 50 --ticket live --job raw --max-body-mb 100
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from xml.sax.saxutils import escape

from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from sessions import COMPANY, PREFIX, SUFFIX, TNS, customer_response, element  # noqa: E402

from qbwc_server.admin import tenants  # noqa: E402
from qbwc_server.admin.settings import set_pull_settings, set_push_settings  # noqa: E402
from qbwc_server.config import load_settings  # noqa: E402
from qbwc_server.db import resolve_database_url, upgrade_to_head  # noqa: E402
from qbwc_server.simulator import host_response  # noqa: E402
from qbwc_server.testing import spawn_gunicorn  # noqa: E402

TENANT = "bench-edge"
REQUEST = '<CustomerQueryRq requestID="1"><MaxReturned>500</MaxReturned></CustomerQueryRq>'
RESULT = re.compile(rb"Result>([^<]*)</")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def worker_pid(master: int, timeout: float = 30.0) -> int:
    """The (single) worker of gunicorn's `master`, once it is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise RuntimeError("gunicorn has no worker")


def post(port: int, operation: str, body: bytes, timeout: float = 600) -> tuple[int, bytes]:
    """One POST on a fresh connection; (status, body)."""
    head = (
        f"POST /qbwc HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/xml; charset=utf-8\r\n"
        f'SOAPAction: "{TNS}{operation}"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n'
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        view = memoryview(body)
        try:
            for start in range(0, len(body), 1 << 20):
                sock.sendall(view[start : start + (1 << 20)])
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered (413) and closed before the body was all sent: read the answer
        reply = bytearray()
        try:
            while chunk := sock.recv(1 << 16):
                reply += chunk
        except ConnectionResetError:
            pass
    status = int(reply.split(b" ", 2)[1]) if reply else 0
    return status, bytes(reply.partition(b"\r\n\r\n")[2])


def envelope(operation: str, children: str) -> bytes:
    return f'{PREFIX}<{operation} xmlns="{TNS}">{children}</{operation}>{SUFFIX}'.encode()


def big_envelope(ticket: str, megabytes: float) -> bytes:
    """A receiveResponseXML of `megabytes` MB (10^6 bytes), give or take a customer."""
    one = len(escape(customer_response(1))) - len(escape(customer_response(0)))
    response = customer_response(max(1, int(megabytes * 1_000_000) // one))
    body = envelope(
        "receiveResponseXML",
        element("ticket", ticket) + element("response", response) + "<hresult /><message />",
    )
    return body


def start_session(port: int, engine, tenant_id: int, password: str, job: str) -> str:  # type: ignore[no-untyped-def]
    """A session whose one outstanding request is a raw CustomerQueryRq or a customers pull's page."""
    with engine.begin() as conn:
        if job == "raw":
            conn.execute(
                text("INSERT INTO jobs (tenant_id, kind, request_body) VALUES (:t, 'qbxml.raw', :b)"),
                {"t": tenant_id, "b": REQUEST},
            )
        else:  # a whole pull in one page (no iterator left): applied, then the cursor moves
            conn.execute(
                text("""INSERT INTO jobs (tenant_id, kind, params) VALUES (:t, 'customers.pull',
                        jsonb_build_object('started_at', now(), 'page_size', 500))"""),
                {"t": tenant_id},
            )
    auth = envelope("authenticate", element("strUserName", TENANT) + element("strPassword", password))
    ticket = re.findall(rb"<tns:string>([^<]*)</tns:string>", post(port, "authenticate", auth)[1])[0].decode()
    hcp = host_response(company_file=COMPANY, supported_versions=["12.0", "13.0"], country="US")
    send = envelope(
        "sendRequestXML",
        element("ticket", ticket)
        + element("strHCPResponse", hcp)
        + element("strCompanyFileName", COMPANY)
        + element("qbXMLCountry", "US")
        + element("qbXMLMajorVers", 13)
        + element("qbXMLMinorVers", 0),
    )
    if b"CustomerQueryRq" not in post(port, "sendRequestXML", send)[1]:
        raise RuntimeError("sendRequestXML sent no request")
    return ticket


def measure(master: int, port: int, body: bytes) -> dict[str, object]:
    pid = worker_pid(master)
    before = rss_mb(pid)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                peak[0] = max(peak[0], rss_mb(pid))
            except (FileNotFoundError, ProcessLookupError):
                return
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    status, reply = post(port, "receiveResponseXML", body)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    try:
        right_after = f"{rss_mb(pid):.0f}"
    except FileNotFoundError:
        right_after = "gone"
    time.sleep(3)
    later_pid = worker_pid(master)
    result = RESULT.search(reply)
    return {
        "status": status,
        "result": result.group(1).decode() if result else ("fault" if b"Fault>" in reply else "?"),
        "seconds": elapsed,
        "before": before,
        "peak": peak[0],
        "after": right_after,
        "later": rss_mb(later_pid),
        "recycled": later_pid != pid,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=float, nargs="+", default=[100, 200], help="envelope sizes in MB")
    parser.add_argument("--ticket", choices=["bad", "live", "both"], default="both")
    parser.add_argument(
        "--job",
        choices=["raw", "pull"],
        nargs="+",
        default=["raw", "pull"],
        help="what a live ticket answers",
    )
    parser.add_argument(
        "--max-body-mb", type=int, default=256, help="QBWC_MAX_BODY_MB for gunicorn (default 256)"
    )
    args = parser.parse_args()

    settings = load_settings()
    database_url = resolve_database_url(settings)
    upgrade_to_head(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM tenants WHERE name = :n"), {"n": TENANT})
        info, password = tenants.add_tenant(conn, TENANT, TENANT)
        set_pull_settings(conn, info.id, intervals={"default": 0})
        set_push_settings(conn, info.id, live_window_seconds=0)  # no live window: ends when done
    environ = {**os.environ, "QBWC_WORKERS": "1", "QBWC_MAX_BODY_MB": str(args.max_body_mb)}
    tickets = [("bad", "-")] if args.ticket in ("bad", "both") else []
    if args.ticket in ("live", "both"):
        tickets += [("live", job) for job in args.job]
    print(f"gunicorn gthread, 1 fresh worker per row, QBWC_MAX_BODY_MB={args.max_body_mb}; RSS in MB")
    print(
        f"{'envelope':>9} {'ticket':6} {'job':4} {'HTTP':>4} {'result':>6} {'s':>6} "
        f"{'before':>7} {'peak':>7} {'after':>7} {'+3 s':>7}  recycled"
    )
    try:
        for megabytes in args.sizes:
            for ticket_kind, job in tickets:
                log = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as gunicorn)
                process, base_url = spawn_gunicorn(database_url, environ=environ, output=log)
                try:
                    port = int(base_url.rsplit(":", 1)[1])
                    for _ in range(20):  # warm-up: imports, connections, first allocations
                        post(port, "serverVersion", envelope("serverVersion", ""))
                    ticket = "no-such-ticket"
                    if ticket_kind == "live":
                        ticket = start_session(port, engine, info.id, password or "", job)
                    body = big_envelope(ticket, megabytes)
                    row = measure(process.pid, port, body)
                    del body
                finally:
                    process.terminate()
                    process.wait(timeout=60)
                    log.seek(0)
                    said = log.read().decode(errors="replace")
                print(
                    f"{megabytes:7.1f}MB {ticket_kind:6} {job:4} {row['status']:>4} {row['result']!s:>6}"
                    f" {row['seconds']:6.1f} {row['before']:7.0f} {row['peak']:7.0f} {row['after']!s:>7}"
                    f" {row['later']:7.0f}  {'yes' if row['recycled'] else 'no'}",
                    flush=True,
                )
                if "Traceback" in said:
                    print(f"gunicorn logged a traceback:\n{said[-3000:]}")
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM tenants WHERE name = :n"), {"n": TENANT})
        engine.dispose()


if __name__ == "__main__":
    main()
