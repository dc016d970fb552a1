"""QuickBooks' bookkeeping rules in a simulated company: pricing and due dates on sales forms, stock
reserved and sold, invoices linked to sales orders, payments lowering balances, and their undoing.
Works on a `RecordStore`; knows nothing of who asked (company.py) and no XML.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from qbwc_server.simulator.records import (
    Customer,
    DateDrivenTerms,
    Estimate,
    Invoice,
    ItemInventory,
    LinkedTxn,
    ReceivePayment,
    Ref,
    SalesOrder,
    SalesOrderLine,
    StandardTerms,
    TxnRecord,
)
from qbwc_server.simulator.store import RecordStore

CENT = Decimal("0.01")


def price_for(store: RecordStore, item: ItemInventory, customer: Customer) -> Decimal:
    """The item's rate on this customer's forms, after the customer's price level."""
    price = item.sales_price or Decimal(0)
    level = (
        store.price_levels.get(customer.price_level_ref.list_id or "") if customer.price_level_ref else None
    )
    if level is None or not level.is_active:
        return price
    if level.price_level_type == "FixedPercentage":
        return (price * (1 + level.price_level_fixed_percentage / 100)).quantize(CENT)
    for entry in level.per_item:
        if entry.item_ref.list_id == item.list_id and entry.custom_price is not None:
            return entry.custom_price
    return price


def price_lines(store: RecordStore, txn: SalesOrder | Estimate | Invoice, customer: Customer) -> None:
    """Fill in line IDs, descriptions, rates and amounts, then the form's totals (and an invoice's
    balance and due date)."""
    for line in txn.lines:
        line.txn_line_id = line.txn_line_id or store.new_txn_id()
        item = store.items.get(line.item_ref.list_id or "") if line.item_ref else None
        if item is not None:
            line.item_ref = store.ref(item)
            line.desc = line.desc if line.desc is not None else item.sales_desc
            if line.rate is None:
                line.rate = price_for(store, item, customer)
        if line.amount is None:
            line.amount = ((line.quantity or Decimal(1)) * (line.rate or Decimal(0))).quantize(CENT)
    txn.subtotal = sum((line.amount or Decimal(0) for line in txn.lines), Decimal(0))
    if isinstance(txn, SalesOrder | Estimate):
        txn.total_amount = txn.subtotal
    else:
        txn.balance_remaining = txn.subtotal - txn.applied_amount
        txn.is_paid = txn.balance_remaining <= 0
        txn.due_date = txn.due_date or _due_date(
            store, txn.txn_date or store.clock.now().date(), txn.terms_ref
        )


def _due_date(store: RecordStore, txn_date: date, terms_ref: Ref | None) -> date:
    terms = store.terms.get(terms_ref.list_id or "") if terms_ref else None
    if isinstance(terms, StandardTerms):
        return txn_date + timedelta(days=terms.std_due_days or 0)
    if isinstance(terms, DateDrivenTerms):
        month = txn_date.replace(day=1) + timedelta(days=32)
        if txn_date.day <= terms.day_of_month_due - (terms.due_next_month_days or 0):
            month = txn_date.replace(day=1)
        return month.replace(day=min(terms.day_of_month_due, 28))
    return txn_date


def move_stock(
    store: RecordStore,
    item_id: str,
    *,
    on_hand: Decimal | int = 0,
    on_order: Decimal | int = 0,
    on_sales_order: Decimal | int = 0,
) -> ItemInventory:
    """Receive, sell or order stock. QuickBooks does not change the item's TimeModified for this."""
    item = store.items[item_id]
    item.quantity_on_hand += Decimal(on_hand)
    item.quantity_on_order += Decimal(on_order)
    item.quantity_on_sales_order += Decimal(on_sales_order)
    return item


def _stock(store: RecordStore, item_ref: Ref | None, **moves: Decimal | int) -> None:
    # Lines without an inventory item (or with one since deleted) move no stock.
    if item_ref is not None and item_ref.list_id in store.items:
        move_stock(store, item_ref.list_id, **moves)


def open_quantity(line: SalesOrderLine) -> Decimal:
    """What is left to invoice on a sales order line."""
    return max((line.quantity or Decimal(0)) - line.invoiced, Decimal(0))


def replace_order_lines(
    store: RecordStore, order: SalesOrder, lines: list[SalesOrderLine], customer_ref: Ref
) -> None:
    """Give a sales order new lines: the old lines' open quantities leave QuantityOnSalesOrder, the new
    lines are priced for the customer and theirs join it."""
    for line in order.lines:
        _stock(store, line.item_ref, on_sales_order=-open_quantity(line))
    customer = store.customers[customer_ref.list_id or ""]
    order.lines = lines
    price_lines(store, order, customer)
    for line in order.lines:
        _stock(store, line.item_ref, on_sales_order=open_quantity(line))


