"""/metrics: the counts of metrics.py (this process's, or under gunicorn every worker's files
summed) and what Postgres says at scrape time: jobs by kind and state, pull lag per entity.

Not public: the app's /metrics wants the admin token; gunicorn's master can serve the same
without one on a separate address (metrics_server.py). The database is read only when scraped,
in two grouped queries that walk indexes, never the Web Connector's path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine, text

from qbwc_server import metrics
from qbwc_server.admin.tokens import authenticate_token
from qbwc_server.api.auth import bearer_token
from qbwc_server.api.routing import ApiError
from qbwc_server.config import Settings
from qbwc_server.logsafe import safe
from qbwc_server.models import JobStatus, TokenKind

log = logging.getLogger(__name__)

#: Every status but done: what waits, what is in flight, what needs someone. Done jobs are
#: counted as they settle (qbwc_jobs_settled_total); their rows are pruned, so a gauge of them
#: would mean nothing.
OPEN_STATUSES = [status.value for status in JobStatus if status is not JobStatus.DONE]

#: Per tenant, an index range on jobs (tenant_id, status, id) for each open status: the
#: done rows, the bulk of the table, are never read.
JOBS_BY_KIND_AND_STATE = text("""
    SELECT j.kind, j.status, count(*) AS n
    FROM tenants t
    CROSS JOIN LATERAL (
        SELECT kind, status FROM jobs WHERE jobs.tenant_id = t.id AND jobs.status = ANY(:open)
    ) j
    GROUP BY j.kind, j.status
""")

#: The stalest completed pull of each entity among enabled tenants, pulls turned off left out
#: (`next_due_at` infinity, sync/schedule.py). A pull that never completed has no lag yet.
PULL_LAG = text("""
    SELECT c.entity, max(extract(epoch FROM now() - c.last_completed_at))::float8 AS lag
    FROM sync_cursors c JOIN tenants t ON t.id = c.tenant_id
    WHERE c.last_completed_at IS NOT NULL AND c.next_due_at IS DISTINCT FROM 'infinity'
      AND t.settings ->> 'disabled_at' IS NULL
    GROUP BY c.entity
""")


class DatabaseCollector:
    """The queue and the pulls as Postgres has them now, read on each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("qbwc_database_up", "1 when this scrape could read the queue from Postgres.")
        try:
            with self.engine.connect() as conn:
                jobs = conn.execute(JOBS_BY_KIND_AND_STATE, {"open": OPEN_STATUSES}).all()
                lags = conn.execute(PULL_LAG).all()
        except Exception as exc:  # the counts must still be served
            log.warning("metrics: the queue could not be read: %s", safe(exc, 200))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        queue = GaugeMetricFamily(
            "qbwc_jobs", "Jobs not done, by kind and state (every tenant).", labels=["kind", "state"]
        )
        for kind, status, count in jobs:
            queue.add_metric([kind, status], count)
        yield queue
        lag = GaugeMetricFamily(
            "qbwc_pull_lag_seconds",
            "Seconds since the stalest tenant's last completed pull of the entity (pulls off left out).",
            labels=["entity"],
        )
        for entity, seconds in lags:
            lag.add_metric([entity], seconds)
        yield lag


class _InProcess:
    """This process's counts (no multiprocess directory), with prometheus_client's process metrics."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        metrics.flush()
        for metric in metrics.active().metrics():
            yield from metric.collect()


def scrape_registry(engine: Engine, directory: Path | None) -> CollectorRegistry:
    """What a scrape reports: the workers' files in `directory` when given, else this process's
    counts; and the database's gauges."""
    registry = CollectorRegistry()
    if directory is not None:
        MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    else:
        registry.register(_InProcess())
    registry.register(DatabaseCollector(engine))
    return registry


def exposition(registry: CollectorRegistry, accept: str) -> tuple[bytes, str]:
    """The scrape's body in the format the scraper accepts (text, or OpenMetrics), and its type."""
    encode, content_type = choose_encoder(accept)
    return encode(registry), content_type


Respond = Callable[..., Any]


class MetricsEndpoint:
    """GET /metrics with `Authorization: Bearer <admin token>`; 401 otherwise. Building it chooses
    the process's metrics (`metrics.configure`) from `settings`, before the app answers a call."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        directory = settings.gunicorn.metrics_dir
        metrics.configure(tenant_labels=settings.metrics_tenant_labels, engine=engine, directory=directory)
        self.engine = engine
        self.registry = scrape_registry(engine, directory)

    def __call__(self, environ: dict[str, Any], start_response: Respond) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            wrong = ApiError(405, "method_not_allowed", "/metrics answers GET and HEAD")
            return _json(start_response, "405 Method Not Allowed", wrong.body(), [("Allow", "GET, HEAD")])
        token = bearer_token(environ.get("HTTP_AUTHORIZATION"))
        if token is None or authenticate_token(self.engine, token, kinds=(TokenKind.ADMIN,)) is None:
            refused = ApiError(401, "unauthorized", "/metrics wants the admin token as Authorization: Bearer")
            challenge = [("WWW-Authenticate", 'Bearer realm="qbwc-server"')]
            return _json(start_response, "401 Unauthorized", refused.body(), challenge)
        metrics.flush()  # this worker's counts exact; the others' at most metrics.FLUSH_SECONDS old
        payload, content_type = exposition(self.registry, environ.get("HTTP_ACCEPT", ""))
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(payload)))])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [payload]


def _json(
    start_response: Respond, status: str, body: dict[str, Any], headers: list[tuple[str, str]]
) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), *headers]
    )
    return [payload]
