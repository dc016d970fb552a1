"""A QuickBooks Desktop company held in memory: its records, clock, IDs, and the changes a user makes.
Field names mirror qbXML element names in snake_case; knows no XML (render.py and quickbooks.py do).

Records (dataclasses, one per qbXML `*Ret`) are live objects in `Company` dicts keyed by ListID or
TxnID. Change them through the `Company` methods, as a user in QuickBooks would: those keep
TimeModified, EditSequence, balances, stock and links consistent the way QuickBooks does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from qbwc_server.simulator.records import (
    Address,
    AppliedToTxn,
    AssemblyLine,
    Class,
    Customer,
    CustomerType,
    DateDrivenTerms,
    Deleted,
    Invoice,
    InvoiceLine,
    ItemInventory,
    ItemInventoryAssembly,
    LinkedTxn,
    ListRecord,
    PaymentMethod,
    PriceLevel,
    PriceLevelPerItem,
    ReceivePayment,
    Ref,
    SalesOrder,
    SalesOrderLine,
    SalesRep,
    SalesTaxCode,
    ShipMethod,
    ShipToAddress,
    StandardTerms,
    TxnRecord,
)

__all__ = [
    "Address",
    "AppliedToTxn",
    "AssemblyLine",
    "Class",
    "Clock",
    "Company",
    "Customer",
    "CustomerType",
    "DateDrivenTerms",
    "Deleted",
    "Invoice",
    "InvoiceLine",
    "ItemInventory",
    "ItemInventoryAssembly",
    "LinkedTxn",
    "ListRecord",
    "PaymentMethod",
    "PriceLevel",
    "PriceLevelPerItem",
    "ReceivePayment",
    "Ref",
    "SalesOrder",
    "SalesOrderLine",
    "SalesRep",
    "SalesTaxCode",
    "ShipMethod",
    "ShipToAddress",
    "StandardTerms",
    "TxnRecord",
    "account_ref",
]

#: The host's UTC offset: QuickBooks writes local times with it (US Eastern, standard time).
HOST_TIMEZONE = timezone(timedelta(hours=-5))
START_TIME = datetime(2026, 11, 25, 10, 41, 48, tzinfo=HOST_TIMEZONE)
CENT = Decimal("0.01")

#: The few accounts transactions refer to; accounts are not otherwise simulated.
ACCOUNTS = {
    "Accounts Receivable": "80000001-1700000000",
    "Undeposited Funds": "80000002-1700000000",
    "Sales": "80000003-1700000000",
    "Cost of Goods Sold": "80000004-1700000000",
    "Inventory Asset": "80000005-1700000000",
}


class Clock:
    """The company's clock: starts at a fixed local time and moves only when told to."""

    def __init__(self, start: datetime = START_TIME) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs a tz-aware start")
        self._now = start.replace(microsecond=0)
        self._epoch = self._now.timestamp()

    def now(self) -> datetime:
        return self._now

    def stamp(self) -> int:
        """now() as whole Unix seconds (cached: tz-aware timestamp() is slow)."""
        return int(self._epoch)

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        self._epoch += seconds
        return self._now


def account_ref(name: str) -> Ref:
    return Ref(ACCOUNTS[name], name)


@dataclass
class _Collections:
    customers: dict[str, Customer] = field(default_factory=dict)
    items: dict[str, ItemInventory] = field(default_factory=dict)
    price_levels: dict[str, PriceLevel] = field(default_factory=dict)
    sales_reps: dict[str, SalesRep] = field(default_factory=dict)
    terms: dict[str, StandardTerms | DateDrivenTerms] = field(default_factory=dict)
    customer_types: dict[str, CustomerType] = field(default_factory=dict)
    classes: dict[str, Class] = field(default_factory=dict)
    sales_tax_codes: dict[str, SalesTaxCode] = field(default_factory=dict)
    ship_methods: dict[str, ShipMethod] = field(default_factory=dict)
    payment_methods: dict[str, PaymentMethod] = field(default_factory=dict)
    sales_orders: dict[str, SalesOrder] = field(default_factory=dict)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    payments: dict[str, ReceivePayment] = field(default_factory=dict)


_LIST_COLLECTION = {
    Customer: "customers",
    ItemInventory: "items",
    ItemInventoryAssembly: "items",
    PriceLevel: "price_levels",
    SalesRep: "sales_reps",
    StandardTerms: "terms",
    DateDrivenTerms: "terms",
    CustomerType: "customer_types",
    Class: "classes",
    SalesTaxCode: "sales_tax_codes",
    ShipMethod: "ship_methods",
    PaymentMethod: "payment_methods",
}
_TXN_COLLECTION = {SalesOrder: "sales_orders", Invoice: "invoices", ReceivePayment: "payments"}


