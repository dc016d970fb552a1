"""Connection health reached for real: simulated Web Connector sessions against the served app,
commerce records written through the API, and GET /status (and `qbwc-server status`, the same
answer) read after each — every state of API.md, a failed push with its fix, the session's
closing message kept and shown. Only `inactive` is reached by moving the last contact back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text

from qbwc_server import queue
from qbwc_server.admin import tenants, tokens
from qbwc_server.admin.health import UNAVAILABLE_CHECKLIST
from qbwc_server.simulator.processor import DEFAULT_COMPANY_FILE
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from qbwc_server.simulator.records import ItemInventory
from qbwc_server.simulator.webconnector import SimulatedWebConnector
from qbwc_server.testing import BackgroundServer
from tests.api_http import call
from tests.conftest import Run, TenantCredentials
from tests.pushes import Shop, make_shop, order_body

pytestmark = pytest.mark.protocol


@pytest.fixture
def shop(server: BackgroundServer, make_tenant: Callable[..., TenantCredentials], engine: Engine) -> Shop:
    """A tenant whose first session pulled a small company (lists, customers, items)."""
    return make_shop(server, make_tenant, engine)


class Api:
    """The tenant's API over HTTP."""

    def __init__(self, shop: Shop) -> None:
        self.url, self.token = shop.server.base_url, tokens.issue_tenant_token(shop.engine, shop.tenant.name)

    def __call__(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        extra = {} if body is None else {"body": body}
        reply = call(self.url, method, f"/api/v1{path}", token=self.token, **extra)
        assert reply.status in (200, 201, 202), reply.text
        return reply.json  # type: ignore[no-any-return]

    def status(self) -> dict[str, Any]:
        return self("GET", "/status")


def back_in_time(shop: Shop, minutes: int) -> None:
    """The Web Connector's last call `minutes` ago: the tenant's last poll and its sessions."""
    ago = f"{minutes} minutes"
    shop.sql(
        "UPDATE tenants SET last_seen_at = now() - CAST(:a AS interval) WHERE id = :t",
        a=ago,
        t=shop.tenant.id,
    )
    shop.sql(
        "UPDATE qbwc_sessions SET last_call_at = now() - CAST(:a AS interval) WHERE tenant_id = :t",
        a=ago,
        t=shop.tenant.id,
    )


def test_a_sessions_closing_message_is_kept_and_shown(shop: Shop, cli: Run) -> None:
    api = Api(shop)
    [first] = shop.reports
    kept = shop.one("SELECT summary FROM qbwc_sessions WHERE tenant_id = :t", t=shop.tenant.id)["summary"]
    assert first.close_message and first.close_message.startswith("Done: pulled ")
    assert kept == first.close_message

    idle = api.status()
    assert idle["state"] == "idle" and idle["last_session"]["summary"] == first.close_message
    assert (
        idle["headline"]
        == f"Connected; nothing to do: the Web Connector calls every 1 minute; the last session said: {kept}"
    )
    assert idle["recent_sessions"][0]["summary"] == kept and idle["last_contact_at"]
    assert idle["quickbooks"]["company_file"] == DEFAULT_COMPANY_FILE, "the file QuickBooks had open"
    assert idle["quickbooks"]["edition"] == "premier" and idle["quickbooks"]["qbxml_version"] == "13.0"
    assert idle["quickbooks"]["product"] and idle["failures"] == [] and idle["problems"] == []
    customers = next(p for p in idle["pulls"] if p["entity"] == "customers")
    assert customers["last_completed_at"] and customers["lag_seconds"] >= 0

    shop.customer("c-1")
    api("PUT", "/customers/c-2", {"name": "Brand New Customer"})
    busy = api.status()
    assert busy["state"] == "healthy" and busy["queue"]["queued"] == 1
    assert busy["headline"].startswith("Connected and syncing: 1 job goes at the Web Connector's next call")

    report = shop.session()
    assert report.ok and report.close_message == "Done: 1 customer sent to QuickBooks."
    after = api.status()
    assert (
        after["state"] == "idle"
        and after["last_session"]["summary"] == "Done: 1 customer sent to QuickBooks."
    )
    assert [s["summary"] for s in after["recent_sessions"][:2]] == [
        "Done: 1 customer sent to QuickBooks.",
        kept,
    ]
    out = cli("status", "shop").stdout
    assert (
        "shop: idle" in out
        and "Done: 1 customer sent to QuickBooks." in out
        and "Problem:        none" in out
    )


def test_quickbooks_not_running_until_a_session_reaches_it(shop: Shop, cli: Run) -> None:
    api = Api(shop)
    api("PUT", "/customers/c-9", {"name": "Waiting Customer"})  # work, so the Web Connector opens a session
    shop.quickbooks.inner.fail_connection = ("0x80040408", "Could not start QuickBooks.")

    assert shop.session().outcome == "could not connect to QuickBooks"

    down = api.status()
    assert down["state"] == "quickbooks_unavailable"
    assert "could not open QuickBooks" in down["headline"] and "0x80040408" in down["headline"]
    assert down["checklist"] == list(UNAVAILABLE_CHECKLIST)
    assert any("Update Web Services" in step for step in down["checklist"])
    assert any("Hide, not Exit" in step for step in down["checklist"])
    assert (
        down["recent_sessions"][0]["state"] == "failed"
        and "0x80040408" in down["recent_sessions"][0]["error"]
    )
    assert down["last_session"]["summary"].startswith("Done: pulled"), "the last complete one"
    assert down["queue"]["queued"] == 1, "the work waits"
    printed = cli("status", "shop").stdout
    assert "shop: quickbooks_unavailable" in printed and "Update Web Services" in printed

    shop.quickbooks.inner.fail_connection = None
    assert shop.session().ok
    back = api.status()
    assert (
        back["state"] == "idle" and back["last_session"]["summary"] == "Done: 1 customer sent to QuickBooks."
    )
    assert back["problems"] == [], "the connection problem cleared with a session that reached QuickBooks"
    assert back["recent_sessions"][1]["state"] == "failed", "the failed session stays in the history"


def test_inactive_after_three_of_the_qwcs_intervals_without_a_call(shop: Shop) -> None:
    api = Api(shop)
    back_in_time(shop, 2)
    assert api.status()["state"] == "idle", "within 3 intervals of 1 minute"
    back_in_time(shop, 4)
    gone = api.status()
    assert gone["state"] == "inactive" and gone["headline"].endswith("is the QuickBooks PC on?")
    assert "No word from the Web Connector for 4 minutes" in gone["headline"]
    assert gone["checklist"][0] == "Is the QuickBooks PC on and awake?"

    call(api.url, "GET", "/api/v1/qwc?every=15", token=api.token)  # a .qwc asking for every 15 minutes
    assert api.status()["state"] == "idle"
    back_in_time(shop, 46)
    assert api.status()["state"] == "inactive"
    assert "(its .qwc asks for a call every 15 minutes)" in api.status()["headline"]


def test_a_web_connector_with_a_wrong_password_is_named(shop: Shop) -> None:
    api = Api(shop)
    back_in_time(shop, 10)
    connector = SimulatedWebConnector(
        shop.server.url, shop.tenant.username, "not-the-password", shop.quickbooks
    )
    assert connector.run_session().outcome == "invalid user"

    health = api.status()
    assert health["state"] == "inactive" and "wrong password" in health["headline"]
    assert "Password column" in health["checklist"][0] and "rotate-password shop" in health["checklist"][0]


def test_a_missing_sku_is_a_failure_with_its_fix(shop: Shop, cli: Run) -> None:
    api = Api(shop)
    shop.customer("c-1")
    body = order_body(shop, "WC5001", "c-1")
    body["lines"].append({"line_id": "x", "sku": "NO-SUCH-SKU", "quantity": "1", "rate": "5"})
    api("PUT", "/orders/o-1", body)

    report = shop.session()

    assert (
        report.ok
        and report.close_message == "Nothing was completed; 1 needs attention (see qbwc-server status)."
    )
    health = api.status()
    assert health["state"] == "needs_attention" and "1 job needs help" in health["headline"]
    [failure] = health["failures"]
    assert failure["quickbooks_code"] == 3140 and failure["status"] == "blocked"
    assert failure["record"] == "order WC5001 (o-1)" and failure["kind"] == "orders.push"
    assert (
        failure["fix"] == "Add the item NO-SUCH-SKU in QuickBooks; the order goes by itself once it is pulled"
    )
    assert health["failures_total"] == 1 and health["last_session"]["summary"] == report.close_message
    printed = cli("status", "shop").stdout
    assert "blocked: QuickBooks 3140: no item 'NO-SUCH-SKU'" in printed
    assert "Fix: Add the item NO-SUCH-SKU in QuickBooks" in printed

    # The fix done: the item added in QuickBooks, the items pulled (a refresh here; the schedule
    # does it every 15 minutes): the order goes by itself in that session.
    shop.company.add(ItemInventory(name="NO-SUCH-SKU", full_name="NO-SUCH-SKU"))
    assert api("POST", "/refresh/items")["queued"] == ["inventory_items", "assembly_items"]
    assert shop.session().ok
    fixed = api.status()
    assert fixed["state"] == "idle" and fixed["failures"] == [] and fixed["problems"] == []
    assert fixed["last_session"]["summary"] == "Done: 1 order sent to QuickBooks, pulled 1 inventory item."
    assert api("GET", "/orders/o-1")["sync"]["state"] == "synced"


def test_a_customer_name_in_use_waits_for_a_mapping_until_linked(shop: Shop) -> None:
    api = Api(shop)
    taken = sorted((c for c in shop.company.customers.values() if c.is_active), key=lambda c: c.list_id)[0]
    api("PUT", "/customers/c-7", {"name": taken.name, "email": "someone-else@elsewhere.example"})

    assert shop.session().ok

    health = api.status()
    assert health["state"] == "needs_attention"
    [waiting] = health["needs_mapping"]
    assert (waiting["customer_id"], waiting["name"]) == ("c-7", taken.name)
    assert "POST /customers/c-7/link" in waiting["fix"] and taken.list_id in waiting["fix"]
    [failure] = health["failures"]
    assert failure["record"] == f"customer {taken.name} (c-7)" and failure["fix"] == waiting["fix"]

    api("POST", "/customers/c-7/link", {"qb_list_id": taken.list_id})
    assert api.status()["needs_mapping"] == []


def test_quickbooks_too_old_needs_an_admin_not_a_pc_check(
    server: BackgroundServer, make_tenant: Callable[..., TenantCredentials], engine: Engine
) -> None:
    tenant = make_tenant("oldbooks")
    with engine.begin() as conn:
        queue.enqueue(conn, tenant.id, "qbxml.raw", request_body='<CustomerQueryRq requestID="1"/>')
    old = SimulatedQuickBooks(supported_versions=("2.0",))
    SimulatedWebConnector(server.url, tenant.username, tenant.password, old, noop_delay=0.01).run_session()

    admin = tokens.issue_admin_token(engine)
    health = call(server.base_url, "GET", "/api/v1/tenants/oldbooks/status", token=admin).json
    assert health["state"] == "needs_attention" and "Update QuickBooks Desktop" in health["headline"]
    assert health["checklist"] == []


def test_disabled_and_never_connected_show_in_the_tenants_summary(
    shop: Shop, make_tenant: Callable[..., TenantCredentials], engine: Engine
) -> None:
    make_tenant("newcomer")
    make_tenant("paused")
    with engine.begin() as conn:
        tenants.set_disabled(conn, "paused", True)
    admin = tokens.issue_admin_token(engine)

    rows = call(shop.server.base_url, "GET", "/api/v1/tenants", token=admin).json["data"]

    states = {row["tenant"]: row["state"] for row in rows}
    assert states == {"newcomer": "never_connected", "paused": "disabled", "shop": "idle"}
    paused = next(row for row in rows if row["tenant"] == "paused")
    assert "tenant enable paused" in paused["headline"]
    shop_row = next(row for row in rows if row["tenant"] == "shop")
    assert shop_row["last_session"]["summary"] == shop.reports[0].close_message


def test_the_session_summary_statement_and_the_message_agree_when_work_is_taken_back(
    shop: Shop, engine: Engine
) -> None:
    """A session closed with a request unanswered: the message is written again once it is back."""
    api = Api(shop)
    shop.customer("c-1")
    api("PUT", "/customers/c-3", {"name": "Lost Answer Customer"})
    connector = SimulatedWebConnector(
        shop.server.url, shop.tenant.username, shop.tenant.password, shop.quickbooks,
        noop_delay=0.01, lose_responses=1.0,
    )  # fmt: skip
    report = connector.run_session()
    kept = shop.one(
        "SELECT summary FROM qbwc_sessions WHERE tenant_id = :t ORDER BY started_at DESC LIMIT 1",
        t=shop.tenant.id,
    )["summary"]
    assert report.close_message and kept == report.close_message
    assert "1 may have reached QuickBooks without an answer" in kept
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM jobs WHERE kind = 'customers.push'")).scalar_one()
    assert status == "unconfirmed"
