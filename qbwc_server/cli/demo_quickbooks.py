"""What the demo's QuickBooks user does between sessions, through the simulated company's own
API (simulator/company.py), which keeps balances, stock and links as QuickBooks would.
Knows no database and no HTTP: the server only learns of these changes by pulling them.
"""

from __future__ import annotations

from decimal import Decimal

from qbwc_server.simulator.company import Company
from qbwc_server.simulator.records import Customer, Invoice, InvoiceLine, ItemInventory
from qbwc_server.simulator.store import account_ref


def change_company(company: Company) -> None:
    """One customer edited, one deactivated, one added; stock received for one item."""
    company.clock.advance(600)
    active = [c for c in company.customers.values() if c.is_active]
    company.edit(active[0].list_id, phone="404-555-0123")
    company.deactivate(active[1].list_id)
    company.add(Customer(name="Peachtree Provisions", full_name="Peachtree Provisions"))
    company.move_stock(next(iter(company.items)), on_hand=Decimal(24))


def skus_for_sale(company: Company, count: int = 2) -> list[tuple[str, Decimal]]:
    """The first `count` active inventory items by name, with their sales prices: SKUs the
    commerce side's catalog has, since it came from QuickBooks."""
    items = sorted(
        (item for item in company.items.values() if type(item) is ItemInventory and item.is_active),
        key=lambda item: item.full_name or "",
    )
    return [(item.full_name or "", item.sales_price or Decimal(0)) for item in items[:count]]


def invoice_order(company: Company, order_txn_id: str, tracking: str = "1Z999AA10123456784") -> Invoice:
    """Invoice and ship a sales order in full, as a QuickBooks user does when it goes out."""
    company.clock.advance(600)
    order = company.sales_orders[order_txn_id]
    ups = next((m for m in company.ship_methods.values() if m.name == "UPS"), None)
    invoice: Invoice = company.add(
        Invoice(
            customer_ref=order.customer_ref,
            ref_number=str(10001 + len(company.invoices)),  # the generated ones are 10001, 10002…
            terms_ref=order.terms_ref,
            sales_rep_ref=order.sales_rep_ref,
            ship_address=order.ship_address,
            bill_address=order.bill_address,
            po_number=order.po_number,
            ship_date=company.clock.now().date(),
            ship_method_ref=company.ref(ups) if ups else None,
            other=tracking,
            ar_account_ref=account_ref("Accounts Receivable"),
            lines=[
                InvoiceLine(
                    item_ref=line.item_ref,
                    quantity=line.quantity,
                    rate=line.rate,
                    link_to=(order.txn_id, line.txn_line_id),
                )
                for line in order.lines
            ],
        )
    )
    return invoice
