"""Customers pushed into the simulated QuickBooks through the served app, end to end: the record
QuickBooks ends up with, field by field, and the mirror row synced with its ListID — including
every way QuickBooks says no (3100, 3200, 3120, 3140) and an answer lost on its way back.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from qbwc_server.models import JobKind
from qbwc_server.qbxml.customer_writes import customer_guid
from qbwc_server.queue import enqueue
from qbwc_server.simulator.company import Company, Customer
from qbwc_server.simulator.list_generator import add_lists
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from qbwc_server.simulator.records import Address
from qbwc_server.sync.customer_fields import bind
from qbwc_server.sync.push import plan_push, sync_error
from qbwc_server.testing import BackgroundServer
from tests.conftest import TenantCredentials
from tests.pushing import (
    Recorder,
    job,
    jobs_of,
    pulled_tenant,
    put_customer,
    row,
    run_session,
    run_session_losing,
    set_push_settings,
)
from tests.xsd import assert_valid_qbxml

pytestmark = [pytest.mark.slow, pytest.mark.protocol]
#: A raw job standing in for an order push that waits for its customer.
ORDER_STANDIN = '<CustomerQueryRq requestID="1"><MaxReturned>1</MaxReturned></CustomerQueryRq>'

EVERYTHING = {
    "name": "Peachtree Outfitters",
    "company_name": "Peachtree Outfitters LLC",
    "first_name": "Ann",
    "last_name": "Lee",
    "email": "ann@peachtree.example",
    "phone": "404-555-0100",
    "billing_address": {
        "line1": "1 Main St",
        "line2": "Suite 4",
        "city": "Atlanta",
        "state": "GA",
        "postal_code": "30301",
        "country": "US",
    },
    "shipping_addresses": [
        {
            "name": "Warehouse",
            "line1": "9 Dock Rd",
            "city": "Macon",
            "state": "GA",
            "postal_code": "31201",
            "default": True,
        },
        {"name": "Store", "line1": "5 Bay St", "city": "Savannah", "state": "GA", "default": False},
    ],
    "sales_rep_email": "nobody@yourcompany.example",  # mapped to no rep: the default rep, Admin
    "customer_type": "Retail",
    "terms": "Net 45",  # not in the company: the default terms, Net 30
    "active": True,
}


@pytest.fixture
def company() -> Company:
    company = Company()
    add_lists(company)
    company.add(
        Customer(
            name="Acme Hardware",
            email="Ann@Acme.example",
            phone="(404) 555-0142",
            company_name="Acme Hardware Inc",
            bill_address=Address(addr1="7 Elm St", city="Macon"),
        )
    )
    company.add(Customer(name="Bolt Supply", email="buy@bolt.example", phone="770-555-0101"))
    return company


@pytest.fixture
def quickbooks(company: Company) -> SimulatedQuickBooks:
    return SimulatedQuickBooks(company)


@pytest.fixture
def tenant(
    make_tenant: Callable[..., TenantCredentials],
    engine: Engine,
    server: BackgroundServer,
    quickbooks: SimulatedQuickBooks,
) -> TenantCredentials:
    return pulled_tenant(make_tenant, engine, server, quickbooks)


def qb_customer(company: Company, name: str) -> Customer:
    found = [c for c in company.customers.values() if c.name.upper() == name.upper()]
    assert len(found) == 1, f"{len(found)} QuickBooks customers named {name!r}"
    return found[0]


def list_id_of(company: Company, name: str) -> str:
    return qb_customer(company, name).list_id


def test_a_new_customer_lands_with_every_field_and_the_defaults(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    row_id, job_id = put_customer(engine, tenant.id, "c-17", EVERYTHING)
    recorder = Recorder(quickbooks)

    report = run_session(server, tenant, recorder)

    assert report.ok, report.errors
    added = qb_customer(company, "Peachtree Outfitters")
    assert (added.company_name, added.first_name, added.last_name) == (
        "Peachtree Outfitters LLC",
        "Ann",
        "Lee",
    )
    assert (added.email, added.phone, added.is_active) == ("ann@peachtree.example", "404-555-0100", True)
    bill = added.bill_address
    assert bill is not None
    assert (bill.addr1, bill.addr2, bill.city, bill.state, bill.postal_code, bill.country) == (
        "1 Main St",
        "Suite 4",
        "Atlanta",
        "GA",
        "30301",
        "US",
    )
    ship_tos = {s.name: s for s in added.ship_to_addresses}
    assert set(ship_tos) == {"Warehouse", "Store"}
    assert ship_tos["Warehouse"].default_ship_to and not ship_tos["Store"].default_ship_to
    assert (ship_tos["Warehouse"].addr1, ship_tos["Warehouse"].city) == ("9 Dock Rd", "Macon")
    assert added.customer_type_ref is not None and added.customer_type_ref.full_name == "Retail"
    assert added.terms_ref is not None and added.terms_ref.full_name == "Net 30"  # the default
    assert added.sales_rep_ref is not None and added.sales_rep_ref.full_name == "AD"  # Admin's initials
    assert added.sales_tax_code_ref is not None and added.sales_tax_code_ref.full_name == "Non"
    assert added.external_guid == customer_guid(tenant.id, "c-17")

    mirrored = row(engine, "customers", row_id)
    assert (mirrored["sync_state"], mirrored["sync_error"]) == ("synced", None)
    assert (mirrored["qb_list_id"], mirrored["edit_sequence"]) == (added.list_id, added.edit_sequence)
    assert (mirrored["terms_name"], mirrored["sales_rep_code"], mirrored["email"]) == (
        "Net 30",
        "AD",
        "ann@peachtree.example",
    )
    assert job(engine, job_id)["status"] == "done"
    writes = [r for r in recorder.requests if "CustomerAddRq" in r]
    assert len(writes) == 1
    for request in recorder.requests:
        assert_valid_qbxml(request)


def test_a_customer_in_quickbooks_is_modified_and_what_we_did_not_send_stays(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    acme = qb_customer(company, "Acme Hardware")
    row_id, _ = put_customer(
        engine,
        tenant.id,
        "c-1",
        {"name": "Acme Hardware", "phone": "404-555-0199", "terms": "Net 15"},
        qb_list_id=acme.list_id,
    )

    assert run_session(server, tenant, quickbooks).ok

    assert qb_customer(company, "Acme Hardware") is acme
    assert (acme.phone, acme.terms_ref.full_name if acme.terms_ref else None) == ("404-555-0199", "Net 15")
    assert (acme.email, acme.company_name) == ("Ann@Acme.example", "Acme Hardware Inc")  # not sent: kept
    assert acme.bill_address is not None and acme.bill_address.addr1 == "7 Elm St"
    assert acme.sales_tax_code_ref is None  # a Mod sends no defaults the body did not ask for
    mirrored = row(engine, "customers", row_id)
    assert (mirrored["sync_state"], mirrored["qb_list_id"], mirrored["edit_sequence"]) == (
        "synced",
        acme.list_id,
        acme.edit_sequence,
    )
    assert mirrored["phone"] == "404-555-0199"


def test_qb_list_id_binds_a_new_id_to_an_existing_quickbooks_customer(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    bolt = qb_customer(company, "Bolt Supply")
    body = {"name": "Bolt Supply", "qb_list_id": bolt.list_id, "first_name": "Bo", "customer_type": "Online"}
    row_id, _ = put_customer(engine, tenant.id, "c-2", body)

    assert run_session(server, tenant, quickbooks).ok

    assert len(company.customers) == 2, "bound, not added"
    assert (bolt.first_name, bolt.customer_type_ref.full_name if bolt.customer_type_ref else None) == (
        "Bo",
        "Online",
    )
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, commerce_id, sync_state FROM customers WHERE qb_list_id = :l"),
            {"l": bolt.list_id},
        ).all()
    assert [tuple(r) for r in rows] == [(row_id, "c-2", "synced")], "the pulled copy became this customer"


def test_3100_links_the_quickbooks_customer_of_that_name_when_the_email_matches(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    row_id, job_id = put_customer(
        engine,
        tenant.id,
        "c-3",
        {"name": "Acme Hardware", "email": "  ann@acme.EXAMPLE ", "last_name": "Lee"},
    )

    assert run_session(server, tenant, quickbooks).ok

    acme = qb_customer(company, "Acme Hardware")  # still exactly one
    assert acme.last_name == "Lee" and acme.email == "  ann@acme.EXAMPLE "
    mirrored = row(engine, "customers", row_id)
    assert (mirrored["sync_state"], mirrored["qb_list_id"]) == ("synced", acme.list_id)
    assert job(engine, job_id)["status"] == "done"


def test_3100_links_by_phone_digits_when_a_side_has_no_email(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    row_id, _ = put_customer(engine, tenant.id, "c-4", {"name": "Acme Hardware", "phone": "+1 404.555.0142"})
    assert run_session(server, tenant, quickbooks).ok
    assert row(engine, "customers", row_id)["qb_list_id"] == list_id_of(company, "Acme Hardware")


def test_3100_for_another_customer_needs_mapping_and_holds_what_depends_on_it(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    row_id, job_id = put_customer(
        engine, tenant.id, "c-5", {"name": "Acme Hardware", "email": "x@other.example"}
    )
    with engine.begin() as conn:  # an order of this customer, waiting for it
        order_job = enqueue(
            conn, tenant.id, JobKind.RAW_QBXML, request_body=ORDER_STANDIN, depends_on=[job_id]
        )

    report = run_session(server, tenant, quickbooks)

    assert report.ok
    assert len(company.customers) == 2
    mirrored = row(engine, "customers", row_id)
    assert mirrored["sync_state"] == "needs_mapping" and mirrored["qb_list_id"] is None
    error = sync_error(mirrored)
    assert error is not None and error["quickbooks_code"] == 3100
    acme_id = list_id_of(company, "Acme Hardware")
    assert error["message"] == 'A different QuickBooks customer is already named "Acme Hardware"'
    assert error["fix"] == (
        "Rename this customer, or link it to the existing QuickBooks customer (POST /customers/c-5/link"
        f" or `qbwc-server customers link acme c-5 {acme_id}`)"
    )
    failed = job(engine, job_id)
    assert failed["status"] == "failed" and error["fix"] in failed["last_message"]
    held = job(engine, order_job)
    assert held["status"] == "blocked" and "Acme Hardware" in held["last_message"]

    # The admin links it (what POST /customers/{id}/link does): what waited goes by itself.
    with engine.begin() as conn:
        assert bind(conn, tenant.id, row_id, acme_id) is None
        conn.execute(
            text("UPDATE customers SET edit_sequence = NULL, sync_state = 'pending' WHERE id = :id"),
            {"id": row_id},
        )
        assert plan_push(conn, tenant.id, "customers.push", row_id) == job_id
    assert job(engine, order_job)["status"] == "queued"

    report = run_session(server, tenant, quickbooks)
    assert report.ok, report.errors

    acme = qb_customer(company, "Acme Hardware")
    assert acme.email == "x@other.example", "our fields go onto the linked customer"
    assert (
        row(engine, "customers", row_id)["sync_state"],
        row(engine, "customers", row_id)["qb_list_id"],
    ) == (
        "synced",
        acme_id,
    )
    assert [job(engine, j)["status"] for j in (job_id, order_job)] == ["done", "done"]


def test_3100_against_a_name_of_the_other_lists_needs_a_rename(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    row_id, _ = put_customer(engine, tenant.id, "c-6", {"name": "John Smith"})  # a rep's employee name
    assert run_session(server, tenant, quickbooks).ok
    mirrored = row(engine, "customers", row_id)
    assert mirrored["sync_state"] == "needs_mapping"
    assert "vendor, employee or other name" in mirrored["sync_error"]


def test_3200_merges_what_quickbooks_changed_then_modifies_without_a_person(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    acme = qb_customer(company, "Acme Hardware")
    row_id, job_id = put_customer(
        engine,
        tenant.id,
        "c-7",
        {"name": "Acme Hardware", "phone": "111-111-1111", "email": "ap@acme.example", "first_name": "Ann"},
        qb_list_id=acme.list_id,
    )
    company.clock.advance(60)  # meanwhile someone edits the phone and the first name in QuickBooks
    company.edit(acme.list_id, phone="999-999-9999", first_name="Anne")
    recorder = Recorder(quickbooks)

    assert run_session(server, tenant, recorder).ok

    assert (acme.phone, acme.first_name) == ("999-999-9999", "Anne"), (
        "QuickBooks is master for what it changed"
    )
    assert acme.email == "ap@acme.example", "our other changes are made"
    mods = [r for r in recorder.requests if "CustomerModRq" in r]
    assert len(mods) == 2 and "<Phone>" in mods[0] and "<Phone>" not in mods[1]
    mirrored = row(engine, "customers", row_id)
    assert (mirrored["sync_state"], mirrored["edit_sequence"], mirrored["phone"]) == (
        "synced",
        acme.edit_sequence,
        "999-999-9999",
    )
    assert "kept" in (job(engine, job_id)["last_message"] or "") or job(engine, job_id)["status"] == "done"


@pytest.mark.parametrize("readd", [True, False])
def test_3120_a_customer_deleted_in_quickbooks_is_added_again_when_the_tenant_allows_it(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
    readd: bool,
) -> None:
    set_push_settings(engine, tenant.id, readd_deleted=readd)
    bolt = qb_customer(company, "Bolt Supply")
    row_id, job_id = put_customer(
        engine,
        tenant.id,
        "c-8",
        {"name": "Bolt Supply", "email": "buy@bolt.example"},
        qb_list_id=bolt.list_id,
    )
    company.delete(bolt.list_id)

    assert run_session(server, tenant, quickbooks).ok

    mirrored = row(engine, "customers", row_id)
    if readd:
        again = qb_customer(company, "Bolt Supply")
        assert again.list_id != bolt.list_id and again.email == "buy@bolt.example"
        assert (mirrored["sync_state"], mirrored["qb_list_id"]) == ("synced", again.list_id)
    else:
        assert not any(c.name == "Bolt Supply" for c in company.customers.values())
        assert (
            mirrored["sync_state"] == "failed"
            and "--readd-deleted yes" in mirrored["sync_error"]
            and "{id}" not in mirrored["sync_error"]
        )
        assert job(engine, job_id)["status"] == "failed"


def test_3140_a_list_entry_gone_from_quickbooks_is_left_out(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    online = next(t for t in company.customer_types.values() if t.name == "Online")
    company.delete(online.list_id)  # the mirror still has it: no pull since
    row_id, job_id = put_customer(
        engine, tenant.id, "c-9", {"name": "Corner Shop", "customer_type": "Online"}
    )

    assert run_session(server, tenant, quickbooks).ok

    shop = qb_customer(company, "Corner Shop")
    assert shop.customer_type_ref is None and shop.terms_ref is not None
    assert row(engine, "customers", row_id)["sync_state"] == "synced"
    assert job(engine, job_id)["status"] == "done"


def test_a_lost_add_is_looked_up_and_adopted_never_added_twice(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    row_id, job_id = put_customer(engine, tenant.id, "c-10", {"name": "Lost & Found Co"})
    losing = Recorder(quickbooks, lose=lambda request: "CustomerAddRq" in request)

    run_session_losing(server, tenant, losing)

    assert qb_customer(company, "Lost & Found Co")  # QuickBooks did it
    assert job(engine, job_id)["status"] == "unconfirmed"
    assert row(engine, "customers", row_id)["qb_list_id"] is None
    recorder = Recorder(quickbooks)

    assert run_session(server, tenant, recorder).ok

    added = qb_customer(company, "Lost & Found Co")  # exactly one
    assert not any("CustomerAddRq" in r for r in recorder.requests), "looked up, never added again"
    assert any("<FullName>Lost &amp; Found Co</FullName>" in r for r in recorder.requests)
    mirrored = row(engine, "customers", row_id)
    assert (mirrored["sync_state"], mirrored["qb_list_id"]) == ("synced", added.list_id)
    assert job(engine, job_id)["status"] == "done"


def test_a_lost_add_that_did_not_happen_is_added_after_the_look_up(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    row_id, job_id = put_customer(engine, tenant.id, "c-11", {"name": "Never Arrived Ltd"})
    losing = Recorder(quickbooks, lose=lambda request: "CustomerAddRq" in request)
    run_session_losing(server, tenant, losing)
    company.delete(list_id_of(company, "Never Arrived Ltd"))  # as if QuickBooks had not done it

    assert run_session(server, tenant, quickbooks).ok

    added = qb_customer(company, "Never Arrived Ltd")
    assert row(engine, "customers", row_id)["qb_list_id"] == added.list_id
    assert job(engine, job_id)["status"] == "done"


def test_a_lost_mod_is_read_again_and_sent_with_the_current_edit_sequence(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    acme = qb_customer(company, "Acme Hardware")
    row_id, job_id = put_customer(
        engine, tenant.id, "c-12", {"name": "Acme Hardware", "last_name": "Lee"}, qb_list_id=acme.list_id
    )
    run_session_losing(server, tenant, Recorder(quickbooks, lose=lambda r: "CustomerModRq" in r))
    assert acme.last_name == "Lee"

    assert run_session(server, tenant, quickbooks).ok

    mirrored = row(engine, "customers", row_id)
    assert (mirrored["sync_state"], mirrored["edit_sequence"]) == ("synced", acme.edit_sequence)
    assert job(engine, job_id)["status"] == "done"


def test_customers_travel_together_in_one_message(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    rows = [
        put_customer(engine, tenant.id, f"b-{n}", {"name": f"Batch Customer {n:03}"})[0] for n in range(120)
    ]
    recorder = Recorder(quickbooks)

    assert run_session(server, tenant, recorder).ok

    assert len(recorder.requests) == 3  # 50 + 50 + 20
    with engine.connect() as conn:
        states = conn.execute(
            text("SELECT sync_state, count(*) FROM customers WHERE id = ANY(:ids) GROUP BY 1"), {"ids": rows}
        ).all()
    assert [tuple(s) for s in states] == [("synced", 120)]
    assert len(company.customers) == 122
    assert not jobs_of(engine, "lists.push"), "every default was in the mirror"


def test_an_older_quickbooks_gets_one_ship_address_and_a_lost_add_is_recognised_by_email(
    server: BackgroundServer,
    make_tenant: Callable[..., TenantCredentials],
    company: Company,
    engine: Engine,
) -> None:
    """qbXML 7.0: no ShipToAddress (the default goes as ShipAddress) and no ExternalGUID, so a
    lost Add is recognised by the same-person rule; without contact details, an admin decides."""
    older = SimulatedQuickBooks(company, supported_versions=("6.0", "7.0"))
    tenant = make_tenant("older", pulls=True)
    set_push_settings(engine, tenant.id)
    assert run_session(server, tenant, older).ok
    body = {**EVERYTHING, "name": "Old Town Goods"}
    row_id, job_id = put_customer(engine, tenant.id, "c-20", body)
    _, anonymous_job = put_customer(engine, tenant.id, "c-21", {"name": "No Contact Co"})
    losing = Recorder(older, lose=lambda request: "CustomerAddRq" in request)

    run_session_losing(server, tenant, losing)
    assert run_session(server, tenant, older).ok

    added = qb_customer(company, "Old Town Goods")  # exactly one
    assert added.external_guid is None and not added.ship_to_addresses
    assert added.ship_address is not None and added.ship_address.addr1 == "9 Dock Rd"  # the default one
    assert (row(engine, "customers", row_id)["qb_list_id"], job(engine, job_id)["status"]) == (
        added.list_id,
        "done",
    )
    qb_customer(company, "No Contact Co")  # exactly one: never added twice
    assert job(engine, anonymous_job)["status"] == "failed"


def test_a_customer_renamed_while_its_lost_add_is_unconfirmed_is_adopted_then_renamed(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    row_id, first_job = put_customer(engine, tenant.id, "c-30", {"name": "Old Name Traders"})
    run_session_losing(server, tenant, Recorder(quickbooks, lose=lambda request: "CustomerAddRq" in request))
    _, second_job = put_customer(engine, tenant.id, "c-30", {"name": "New Name Traders"})
    assert second_job != first_job, "a push in doubt is never reused: the new one waits for it"

    assert run_session(server, tenant, quickbooks).ok

    renamed = qb_customer(company, "New Name Traders")
    assert not any(c.name == "Old Name Traders" for c in company.customers.values())
    assert len(company.customers) == 3
    assert row(engine, "customers", row_id)["qb_list_id"] == renamed.list_id
    assert [job(engine, j)["status"] for j in (first_job, second_job)] == ["done", "done"]