class Company(_Collections):
    """Every record of one company file, keyed by ListID/TxnID, with a name index per list.

    Names are unique case-insensitively: customers share one namespace with the other names
    (here: the sales reps' entities), items share the item list, terms share the terms list.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__()
        self.clock = clock or Clock()
        self.deleted_lists: list[Deleted] = []
        self.deleted_txns: list[Deleted] = []
        #: Names of employees / vendors / other names (SalesRepEntityRef): customers may not reuse them.
        self.other_names: set[str] = set()
        self._names: dict[str, dict[str, str]] = {}
        self._next_list = 0x80000010
        self._next_txn = 0x100
        self._next_txn_number = 1
        self._last_sequence = 0

    # -- IDs -----------------------------------------------------------------------------------

    def new_list_id(self) -> str:
        """ListIDs look like "80000012-1732541234": a hex counter and the creation time."""
        self._next_list += 1
        return f"{self._next_list:X}-{self.clock.stamp()}"

    def new_txn_id(self) -> str:
        """TxnIDs and TxnLineIDs look like "1A2B-1732541234"."""
        self._next_txn += 1
        return f"{self._next_txn:X}-{self.clock.stamp()}"

    def new_edit_sequence(self) -> str:
        # A decimal timestamp that changes on every modification, even two within one second.
        self._last_sequence = max(self.clock.stamp(), self._last_sequence + 1)
        return str(self._last_sequence)

    # -- lookups -------------------------------------------------------------------------------

    def collection(self, record: ListRecord | TxnRecord) -> dict[str, Any]:
        name = _LIST_COLLECTION.get(type(record)) or _TXN_COLLECTION[type(record)]
        return getattr(self, name)  # type: ignore[no-any-return]

    def find(self, object_id: str) -> ListRecord | TxnRecord | None:
        for name in (*set(_LIST_COLLECTION.values()), *_TXN_COLLECTION.values()):
            record = getattr(self, name).get(object_id)
            if record is not None:
                return record  # type: ignore[no-any-return]
        return None

    def by_name(self, collection: str, full_name: str) -> Any:
        """The record of `collection` ("customers", "items", …) with this full name, or None."""
        list_id = self._names.get(collection, {}).get(full_name.upper())
        return None if list_id is None else getattr(self, collection)[list_id]

    def name_taken(self, collection: str, full_name: str, *, other_than: str = "") -> bool:
        key = full_name.upper()
        owner = self._names.get(collection, {}).get(key)
        if owner is not None and owner != other_than:
            return True
        return collection == "customers" and key in self.other_names

    def ref(self, record: ListRecord) -> Ref:
        return Ref(record.list_id, record.ref_name())

    # -- the user's changes --------------------------------------------------------------------

    def add(self, record: Any) -> Any:
        """Add a record as a user would: new IDs and times; transactions move stock and balances."""
        now = self.clock.now()
        record.time_created = record.time_modified = now
        record.edit_sequence = self.new_edit_sequence()
        if isinstance(record, TxnRecord):
            return self._add_txn(record)
        record.list_id = record.list_id or self.new_list_id()
        self._place_in_hierarchy(record)
        collection = _LIST_COLLECTION[type(record)]
        if self.name_taken(collection, record.ref_name()):
            raise ValueError(f"name {record.ref_name()!r} already in use")
        getattr(self, collection)[record.list_id] = record
        self._names.setdefault(collection, {})[record.ref_name().upper()] = record.list_id
        if isinstance(record, SalesRep) and record.sales_rep_entity_ref.full_name:
            self.other_names.add(record.sales_rep_entity_ref.full_name.upper())
        return record

    def edit(self, object_id: str, **changes: Any) -> Any:
        """Change fields of a record, bumping its TimeModified and EditSequence."""
        record = self._get(object_id)
        if isinstance(record, ListRecord):
            collection = _LIST_COLLECTION[type(record)]
            old_name = record.ref_name()
            for key, value in changes.items():
                setattr(record, key, value)
            self._place_in_hierarchy(record)
            if record.ref_name().upper() != old_name.upper():
                if self.name_taken(collection, record.ref_name(), other_than=record.list_id):
                    raise ValueError(f"name {record.ref_name()!r} already in use")
                del self._names[collection][old_name.upper()]
                self._names[collection][record.ref_name().upper()] = record.list_id
        else:
            for key, value in changes.items():
                setattr(record, key, value)
        self.touch(record)
        return record

    def touch(self, record: ListRecord | TxnRecord) -> None:
        """What every modification does: a new TimeModified and EditSequence."""
        record.time_modified = self.clock.now()
        record.edit_sequence = self.new_edit_sequence()

    def deactivate(self, list_id: str) -> Any:
        return self.edit(list_id, is_active=False)

    def reactivate(self, list_id: str) -> Any:
        return self.edit(list_id, is_active=True)

    def delete(self, object_id: str) -> Deleted:
        """Delete a record; ListDeletedQuery / TxnDeletedQuery report it with TimeDeleted."""
        record = self._get(object_id)
        if isinstance(record, TxnRecord):
            self._unapply_txn(record)
            del self.collection(record)[object_id]
            gone = Deleted(
                type(record).__name__,
                object_id,
                record.time_created,
                self.clock.now(),
                ref_number=record.ref_number,
            )
            self.deleted_txns.append(gone)
            return gone
        assert isinstance(record, ListRecord)
        collection = _LIST_COLLECTION[type(record)]
        del getattr(self, collection)[object_id]
        del self._names[collection][record.ref_name().upper()]
        gone = Deleted(
            type(record).__name__,
            object_id,
            record.time_created,
            self.clock.now(),
            full_name=record.ref_name(),
        )
        self.deleted_lists.append(gone)
        return gone

    def move_stock(
        self,
        item_id: str,
        *,
        on_hand: Decimal | int = 0,
        on_order: Decimal | int = 0,
        on_sales_order: Decimal | int = 0,
    ) -> ItemInventory:
        """Receive, sell or order stock. QuickBooks does not change the item's TimeModified for this."""
        item = self.items[item_id]
        item.quantity_on_hand += Decimal(on_hand)
        item.quantity_on_order += Decimal(on_order)
        item.quantity_on_sales_order += Decimal(on_sales_order)
        return item

    def price_for(self, item: ItemInventory, customer: Customer) -> Decimal:
        """The item's rate on this customer's forms, after the customer's price level."""
        price = item.sales_price or Decimal(0)
        level = (
            self.price_levels.get(customer.price_level_ref.list_id or "")
            if customer.price_level_ref
            else None
        )
        if level is None or not level.is_active:
            return price
        if level.price_level_type == "FixedPercentage":
            return (price * (1 + level.price_level_fixed_percentage / 100)).quantize(CENT)
        for entry in level.per_item:
            if entry.item_ref.list_id == item.list_id and entry.custom_price is not None:
                return entry.custom_price
        return price

    # -- internals -----------------------------------------------------------------------------

    def _get(self, object_id: str) -> Any:
        record = self.find(object_id)
        if record is None:
            raise KeyError(object_id)
        return record

    def _place_in_hierarchy(self, record: ListRecord) -> None:
        if not hasattr(record, "parent_ref"):
            return
        parent_ref: Ref | None = record.parent_ref
        collection = getattr(self, _LIST_COLLECTION[type(record)])
        parent = collection.get(parent_ref.list_id) if parent_ref and parent_ref.list_id else None
        if parent is None and parent_ref and parent_ref.full_name:
            parent = self.by_name(_LIST_COLLECTION[type(record)], parent_ref.full_name)
        if parent is None:
            record.parent_ref, record.sublevel = None, 0  # type: ignore[attr-defined]
            record.full_name = record.name  # type: ignore[attr-defined]
        else:
            record.parent_ref = self.ref(parent)
            record.sublevel = parent.sublevel + 1  # type: ignore[attr-defined]
            record.full_name = f"{parent.full_name}:{record.name}"  # type: ignore[attr-defined]

    def _add_txn(self, txn: TxnRecord) -> TxnRecord:
        txn.txn_id = txn.txn_id or self.new_txn_id()
        txn.txn_number = self._next_txn_number
        self._next_txn_number += 1
        txn.txn_date = txn.txn_date or self.clock.now().date()
        customer = self.customers[txn.customer_ref.list_id or ""]
        txn.customer_ref = self.ref(customer)
        if isinstance(txn, SalesOrder | Invoice):
            self._price_lines(txn, customer)
        self.collection(txn)[txn.txn_id] = txn
        if isinstance(txn, SalesOrder):
            for so_line in txn.lines:
                self._stock(so_line.item_ref, on_sales_order=so_line.quantity or 0)
        elif isinstance(txn, Invoice):
            self._apply_invoice(txn, customer)
        elif isinstance(txn, ReceivePayment):
            self._apply_payment(txn, customer)
        return txn

    def _price_lines(self, txn: SalesOrder | Invoice, customer: Customer) -> None:
        for line in txn.lines:
            line.txn_line_id = line.txn_line_id or self.new_txn_id()
            item = self.items.get(line.item_ref.list_id or "") if line.item_ref else None
            if item is not None:
                line.item_ref = self.ref(item)
                line.desc = line.desc if line.desc is not None else item.sales_desc
                if line.rate is None:
                    line.rate = self.price_for(item, customer)
            if line.amount is None:
                line.amount = ((line.quantity or Decimal(1)) * (line.rate or Decimal(0))).quantize(CENT)
        txn.subtotal = sum((line.amount or Decimal(0) for line in txn.lines), Decimal(0))
        if isinstance(txn, SalesOrder):
            txn.total_amount = txn.subtotal
        else:
            txn.balance_remaining = txn.subtotal - txn.applied_amount
            txn.is_paid = txn.balance_remaining <= 0
            txn.due_date = txn.due_date or self._due_date(
                txn.txn_date or self.clock.now().date(), txn.terms_ref
            )

    def _due_date(self, txn_date: date, terms_ref: Ref | None) -> date:
        terms = self.terms.get(terms_ref.list_id or "") if terms_ref else None
        if isinstance(terms, StandardTerms):
            return txn_date + timedelta(days=terms.std_due_days or 0)
        if isinstance(terms, DateDrivenTerms):
            month = txn_date.replace(day=1) + timedelta(days=32)
            if txn_date.day <= terms.day_of_month_due - (terms.due_next_month_days or 0):
                month = txn_date.replace(day=1)
            return month.replace(day=min(terms.day_of_month_due, 28))
        return txn_date

    def _stock(self, item_ref: Ref | None, **moves: Decimal | int) -> None:
        if item_ref is not None and item_ref.list_id in self.items:
            self.move_stock(item_ref.list_id, **moves)

    def _balance(self, customer: Customer, amount: Decimal) -> None:
        # Balances follow transactions without touching the customer's TimeModified.
        customer.balance += amount
        node: Customer | None = customer
        while node is not None:
            node.total_balance += amount
            node = self.customers.get(node.parent_ref.list_id or "") if node.parent_ref else None

    def _apply_invoice(self, invoice: Invoice, customer: Customer) -> None:
        self._balance(customer, invoice.balance_remaining)
        linked: dict[str, Decimal] = {}
        for line in invoice.lines:
            quantity = line.quantity or Decimal(0)
            self._stock(line.item_ref, on_hand=-quantity)
            if line.link_to is None:
                continue
            order = self.sales_orders[line.link_to[0]]
            so_line = next(x for x in order.lines if x.txn_line_id == line.link_to[1])
            open_quantity = max((so_line.quantity or Decimal(0)) - so_line.invoiced, Decimal(0))
            so_line.invoiced += quantity
            self._stock(so_line.item_ref, on_sales_order=-min(quantity, open_quantity))
            linked[order.txn_id] = linked.get(order.txn_id, Decimal(0)) + (line.amount or Decimal(0))
        for order_id, amount in linked.items():
            order = self.sales_orders[order_id]
            order.is_fully_invoiced = all(x.invoiced >= (x.quantity or 0) for x in order.lines)
            order.linked_txns.append(
                LinkedTxn(invoice.txn_id, "Invoice", invoice.txn_date, invoice.ref_number, "QUANTYPE", amount)
            )
            invoice.linked_txns.append(
                LinkedTxn(order.txn_id, "SalesOrder", order.txn_date, order.ref_number, "QUANTYPE", -amount)
            )
            self.touch(order)

    def _apply_payment(self, payment: ReceivePayment, customer: Customer) -> None:
        applied_total = Decimal(0)
        for applied in payment.applied:
            invoice = self.invoices[applied.txn_id]
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
            self.touch(invoice)
            applied_total += amount
        if payment.total_amount is None:
            payment.total_amount = applied_total
        payment.unused_payment = payment.total_amount - applied_total
        self._balance(customer, -payment.total_amount)

    def _unapply_txn(self, txn: TxnRecord) -> None:
        customer = self.customers.get(txn.customer_ref.list_id or "")
        if isinstance(txn, SalesOrder):
            for so_line in txn.lines:
                open_quantity = max((so_line.quantity or Decimal(0)) - so_line.invoiced, Decimal(0))
                self._stock(so_line.item_ref, on_sales_order=-open_quantity)
        elif isinstance(txn, ReceivePayment):
            for applied in txn.applied:
                invoice = self.invoices.get(applied.txn_id)
                if invoice is not None:
                    invoice.applied_amount += applied.amount
                    invoice.balance_remaining += applied.amount
                    invoice.is_paid = invoice.balance_remaining <= 0
                    invoice.linked_txns = [x for x in invoice.linked_txns if x.txn_id != txn.txn_id]
                    self.touch(invoice)
            if customer is not None:
                self._balance(customer, txn.total_amount or Decimal(0))
        elif isinstance(txn, Invoice):
            for line in txn.lines:
                self._stock(line.item_ref, on_hand=line.quantity or 0)
            if customer is not None:
                self._balance(customer, -txn.balance_remaining)

    def records(self) -> Iterator[ListRecord | TxnRecord]:
        for name in (*dict.fromkeys(_LIST_COLLECTION.values()), *_TXN_COLLECTION.values()):
            yield from getattr(self, name).values()


def replace(record: Any, **changes: Any) -> Any:
    """A copy of a record with some fields changed (for building records to add)."""
    return dataclasses.replace(record, **changes)
