"""What the server counts for Prometheus: Web Connector calls, refused logins, sessions, settled
jobs, QuickBooks status codes, push latency. Served by metrics_scrape.py with what is read at
scrape time (the queue, pull lag).

A call only adds to plain dicts under one lock (C operations, no database, no file); `flush`
moves the sums into prometheus_client's values (under gunicorn, this worker's file in
PROMETHEUS_MULTIPROC_DIR) every FLUSH_SECONDS, at each scrape of this process and at exit.
Going through prometheus_client's objects on every call cost several times more on this hot
path (bench/README.md, bench/instrumentation.py). Labels are bounded sets (operation, outcome,
job kind, status code); a tenant label only when an operator asks for it
(QBWC_METRICS_TENANT_LABELS=1); never anything secret.
"""

from __future__ import annotations

import atexit
import bisect
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Histogram, disable_created_metrics, values
from prometheus_client.metrics import MetricWrapperBase
from sqlalchemy import Engine, text

from qbwc_server import logs
from qbwc_server.webconnector.names import OPERATIONS

#: A call's outcome: answered, refused as the client's mistake, or failed on our side.
OK, CLIENT_FAULT, SERVER_FAULT = "ok", "client_fault", "server_fault"
#: Operation label values; any other name a client sends counts as "other".
KNOWN_OPERATIONS = frozenset([*OPERATIONS, "getInteractiveURL", "interactiveDone", "interactiveRejected"])
#: Seconds: an idle poll takes ~1 ms, a large page's receiveResponseXML seconds.
CALL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
#: Seconds from a push's PUT to QuickBooks' answer: seconds with a live window, a poll interval
#: without one, hours or days while QuickBooks is off.
PUSH_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 7 * 86400)
#: Longest a count waits in memory before another process's scrape can see it.
FLUSH_SECONDS = 1.0

# The text format needs no `_created` series; they double a scrape for nothing here.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: (metric, label values) -> what to add: an amount (counter) or [bucket counts…, +Inf, sum].
Pending = dict[tuple[Any, tuple[str, ...]], Any]


def _counter(name: str, documentation: str, *labels: str) -> Counter:
    return Counter(name, documentation, labels, registry=None)


def _histogram(
    name: str, documentation: str, labels: tuple[str, ...], buckets: tuple[float, ...]
) -> Histogram:
    return Histogram(name, documentation, labels, buckets=buckets, registry=None)


class TenantNames:
    """Tenant id -> name for the opt-in tenant label: one query per tenant per process, ever."""

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine
        self._names: dict[int, str] = {}

    def __call__(self, tenant_id: int | None) -> str:
        if tenant_id is None:
            return ""
        name = self._names.get(tenant_id)
        if name is None and self.engine is not None:
            with self.engine.connect() as conn:
                found = conn.execute(text("SELECT name FROM tenants WHERE id = :id"), {"id": tenant_id})
                name = self._names[tenant_id] = str(found.scalar() or tenant_id)
        return name or str(tenant_id)


