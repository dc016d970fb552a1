"""The filters of a simulated `*QueryRq`, each made a test on a record: ActiveStatus, names, modified
and transaction dates (times without a UTC offset are the host's), EntityFilter, RefNumberFilter,
RefNumberRangeFilter, PaidStatus, deletion kinds and dates. Knows query elements; not lookups,
paging or rendering (queries.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from lxml import etree

from qbwc_server.simulator.company import Company
from qbwc_server.simulator.records import Invoice

#: Whether a record passes one filter.
Test = Callable[[Any], bool]


def list_tests(company: Company, request: etree._Element) -> list[Test]:
    """A list query's filters; with no ActiveStatus only active records pass, as in QuickBooks."""
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


def txn_tests(company: Company, request: etree._Element) -> list[Test]:
    """A transaction query's filters (modified and transaction dates, entity, RefNumber, PaidStatus)."""
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
        # Like RefNumber (not RefNumberCaseSensitive), the filter ignores case.
        how, text = ref_filter.findtext("MatchCriterion"), (ref_filter.findtext("RefNumber") or "").upper()
        match = {"StartsWith": str.startswith, "EndsWith": str.endswith}.get(how or "", str.__contains__)
        tests.append(lambda record: record.ref_number is not None and match(record.ref_number.upper(), text))
    ref_range = request.find("RefNumberRangeFilter")
    if ref_range is not None:
        # From == To is qbXML's only exact RefNumber match that combines with the other filters.
        first, last = ref_range.findtext("FromRefNumber"), ref_range.findtext("ToRefNumber")
        tests.append(lambda record: _in_range(record.ref_number, first, last))
    paid = request.findtext("PaidStatus")
    if paid in ("PaidOnly", "NotPaidOnly"):
        tests.append(lambda record: isinstance(record, Invoice) and record.is_paid is (paid == "PaidOnly"))
    return tests


def _in_range(number: str | None, low: str | None, high: str | None) -> bool:
    if number is None:
        return False
    key = number.upper()
    return (low is None or key >= low.upper()) and (high is None or key <= high.upper())


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


def parse_when(text: str, company: Company, *, end_of_day: bool = False) -> datetime:
    """A qbXML DATETIMETYPE or DATETYPE; without a UTC offset it is the host's local time."""
    local = company.clock.now().tzinfo
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime.combine(day, time.max.replace(microsecond=0) if end_of_day else time.min, local)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=local)


def deleted_tests(company: Company, request: etree._Element) -> list[Test]:
    """ListDeletedQuery / TxnDeletedQuery: the kinds asked for, deleted within DeletedDateRangeFilter."""
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
    return tests
