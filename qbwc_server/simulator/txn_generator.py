"""The generated company's transactions: sales orders, invoices (most made from a sales order, some
partly, some standalone) and payments (most paying an invoice in full). Adds them only through the
`Company` API, which does the bookkeeping.
"""

from __future__ import annotations

from decimal import Decimal

from qbwc_server.simulator.company import Company
from qbwc_server.simulator.dice import Dice
from qbwc_server.simulator.records import (
    AppliedToTxn,
    Invoice,
    InvoiceLine,
    ReceivePayment,
    Ref,
    SalesOrder,
    SalesOrderLine,
)
from qbwc_server.simulator.store import account_ref


def _lines(rng: Dice, item_ids: list[str], company: Company) -> list[tuple[Ref, Decimal]]:
    return [
        (company.ref(company.items[i]), Decimal(rng.number(1, 24)))
        for i in rng.sample(item_ids, min(rng.number(1, 4), len(item_ids)))
    ]


def add_sales_orders(
    company: Company,
    rng: Dice,
    count: int,
    customer_ids: list[str],
    item_ids: list[str],
    step: float,
) -> list[str]:
    """`count` sales orders for random customers; returns their TxnIDs shuffled, for invoices to take."""
    ids = []
    wizcommerce = company.ref(company.by_name("classes", "Wizcommerce"))
    for number in range(1, count + 1):
        company.clock.advance(step)
        customer = company.customers[rng.pick(customer_ids)]
        order = company.add(
            SalesOrder(
                customer_ref=company.ref(customer),
                ref_number=f"SO-{number}",
                po_number=f"PO{rng.number(1000, 99999)}",
                terms_ref=customer.terms_ref,
                sales_rep_ref=customer.sales_rep_ref,
                ship_address=customer.ship_address,
                bill_address=customer.bill_address,
                class_ref=wizcommerce if rng.chance(0.5) else None,
                lines=[
                    SalesOrderLine(item_ref=ref, quantity=quantity)
                    for ref, quantity in _lines(rng, item_ids, company)
                ],
            )
        )
        ids.append(order.txn_id)
    rng.shuffle(ids)
    return ids


def add_invoices(
    company: Company,
    rng: Dice,
    count: int,
    customer_ids: list[str],
    item_ids: list[str],
    open_orders: list[str],
    step: float,
) -> list[str]:
    """`count` invoices, 80 % made from an order popped off `open_orders` (10 % of those for half the
    quantities); returns their TxnIDs."""
    ids = []
    ship_methods = [company.ref(method) for method in company.ship_methods.values()]
    for number in range(1, count + 1):
        company.clock.advance(step)
        order = company.sales_orders[open_orders.pop()] if open_orders and rng.chance(0.8) else None
        if order is not None:
            customer = company.customers[order.customer_ref.list_id or ""]
            partly = rng.chance(0.1)
            lines = [
                InvoiceLine(
                    item_ref=line.item_ref,
                    quantity=(line.quantity or Decimal(1)) // (2 if partly else 1) or Decimal(1),
                    rate=line.rate,
                    link_to=(order.txn_id, line.txn_line_id),
                )
                for line in order.lines
            ]
        else:
            customer = company.customers[rng.pick(customer_ids)]
            lines = [
                InvoiceLine(item_ref=ref, quantity=quantity)
                for ref, quantity in _lines(rng, item_ids, company)
            ]
        ship = company.clock.now().date()
        invoice = company.add(
            Invoice(
                customer_ref=company.ref(customer),
                ref_number=str(10000 + number),
                terms_ref=customer.terms_ref,
                sales_rep_ref=customer.sales_rep_ref,
                ship_address=customer.ship_address,
                ship_date=ship,
                ship_method_ref=rng.pick(ship_methods),
                fob="Atlanta",
                other=f"1Z{rng.number(10**9, 10**10 - 1)}",
                ar_account_ref=account_ref("Accounts Receivable"),
                lines=lines,
            )
        )
        ids.append(invoice.txn_id)
    return ids


def add_payments(company: Company, rng: Dice, count: int, invoice_ids: list[str], step: float) -> None:
    """Up to `count` payments, each on a different invoice: 75 % pay it in full, the rest half."""
    candidates = rng.sample(invoice_ids, min(count, len(invoice_ids)))
    methods = [company.ref(method) for method in company.payment_methods.values()]
    for number, invoice_id in enumerate(candidates, start=1):
        company.clock.advance(step)
        invoice = company.invoices[invoice_id]
        full = rng.chance(0.75)
        amount = (
            invoice.balance_remaining if full else (invoice.balance_remaining / 2).quantize(Decimal("0.01"))
        )
        if amount <= 0:
            continue
        company.add(
            ReceivePayment(
                customer_ref=invoice.customer_ref,
                ref_number=f"CHK{number}",
                total_amount=amount,
                payment_method_ref=rng.pick(methods),
                ar_account_ref=account_ref("Accounts Receivable"),
                deposit_to_account_ref=account_ref("Undeposited Funds"),
                applied=[AppliedToTxn(invoice_id, amount)],
            )
        )