def _balance(store: RecordStore, customer: Customer, amount: Decimal) -> None:
    # Balances follow transactions without touching the customer's TimeModified.
    customer.balance += amount
    node: Customer | None = customer
    while node is not None:
        node.total_balance += amount
        node = store.customers.get(node.parent_ref.list_id or "") if node.parent_ref else None


def apply_txn(store: RecordStore, txn: TxnRecord, customer: Customer) -> None:
    """What a new transaction does to stock, balances and the transactions it links to."""
    if isinstance(txn, SalesOrder):
        for so_line in txn.lines:
            _stock(store, so_line.item_ref, on_sales_order=so_line.quantity or 0)
    elif isinstance(txn, Invoice):
        _apply_invoice(store, txn, customer)
    elif isinstance(txn, ReceivePayment):
        _apply_payment(store, txn, customer)


def _apply_invoice(store: RecordStore, invoice: Invoice, customer: Customer) -> None:
    _balance(store, customer, invoice.balance_remaining)
    linked: dict[str, Decimal] = {}
    for line in invoice.lines:
        quantity = line.quantity or Decimal(0)
        _stock(store, line.item_ref, on_hand=-quantity)
        if line.link_to is None:
            continue
        order = store.sales_orders[line.link_to[0]]
        so_line = next(x for x in order.lines if x.txn_line_id == line.link_to[1])
        still_open = open_quantity(so_line)
        so_line.invoiced += quantity
        _stock(store, so_line.item_ref, on_sales_order=-min(quantity, still_open))
        linked[order.txn_id] = linked.get(order.txn_id, Decimal(0)) + (line.amount or Decimal(0))
    for order_id, amount in linked.items():
        order = store.sales_orders[order_id]
        order.is_fully_invoiced = all(x.invoiced >= (x.quantity or 0) for x in order.lines)
        order.linked_txns.append(
            LinkedTxn(invoice.txn_id, "Invoice", invoice.txn_date, invoice.ref_number, "QUANTYPE", amount)
        )
        invoice.linked_txns.append(
            LinkedTxn(order.txn_id, "SalesOrder", order.txn_date, order.ref_number, "QUANTYPE", -amount)
        )
        store.touch(order)


def _apply_payment(store: RecordStore, payment: ReceivePayment, customer: Customer) -> None:
    applied_total = Decimal(0)
    for applied in payment.applied:
        invoice = store.invoices[applied.txn_id]
        amount = min(applied.amount, invoice.balance_remaining)
        applied.amount = amount
        invoice.applied_amount -= amount  # AppliedAmount is negative in QuickBooks' Ret
        invoice.balance_remaining -= amount
        invoice.is_paid = invoice.balance_remaining <= 0
        applied.txn_type, applied.txn_date = "Invoice", invoice.txn_date
        applied.ref_number, applied.balance_remaining = invoice.ref_number, invoice.balance_remaining
        invoice.linked_txns.append(
            LinkedTxn(
                payment.txn_id, "ReceivePayment", payment.txn_date, payment.ref_number, "AMTTYPE", -amount
            )
        )
        # Applying a payment modifies the invoice in QuickBooks: new TimeModified and EditSequence.
        store.touch(invoice)
        applied_total += amount
    if payment.total_amount is None:
        payment.total_amount = applied_total
    payment.unused_payment = payment.total_amount - applied_total
    _balance(store, customer, -payment.total_amount)


def unapply_txn(store: RecordStore, txn: TxnRecord) -> None:
    """Undo what a transaction did to stock, balances and the invoices it paid, before deleting it."""
    customer = store.customers.get(txn.customer_ref.list_id or "")
    if isinstance(txn, SalesOrder):
        for so_line in txn.lines:
            _stock(store, so_line.item_ref, on_sales_order=-open_quantity(so_line))
    elif isinstance(txn, ReceivePayment):
        for applied in txn.applied:
            invoice = store.invoices.get(applied.txn_id)
            if invoice is not None:
                invoice.applied_amount += applied.amount
                invoice.balance_remaining += applied.amount
                invoice.is_paid = invoice.balance_remaining <= 0
                invoice.linked_txns = [x for x in invoice.linked_txns if x.txn_id != txn.txn_id]
                store.touch(invoice)
        if customer is not None:
            _balance(store, customer, txn.total_amount or Decimal(0))
    elif isinstance(txn, Invoice):
        for line in txn.lines:
            _stock(store, line.item_ref, on_hand=line.quantity or 0)
        if customer is not None:
            _balance(store, customer, -txn.balance_remaining)
