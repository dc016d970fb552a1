"""Where a simulated company's records live: collections keyed by ListID/TxnID, a name index per list,
the clock, the IDs and EditSequences QuickBooks hands out, and the log of deletions.
Keeps names unique and full names in step with parents; knows no bookkeeping (bookkeeping.py) and no XML.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from qbwc_server.simulator.records import (
    Class,
    Customer,
    CustomerType,
    DateDrivenTerms,
    Deleted,
    Estimate,
    Invoice,
    ItemInventory,
    ItemInventoryAssembly,
    ItemSalesTax,
    ListRecord,
    PaymentMethod,
    PriceLevel,
    ReceivePayment,
    Ref,
    SalesOrder,
    SalesRep,
    SalesTaxCode,
    ShipMethod,
    StandardTerms,
    TxnRecord,
)

#: The host's UTC offset: QuickBooks writes local times with it (US Eastern, standard time).
HOST_TIMEZONE = timezone(timedelta(hours=-5))
START_TIME = datetime(2026, 11, 25, 10, 41, 48, tzinfo=HOST_TIMEZONE)

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
    sales_tax_items: dict[str, ItemSalesTax] = field(default_factory=dict)
    ship_methods: dict[str, ShipMethod] = field(default_factory=dict)
    payment_methods: dict[str, PaymentMethod] = field(default_factory=dict)
    sales_orders: dict[str, SalesOrder] = field(default_factory=dict)
    estimates: dict[str, Estimate] = field(default_factory=dict)
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
    ItemSalesTax: "sales_tax_items",
    ShipMethod: "ship_methods",
    PaymentMethod: "payment_methods",
}
_TXN_COLLECTION = {
    SalesOrder: "sales_orders",
    Estimate: "estimates",
    Invoice: "invoices",
    ReceivePayment: "payments",
}


class RecordStore(_Collections):
    """Every record of one company file, keyed by ListID/TxnID, with a name index per list.

    Names are unique case-insensitively: customers share one namespace with vendors, employees and
    other names (`other_names`: the sales reps' entities and whatever `add_other_name` filed), items
    share the item list, terms share the terms list.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__()
        self.clock = clock or Clock()
        self.deleted_lists: list[Deleted] = []
        self.deleted_txns: list[Deleted] = []
        #: Upper-cased names of employees / vendors / other names: customers may not reuse them (3100).
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

    def new_txn_number(self) -> int:
        """TxnNumber: 1, 2, 3, … across every kind of transaction."""
        number = self._next_txn_number
        self._next_txn_number += 1
        return number

    def new_edit_sequence(self) -> str:
        # A decimal timestamp that changes on every modification, even two within one second.
        self._last_sequence = max(self.clock.stamp(), self._last_sequence + 1)
        return str(self._last_sequence)

    def touch(self, record: ListRecord | TxnRecord) -> None:
        """What every modification does: a new TimeModified and EditSequence."""
        record.time_modified = self.clock.now()
        record.edit_sequence = self.new_edit_sequence()

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

    def fetch(self, object_id: str) -> Any:
        """The record with this ListID or TxnID; KeyError when there is none."""
        record = self.find(object_id)
        if record is None:
            raise KeyError(object_id)
        return record

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

    def add_other_name(self, name: str) -> None:
        """File a vendor's, employee's or other name's name: from now on no customer may take it (3100)."""
        self.other_names.add(name.upper())

    def ref(self, record: ListRecord) -> Ref:
        return Ref(record.list_id, record.ref_name())

    def records(self) -> Iterator[ListRecord | TxnRecord]:
        for name in (*dict.fromkeys(_LIST_COLLECTION.values()), *_TXN_COLLECTION.values()):
            yield from getattr(self, name).values()

    # -- filing and removing -------------------------------------------------------------------

    def place_in_hierarchy(self, record: ListRecord) -> None:
        """Set ParentRef, Sublevel and FullName from the record's parent (found by ListID or full name)."""
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

    def file_list_record(self, record: ListRecord) -> None:
        """File a new list record under its ListID and full name; ValueError if the name is in use."""
        collection = _LIST_COLLECTION[type(record)]
        if self.name_taken(collection, record.ref_name()):
            raise ValueError(f"name {record.ref_name()!r} already in use")
        getattr(self, collection)[record.list_id] = record
        self._names.setdefault(collection, {})[record.ref_name().upper()] = record.list_id
        if isinstance(record, SalesRep) and record.sales_rep_entity_ref.full_name:
            self.other_names.add(record.sales_rep_entity_ref.full_name.upper())

    def refile_renamed(self, record: ListRecord, old_name: str) -> None:
        """Move a list record in the name index after its full name changed; ValueError if the new
        name is in use (the record keeps its new name)."""
        if record.ref_name().upper() == old_name.upper():
            return
        collection = _LIST_COLLECTION[type(record)]
        if self.name_taken(collection, record.ref_name(), other_than=record.list_id):
            raise ValueError(f"name {record.ref_name()!r} already in use")
        del self._names[collection][old_name.upper()]
        self._names[collection][record.ref_name().upper()] = record.list_id

    def remove(self, object_id: str) -> Deleted:
        """Take a record out of the file and log it for ListDeletedQuery / TxnDeletedQuery."""
        record = self.fetch(object_id)
        if isinstance(record, TxnRecord):
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
