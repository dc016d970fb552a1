"""An incremental customers pull skips what the mirror already holds, and nothing else: a record
QuickBooks edited, a balance that moved without an edit, a row deleted here are all applied; a
full refresh still rewrites whatever differs. Pages are read once, a batch at a time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from qbwc_server.qbxml import core
from qbwc_server.qbxml.core import QbxmlError, QbxmlVersion, ResponseStream, wrap_request
from qbwc_server.queue import ClaimedJob
from qbwc_server.simulator.generator import generate_company
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from qbwc_server.sync.base import Database, Reply
from qbwc_server.sync.pull import PullHandler, PullResult
from qbwc_server.sync.pulls import PULLS_BY_ENTITY
from tests.conftest import TenantCredentials

VERSION = QbxmlVersion(13, 0)
SPEC = PULLS_BY_ENTITY["customers"]
LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def pull(
    engine: Engine, tenant_id: int, quickbooks: SimulatedQuickBooks, *, since: dt.datetime | None
) -> PullResult:
    """One customers pull of one page, as a session applies it."""
    handler = PullHandler(SPEC)
    params: dict[str, Any] = {"page_size": 1000, "started_at": dt.datetime.now(dt.UTC).isoformat()}
    if since is not None:
        params["since"] = since.isoformat()
    job = ClaimedJob(id=1, tenant_id=tenant_id, kind=SPEC.kind, params=params)
    request = handler.build_request(Database(None), job, VERSION)  # type: ignore[arg-type]
    page = quickbooks.process(wrap_request(request, VERSION))
    with engine.begin() as conn:
        return handler.apply(conn, tenant_id, job, Reply(text=page))


def rows(engine: Engine, tenant_id: int) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT * FROM customers WHERE tenant_id = :t"), {"t": tenant_id})
        return {row["qb_list_id"]: dict(row) for row in found.mappings()}


@pytest.fixture
def tenant_id(make_tenant: Callable[..., TenantCredentials]) -> int:
    return make_tenant("overlap").id


def test_an_incremental_pull_applies_what_changed_and_leaves_the_rest_untouched(
    engine: Engine, tenant_id: int
) -> None:
    company = generate_company(seed=11, customers=30, items=5, invoices=0, sales_orders=0, payments=0)
    quickbooks = SimulatedQuickBooks(company)
    first = pull(engine, tenant_id, quickbooks, since=None)
    assert first.records == first.changed == len(company.customers)

    edited, rebalanced, deleted_here, drifted = list(company.customers)[:4]
    company.edit(edited, name="Renamed Wholesale", ship_to_addresses=[])
    company.customers[rebalanced].balance += Decimal("12.50")  # follows an invoice: no new EditSequence
    company.customers[rebalanced].total_balance += Decimal("12.50")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE customers SET deleted_at = now() WHERE tenant_id = :t AND qb_list_id = :l"),
            {"t": tenant_id, "l": deleted_here},
        )
        conn.execute(  # a value no pull wrote, under QuickBooks' own EditSequence
            text("UPDATE customers SET notes = 'drift' WHERE tenant_id = :t AND qb_list_id = :l"),
            {"t": tenant_id, "l": drifted},
        )
    before = rows(engine, tenant_id)

    again = pull(engine, tenant_id, quickbooks, since=LONG_AGO)

    after = rows(engine, tenant_id)
    assert again.records == len(company.customers)
    assert again.changed == 3
    moved = {key for key, row in after.items() if row["updated_at"] != before[key]["updated_at"]}
    assert moved == {edited, rebalanced, deleted_here}
    assert after[edited]["name"] == "Renamed Wholesale"
    assert after[rebalanced]["balance"] == company.customers[rebalanced].balance
    assert after[rebalanced]["total_balance"] == company.customers[rebalanced].total_balance
    assert after[deleted_here]["deleted_at"] is None
    assert after[drifted]["notes"] == "drift"  # an incremental pull reads only what QuickBooks changed
    with engine.connect() as conn:
        ship_tos = conn.execute(
            text("SELECT count(*) FROM customer_ship_addresses WHERE customer_id = :id"),
            {"id": after[edited]["id"]},
        ).scalar_one()
    assert ship_tos == 0
    newest = max(customer.time_modified for customer in company.customers.values())
    assert again.params["newest"] == newest.isoformat()

    refresh = pull(engine, tenant_id, quickbooks, since=None)
    assert refresh.changed == 1
    assert rows(engine, tenant_id)[drifted]["notes"] == company.customers[drifted].notes


@pytest.mark.parametrize(
    ("element", "garbage"),
    [("Balance", "lots"), ("Balance", "NaN"), ("TimeModified", "yesterday"), ("EditSequence", "")],
)
def test_a_record_whose_compared_values_cannot_be_read_fails_the_pull_even_when_it_looks_unchanged(
    engine: Engine, tenant_id: int, element: str, garbage: str
) -> None:
    company = generate_company(seed=12, customers=5, items=5, invoices=0, sales_orders=0, payments=0)
    quickbooks = SimulatedQuickBooks(company)
    pull(engine, tenant_id, quickbooks, since=None)
    handler = PullHandler(SPEC)
    job = ClaimedJob(
        id=1, tenant_id=tenant_id, kind=SPEC.kind, params={"page_size": 100, "since": LONG_AGO.isoformat()}
    )
    page = quickbooks.process(
        wrap_request(handler.build_request(Database(None), job, VERSION), VERSION)  # type: ignore[arg-type]
    )
    start = page.index(f"<{element}>", page.index("<CustomerRet>"))
    end = page.index(f"</{element}>", start)
    broken = page[:start] + f"<{element}>{garbage}" + page[end:]
    with pytest.raises(QbxmlError), engine.begin() as conn:
        handler.apply(conn, tenant_id, job, Reply(text=broken))


def test_a_response_is_read_a_batch_at_a_time_and_each_batch_is_freed_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(core, "_CHUNK_CHARS", 64)  # a response of many slices, as a huge one is
    rets = "".join(f"<CustomerRet><ListID>{n}</ListID><Name>n{n}</Name></CustomerRet>" for n in range(5))
    response = (
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><CustomerQueryRs requestID="3" statusCode="0"'
        f' statusSeverity="Info" statusMessage="OK">{rets}</CustomerQueryRs></QBXMLMsgsRs></QBXML>'
    )
    stream = ResponseStream(response)
    seen: list[list[str]] = []
    previous: list[Any] = []
    for batch in stream.batches({"CustomerRet"}, 2):
        assert all(len(element) == 0 for element in previous)  # read, then freed
        seen.append([element.findtext("ListID") or "" for _, element in batch])
        assert {status.request_id for status, _ in batch} == {"3"}
        previous = [element for _, element in batch]
    assert seen == [["0", "1"], ["2", "3"], ["4"]]
    assert [status.code for status in stream.statuses] == [0]


def test_an_edited_customer_keeps_the_ship_to_rows_that_did_not_change_and_gets_the_others_rewritten(
    engine: Engine, tenant_id: int
) -> None:
    company = generate_company(seed=13, customers=40, items=5, invoices=0, sales_orders=0, payments=0)
    quickbooks = SimulatedQuickBooks(company)
    pull(engine, tenant_id, quickbooks, since=None)
    customer = next(c for c in company.customers.values() if len(c.ship_to_addresses) >= 2)
    first, *rest = customer.ship_to_addresses
    moved = dataclasses.replace(first, city="Savannah")
    company.edit(customer.list_id, notes="moved", ship_to_addresses=[moved, *rest])

    def ship_tos() -> list[dict[str, Any]]:
        with engine.connect() as conn:
            found = conn.execute(
                text("""SELECT s.* FROM customer_ship_addresses s JOIN customers c ON c.id = s.customer_id
                        WHERE c.tenant_id = :t AND c.qb_list_id = :l ORDER BY s.position"""),
                {"t": tenant_id, "l": customer.list_id},
            )
            return [dict(row) for row in found.mappings()]

    before = ship_tos()
    assert pull(engine, tenant_id, quickbooks, since=LONG_AGO).changed == 1
    after = ship_tos()
    assert [row["city"] for row in after] == ["Savannah", *(s.city for s in rest)]
    assert [row["name"] for row in after] == [s.name for s in customer.ship_to_addresses]
    assert after[0]["id"] != before[0]["id"]
    assert [row["id"] for row in after[1:]] == [row["id"] for row in before[1:]]  # left alone

    company.edit(customer.list_id, ship_to_addresses=rest[:1])
    pull(engine, tenant_id, quickbooks, since=LONG_AGO)
    assert [row["name"] for row in ship_tos()] == [rest[0].name]
