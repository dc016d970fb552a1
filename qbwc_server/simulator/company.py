"""A QuickBooks Desktop company held in memory, changed as a user in QuickBooks changes it.
Knows which rules each change sets off; the records live in store.py, the rules in bookkeeping.py; no XML.

Records (dataclasses, one per qbXML `*Ret`) are live objects in `Company` dicts keyed by ListID or
TxnID. Change them through the `Company` methods, as a user in QuickBooks would: those keep
TimeModified, EditSequence, balances, stock and links consistent the way QuickBooks does.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from qbwc_server.simulator import bookkeeping
from qbwc_server.simulator.records import (
    Address,
    AppliedToTxn,
    AssemblyLine,
    Class,
    Customer,
    CustomerType,
    DateDrivenTerms,
    Deleted,
    Estimate,
    EstimateLine,
    Invoice,
    InvoiceLine,
    ItemInventory,
    ItemInventoryAssembly,
    ItemSalesTax,
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
from qbwc_server.simulator.store import Clock, RecordStore, account_ref

# Re-exported: the records, the clock and account_ref are what callers build a company with.
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
    "Estimate",
    "EstimateLine",
    "Invoice",
    "InvoiceLine",
    "ItemInventory",
    "ItemInventoryAssembly",
    "ItemSalesTax",
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


class Company(RecordStore):
    """A company file as a QuickBooks user changes it: adding, editing, deactivating and deleting
    records, receiving stock. Each change keeps TimeModified, EditSequence, balances, stock and
    links consistent the way QuickBooks does (bookkeeping.py has the rules).
    """

    def add(self, record: Any) -> Any:
        """Add a record as a user would: new IDs and times; transactions move stock and balances."""
        now = self.clock.now()
        record.time_created = record.time_modified = now
        record.edit_sequence = self.new_edit_sequence()
        if isinstance(record, TxnRecord):
            return self._add_txn(record)
        record.list_id = record.list_id or self.new_list_id()
        self.place_in_hierarchy(record)
        self.file_list_record(record)
        return record

    def edit(self, object_id: str, **changes: Any) -> Any:
        """Change fields of a record, bumping its TimeModified and EditSequence."""
        record = self.fetch(object_id)
        if isinstance(record, ListRecord):
            old_name = record.ref_name()
            for key, value in changes.items():
                setattr(record, key, value)
            self.place_in_hierarchy(record)
            self.refile_renamed(record, old_name)
        else:
            for key, value in changes.items():
                setattr(record, key, value)
        self.touch(record)
        return record

    def deactivate(self, list_id: str) -> Any:
        return self.edit(list_id, is_active=False)

    def reactivate(self, list_id: str) -> Any:
        return self.edit(list_id, is_active=True)

    def delete(self, object_id: str) -> Deleted:
        """Delete a record; ListDeletedQuery / TxnDeletedQuery report it with TimeDeleted."""
        record = self.fetch(object_id)
        if isinstance(record, TxnRecord):
            bookkeeping.unapply_txn(self, record)
        return self.remove(object_id)

    def move_stock(
        self,
        item_id: str,
        *,
        on_hand: Decimal | int = 0,
        on_order: Decimal | int = 0,
        on_sales_order: Decimal | int = 0,
    ) -> ItemInventory:
        """Receive, sell or order stock. QuickBooks does not change the item's TimeModified for this."""
        return bookkeeping.move_stock(
            self, item_id, on_hand=on_hand, on_order=on_order, on_sales_order=on_sales_order
        )

    def replace_sales_order_lines(
        self, order_id: str, lines: list[SalesOrderLine], customer_ref: Ref
    ) -> SalesOrder:
        """Give a sales order new lines, priced for `customer_ref`'s customer, moving the stock they
        reserve. Leaves TimeModified and EditSequence alone: edit() the order afterwards."""
        order: SalesOrder = self.sales_orders[order_id]
        bookkeeping.replace_order_lines(self, order, lines, customer_ref)
        return order

    def price_for(self, item: ItemInventory, customer: Customer) -> Decimal:
        """The item's rate on this customer's forms, after the customer's price level."""
        return bookkeeping.price_for(self, item, customer)

    def _add_txn(self, txn: TxnRecord) -> TxnRecord:
        txn.txn_id = txn.txn_id or self.new_txn_id()
        txn.txn_number = self.new_txn_number()
        txn.txn_date = txn.txn_date or self.clock.now().date()
        customer = self.customers[txn.customer_ref.list_id or ""]
        txn.customer_ref = self.ref(customer)
        if isinstance(txn, SalesOrder | Estimate | Invoice):
            bookkeeping.price_lines(self, txn, customer)
        self.collection(txn)[txn.txn_id] = txn
        bookkeeping.apply_txn(self, txn, customer)
        return txn


def replace(record: Any, **changes: Any) -> Any:
    """A copy of a record with some fields changed (for building records to add)."""
    return dataclasses.replace(record, **changes)
