"""Answering Add and Mod requests for sales forms: sales orders and estimates (Mod rewrites the lines
it lists), invoices (lines copied from or linked to sales orders). Payments are payment_changes.py's.
Checks what QuickBooks checks; the bookkeeping is the `Company`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lxml import etree

from qbwc_server.simulator import bookkeeping
from qbwc_server.simulator.change_checks import check_id, mod_target, not_found
from qbwc_server.simulator.change_fields import read_fields
from qbwc_server.simulator.company import Company
from qbwc_server.simulator.records import (
    Estimate,
    EstimateLine,
    Invoice,
    InvoiceLine,
    SalesOrder,
    SalesOrderLine,
)
from qbwc_server.simulator.ret_format import Spec
from qbwc_server.simulator.store import account_ref
from qbwc_server.simulator.txn_rets import (
    ESTIMATE,
    ESTIMATE_LINE,
    INVOICE,
    INVOICE_LINE,
    SALES_ORDER,
    SALES_ORDER_LINE,
)


@dataclass(frozen=True)
class _Form:
    """What differs between sales orders and estimates when they are added or modified."""

    kind: str  # "SalesOrder" or "Estimate": request names and 3140 wording
    collection: str
    record: Callable[..., Any]  # SalesOrder or Estimate
    line: Callable[..., Any]  # its line class
    spec: Spec
    line_spec: Spec


_SALES_ORDER = _Form("SalesOrder", "sales_orders", SalesOrder, SalesOrderLine, SALES_ORDER, SALES_ORDER_LINE)
_ESTIMATE = _Form("Estimate", "estimates", Estimate, EstimateLine, ESTIMATE, ESTIMATE_LINE)


def _add_form(company: Company, body: etree._Element, form: _Form) -> Any:
    # The customer is checked before the lines, as QuickBooks reports the header's references first.
    values = read_fields(company, body, form.spec, form.kind)
    lines = [
        form.line(**read_fields(company, line, form.line_spec, f"{form.kind} line"))
        for line in body.findall(f"{form.kind}LineAdd")
    ]
    return company.add(form.record(**values, lines=lines))


def add_sales_order(company: Company, body: etree._Element) -> SalesOrder:
    return _add_form(company, body, _SALES_ORDER)  # type: ignore[no-any-return]


def add_estimate(company: Company, body: etree._Element) -> Estimate:
    return _add_form(company, body, _ESTIMATE)  # type: ignore[no-any-return]


def _mod_form(company: Company, body: etree._Element, form: _Form) -> Any:
    txn = mod_target(company, body, form.collection, "TxnID")
    values = read_fields(company, body, form.spec, form.kind)
    line_mods = body.findall(f"{form.kind}LineMod")
    if line_mods:
        # With any line in the Mod, QuickBooks keeps only the lines listed; "-1" adds a new line.
        existing = {line.txn_line_id: line for line in txn.lines}
        lines: list[Any] = []
        for element in line_mods:
            line_id = element.findtext("TxnLineID") or ""
            changes = read_fields(company, element, form.line_spec, f"{form.kind} line")
            if line_id == "-1":
                lines.append(form.line(**changes))
            elif line_id in existing:
                line = existing[line_id]
                for key, value in changes.items():
                    setattr(line, key, value)
                if "quantity" in changes or "rate" in changes:
                    line.amount = changes.get("amount")
                lines.append(line)
            else:
                raise not_found(line_id)
        customer_ref = values.get("customer_ref") or txn.customer_ref
        if isinstance(txn, SalesOrder):
            company.replace_sales_order_lines(txn.txn_id, lines, customer_ref)
        else:  # an estimate reserves no stock: new lines, priced again
            txn.lines = lines
            bookkeeping.price_lines(company, txn, company.customers[customer_ref.list_id or ""])
    return company.edit(txn.txn_id, **values)


def mod_sales_order(company: Company, body: etree._Element) -> SalesOrder:
    return _mod_form(company, body, _SALES_ORDER)  # type: ignore[no-any-return]


def mod_estimate(company: Company, body: etree._Element) -> Estimate:
    return _mod_form(company, body, _ESTIMATE)  # type: ignore[no-any-return]


def add_invoice(company: Company, body: etree._Element) -> Invoice:
    values = read_fields(company, body, INVOICE, "Invoice")
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
        line = InvoiceLine(**read_fields(company, element, INVOICE_LINE, "Invoice line"))
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
