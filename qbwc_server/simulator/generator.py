"""A seedable fake wholesale company for tests, the benchmark and the demo: same seed, same company.
Knows what realistic QuickBooks data looks like; builds it only through the `Company` API.

The data is awkward on purpose: names with "&" and apostrophes, Windows-1252 text ("Café
Müller"), jobs under customers, several ship-to addresses, inactive records, sub-items and
assemblies, both kinds of price level and terms, invoices mostly made from sales orders (some
partly), some standalone, payments that pay invoices fully or partly. Vendors exist only as names
no customer may take (`Company.other_names`, list_generator.VENDORS).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from qbwc_server.simulator.company import Company
from qbwc_server.simulator.dice import Dice
from qbwc_server.simulator.list_generator import add_customers, add_items, add_lists, add_price_levels
from qbwc_server.simulator.records import ItemSalesTax
from qbwc_server.simulator.store import START_TIME, Clock
from qbwc_server.simulator.txn_generator import add_invoices, add_payments, add_sales_orders


def generate_company(
    seed: int = 0,
    customers: int = 200,
    items: int = 50,
    sales_orders: int | None = None,
    invoices: int | None = None,
    payments: int | None = None,
    *,
    days: int = 730,
) -> Company:
    """A company whose records were made over `days` days ending at the clock's usual start.

    Defaults: as many sales orders as invoices (one per customer), 80 % of invoices made from
    a sales order, payments for 60 % of invoices.
    """
    rng = Dice(seed)
    invoices = customers if invoices is None else invoices
    sales_orders = invoices if sales_orders is None else sales_orders
    payments = int(invoices * 0.6) if payments is None else payments
    total = 40 + customers + items + sales_orders + invoices + payments
    company = Company(Clock(START_TIME - timedelta(days=days)))
    step = days * 86400 / total
    lists = add_lists(company)
    item_ids = add_items(company, rng, items, step)
    add_price_levels(company, rng, item_ids)
    customer_ids = add_customers(company, rng, customers, lists, step)
    open_orders = add_sales_orders(company, rng, sales_orders, customer_ids, item_ids, step)
    invoice_ids = add_invoices(company, rng, invoices, customer_ids, item_ids, open_orders, step)
    add_payments(company, rng, payments, invoice_ids, step)
    # Last, so that adding it moved no earlier record's ListID: the default sales tax item.
    company.add(ItemSalesTax(name="State Tax", tax_rate=Decimal("4.0")))
    company.clock = Clock(START_TIME)
    return company
