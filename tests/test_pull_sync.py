"""End to end: the simulated Web Connector and a simulated QuickBooks company against the served
app. A first session lands the whole company in the mirror; later sessions bring exactly what
changed in QuickBooks, and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from qbwc_server.simulator.company import Company
from qbwc_server.simulator.generator import generate_company
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from qbwc_server.simulator.records import Customer, Invoice, InvoiceLine
from qbwc_server.simulator.webconnector import SessionReport, SimulatedWebConnector
from qbwc_server.testing import BackgroundServer
from tests.conftest import TenantCredentials

pytestmark = [pytest.mark.slow, pytest.mark.protocol]

PAGE = 25  # small pages, so a modest company exercises iterators


@pytest.fixture
def company() -> Company:
    return generate_company(seed=7, customers=90, items=30, invoices=80, payments=40)


@pytest.fixture
def quickbooks(company: Company) -> SimulatedQuickBooks:
    return SimulatedQuickBooks(company)


@pytest.fixture
def synced_tenant(make_tenant: Callable[..., TenantCredentials], engine: Engine) -> TenantCredentials:
    credentials: TenantCredentials = make_tenant("wholesale", pulls=True)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE tenants SET settings = settings || CAST(:s AS jsonb) WHERE id = :id"),
            {"s": f'{{"pull_page_size": {PAGE}}}', "id": credentials.id},
        )
    return credentials


def run_session(server: BackgroundServer, tenant: TenantCredentials, processor: Any) -> SessionReport:
    connector = SimulatedWebConnector(
        server.url, tenant.username, tenant.password, processor, noop_delay=0.01
    )
    return connector.run_session()


def mirror(engine: Engine, table: str, key: str = "qb_list_id") -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        return {row[key]: row for row in conn.execute(text(f"SELECT * FROM {table}")).mappings()}


def make_pulls_due(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE sync_cursors SET next_due_at = now() WHERE next_due_at <> 'infinity'"))


class Passthrough:
    """A request processor that hands everything to the simulated QuickBooks (subclass to interfere)."""

    def __init__(self, inner: SimulatedQuickBooks) -> None:
        self.inner, self.country, self.qbxml_version = inner, inner.country, inner.qbxml_version

    def open_company(self, path: str) -> str:
        return self.inner.open_company(path)

    def host_response(self) -> str:
        return self.inner.host_response()

    def process(self, request_xml: str) -> str:
        return self.inner.process(request_xml)


def test_first_session_lands_the_whole_company_in_the_mirror(
    server: BackgroundServer,
    synced_tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    report = run_session(server, synced_tenant, quickbooks)

    assert report.ok, report.errors
    assert report.progress[-1] == 100
    assert list(report.progress) == sorted(report.progress), "the progress bar never goes backwards"
    assert report.close_message is not None and "pulled" in report.close_message
    assert f"{len(company.customers)} customers" in report.close_message

    customers = mirror(engine, "customers")
    assert set(customers) == set(company.customers)
    for list_id, source in company.customers.items():
        row = customers[list_id]
        assert (row["name"], row["full_name"], row["is_active"]) == (
            source.name,
            source.full_name,
            source.is_active,
        )
        assert row["edit_sequence"] == source.edit_sequence
        assert row["email"] == source.email and row["phone"] == source.phone
        assert row["balance"] == source.balance
        assert row["terms_name"] == (source.terms_ref.full_name if source.terms_ref else None)
        assert row["sales_rep_code"] == (source.sales_rep_ref.full_name if source.sales_rep_ref else None)
        assert row["price_level_name"] == (
            source.price_level_ref.full_name if source.price_level_ref else None
        )
        if source.bill_address is not None:
            assert row["bill_address"]["city"] == source.bill_address.city
    with engine.connect() as conn:
        ship_tos = conn.execute(text("SELECT count(*) FROM customer_ship_addresses")).scalar_one()
    assert ship_tos == sum(len(c.ship_to_addresses) for c in company.customers.values())
    assert any("&" in c.name or any(ord(ch) > 127 for ch in c.name) for c in company.customers.values())

    items = mirror(engine, "items")
    assert set(items) == set(company.items)
    for list_id, item in company.items.items():
        row = items[list_id]
        assert row["kind"] == ("assembly" if type(item).__name__ == "ItemInventoryAssembly" else "inventory")
        assert row["quantity_on_hand"] == item.quantity_on_hand
        assert row["quantity_on_sales_order"] == item.quantity_on_sales_order
        assert row["sales_price"] == item.sales_price

    orders = mirror(engine, "sales_orders", "qb_txn_id")
    assert set(orders) == set(company.sales_orders)
    order_lines = _lines(engine, "sales_order_lines", "sales_order_id")
    for txn_id, order in company.sales_orders.items():
        assert orders[txn_id]["ref_number"] == order.ref_number
        assert orders[txn_id]["total_amount"] == order.total_amount
        assert order_lines[txn_id] == len(order.lines)

    # Invoices: exactly those made from a (mirrored) sales order, with payment status.
    linked = {
        txn_id
        for txn_id, invoice in company.invoices.items()
        if any(link.txn_type == "SalesOrder" for link in invoice.linked_txns)
    }
    assert 0 < len(linked) < len(company.invoices)
    invoices = mirror(engine, "invoices", "qb_txn_id")
    assert set(invoices) == linked
    for txn_id in linked:
        source_invoice = company.invoices[txn_id]
        row = invoices[txn_id]
        assert row["balance_remaining"] == source_invoice.balance_remaining
        assert row["is_paid"] == source_invoice.is_paid
        assert row["ship_date"] == source_invoice.ship_date
        assert set(row["sales_order_txn_ids"]) == {
            link.txn_id for link in source_invoice.linked_txns if link.txn_type == "SalesOrder"
        }

    payments = mirror(engine, "payments", "qb_txn_id")
    assert set(payments) == set(company.payments)
    with engine.connect() as conn:
        applied = conn.execute(
            text(
                "SELECT p.qb_txn_id, a.txn_id, a.amount FROM payment_applications a"
                " JOIN payments p ON p.id = a.payment_id"
            )
        ).all()
    assert sorted(applied) == sorted(
        (p.txn_id, a.txn_id, a.amount) for p in company.payments.values() for a in p.applied
    )
    for list_name, table in [
        ("price_levels", "price_levels"),
        ("sales_reps", "sales_reps"),
        ("terms", "terms"),
        ("customer_types", "customer_types"),
        ("classes", "classes"),
        ("sales_tax_codes", "sales_tax_codes"),
    ]:
        assert set(mirror(engine, table)) == set(getattr(company, list_name)), table
    with engine.connect() as conn:
        kinds = dict(
            conn.execute(text("SELECT price_level_type, count(*) FROM price_levels GROUP BY 1")).all()
        )
        per_item = conn.execute(text("SELECT count(*) FROM price_level_items")).scalar_one()
    assert set(kinds) == {"FixedPercentage", "PerItem"} and per_item > 0


def test_changes_in_quickbooks_arrive_in_the_next_session_and_nothing_else_changes(
    server: BackgroundServer,
    synced_tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    doomed = company.add(Customer(name="Short-Lived Supply", full_name="Short-Lived Supply"))
    assert run_session(server, synced_tenant, quickbooks).ok
    before = {table: mirror(engine, table, key) for table, key in _TABLES}

    company.clock.advance(3600)
    active = [c for c in company.customers.values() if c.is_active and c.list_id != doomed.list_id]
    edited, deactivated = active[0], active[1]
    inactive = next(c for c in company.customers.values() if not c.is_active)
    company.edit(edited.list_id, phone="770-555-0199")
    company.deactivate(deactivated.list_id)
    company.reactivate(inactive.list_id)
    company.delete(doomed.list_id)
    added = company.add(
        Customer(name="Brand New Traders", full_name="Brand New Traders", email="buy@bnt.example")
    )
    stocked = next(iter(company.items.values()))
    stamp = stocked.time_modified
    company.move_stock(stocked.list_id, on_hand=37)
    assert stocked.time_modified == stamp  # as in QuickBooks: a stock move does not touch the item
    order = next(o for o in company.sales_orders.values() if not o.is_fully_invoiced and o.lines)
    line = order.lines[0]
    refunded = next(
        p
        for p in company.payments.values()
        if p.applied and all(a.txn_id in before["invoices"] for a in p.applied)
    )
    reopened = {a.txn_id for a in refunded.applied}
    company.delete(refunded.txn_id)  # a payment deleted in QuickBooks reopens what it paid
    new_invoice = company.add(
        Invoice(
            customer_ref=order.customer_ref,
            lines=[
                InvoiceLine(
                    item_ref=line.item_ref, quantity=Decimal(1), link_to=(order.txn_id, line.txn_line_id)
                )
            ],
        )
    )

    make_pulls_due(engine)
    report = run_session(server, synced_tenant, quickbooks)
    assert report.ok, report.errors

    after = {table: mirror(engine, table, key) for table, key in _TABLES}
    customers = after["customers"]
    assert customers[edited.list_id]["phone"] == "770-555-0199"
    assert customers[deactivated.list_id]["is_active"] is False
    assert customers[inactive.list_id]["is_active"] is True
    assert customers[doomed.list_id]["deleted_at"] is not None
    assert customers[added.list_id]["email"] == "buy@bnt.example"
    assert after["items"][stocked.list_id]["quantity_on_hand"] == stocked.quantity_on_hand
    assert new_invoice.txn_id in after["invoices"]
    assert after["sales_orders"][order.txn_id]["edit_sequence"] == order.edit_sequence
    assert after["payments"][refunded.txn_id]["deleted_at"] is not None
    for txn_id in reopened:
        assert after["invoices"][txn_id]["balance_remaining"] == company.invoices[txn_id].balance_remaining
        assert after["invoices"][txn_id]["is_paid"] is company.invoices[txn_id].is_paid

    changed = {
        "customers": {edited.list_id, deactivated.list_id, inactive.list_id, doomed.list_id, added.list_id},
        "items": {stocked.list_id} | {ln.item_ref.list_id for ln in new_invoice.lines if ln.item_ref},
        "invoices": {new_invoice.txn_id} | reopened,
        "sales_orders": {order.txn_id},
        "payments": {refunded.txn_id},
    }
    for table, _ in _TABLES:
        untouched = {
            key
            for key, row in before[table].items()
            if key in after[table] and after[table][key]["updated_at"] == row["updated_at"]
        }
        moved = set(before[table]) - untouched
        # Only what QuickBooks changed moved (balances follow the new invoice on its customer).
        allowed = changed.get(table, set()) | _follow_on_changes(table, new_invoice)
        assert moved <= allowed, f"{table}: rows rewritten that QuickBooks did not change: {moved - allowed}"


def test_an_iterator_that_expires_mid_pull_starts_over_without_losing_or_duplicating_rows(
    server: BackgroundServer,
    synced_tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    class ExpiresOnce(Passthrough):
        """QuickBooks whose iterators expire once, after the second customer page."""

        customer_pages, expired = 0, False

        def process(self, request_xml: str) -> str:
            if "<CustomerQueryRq" in request_xml:
                self.customer_pages += 1
                if self.customer_pages == 3 and not self.expired:
                    self.expired = True
                    self.inner.expire_iterators()
            return self.inner.process(request_xml)

    processor = ExpiresOnce(quickbooks)
    report = run_session(server, synced_tenant, processor)

    assert report.ok, report.errors
    assert processor.expired
    pages = -(-len(company.customers) // PAGE)
    assert processor.customer_pages == pages + 3, "two pages, the expired one, then a full pass"
    customers = mirror(engine, "customers")
    assert set(customers) == set(company.customers)
    with engine.connect() as conn:
        job = conn.execute(
            text("SELECT status, records, last_message FROM jobs WHERE kind = 'customers.pull'")
        ).one()
        cursor = conn.execute(
            text("SELECT last_modified FROM sync_cursors WHERE entity = 'customers'")
        ).scalar_one()
    assert job.status == "done"
    assert cursor == max(c.time_modified for c in company.customers.values())


def test_a_tenant_just_synced_has_nothing_due_and_is_told_when_to_come_back(
    server: BackgroundServer, synced_tenant: TenantCredentials, quickbooks: SimulatedQuickBooks
) -> None:
    assert run_session(server, synced_tenant, quickbooks).ok
    again = run_session(server, synced_tenant, quickbooks)
    assert again.outcome == "no work"
    assert again.postpone_seconds is not None and 0 < again.postpone_seconds <= 60


def test_a_pull_quickbooks_refuses_waits_for_an_admin_and_the_rest_still_syncs(
    server: BackgroundServer,
    synced_tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    class NoPriceLevels(Passthrough):
        """A QuickBooks edition without price levels: PriceLevelQuery answers 3250."""

        def process(self, request_xml: str) -> str:
            if "<PriceLevelQueryRq" not in request_xml:
                return self.inner.process(request_xml)
            return (
                '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><PriceLevelQueryRs requestID="1" statusCode="3250"'
                ' statusSeverity="Error" statusMessage="This feature is not enabled or not available in this'
                ' version of QuickBooks." /></QBXMLMsgsRs></QBXML>'
            )

    report = run_session(server, synced_tenant, NoPriceLevels(quickbooks))

    assert report.ok
    assert report.close_message is not None and "1 needs attention" in report.close_message
    with engine.connect() as conn:
        job = conn.execute(
            text("SELECT status, last_status_code, last_message FROM jobs WHERE kind = 'price_levels.pull'")
        ).one()
    assert job.status == "failed" and job.last_status_code == 3250
    assert "not enabled" in job.last_message and "Premier/Enterprise" in job.last_message
    assert "--pull price_levels=off" in job.last_message
    assert set(mirror(engine, "customers")) == set(company.customers)

    make_pulls_due(engine)
    assert run_session(server, synced_tenant, NoPriceLevels(quickbooks)).ok
    with engine.connect() as conn:
        kinds = conn.execute(text("SELECT kind, count(*) FROM jobs GROUP BY kind")).all()
    assert dict(kinds)["price_levels.pull"] == 1, "a refused pull waits for the admin instead of piling up"
    assert dict(kinds)["customers.pull"] == 2


_TABLES = [
    ("customers", "qb_list_id"),
    ("items", "qb_list_id"),
    ("sales_orders", "qb_txn_id"),
    ("invoices", "qb_txn_id"),
    ("payments", "qb_txn_id"),
    ("price_levels", "qb_list_id"),
    ("terms", "qb_list_id"),
    ("sales_reps", "qb_list_id"),
]


def _follow_on_changes(table: str, invoice: Invoice) -> set[str]:
    """Rows QuickBooks itself changed as a consequence of the new invoice (its customer's balance)."""
    if table == "customers" and invoice.customer_ref.list_id:
        return {invoice.customer_ref.list_id}
    return set()


def _lines(engine: Engine, table: str, parent: str) -> dict[str, int]:
    """Lines per parent QuickBooks id."""
    parents, key = {
        "sales_order_lines": ("sales_orders", "qb_txn_id"),
        "invoice_lines": ("invoices", "qb_txn_id"),
    }[table]
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT p.{key}, count(l.id) FROM {parents} p"
                f" LEFT JOIN {table} l ON l.{parent} = p.id GROUP BY 1"
            )
        ).all()
    return dict(rows)


