"""Answering ReceivePaymentAdd as QuickBooks does: applied to the invoices named by AppliedToTxnAdd,
auto-applied to the customer's oldest open invoices (IsAutoApply), or kept as an unapplied credit.
Checks what QuickBooks checks before anything changes; balances move in bookkeeping.py.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from qbwc_server.simulator.change_checks import StatusError, check_id, not_found
from qbwc_server.simulator.change_fields import read_fields
from qbwc_server.simulator.company import Company
from qbwc_server.simulator.records import AppliedToTxn, Invoice, ReceivePayment
from qbwc_server.simulator.store import account_ref
from qbwc_server.simulator.txn_rets import RECEIVE_PAYMENT


def overpaid(amount: str) -> StatusError:
    """3210: an AppliedToTxnAdd pays more than the invoice's balance (QuickBooks' wording, as quoted
    in consolibyte/quickbooks-php's error handler)."""
    return StatusError(
        3210,
        f'The "AppliedToTxnAdd payment amount" field has an invalid value "{amount}".  '
        "QuickBooks error message: You cannot pay more than the amount due.",
    )


def add_payment(company: Company, body: etree._Element) -> ReceivePayment:
    """A new payment; IsAutoApply and AppliedToTxnAdd exclude each other (the XSD's choice)."""
    values = read_fields(company, body, RECEIVE_PAYMENT, "ReceivePayment")
    customer_id = values["customer_ref"].list_id
    applied = [_applied(company, element, customer_id) for element in body.findall("AppliedToTxnAdd")]
    total = values.get("total_amount")
    if total is not None and sum((a.amount for a in applied), Decimal(0)) > total:
        # Applying more than the payment brings in: QuickBooks refuses it. Its exact code and text were
        # not found in public sources; 3210 with the overpayment wording is our stand-in.
        raise overpaid(str(sum((a.amount for a in applied), Decimal(0))))
    if body.findtext("IsAutoApply") == "true":
        applied = _auto_apply(company, customer_id, total or Decimal(0))
    # Neither: the whole payment stays unapplied, a credit (UnusedPayment = TotalAmount).
    values.setdefault("ar_account_ref", account_ref("Accounts Receivable"))
    values.setdefault("deposit_to_account_ref", account_ref("Undeposited Funds"))
    return company.add(ReceivePayment(**values, applied=applied))  # type: ignore[no-any-return]


def _applied(company: Company, element: etree._Element, customer_id: str | None) -> AppliedToTxn:
    txn_id = check_id(element.findtext("TxnID") or "", "txn id")
    invoice = company.invoices.get(txn_id)
    if invoice is None or invoice.customer_ref.list_id != customer_id or invoice.balance_remaining <= 0:
        # 3120: an invoice that is not this customer's, or already paid, "cannot be found" (an open
        # invoice is what a payment may be applied to; quickbooks-php handles both with that text).
        raise not_found(txn_id)
    text = element.findtext("PaymentAmount")
    amount = Decimal(text) if text else invoice.balance_remaining
    if amount > invoice.balance_remaining:
        raise overpaid(text or str(amount))
    return AppliedToTxn(txn_id, amount)


def _auto_apply(company: Company, customer_id: str | None, total: Decimal) -> list[AppliedToTxn]:
    """QuickBooks' auto-apply: an open invoice of exactly the payment's amount, else the oldest open
    invoices first until the amount is used up (QuickBooks' help on "Automatically apply payments";
    e.g. blog.marksgroup.net/2010/10/auto-apply-payments.html)."""
    invoices: list[Invoice] = sorted(
        (
            x
            for x in company.invoices.values()
            if x.customer_ref.list_id == customer_id and x.balance_remaining > 0
        ),
        key=lambda x: (x.txn_date, x.txn_number),
    )
    exact = next((x for x in invoices if x.balance_remaining == total), None)
    if exact is not None:
        return [AppliedToTxn(exact.txn_id, total)]
    applied: list[AppliedToTxn] = []
    left = total
    for invoice in invoices:
        if left <= 0:
            break
        amount = min(left, invoice.balance_remaining)
        applied.append(AppliedToTxn(invoice.txn_id, amount))
        left -= amount
    return applied
