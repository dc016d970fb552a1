"""Helpers for push tests: a simulated company whose lists are in the mirror, commerce records
written as a PUT writes them (row + commerce_body + push job), sessions that record what went to
QuickBooks or lose an answer after QuickBooks processed the request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine, text

from qbwc_server.simulator import SoapConnection, WebConnectorError
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from qbwc_server.simulator.webconnector import SessionReport, SimulatedWebConnector
from qbwc_server.sync.push import plan_push
from qbwc_server.testing import BackgroundServer
from tests.conftest import TenantCredentials
from tests.xsd import assert_valid_qbxml


class LostResponse(WebConnectorError):
    """QuickBooks processed the request; its answer never reached the server."""


class Recorder:
    """Hands every request to the simulated QuickBooks, checked against Intuit's XSD, and keeps it;
    `lose(request)` True makes the answer to that request vanish after QuickBooks processed it
    (the session then stops); `unreadable = n` cuts the next n answers off mid-way instead
    (QuickBooks did the work, the answer arrives unusable)."""

    def __init__(self, inner: SimulatedQuickBooks, lose: Callable[[str], bool] | None = None) -> None:
        self.inner, self.country, self.qbxml_version = inner, inner.country, inner.qbxml_version
        self.lose = lose
        self.requests: list[str] = []
        self.unreadable = 0

    def open_company(self, path: str) -> str:
        return self.inner.open_company(path)

    def host_response(self) -> str:
        return self.inner.host_response()

    def process(self, request_xml: str) -> str:
        assert_valid_qbxml(request_xml)
        self.requests.append(request_xml)
        response = self.inner.process(request_xml)
        if self.lose is not None and self.lose(request_xml):
            self.lose = None  # once
            raise LostResponse("the answer was lost on its way back")
        if self.unreadable > 0:
            self.unreadable -= 1
            return "<QBXML><QBXMLMsgsRs>"
        return response

    @property
    def work(self) -> list[str]:
        """The requests but the read-only closing HostQuery that ends a session with nothing left."""
        return [r for r in self.requests if 'requestID="closing"' not in r]

    def count(self, tag: str) -> int:
        """How many `tag` elements the requests so far held."""
        return sum(request.count(f"<{tag} ") + request.count(f"<{tag}>") for request in self.requests)


def pulled_tenant(
    make_tenant: Callable[..., TenantCredentials],
    engine: Engine,
    server: BackgroundServer,
    quickbooks: SimulatedQuickBooks,
) -> TenantCredentials:
    """A tenant whose first session pulled the company: its lists and customers are in the mirror."""
    credentials: TenantCredentials = make_tenant("acme", pulls=True)
    set_push_settings(engine, credentials.id)
    assert run_session(server, credentials, quickbooks).ok
    return credentials


def run_session(server: BackgroundServer, tenant: TenantCredentials, processor: Any) -> SessionReport:
    connector = SimulatedWebConnector(
        server.url, tenant.username, tenant.password, processor, noop_delay=0.01
    )
    return connector.run_session()


def run_session_losing(server: BackgroundServer, tenant: TenantCredentials, processor: Recorder) -> str:
    """A session whose answer is lost (never given to receiveResponseXML), then closeConnection,
    as the Web Connector does after a failed call. Returns the close message."""
    try:
        run_session(server, tenant, processor)
    except LostResponse as lost:
        assert lost.report is not None and lost.report.ticket
        connection = SoapConnection(server.url)
        try:
            closed = connection.call("closeConnection", {"ticket": lost.report.ticket})
        finally:
            connection.close()
        return str(closed)
    raise AssertionError("no answer was lost")


def set_push_settings(engine: Engine, tenant_id: int, **values: Any) -> None:
    """The tenant's push settings (no live window by default: a session ends when work does)."""
    push = {"live_window_seconds": 0, **values}
    with engine.begin() as conn:
        conn.execute(
            text("""UPDATE tenants SET settings = jsonb_set(coalesce(settings, '{}'::jsonb), '{push}',
                                                         CAST(:p AS jsonb)) WHERE id = :t"""),
            {"p": json.dumps(push), "t": tenant_id},
        )


def put_customer(
    engine: Engine,
    tenant_id: int,
    commerce_id: str,
    body: Mapping[str, Any],
    *,
    qb_list_id: str | None = None,
    depends_on: tuple[int, ...] = (),
) -> tuple[int, int]:
    """What `PUT /customers/{id}` stores: the row (a pulled one when `qb_list_id` names it), its
    commerce_body, pending, and its push job. Returns (row id, job id)."""
    with engine.begin() as conn:
        row_id = None
        if qb_list_id is not None:
            row_id = conn.execute(
                text("""UPDATE customers SET commerce_id = :c, commerce_body = CAST(:b AS jsonb),
                               commerce_updated_at = now(), sync_state = 'pending'
                        WHERE tenant_id = :t AND qb_list_id = :l RETURNING id"""),
                {"t": tenant_id, "c": commerce_id, "b": json.dumps(body), "l": qb_list_id},
            ).scalar()
        if row_id is None:
            row_id = conn.execute(
                text("""
                    INSERT INTO customers (tenant_id, commerce_id, name, full_name, commerce_body,
                                           commerce_updated_at, sync_state)
                    VALUES (:t, :c, :n, :n, CAST(:b AS jsonb), now(), 'pending')
                    ON CONFLICT (tenant_id, commerce_id) WHERE commerce_id IS NOT NULL
                    DO UPDATE SET commerce_body = EXCLUDED.commerce_body, sync_state = 'pending',
                                  commerce_updated_at = now()
                    RETURNING id
                """),
                {"t": tenant_id, "c": commerce_id, "n": body["name"], "b": json.dumps(body)},
            ).scalar_one()
        job_id = plan_push(conn, tenant_id, "customers.push", row_id, depends_on=depends_on)
    return int(row_id), job_id


def row(engine: Engine, table: str, row_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(
            conn.execute(text(f"SELECT * FROM {table} WHERE id = :id"), {"id": row_id}).mappings().one()
        )


def job(engine: Engine, job_id: int) -> dict[str, Any]:
    return row(engine, "jobs", job_id)


def jobs_of(engine: Engine, kind: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT * FROM jobs WHERE kind = :k ORDER BY id"), {"k": kind}).mappings()
        return [dict(j) for j in found]
