"""Answering `*QueryRq` against a simulated company: lookups, ordering, MaxReturned and iterators, as
QuickBooks Desktop does. Knows query elements and status codes; the filters are query_filters.py's,
rendering is render.py's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from lxml import etree

from qbwc_server.simulator import render
from qbwc_server.simulator.company import Company
from qbwc_server.simulator.query_filters import deleted_tests, list_tests, txn_tests
from qbwc_server.simulator.records import (
    DateDrivenTerms,
    Deleted,
    ItemInventory,
    ItemInventoryAssembly,
    ListRecord,
    StandardTerms,
    TxnRecord,
)

NO_MATCH = (1, "Info", "A query request did not find a matching object in QuickBooks")
OK = (0, "Info", "Status OK")


def missing_element(value: str) -> tuple[int, str, str]:
    # 500 (Warn): a ListID / FullName / TxnID / RefNumber lookup named something that does not exist.
    return (
        500,
        "Warn",
        "The query request has not been fully completed. There was a required element "
        f'("{value}") that could not be found in QuickBooks.',
    )


def expired_iterator(iterator_id: str) -> tuple[int, str, str]:
    # 3391: a Continue on an iterator QuickBooks no longer has (new session, idle, or finished).
    # The wording is ours: Intuit's exact text for 3391 was not found in public sources.
    return (
        3391,
        "Error",
        f'The iterator "{iterator_id}" has expired or does not exist. '
        'Start a new query with iterator="Start".',
    )


@dataclass(frozen=True)
class Source:
    """Which records a query reads: a collection, optionally only some record types."""

    collection: str
    types: tuple[type, ...] = ()
    is_txn: bool = False

    def records(self, company: Company) -> Iterable[Any]:
        values: Iterable[Any] = getattr(company, self.collection).values()
        if self.types:
            values = (record for record in values if type(record) in self.types)
        return values


SOURCES = {
    "CustomerQueryRq": Source("customers"),
    "ItemInventoryQueryRq": Source("items", (ItemInventory,)),
    "ItemInventoryAssemblyQueryRq": Source("items", (ItemInventoryAssembly,)),
    "PriceLevelQueryRq": Source("price_levels"),
    "SalesRepQueryRq": Source("sales_reps"),
    "TermsQueryRq": Source("terms"),
    "StandardTermsQueryRq": Source("terms", (StandardTerms,)),
    "DateDrivenTermsQueryRq": Source("terms", (DateDrivenTerms,)),
    "CustomerTypeQueryRq": Source("customer_types"),
    "ClassQueryRq": Source("classes"),
    "SalesTaxCodeQueryRq": Source("sales_tax_codes"),
    "ShipMethodQueryRq": Source("ship_methods"),
    "PaymentMethodQueryRq": Source("payment_methods"),
    "SalesOrderQueryRq": Source("sales_orders", is_txn=True),
    "EstimateQueryRq": Source("estimates", is_txn=True),
    "InvoiceQueryRq": Source("invoices", is_txn=True),
    "ReceivePaymentQueryRq": Source("payments", is_txn=True),
}
DELETED_QUERIES = {"ListDeletedQueryRq": "deleted_lists", "TxnDeletedQueryRq": "deleted_txns"}


@dataclass
class Iteration:
    """An iterator's fixed result set (IDs chosen at Start) and how far it has got."""

    request_tag: str
    ids: list[str]
    options: render.Options
    last_used: datetime
    position: int = 0


@dataclass
class Iterators:
    """The live iterators of one company session."""

    idle_seconds: float
    live: dict[str, Iteration] = field(default_factory=dict)

    def expire_all(self) -> None:
        self.live.clear()

    def expire_idle(self, now: datetime) -> None:
        limit = timedelta(seconds=self.idle_seconds)
        for iterator_id in [key for key, value in self.live.items() if now - value.last_used > limit]:
            del self.live[iterator_id]


@dataclass
class Answer:
    """A query's outcome before it becomes a `*Rs` element."""

    status: tuple[int, str, str]
    records: list[Any] = field(default_factory=list)
    options: render.Options = field(default_factory=render.Options)
    iterator: tuple[int, str] | None = None  # (remaining, iteratorID)


