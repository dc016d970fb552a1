"""/metrics over real HTTP: what an operator's Prometheus sees after real Web Connector sessions
(the simulators against the served app), behind the admin token; and under gunicorn with two
workers, one scrape summing both workers' counts.

Counters live as long as the process (several tests share it), so these compare a scrape after
with one before; what is read from the database (the queue, pull lag) is the test's own.
"""

from __future__ import annotations

import dataclasses
import http.client
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine

from qbwc_server.admin import tokens
from qbwc_server.app import create_app
from qbwc_server.config import Settings
from qbwc_server.simulator import SimulatedWebConnector, soap_call
from qbwc_server.testing import BackgroundServer
from tests.conftest import TenantCredentials
from tests.observing import Scrape, free_port, get, gunicorn, scrape
from tests.pushes import Shop, make_shop, order_body

pytestmark = [pytest.mark.protocol, pytest.mark.slow]

#: A name no metric, label or help text contains: its absence means no tenant label.
TENANT = "zephyr-traders"


@pytest.fixture
def admin_token(engine: Engine) -> str:
    return tokens.issue_admin_token(engine)


@pytest.fixture
def shop(server: BackgroundServer, make_tenant: Callable[..., TenantCredentials], engine: Engine) -> Shop:
    """A tenant whose first session pulled a small company; pulls then off, no live window."""
    return make_shop(server, make_tenant, engine, name=TENANT)


def metrics_of(server: BackgroundServer, token: str) -> Scrape:
    return scrape(server.base_url + "/metrics", token)


