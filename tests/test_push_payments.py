"""Payment pushes end to end (served app, simulated Web Connector and QuickBooks): applied to the
order's invoices, waiting for them, unapplied past the deadline or after 3210, auto-applied
without an order, and a lost answer looked up, never sent twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import Engine

from qbwc_server.simulator.records import ReceivePayment
from qbwc_server.testing import BackgroundServer
from tests.conftest import TenantCredentials
from tests.pushes import Shop, make_shop, order_body

pytestmark = [pytest.mark.slow, pytest.mark.protocol]


@pytest.fixture
def shop(server: BackgroundServer, make_tenant: Callable[..., TenantCredentials], engine: Engine) -> Shop:
    shop = make_shop(server, make_tenant, engine)
    shop.customer("c-1")
    shop.put("sales_orders", "o-1", order_body(shop, "WC1001", "c-1"))  # 1 x 12.5 + 2 x 12.5 = 37.50
    assert shop.session().ok
    shop.quickbooks.requests.clear()
    return shop


def invoice_the_order(shop: Shop, *, mirror: bool = True) -> tuple[str, Decimal]:
    """An invoice made from order o-1 in QuickBooks, and (as an invoices pull would) in the mirror."""
    order = shop.row("sales_orders", "o-1")
    request = (
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        f"<InvoiceAddRq><InvoiceAdd><CustomerRef><ListID>{order['customer_list_id']}</ListID></CustomerRef>"
        f"<TxnDate>2026-11-30</TxnDate><LinkToTxnID>{order['qb_txn_id']}</LinkToTxnID></InvoiceAdd>"
        "</InvoiceAddRq></QBXMLMsgsRq></QBXML>"
    )
    ret = etree.fromstring(shop.quickbooks.inner.process(request).encode()).find(".//InvoiceRet")
    assert ret is not None
    txn_id, balance = ret.findtext("TxnID") or "", Decimal(ret.findtext("BalanceRemaining") or "0")
    if mirror:
        shop.sql(
            """INSERT INTO invoices (tenant_id, qb_txn_id, customer_list_id, txn_date, balance_remaining,
                                     sales_order_txn_ids, sync_state)
               VALUES (:t, :x, :c, '2026-11-30', :b, ARRAY[:o], 'synced')""",
            t=shop.tenant.id, x=txn_id, c=order["customer_list_id"], b=balance, o=order["qb_txn_id"],
        )  # fmt: skip
    return txn_id, balance


def payment_body(**extra: object) -> dict[str, object]:
    return {"customer_id": "c-1", "order_id": "o-1", "amount": "37.5", "date": "2026-12-01",
            "reference": "WIZPAY-1", "method": "Visa", "memo": "paid online", **extra}  # fmt: skip


def payments_referenced(shop: Shop, reference: str) -> list[ReceivePayment]:
    return [p for p in shop.company.payments.values() if p.ref_number == reference]


def test_a_payment_is_applied_to_the_orders_invoice(shop: Shop) -> None:
    invoice, balance = invoice_the_order(shop)
    assert balance == Decimal("37.50")
    _, job_id = shop.put("payments", "p-1", payment_body())
    assert shop.session().ok
    [payment] = payments_referenced(shop, "WIZPAY-1")
    assert [(a.txn_id, a.amount) for a in payment.applied] == [(invoice, Decimal("37.50"))]
    assert (payment.total_amount, payment.memo, payment.payment_method_ref.full_name) == (  # type: ignore[union-attr]
        Decimal("37.50"), "paid online", "Visa",
    )  # fmt: skip
    assert shop.company.invoices[invoice].balance_remaining == 0
    assert (
        "<AppliedToTxnAdd>" in shop.quickbooks.requests[0]
        and "IsAutoApply" not in shop.quickbooks.requests[0]
    )
    row = shop.row("payments", "p-1")
    assert (row["sync_state"], row["sync_error"], row["qb_txn_id"]) == ("synced", None, payment.txn_id)
    applied = shop.sql("SELECT txn_id, amount FROM payment_applications WHERE payment_id = :id", id=row["id"])
    assert applied == [{"txn_id": invoice, "amount": Decimal("37.50")}]
    assert shop.job(job_id)["status"] == "done"


def test_more_than_the_invoices_balance_leaves_the_rest_as_a_credit_and_says_so(shop: Shop) -> None:
    invoice, _ = invoice_the_order(shop)
    shop.put("payments", "p-1", payment_body(amount="50"))
    assert shop.session().ok
    [payment] = payments_referenced(shop, "WIZPAY-1")
    assert [(a.txn_id, a.amount) for a in payment.applied] == [(invoice, Decimal("37.50"))]
    row = shop.row("payments", "p-1")
    assert row["sync_state"] == "synced"
    assert json.loads(row["sync_error"])["message"] == (
        "applied 37.50 to the order's invoices; 12.50 left unapplied, as a credit"
    )


def test_without_an_invoice_it_waits_then_goes_when_the_invoice_is_pulled(shop: Shop) -> None:
    _, job_id = shop.put("payments", "p-1", payment_body())
    report = shop.session()  # the one job was deferred: nothing to send, yet the session ends cleanly
    assert report.ok and report.errors == () and report.progress[-1] == 100, report
    assert [("HostQueryRq" in r, "ReceivePaymentAdd" in r) for r in shop.quickbooks.requests] == [
        (True, False)
    ], "only the read-only closing request goes while the invoice is not in the mirror"
    job, row = shop.job(job_id), shop.row("payments", "p-1")
    deadline = row["created_at"] + dt.timedelta(hours=168)
    assert job["status"] == "queued" and job["attempts"] == 0
    assert abs((job["run_after"] - deadline).total_seconds()) < 1
    assert job["params"]["order_txn_id"] == shop.row("sales_orders", "o-1")["qb_txn_id"]
    assert row["sync_state"] == "waiting"
    assert json.loads(row["sync_error"])["message"].startswith(
        "waiting for the order's invoice to be pulled from QuickBooks; after "
    )

    invoice, _ = invoice_the_order(shop)
    shop.sql("UPDATE jobs SET run_after = now() WHERE id = :id", id=job_id)  # what wakeups.py does
    assert shop.session().ok
    [payment] = payments_referenced(shop, "WIZPAY-1")
    assert [a.txn_id for a in payment.applied] == [invoice]
    assert shop.row("payments", "p-1")["sync_state"] == "synced"


def test_past_the_deadline_it_goes_unapplied_as_a_credit_and_says_so(shop: Shop) -> None:
    shop.push_settings(payment_wait_hours=0)
    invoice_the_order(shop, mirror=False)  # in QuickBooks, but never pulled
    shop.put("payments", "p-1", payment_body())
    assert shop.session().ok
    [payment] = payments_referenced(shop, "WIZPAY-1")
    assert payment.applied == [], "never auto-applied to whatever the customer owes"
    assert "<IsAutoApply>false</IsAutoApply>" in shop.quickbooks.requests[0]
    row = shop.row("payments", "p-1")
    assert row["sync_state"] == "synced"
    assert json.loads(row["sync_error"])["message"].startswith(
        "sent unapplied, as a credit: no invoice for order o-1 was found by "
    )


class Refuses3210:
    """QuickBooks' answer when the mirror's balance was behind it (paid meanwhile elsewhere)."""

    def __init__(self, shop: Shop) -> None:
        self.inner = shop.quickbooks
        self.country, self.qbxml_version = self.inner.country, self.inner.qbxml_version

    def open_company(self, path: str) -> str:
        return self.inner.open_company(path)

    def host_response(self) -> str:
        return self.inner.host_response()

    def process(self, request_xml: str) -> str:
        if "<AppliedToTxnAdd>" not in request_xml:
            return self.inner.process(request_xml)
        self.inner.requests.append(request_xml)
        request_id = etree.fromstring(request_xml.split("?>", 2)[-1].encode()).find(".//ReceivePaymentAddRq")
        assert request_id is not None
        return (
            '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>'
            f'<ReceivePaymentAddRs requestID="{request_id.get("requestID")}" statusCode="3210"'
            ' statusSeverity="Error"'
            ' statusMessage="You cannot pay more than the amount due."/></QBXMLMsgsRs></QBXML>'
        )


def test_3210_sends_it_unapplied_and_says_so(shop: Shop) -> None:
    invoice_the_order(shop)
    _, job_id = shop.put("payments", "p-1", payment_body())
    original = shop.quickbooks
    shop.quickbooks = Refuses3210(shop)  # type: ignore[assignment]
    try:
        assert shop.session().ok
    finally:
        shop.quickbooks = original
    [payment] = payments_referenced(shop, "WIZPAY-1")
    assert payment.applied == []
    row = shop.row("payments", "p-1")
    assert row["sync_state"] == "synced"
    assert json.loads(row["sync_error"])["message"] == (
        "sent unapplied, as a credit: QuickBooks refused to apply it"
        " (3210: You cannot pay more than the amount due.)"
    )
    assert shop.job(job_id)["status"] == "done"


def test_without_an_order_quickbooks_auto_applies_it(shop: Shop) -> None:
    invoice, _ = invoice_the_order(shop, mirror=False)
    shop.put("payments", "p-1", payment_body(order_id=None, amount="10"))
    shop.sql("UPDATE payments SET commerce_body = commerce_body - 'order_id' WHERE commerce_id = 'p-1'")
    assert shop.session().ok
    assert "<IsAutoApply>true</IsAutoApply>" in shop.quickbooks.requests[0]
    [payment] = payments_referenced(shop, "WIZPAY-1")
    assert [(a.txn_id, a.amount) for a in payment.applied] == [(invoice, Decimal("10.00"))]
    assert shop.row("payments", "p-1")["sync_error"] is None


def test_a_lost_answer_is_looked_up_and_adopted_exactly_once(shop: Shop) -> None:
    invoice_the_order(shop)
    _, job_id = shop.put("payments", "p-1", payment_body())
    shop.quickbooks.unreadable = 1
    assert shop.session().ok
    assert (
        shop.quickbooks.count("ReceivePaymentAddRq") == 1
        and shop.quickbooks.count("ReceivePaymentQueryRq") == 1
    )
    [payment] = payments_referenced(shop, "WIZPAY-1")
    row = shop.row("payments", "p-1")
    assert (row["sync_state"], row["qb_txn_id"]) == ("synced", payment.txn_id)
    assert shop.job(job_id)["status"] == "done"


def test_a_payment_for_an_order_not_yet_in_quickbooks_goes_after_the_order(shop: Shop) -> None:
    shop.put("sales_orders", "o-2", order_body(shop, "WC1002", "c-1"))
    shop.push_settings(payment_wait_hours=0)
    _, job_id = shop.put("payments", "p-2", payment_body(order_id="o-2", reference="WIZPAY-2"))
    shop.sql("UPDATE jobs SET priority = 10 WHERE id = :id", id=job_id)  # claimed before the order's push
    assert shop.session().ok
    assert shop.row("sales_orders", "o-2")["sync_state"] == "synced"
    assert len(payments_referenced(shop, "WIZPAY-2")) == 1
    assert shop.job(job_id)["status"] == "done"
