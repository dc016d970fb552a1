"""Answering Add and Mod requests for transactions: sales orders (Mod rewrites the lines it lists),
invoices (lines copied from or linked to sales orders), payments (applied or auto-applied to invoices).
Checks what QuickBooks checks; the bookkeeping is the `Company`'s.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from qbwc_server.simulator.change_checks import check_id, mod_target, not_found
from qbwc_server.simulator.change_fields import read_fields
from qbwc_server.simulator.company import Company
from qbwc_server.simulator.records import (
    AppliedToTxn,
    Invoice,
    InvoiceLine,
    ReceivePayment,
    SalesOrder,
    SalesOrderLine,
)
from qbwc_server.simulator.store import account_ref
from qbwc_server.simulator.txn_rets import (
    INVOICE,
    INVOICE_LINE,
    RECEIVE_PAYMENT,
    SALES_ORDER,
    SALES_ORDER_LINE,
)


def _sales_order_lines(company: Company, body: etree._Element, tag: str) -> list[SalesOrderLine]:
    return [
        SalesOrderLine(**read_fields(company, line, SALES_ORDER_LINE, "SalesOrder"))
        for line in body.findall(tag)
    ]


def add_sales_order(company: Company, body: etree._Element) -> SalesOrder:
    values = read_fields(company, body, SALES_ORDER)
    return company.add(SalesOrder(**values, lines=_sales_order_lines(company, body, "SalesOrderLineAdd")))  # type: ignore[no-any-return]


def mod_sales_order(company: Company, body: etree._Element) -> SalesOrder:
    order: SalesOrder = mod_target(company, body, "sales_orders", "TxnID")
    values = read_fields(company, body, SALES_ORDER)
    line_mods = body.findall("SalesOrderLineMod")
    if line_mods:
        # With any line in the Mod, QuickBooks keeps only the lines listed; "-1" adds a new line.
        existing = {line.txn_line_id: line for line in order.lines}
        lines = []
        for element in line_mods:
            line_id = element.findtext("TxnLineID") or ""
            changes = read_fields(company, element, SALES_ORDER_LINE, "SalesOrder")
            if line_id == "-1":
                lines.append(SalesOrderLine(**changes))
            elif line_id in existing:
                line = existing[line_id]
                for key, value in changes.items():
                    setattr(line, key, value)
                if "quantity" in changes or "rate" in changes:
                    line.amount = changes.get("amount")
                lines.append(line)
            else:
                raise not_found(line_id)
        company.replace_sales_order_lines(
            order.txn_id, lines, values.get("customer_ref") or order.customer_ref
        )
    return company.edit(order.txn_id, **values)  # type: ignore[no-any-return]


def add_invoice(company: Company, body: etree._Element) -> Invoice:
    values = read_fields(company, body, INVOICE)
    lines: list[InvoiceLine] = []
    for order_id in (element.text or "" for element in body.findall("LinkToTxnID")):
        order = company.sales_orders.get(check_id(order_id, "txn id"))
        if order is None:
            raise not_found(order_id)
        for so_line in order.lines:
            open_quantity = (so_line.quantity or Decimal(0)) - so_line.invoiced
            if open_quantity > 0:
                lines.append(
                    InvoiceLine(
                        item_ref=so_line.item_ref,
                        desc=so_line.desc,
                        quantity=open_quantity,
                        rate=so_line.rate,
                        link_to=(order.txn_id, so_line.txn_line_id),
                    )
                )
    for element in body.findall("InvoiceLineAdd"):
        line = InvoiceLine(**read_fields(company, element, INVOICE_LINE, "Invoice"))
        link = element.find("LinkToTxn")
        if link is not None:
            order_id, line_id = link.findtext("TxnID") or "", link.findtext("TxnLineID") or ""
            order = company.sales_orders.get(check_id(order_id, "txn id"))
            if order is None or all(x.txn_line_id != line_id for x in order.lines):
                raise not_found(order_id if order is None else line_id)
            line.link_to = (order_id, line_id)
        lines.append(line)
    values.setdefault("ar_account_ref", account_ref("Accounts Receivable"))
    return company.add(Invoice(**values, lines=lines))  # type: ignore[no-any-return]


def add_payment(company: Company, body: etree._Element) -> ReceivePayment:
    values = read_fields(company, body, RECEIVE_PAYMENT)
    customer_id = values["customer_ref"].list_id
    applied: list[AppliedToTxn] = []
    for element in body.findall("AppliedToTxnAdd"):
        txn_id = check_id(element.findtext("TxnID") or "", "txn id")
        invoice = company.invoices.get(txn_id)
        if invoice is None or invoice.customer_ref.list_id != customer_id:
            raise not_found(txn_id)
        amount = element.findtext("PaymentAmount")
        applied.append(AppliedToTxn(txn_id, Decimal(amount) if amount else invoice.balance_remaining))
    if body.findtext("IsAutoApply") == "true":
        # Auto-apply: oldest open invoices first, up to the payment's total.
        left = values.get("total_amount") or Decimal(0)
        for invoice in sorted(company.invoices.values(), key=lambda x: (x.txn_date, x.txn_number)):
            if left <= 0:
                break
            if invoice.customer_ref.list_id == customer_id and invoice.balance_remaining > 0:
                amount = min(left, invoice.balance_remaining)
                applied.append(AppliedToTxn(invoice.txn_id, amount))
                left -= amount
    values.setdefault("ar_account_ref", account_ref("Accounts Receivable"))
    values.setdefault("deposit_to_account_ref", account_ref("Undeposited Funds"))
    return company.add(ReceivePayment(**values, applied=applied))  # type: ignore[no-any-return]
