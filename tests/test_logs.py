"""Structured logs: everything gunicorn and the app log during real sessions (pulls, pushes
through the API, a refusal, QuickBooks unreachable, a bad password) is one JSON object per
line with the fields an operator filters on — and never a password, a token, a full ticket or
qbXML. Text for a person when QBWC_LOG_FORMAT=text; the CLI's logging follows the same settings.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from qbwc_server import logs, queue
from qbwc_server.admin import tokens
from qbwc_server.models import JobKind
from qbwc_server.simulator import CannedProcessor, SimulatedWebConnector, soap_call
from qbwc_server.simulator.generator import generate_company
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from qbwc_server.simulator.webconnector import SessionReport
from qbwc_server.testing import BackgroundServer
from tests.api_http import call
from tests.conftest import TenantCredentials
from tests.console import cli_environment, run_in_process
from tests.observing import gunicorn

pytestmark = [pytest.mark.protocol, pytest.mark.slow]

#: What must never reach the log at info level, whatever the session did.
QBXML_MARKERS = ("<?qbxml", "QBXMLMsgsRq", "QBXMLMsgsRs", "CustomerRet", "CustomerAdd")


def session(url: str, tenant: TenantCredentials, processor: Any, **faults: Any) -> SessionReport:
    return SimulatedWebConnector(
        url, tenant.username, tenant.password, processor, noop_delay=0.01, **faults
    ).run_session()


def put(base: str, token: str, path: str, body: dict[str, Any]) -> None:
    reply = call(base, "PUT", f"/api/v1{path}", token=token, body=body)
    assert reply.status in (200, 201), reply.text


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger back as it was (the CLI and `logs.configure` change it)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_served_day_logs_one_json_object_per_line_and_no_secret(
    database_url: str, engine: Engine, make_tenant: Callable[..., TenantCredentials], tmp_path: Path
) -> None:
    tenant = make_tenant("logged", pulls=True)
    token = tokens.issue_tenant_token(engine, tenant.name)
    admin = tokens.issue_admin_token(engine)
    company = generate_company(seed=5, customers=4, items=6, sales_orders=2, invoices=2, payments=1)
    quickbooks = SimulatedQuickBooks(company)
    skus = sorted(item.name for item in company.items.values() if item.is_active)
    log = tmp_path / "gunicorn.log"
    tickets = []
    with gunicorn(database_url, log, QBWC_LOG_FORMAT="json", QBWC_LOG_LEVEL="info", QBWC_WORKERS="2") as base:
        first = session(base + "/qbwc", tenant, quickbooks)  # the first full pull
        assert first.ok, first.errors
        put(base, token, "/customers/c-1", {"name": "Logged Customer", "email": "buyer@logged.example"})
        order = {"number": "L0001", "customer_id": "c-1", "date": "2026-11-29"}
        order["lines"] = [  # type: ignore[assignment]
            {"line_id": "l1", "sku": skus[0], "quantity": "2", "rate": "9.5"},
            {"line_id": "l2", "sku": "WIDGET-NEW", "quantity": "1", "rate": "5"},  # QuickBooks: 3140
        ]
        put(base, token, "/orders/o-1", order)
        pushed = session(base + "/qbwc", tenant, quickbooks)
        assert pushed.ok, pushed.errors
        put(base, token, "/customers/c-2", {"name": "Second Customer"})
        offline = session(base + "/qbwc", tenant, quickbooks, quickbooks_not_running=True)
        assert not offline.ok
        login = {"strUserName": tenant.username, "strPassword": "not-the-password"}
        assert soap_call(base + "/qbwc", "authenticate", login)[1] == "nvu"  # type: ignore[index]
        assert call(base, "GET", "/api/v1/customers/c-1", token=token).status == 200
        assert call(base, "GET", "/metrics", token=admin).status == 200
        tickets = [report.ticket for report in (first, pushed, offline) if report.ticket]

    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    assert lines and all({"ts", "level", "logger", "message"} <= set(line) for line in lines)
    ours = [line for line in lines if line["logger"].startswith("qbwc_server")]
    events = [(line.get("event"), line.get("outcome"), line.get("kind")) for line in ours]
    assert ("session.started", None, None) in events
    assert ("session.ended", "closed", None) in events and ("session.ended", "failed", None) in events
    assert ("session.connection_error", None, None) in events
    settled = [line for line in ours if line.get("event") == "job.settled"]
    assert {"customers.pull", "customers.push", "orders.push"} <= {line["kind"] for line in settled}
    [refused] = [line for line in settled if line["kind"] == "orders.push"]
    assert (refused["outcome"], refused["status_code"], refused["level"]) == ("blocked", 3140, "warning")
    for line in settled:
        assert {"tenant", "session", "job", "kind", "outcome", "duration_ms"} <= set(line), line
        assert line["tenant"] == tenant.id and len(line["session"]) == logs.TICKET_PREFIX
    assert {line["session"] for line in settled} <= {ticket[:8] for ticket in tickets}

    assert len(tickets) == 3
    for secret in (tenant.password, token, admin, *tickets, *QBXML_MARKERS):
        assert secret not in text, f"{secret[:12]}… is in the log"


def test_text_logs_for_a_person(
    server: BackgroundServer, engine: Engine, tenant: TenantCredentials, restore_logging: None
) -> None:
    with engine.begin() as conn:
        queue.enqueue(conn, tenant.id, JobKind.RAW_QBXML, request_body='<CustomerQueryRq requestID="1"/>')
    written = io.StringIO()
    logs.configure("text", "info", stream=written)
    report = session(server.url, tenant, CannedProcessor())
    assert report.ok and report.ticket
    lines = written.getvalue().splitlines()
    prefix = report.ticket[:8]
    assert any(
        line.endswith(
            f"INFO qbwc_server.webconnector.session: session started [tenant={tenant.id} session={prefix}]"
        )
        for line in lines
    ), lines
    assert any(
        " job " in line and "kind=qbxml.raw outcome=done status_code=0 duration_ms=" in line for line in lines
    )
    assert not any(line.startswith("{") for line in lines)
    assert report.ticket not in written.getvalue()


def test_the_cli_logs_as_the_settings_say(
    database_url: str,
    tmp_path: Path,
    engine: Engine,
    server: BackgroundServer,
    tenant: TenantCredentials,
    restore_logging: None,
) -> None:
    def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run_in_process(list(args), {**cli_environment(database_url, tmp_path), **env})

    with engine.begin() as conn:
        queue.enqueue(conn, tenant.id, JobKind.RAW_QBXML, request_body='<CustomerQueryRq requestID="1"/>')
    login = {"strUserName": tenant.username, "strPassword": tenant.password}
    ticket = soap_call(server.url, "authenticate", login)[0]  # type: ignore[index]
    assert ticket

    quiet = cli("tenant", "show", tenant.name)  # interactive: warnings only, as text
    assert quiet.returncode == 0 and quiet.stderr == ""
    rotated = cli("tenant", "rotate-password", tenant.name, QBWC_LOG_FORMAT="json", QBWC_LOG_LEVEL="info")
    assert rotated.returncode == 0, rotated.stderr
    said = [json.loads(line) for line in rotated.stderr.splitlines()]  # alembic's check too
    [ended] = [line for line in said if line.get("event") == "session.ended"]
    assert (ended["event"], ended["outcome"], ended["session"]) == ("session.ended", "expired", ticket[:8])
    assert ticket not in rotated.stderr


def test_a_failed_statement_never_carries_its_parameters_into_the_error_that_gets_logged(
    engine: Engine,
) -> None:
    """Statement parameters hold tickets, password digests and whole qbXML responses."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    secret = "ticket-3f1c9a7e-0b5d-4c1e-9a44-secret"
    with pytest.raises(DBAPIError) as failed, engine.connect() as conn:
        conn.execute(text("SELECT 1 / 0 WHERE CAST(:t AS text) IS NOT NULL"), {"t": secret})
    assert "division by zero" in str(failed.value)
    assert secret not in str(failed.value) and "hidden" in str(failed.value)
