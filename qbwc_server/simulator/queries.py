"""Answering `*QueryRq` against a simulated company: filters, ordering, MaxReturned and iterators, as
QuickBooks Desktop does. Knows query elements and status codes; rendering is render.py's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from lxml import etree

from qbwc_server.simulator import render
from qbwc_server.simulator.company import Company
from qbwc_server.simulator.records import (
    DateDrivenTerms,
    Deleted,
    Invoice,
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
    "InvoiceQueryRq": Source("invoices", is_txn=True),
    "ReceivePaymentQueryRq": Source("payments", is_txn=True),
}
DELETED_QUERIES = {"ListDeletedQueryRq": "deleted_lists", "TxnDeletedQueryRq": "deleted_txns"}


def parse_when(text: str, company: Company, *, end_of_day: bool = False) -> datetime:
    """A qbXML DATETIMETYPE or DATETYPE; without a UTC offset it is the host's local time."""
    local = company.clock.now().tzinfo
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime.combine(day, time.max.replace(microsecond=0) if end_of_day else time.min, local)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=local)


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
            return _lookup(numbers, partial(_by_number, by_number, case_sensitive))
    tests = _txn_tests(company, request) if source.is_txn else _list_tests(company, request)
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


def _by_number(index: dict[str, TxnRecord], case_sensitive: bool, number: str) -> TxnRecord | None:
    return index.get(number if case_sensitive else number.upper())


def _typed(record: Any, source: Source) -> Any:
    return record if record is not None and (not source.types or type(record) in source.types) else None


def _by_ref_number(records: Iterable[TxnRecord], case_sensitive: bool) -> dict[str, TxnRecord]:
    index: dict[str, TxnRecord] = {}
    for record in records:
        if record.ref_number is not None:
            index.setdefault(record.ref_number if case_sensitive else record.ref_number.upper(), record)
    return index


Test = Callable[[Any], bool]


def _list_tests(company: Company, request: etree._Element) -> list[Test]:
    tests: list[Test] = []
    status = request.findtext("ActiveStatus") or "ActiveOnly"
    if status != "All":
        active = status == "ActiveOnly"
        tests.append(lambda record: record.is_active is active)
    tests += _modified_tests(
        company, request.findtext("FromModifiedDate"), request.findtext("ToModifiedDate")
    )
    name_filter = request.find("NameFilter")
    if name_filter is not None:
        how, text = name_filter.findtext("MatchCriterion"), (name_filter.findtext("Name") or "").upper()
        match = {"StartsWith": str.startswith, "EndsWith": str.endswith}.get(how or "", str.__contains__)
        tests.append(lambda record: match(record.ref_name().upper(), text))
    name_range = request.find("NameRangeFilter")
    if name_range is not None:
        low, high = (name_range.findtext("FromName") or "").upper(), name_range.findtext("ToName")
        tests.append(
            lambda record: (
                low <= record.ref_name().upper()
                and (high is None or record.ref_name().upper() <= high.upper())
            )
        )
    return tests


def _modified_tests(company: Company, low: str | None, high: str | None) -> list[Test]:
    tests: list[Test] = []
    if low:
        start = parse_when(low, company)
        tests.append(lambda record: record.time_modified >= start)
    if high:
        end = parse_when(high, company, end_of_day=True)
        tests.append(lambda record: record.time_modified <= end)
    return tests


def _txn_tests(company: Company, request: etree._Element) -> list[Test]:
    modified = request.find("ModifiedDateRangeFilter")
    tests = (
        []
        if modified is None
        else _modified_tests(
            company, modified.findtext("FromModifiedDate"), modified.findtext("ToModifiedDate")
        )
    )
    dates = request.find("TxnDateRangeFilter")
    if dates is not None:
        low, high = dates.findtext("FromTxnDate"), dates.findtext("ToTxnDate")
        if low:
            tests.append(lambda record: record.txn_date >= date.fromisoformat(low))
        if high:
            tests.append(lambda record: record.txn_date <= date.fromisoformat(high))
    entity = request.find("EntityFilter")
    if entity is not None:
        tests.append(_entity_test(company, entity))
    ref_filter = request.find("RefNumberFilter")
    if ref_filter is not None:
        how, text = ref_filter.findtext("MatchCriterion"), ref_filter.findtext("RefNumber") or ""
        match = {"StartsWith": str.startswith, "EndsWith": str.endswith}.get(how or "", str.__contains__)
        tests.append(lambda record: record.ref_number is not None and match(record.ref_number, text))
    paid = request.findtext("PaidStatus")
    if paid in ("PaidOnly", "NotPaidOnly"):
        tests.append(lambda record: isinstance(record, Invoice) and record.is_paid is (paid == "PaidOnly"))
    return tests


def _entity_test(company: Company, entity: etree._Element) -> Test:
    ids = {element.text for element in entity.findall("ListID")}
    for element in entity.findall("FullName"):
        customer = company.by_name("customers", element.text or "")
        ids.add(customer.list_id if customer is not None else None)
    with_children = entity.findtext("ListIDWithChildren")
    name_with_children = entity.findtext("FullNameWithChildren")
    if name_with_children is not None:
        parent = company.by_name("customers", name_with_children)
        with_children = parent.list_id if parent is not None else "-"
    if with_children is not None:
        parent = company.customers.get(with_children)
        prefix = (parent.full_name.upper() + ":") if parent is not None else None
        return lambda record: (
            record.customer_ref.list_id == with_children
            or (prefix is not None and (record.customer_ref.full_name or "").upper().startswith(prefix))
        )
    return lambda record: record.customer_ref.list_id in ids


def _deleted(company: Company, request: etree._Element, deleted: list[Deleted]) -> Answer:
    kinds = {element.text for element in request if element.tag in ("ListDelType", "TxnDelType")}
    tests: list[Test] = [lambda record: record.del_type in kinds]
    dates = request.find("DeletedDateRangeFilter")
    if dates is not None:
        low, high = dates.findtext("FromDeletedDate"), dates.findtext("ToDeletedDate")
        if low:
            start = parse_when(low, company)
            tests.append(lambda record: record.time_deleted >= start)
        if high:
            end = parse_when(high, company, end_of_day=True)
            tests.append(lambda record: record.time_deleted <= end)
    records = sorted((r for r in deleted if all(test(r) for test in tests)), key=lambda r: r.time_deleted)
    return Answer(OK if records else NO_MATCH, records)


def _flag(request: etree._Element, tag: str) -> bool:
    return (request.findtext(tag) or "false").strip() == "true"


def _id(record: ListRecord | TxnRecord) -> str:
    return record.txn_id if isinstance(record, TxnRecord) else record.list_id