def test_a_session_that_dies_mid_pull_keeps_the_cursor_and_the_next_one_finishes_the_pull(
    server: BackgroundServer,
    synced_tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    from qbwc_server.simulator.processor import QuickBooksRequestError

    class DiesOnThirdPage(Passthrough):
        pages = 0

        def process(self, request_xml: str) -> str:
            if "<CustomerQueryRq" in request_xml:
                self.pages += 1
                if self.pages == 3:
                    raise QuickBooksRequestError("0x80040401", "Could not access QuickBooks.")
            return self.inner.process(request_xml)

    first = run_session(server, synced_tenant, DiesOnThirdPage(quickbooks))
    assert not first.ok and "could not access QuickBooks" in " ".join(first.errors)
    with engine.connect() as conn:
        job = conn.execute(
            text("SELECT status, params, run_after > now() AS later FROM jobs WHERE kind = 'customers.pull'")
        ).one()
        cursor = conn.execute(
            text("SELECT last_modified, last_completed_at FROM sync_cursors WHERE entity = 'customers'")
        ).one()
    assert job.status == "queued" and job.later, "retried after a backoff"
    assert "iterator_id" in job.params, "it was in the middle of an iteration"
    assert cursor.last_modified is None and cursor.last_completed_at is None, (
        "an unfinished pull moves nothing"
    )
    assert len(mirror(engine, "customers")) == 2 * PAGE, "what was applied stays applied"

    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET run_after = now() WHERE status = 'queued'"))
    second = run_session(
        server, synced_tenant, quickbooks
    )  # a new session: QuickBooks' iterator is gone (3391)

    assert second.ok, second.errors
    assert set(mirror(engine, "customers")) == set(company.customers)
    with engine.connect() as conn:
        status, last_modified = conn.execute(
            text(
                "SELECT j.status, c.last_modified FROM jobs j JOIN sync_cursors c ON c.entity = 'customers'"
                " WHERE j.kind = 'customers.pull'"
            )
        ).one()
    assert status == "done" and last_modified == max(c.time_modified for c in company.customers.values())