def grew(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


def post_not_xml(base_url: str) -> None:
    """A Client fault: a body that is not XML, for serverVersion."""
    host, port = base_url.rsplit("/", 1)[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        action = '"http://developer.intuit.com/serverVersion"'
        connection.request("POST", "/qbwc", body=b"not xml", headers={"SOAPAction": action})
        assert connection.getresponse().status == 500
    finally:
        connection.close()


def test_metrics_want_the_admin_token(
    server: BackgroundServer, engine: Engine, tenant: TenantCredentials
) -> None:
    for token in (None, "qbwa_not-a-token", tokens.issue_tenant_token(engine, tenant.name)):
        status, headers, body = get(server.base_url + "/metrics", token)
        assert status == 401, body
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert '"code": "unauthorized"' in body and "qbwc_" not in body
    assert (
        scrape(server.base_url + "/metrics", tokens.issue_admin_token(engine)).value("qbwc_database_up") == 1
    )


def test_a_scrape_after_sessions_shows_calls_sessions_jobs_codes_and_push_latency(
    shop: Shop, admin_token: str
) -> None:
    before = metrics_of(shop.server, admin_token)
    shop.customer("c-1")
    _, customer_job = shop.put("customers", "c-2", {"name": "Fresh Customer", "email": "a@fresh.example"})
    missing = order_body(shop, "WC9001", "c-1")
    missing["lines"].append({"sku": "WIDGET-NEW", "quantity": "1", "rate": "5"})  # QuickBooks: 3140
    shop.put("sales_orders", "o-1", missing)

    assert shop.session().ok
    shop.put("customers", "c-3", {"name": "Third Customer"})
    offline = SimulatedWebConnector(
        shop.server.url,
        shop.tenant.username,
        shop.tenant.password,
        shop.quickbooks,
        quickbooks_not_running=True,
    )
    assert not offline.run_session().ok  # connectionError: a failed session
    login = {"strUserName": shop.tenant.username, "strPassword": shop.tenant.password}
    assert soap_call(shop.server.url, "authenticate", login)[0], "a ticket: c-3 waits"  # type: ignore[index]
    assert shop.session().ok  # its authenticate ends the session above: expired
    soap_call(shop.server.url, "authenticate", {**login, "strPassword": "wrong"})
    post_not_xml(shop.server.base_url)

    after = metrics_of(shop.server, admin_token)
    for operation in ("authenticate", "sendRequestXML", "receiveResponseXML", "closeConnection"):
        assert grew(before, after, "qbwc_soap_calls_total", operation=operation, outcome="ok") >= 2, operation
        assert grew(before, after, "qbwc_soap_call_seconds_count", operation=operation) >= 2, operation
    assert grew(before, after, "qbwc_soap_calls_total", operation="connectionError", outcome="ok") == 1
    assert (
        grew(before, after, "qbwc_soap_calls_total", operation="serverVersion", outcome="client_fault") == 1
    )
    assert grew(before, after, "qbwc_authentication_failures_total") == 1
    assert grew(before, after, "qbwc_sessions_started_total") == 4
    assert grew(before, after, "qbwc_sessions_ended_total", outcome="closed") == 2
    assert grew(before, after, "qbwc_sessions_ended_total", outcome="failed") == 1
    assert grew(before, after, "qbwc_sessions_ended_total", outcome="expired") == 1
    assert grew(before, after, "qbwc_jobs_settled_total", kind="customers.push", outcome="done") == 2
    assert grew(before, after, "qbwc_jobs_settled_total", kind="orders.push", outcome="blocked") == 1
    assert grew(before, after, "qbwc_quickbooks_status_codes_total", code="3140") == 1
    assert grew(before, after, "qbwc_push_latency_seconds_count", kind="customers.push") == 2
    assert after.value("qbwc_push_latency_seconds_sum", kind="customers.push") > 0
    # Read from this test's database when scraped: the order waits for its item.
    assert after.value("qbwc_jobs", kind="orders.push", state="blocked") == 1
    assert after.value("qbwc_jobs", kind="customers.push", state="queued") == 0
    assert after.value("qbwc_pull_lag_seconds", entity="customers") > 0
    assert TENANT not in after.text, "no tenant label unless an operator turns it on"
    assert shop.job(customer_job)["status"] == "done"


def test_pulls_turned_off_have_no_lag(shop: Shop, admin_token: str) -> None:
    shop.sql("UPDATE sync_cursors SET next_due_at = 'infinity' WHERE entity = 'customers'")
    lags = {
        labels["entity"] for labels in metrics_of(shop.server, admin_token).labelled("qbwc_pull_lag_seconds")
    }
    assert "customers" not in lags and "terms" in lags


def test_the_tenant_label_when_an_operator_turns_it_on(
    settings: Settings, engine: Engine, make_tenant: Callable[..., TenantCredentials], admin_token: str
) -> None:
    labelled = dataclasses.replace(settings, metrics_tenant_labels=True)
    with BackgroundServer(create_app(labelled, engine)) as server:
        shop = make_shop(server, make_tenant, engine, name=TENANT)
        shop.put("customers", "c-9", {"name": "Labelled Customer"})
        before = metrics_of(server, admin_token)
        assert shop.session().ok
        after = metrics_of(server, admin_token)
    by_tenant = {"tenant": TENANT}
    assert (
        grew(before, after, "qbwc_soap_calls_total", operation="closeConnection", outcome="ok", **by_tenant)
        == 1
    )
    assert (
        grew(before, after, "qbwc_soap_call_seconds_count", operation="receiveResponseXML", **by_tenant) == 1
    )
    assert grew(before, after, "qbwc_sessions_started_total", **by_tenant) == 1
    assert grew(before, after, "qbwc_sessions_ended_total", outcome="closed", **by_tenant) == 1
    # Before authenticate, no tenant is known: an empty label.
    assert (
        grew(before, after, "qbwc_soap_calls_total", operation="serverVersion", outcome="ok", tenant="") == 1
    )
    assert shop.tenant.password not in after.text and shop.tenant.username not in after.text
    for unlabelled in ("qbwc_jobs_settled_total", "qbwc_push_latency_seconds_count", "qbwc_jobs"):
        assert all("tenant" not in labels for labels in after.labelled(unlabelled)), unlabelled


@pytest.fixture
def served(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """gunicorn with two workers, its metric files in a directory the test can read, and the
    master's token-free listener; (base URL, listener URL, directory)."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left by a previous run")  # must be wiped at start
    bind = f"127.0.0.1:{free_port()}"
    environ = {"QBWC_WORKERS": "2", "PROMETHEUS_MULTIPROC_DIR": str(directory), "QBWC_METRICS_BIND": bind}
    with gunicorn(database_url, tmp_path / "gunicorn.log", **environ) as base:
        yield base, f"http://{bind}/metrics", directory


def server_versions_by_worker(directory: Path) -> dict[str, float]:
    """serverVersion calls each worker counted, read from its own file."""
    counted: dict[str, float] = {}
    for path in directory.glob("counter_*.db"):
        for family in MultiProcessCollector.merge([str(path)]):
            for sample in family.samples:
                if sample.name == "qbwc_soap_calls_total" and sample.labels["operation"] == "serverVersion":
                    counted[path.stem] = sample.value
    return counted


def until(condition: Callable[[], bool], rounds: int = 200) -> bool:
    """Whether `condition` came true within `rounds` looks 50 ms apart: a worker hands its counts
    to its file every metrics.FLUSH_SECONDS."""
    for _ in range(rounds):
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_under_gunicorn_one_scrape_sums_every_workers_counts(
    served: tuple[str, str, Path], engine: Engine
) -> None:
    base, listener, directory = served
    assert not (directory / "counter_1.db").exists(), "a previous run's file is wiped at start"
    calls = 0
    for _ in range(20):  # until both workers answered some (each call on a new connection)
        for _ in range(10):
            assert soap_call(base + "/qbwc", "serverVersion", {}).startswith("qbwc-server")
            calls += 1
        flushed = until(lambda made=calls: sum(server_versions_by_worker(directory).values()) == made)
        assert flushed, f"the workers' files never showed {calls} calls"
        if len(server_versions_by_worker(directory)) == 2:
            break
    by_worker = server_versions_by_worker(directory)
    assert len(by_worker) == 2 and sum(by_worker.values()) == calls, by_worker

    assert get(base + "/metrics")[0] == 401
    for url, token in ((base + "/metrics", tokens.issue_admin_token(engine)), (listener, None)):
        scraped = scrape(url, token)
        assert scraped.value("qbwc_soap_calls_total", operation="serverVersion", outcome="ok") == calls, url
        assert scraped.value("qbwc_database_up") == 1, url