class Instruments:
    """This process's metrics (one set at a time: `configure`) and what is counted but not flushed."""

    def __init__(self, tenant_labels: bool, names: TenantNames) -> None:
        self.tenant_labels = tenant_labels
        self.names = names
        by = ("tenant",) if tenant_labels else ()
        self.calls = _counter(
            "qbwc_soap_calls",
            "Web Connector SOAP calls by operation and outcome.",
            "operation",
            "outcome",
            *by,
        )
        self.call_seconds = _histogram(
            "qbwc_soap_call_seconds",
            "Seconds to answer a Web Connector call, from its body to the reply.",
            ("operation", *by),
            CALL_BUCKETS,
        )
        self.login_failures = _counter(
            "qbwc_authentication_failures",
            "authenticate answered nvu: an unknown username, a bad password or a locked-out address.",
        )
        self.sessions_started = _counter("qbwc_sessions_started", "Web Connector sessions opened.", *by)
        self.sessions_ended = _counter(
            "qbwc_sessions_ended",
            "Web Connector sessions ended: closed (closeConnection), failed (connectionError),"
            " expired (idle, taken over by a new one, past its lifetime).",
            "outcome",
            *by,
        )
        self.jobs_settled = _counter(
            "qbwc_jobs_settled",
            "Jobs QuickBooks answered, by kind and what became of them.",
            "kind",
            "outcome",
        )
        self.status_codes = _counter(
            "qbwc_quickbooks_status_codes",
            "statusCode of QuickBooks' answers as the jobs record them: every pull and raw request's,"
            " a push's refusals.",
            "code",
        )
        self.push_latency = _histogram(
            "qbwc_push_latency_seconds",
            "Seconds from a push job's creation to QuickBooks' answer settling it done.",
            ("kind",),
            PUSH_BUCKETS,
        )
        self.lock = threading.Lock()
        self.pending: Pending = {}
        self.pid = os.getpid()
        self._stop = threading.Event()
        threading.Thread(target=self._flush_every, name="qbwc-metrics", daemon=True).start()

    def metrics(self) -> Iterator[MetricWrapperBase]:
        yield from (self.calls, self.call_seconds, self.login_failures, self.sessions_started)
        yield from (self.sessions_ended, self.jobs_settled, self.status_codes, self.push_latency)

    def tenant(self, tenant_id: int | None) -> tuple[str, ...]:
        return (self.names(tenant_id),) if self.tenant_labels else ()

    def count(self, metric: Counter, labels: tuple[str, ...]) -> None:
        key = (metric, labels)
        with self.lock:
            self.pending[key] = self.pending.get(key, 0) + 1

    def observe(
        self, metric: Histogram, labels: tuple[str, ...], value: float, buckets: tuple[float, ...]
    ) -> None:
        key = (metric, labels)
        with self.lock:
            sums = self.pending.get(key) or self.pending.setdefault(key, [0] * (len(buckets) + 2))
            sums[bisect.bisect_left(buckets, value)] += 1  # le: the first bound >= value, as Histogram
            sums[-1] += value

    def flush(self) -> None:
        """Add what was counted to prometheus_client's values (this worker's file, under gunicorn)."""
        with self.lock:
            pending, self.pending = self.pending, {}
        for (metric, labels), added in pending.items():
            child = metric.labels(*labels) if labels else metric
            if isinstance(added, list):  # Histogram has no public way to add many observations
                for bucket, n in zip(child._buckets, added[:-1], strict=True):
                    if n:
                        bucket.inc(n)
                child._sum.inc(added[-1])
            else:
                child.inc(added)

    def stop(self) -> None:
        self._stop.set()
        self.flush()

    def _flush_every(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            self.flush()


_active: Instruments | None = None
_configure_lock = threading.Lock()


def configure(
    *, tenant_labels: bool = False, engine: Engine | None = None, directory: Path | None = None
) -> None:
    """Choose this process's metrics: with a tenant label or not, flushed into `directory`'s
    files (gunicorn: PROMETHEUS_MULTIPROC_DIR) or kept in memory. A change of labels starts a
    new set (tests run apps with both in one process); `engine` looks tenant names up."""
    global _active
    with _configure_lock:
        if directory is not None and not getattr(values.ValueClass, "_multiprocess", False):
            # prometheus_client chose in-memory values when it was first imported, which may have
            # been in gunicorn's master before the directory was set: choose again, before any value.
            values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
        if _active is None or _active.tenant_labels != tenant_labels or _active.pid != os.getpid():
            if _active is not None and _active.pid == os.getpid():
                _active.stop()
            _active = Instruments(tenant_labels, TenantNames(engine))
        elif engine is not None:
            _active.names.engine = engine


def active() -> Instruments:
    """The metrics being counted (a default set if nothing configured them: the CLI, tests)."""
    if _active is None or _active.pid != os.getpid():
        configure()
    assert _active is not None
    return _active


def flush() -> None:
    if _active is not None and _active.pid == os.getpid():
        _active.flush()


atexit.register(flush)  # a worker stopping hands its last counts over (a SIGKILL loses ≤ 1 s)


def soap_call(operation: str, outcome: str, seconds: float | None = None) -> None:
    """One Web Connector call answered; `seconds` from the body's arrival to the reply. Runs on
    every call, idle polls included: written out (no helper calls) to stay a few dict operations."""
    m = _active or active()
    if operation not in KNOWN_OPERATIONS:
        operation = "other"  # never a client's string as a label (or a key here)
    tenant = (m.names(logs.CALL.get()[0]),) if m.tenant_labels else ()
    calls, timing = (m.calls, (operation, outcome, *tenant)), (m.call_seconds, (operation, *tenant))
    with m.lock:
        pending = m.pending
        pending[calls] = pending.get(calls, 0) + 1
        if seconds is not None:
            sums = pending.get(timing) or pending.setdefault(timing, [0] * (len(CALL_BUCKETS) + 2))
            sums[bisect.bisect_left(CALL_BUCKETS, seconds)] += 1
            sums[-1] += seconds


def login_refused() -> None:
    """authenticate answered nvu. Idle polls are not counted apart: they are the authenticate
    calls that are neither a session started nor a refusal (one count less on their path)."""
    m = _active or active()
    m.count(m.login_failures, ())


def session_started(tenant_id: int | None) -> None:
    m = _active or active()
    m.count(m.sessions_started, m.tenant(tenant_id))


def session_ended(outcome: str, tenant_id: int | None) -> None:
    m = _active or active()
    m.count(m.sessions_ended, (outcome, *m.tenant(tenant_id)))


def job_settled(kind: str, outcome: str, status_code: int | None) -> None:
    """A job settled by an answer: its kind and new status, and QuickBooks' status code if any."""
    m = _active or active()
    m.count(m.jobs_settled, (kind, outcome))
    if status_code is not None:
        m.count(m.status_codes, (str(status_code),))


def push_done(kind: str, seconds: float) -> None:
    """A push job done, `seconds` after it was created (queue/settle.py)."""
    m = _active or active()
    m.observe(m.push_latency, (kind,), seconds, PUSH_BUCKETS)
