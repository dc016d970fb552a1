"""`qbwc-server demo`, the README's first command: endpoint, tenant, two sessions of pulls, then a
sale made through the JSON API over HTTP, the sessions that push it, and the report."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from qbwc_server.admin import tokens
from qbwc_server.models import TokenKind
from tests.console import cli_environment, run_in_process

pytestmark = pytest.mark.slow

#: The report's line for each pushed record: GET path -> state, QuickBooks id field and value.
REPORT_LINE = re.compile(r"^    GET /api/v1/(\w+)/([\w-]+) +-> (\w+), (qb_list_id|qb_txn_id) (\S+)$", re.M)


def run_demo(database_url: str) -> subprocess.CompletedProcess[str]:
    """The demo as a process: what a newcomer runs first."""
    return subprocess.run(
        [sys.executable, "-m", "qbwc_server.cli", "demo", "--exit", "--port", "0"],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def pushed(out: str) -> dict[str, tuple[str, str]]:
    """What the report says of each pushed record: path -> (sync state, QuickBooks id)."""
    report = out.split("\nReport\n", 1)[1]
    return {f"{kind}/{cid}": (state, qb_id) for kind, cid, state, _, qb_id in REPORT_LINE.findall(report)}


def printed_token(out: str, prefix: str) -> str:
    [token] = re.findall(rf"\b{prefix}[A-Za-z0-9_-]{{20,}}", out)
    return token


def test_demo_pulls_then_pushes_a_sale_made_through_the_api(database_url: str, tmp_path: Path) -> None:
    result = run_demo(database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Traceback" not in result.stderr and "3250" not in out
    assert "Web Connector endpoint: http://127.0.0.1:" in out
    first, rest = out.split("Session 2")
    second, rest = rest.split("Session 3")
    third, fourth = rest.split("Session 4")

    assert "closeConnection(ticket=" in first and "Session ok:" in first
    assert "The Web Connector shows: Done: 1 raw qbXML request, pulled " in first
    # "Done" must be true of the raw request too: QuickBooks answered it, and the demo says how.
    assert re.search(r"Raw qbXML job \d+: QuickBooks answered 0 \([A-Za-z]+: Status OK\)", first), first
    assert "300 customers" in first and "Mirror: customers 300," in first
    # Only what changed "in QuickBooks" comes back: 1 edited + 1 added + 1 deactivated customer.
    assert "The Web Connector shows: Done: pulled 3 customers, 1 stock figure." in second
    assert "Mirror: customers 301," in second

    # The commerce side's customer and order, over HTTP, then pushed by the next session.
    assert re.search(
        r"PUT /api/v1/customers/c-1001 +-> 201, sync pending: customer 'Magnolia Market'\n", second
    )
    total = re.search(r"PUT /api/v1/orders/o-1001 +-> 201, sync pending: order WC1001: .* = (\S+)\n", second)
    assert total is not None, second
    assert (
        "The Web Connector shows: Done: 1 customer sent to QuickBooks, 1 order sent to QuickBooks." in third
    )
    assert re.search(r"GET /api/v1/orders/o-1001 +-> synced, qb_txn_id \S+", third), third
    # The order invoiced in QuickBooks, its payment over HTTP; the invoice pulled, the payment pushed.
    assert re.search(r"PUT /api/v1/payments/p-1001 +-> 201, sync pending: payment WIZPAY-1001: ", third)
    assert "POST /api/v1/sync -> 202: " in third
    assert "The Web Connector shows: Done: 1 payment sent to QuickBooks, pulled " in fourth
    assert re.search(r"In QuickBooks, invoice (\d+) now has a balance of 0\.00 \(paid\)\.", fourth), fourth

    report = fourth.split("\nReport\n", 1)[1]
    assert "Pulled from QuickBooks in sessions 1 and 2: customers 301, " in report
    records = pushed(out)
    assert set(records) == {"customers/c-1001", "orders/o-1001", "payments/p-1001"}, report
    assert {state for state, _ in records.values()} == {"synced"}, report
    port = re.search(r"Web Connector endpoint: http://127\.0\.0\.1:(\d+)/qbwc", out)
    assert port is not None
    admin_token = printed_token(report, "qbwa_")
    assert f"Status page: http://127.0.0.1:{port[1]}/status — log in with admin token {admin_token}" in report
    assert "The demo ran in " in fourth

    engine = create_engine(database_url)
    try:
        # What the report read back over the API is what the database holds, ids included,
        # and the payment went to the order's invoice (not auto-applied to anything else).
        assert_pushed_as_reported(engine, records, Decimal(total[1]))
        tenant_token = printed_token(out, "qbwt_")
        tenant, admin = (tokens.authenticate_token(engine, token) for token in (tenant_token, admin_token))
        assert tenant is not None and (tenant.kind, tenant.tenant_name) == (TokenKind.TENANT, "demo")
        assert admin is not None and admin.admin, "a live admin token: what the status page's login takes"
        link = re.search(r"The demo company's read-only page, no login: \S+/status/t/(qbws_\S+)", report)
        assert link is not None, report
        kinds = (TokenKind.STATUS_LINK,)
        assert tokens.authenticate_token(engine, link[1], kinds) is not None, "a live status link"

        # Again on the same database: the same story (a clean slate), with a new tenant token.
        again = run_in_process(["demo", "--exit", "--port", "0"], cli_environment(database_url, tmp_path))
        assert again.returncode == 0, again.stdout + again.stderr
        assert "Mirror: customers 300," in again.stdout and "Mirror: customers 301," in again.stdout
        assert pushed(again.stdout) == records, "the simulated QuickBooks is the same on every run"
        assert_pushed_as_reported(engine, records, Decimal(total[1]))
        assert tokens.authenticate_token(engine, tenant_token) is None, "the earlier run's token is revoked"
        assert tokens.authenticate_token(engine, link[1], kinds) is None, "and so is its status link"
    finally:
        engine.dispose()


def assert_pushed_as_reported(engine: Engine, records: dict[str, tuple[str, str]], total: Decimal) -> None:
    with engine.connect() as conn:
        customer = conn.execute(text("SELECT qb_list_id FROM customers WHERE commerce_id = 'c-1001'")).one()
        order = conn.execute(text("SELECT qb_txn_id FROM sales_orders WHERE commerce_id = 'o-1001'")).one()
        payment = conn.execute(text("SELECT id, qb_txn_id FROM payments WHERE commerce_id = 'p-1001'")).one()
        applied = conn.execute(
            text("""
                SELECT a.amount, i.sales_order_txn_ids FROM payment_applications a
                JOIN invoices i ON i.qb_txn_id = a.txn_id AND i.tenant_id = a.tenant_id
                WHERE a.payment_id = :p
            """),
            {"p": payment.id},
        ).all()
    assert records["customers/c-1001"][1] == customer.qb_list_id
    assert records["orders/o-1001"][1] == order.qb_txn_id
    assert records["payments/p-1001"][1] == payment.qb_txn_id
    assert [(a.amount, a.sales_order_txn_ids) for a in applied] == [(total, [order.qb_txn_id])]


def test_demo_reports_a_busy_port_without_touching_the_queue(database_url: str, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_in_process(
            ["demo", "--exit", "--port", str(port)], cli_environment(database_url, tmp_path)
        )
    assert result.returncode == 2
    assert f"Cannot listen on port {port}" in result.stdout and "--port 0" in result.stdout
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 0
    engine.dispose()