def answer_query(company: Company, iterators: Iterators, request: etree._Element) -> Answer:
    """Run one query request; the caller frames the answer as its `*Rs`."""
    tag = request.tag
    if tag in DELETED_QUERIES:
        return _deleted(company, request, getattr(company, DELETED_QUERIES[tag]))
    source = SOURCES[tag]
    options = render.Options(
        line_items=_flag(request, "IncludeLineItems"),
        linked_txns=_flag(request, "IncludeLinkedTxns"),
        data_ext=any(owner.text == "0" for owner in request.findall("OwnerID")),
    )
    mode = request.get("iterator")
    max_returned = int(request.findtext("MaxReturned") or 0) or None
    now = company.clock.now()
    if mode == "Continue":
        iterator_id = request.get("iteratorID", "")
        iteration = iterators.live.get(iterator_id)
        if iteration is None or iteration.request_tag != tag:
            return Answer(expired_iterator(iterator_id))
        return _page(company, source, iterators, iterator_id, iteration, max_returned, now)
    status, records = _select(company, source, request)
    if mode == "Start":
        iterator_id = "{" + str(uuid.uuid4()) + "}"
        iteration = Iteration(tag, [_id(record) for record in records], options, now)
        iterators.live[iterator_id] = iteration
        return _page(company, source, iterators, iterator_id, iteration, max_returned, now, status)
    if max_returned is not None:
        records = records[:max_returned]
    return Answer(status, records, options)


def _page(
    company: Company,
    source: Source,
    iterators: Iterators,
    iterator_id: str,
    iteration: Iteration,
    max_returned: int | None,
    now: datetime,
    status: tuple[int, str, str] = OK,
) -> Answer:
    collection = getattr(company, source.collection)
    size = max_returned or len(iteration.ids)
    page: list[Any] = []
    while iteration.position < len(iteration.ids) and len(page) < size:
        record = collection.get(iteration.ids[iteration.position])
        iteration.position += 1
        if record is not None:  # deleted since Start: QuickBooks skips it
            page.append(record)
    remaining = len(iteration.ids) - iteration.position
    iteration.last_used = now
    if remaining == 0:
        del iterators.live[iterator_id]
    if not page and status == OK:
        status = NO_MATCH
    return Answer(status, page, iteration.options, (remaining, iterator_id))


def _select(
    company: Company, source: Source, request: etree._Element
) -> tuple[tuple[int, str, str], list[Any]]:
    key = "TxnID" if source.is_txn else "ListID"
    wanted = [element.text or "" for element in request.findall(key)]
    if wanted:
        collection = getattr(company, source.collection)
        return _lookup(wanted, lambda object_id: _typed(collection.get(object_id), source))
    if not source.is_txn and request.find("FullName") is not None:
        names = [element.text or "" for element in request.findall("FullName")]
        return _lookup(names, lambda name: _typed(company.by_name(source.collection, name), source))
    for ref_tag, case_sensitive in (("RefNumber", False), ("RefNumberCaseSensitive", True)):
        numbers = [element.text or "" for element in request.findall(ref_tag)]
        if numbers:
            by_number = _by_ref_number(source.records(company), case_sensitive)
            status, found = _lookup(numbers, partial(_by_number, by_number, case_sensitive))
            # RefNumbers need not be unique: every transaction with the number comes back.
            return status, [record for records in found for record in records]
    tests = txn_tests(company, request) if source.is_txn else list_tests(company, request)
    records = [record for record in source.records(company) if all(test(record) for test in tests)]
    if source.is_txn:
        records.sort(key=lambda record: (record.txn_date, record.txn_number))
    else:
        records.sort(key=lambda record: record.ref_name().upper())
    return (OK if records else NO_MATCH), records


def _lookup(keys: list[str], find: Callable[[str], Any]) -> tuple[tuple[int, str, str], list[Any]]:
    found: list[Any] = []
    missing: list[str] = []
    for key in keys:
        record = find(key)
        if record is None:
            missing.append(key)
        else:
            found.append(record)
    return (missing_element(missing[0]) if missing else OK), found


def _by_number(
    index: dict[str, list[TxnRecord]], case_sensitive: bool, number: str
) -> list[TxnRecord] | None:
    return index.get(number if case_sensitive else number.upper())


def _typed(record: Any, source: Source) -> Any:
    return record if record is not None and (not source.types or type(record) in source.types) else None


def _by_ref_number(records: Iterable[TxnRecord], case_sensitive: bool) -> dict[str, list[TxnRecord]]:
    index: dict[str, list[TxnRecord]] = {}
    ordered = sorted(records, key=lambda record: (record.txn_date, record.txn_number))
    for record in ordered:
        if record.ref_number is not None:
            key = record.ref_number if case_sensitive else record.ref_number.upper()
            index.setdefault(key, []).append(record)
    return index


def _deleted(company: Company, request: etree._Element, deleted: list[Deleted]) -> Answer:
    tests = deleted_tests(company, request)
    records = sorted((r for r in deleted if all(test(r) for test in tests)), key=lambda r: r.time_deleted)
    return Answer(OK if records else NO_MATCH, records)


def _flag(request: etree._Element, tag: str) -> bool:
    return (request.findtext(tag) or "false").strip() == "true"


def _id(record: ListRecord | TxnRecord) -> str:
    return record.txn_id if isinstance(record, TxnRecord) else record.list_id
