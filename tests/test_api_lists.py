"""The list endpoints (API.md "Reads") over real HTTP: a company pulled from the simulated
QuickBooks and records written through PUT, read back page by page; what changes in QuickBooks
or in the rep map arrives in the next sync; tokens; parameters refused with the field named.
Paging while rows change underneath is test_api_lists_paging.py's.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from qbwc_server.admin import reps, tokens
from qbwc_server.simulator.company import Company, PriceLevelPerItem
from qbwc_server.simulator.generator import generate_company
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from qbwc_server.testing import BackgroundServer
from tests.api_http import call
from tests.conftest import TenantCredentials
from tests.lists_http import get, key, moment, newest, read_pass
from tests.pushing import pulled_tenant, run_session

LISTS = ("customers", "items", "orders", "invoices", "payments", "price-levels", "sales-reps")


@pytest.fixture
def company() -> Company:
    return generate_company(seed=11, customers=14, items=6, invoices=10, payments=5)


@pytest.fixture
def quickbooks(company: Company) -> SimulatedQuickBooks:
    return SimulatedQuickBooks(company)


@pytest.fixture
def pulled(
    make_tenant: Callable[..., TenantCredentials],
    engine: Engine,
    server: BackgroundServer,
    quickbooks: SimulatedQuickBooks,
) -> TenantCredentials:
    return pulled_tenant(make_tenant, engine, server, quickbooks)


@pytest.fixture
def token(engine: Engine, pulled: TenantCredentials) -> str:
    return tokens.issue_tenant_token(engine, pulled.name)


def by_key(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {key(row): row for row in rows}


def after(since: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows changed after `since` (updated_since is inclusive: what changed at it comes again)."""
    return [row for row in rows if moment(row["updated_at"]) > moment(since)]


def make_pulls_due(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE sync_cursors SET next_due_at = now() WHERE next_due_at <> 'infinity'"))


def test_every_list_shows_what_quickbooks_has(server: BackgroundServer, token: str, company: Company) -> None:
    url = server.base_url
    listed = {name: by_key(read_pass(url, token, f"/{name}", limit=4)) for name in LISTS}

    expected = {
        "customers": company.customers,
        "items": company.items,
        "orders": company.sales_orders,
        # Only invoices made from a sales order are mirrored (DESIGN.md "Sync rules").
        "invoices": {
            txn_id: invoice
            for txn_id, invoice in company.invoices.items()
            if any(link.txn_type == "SalesOrder" for link in invoice.linked_txns)
        },
        "payments": company.payments,
        "price-levels": company.price_levels,
        "sales-reps": company.sales_reps,
    }
    for name, records in expected.items():
        assert set(listed[name]) == set(records), name
    for list_id, item in company.items.items():
        row = listed["items"][list_id]
        assert Decimal(row["quantity_on_hand"]) == item.quantity_on_hand
        assert row["sku"] == item.full_name
    for txn_id, order in company.sales_orders.items():
        row = listed["orders"][txn_id]
        assert row["id"] is None and row["qb_txn_id"] == txn_id  # made in QuickBooks: none of ours
        assert row["number"] == order.ref_number and len(row["lines"]) == len(order.lines)
        assert row["sync"]["state"] == "synced"
    for txn_id, invoice in expected["invoices"].items():
        row = listed["invoices"][txn_id]
        orders = [link.txn_id for link in invoice.linked_txns if link.txn_type == "SalesOrder"]
        assert [link["qb_txn_id"] for link in row["linked_orders"]] == orders
        assert all(link["id"] is None for link in row["linked_orders"])
        assert (Decimal(row["balance"]), row["paid"]) == (invoice.balance_remaining, invoice.is_paid)
        assert row["ship_date"] == (invoice.ship_date.isoformat() if invoice.ship_date else None)
        assert row["tracking_number"] == invoice.other
    for txn_id, payment in company.payments.items():
        row = listed["payments"][txn_id]
        assert Decimal(row["amount"]) == payment.total_amount
        assert [a["qb_txn_id"] for a in row["applications"]] == [a.txn_id for a in payment.applied]
    per_item = next(level for level in company.price_levels.values() if level.per_item)
    prices = {
        p["qb_item_list_id"]: Decimal(p["custom_price"])
        for p in listed["price-levels"][per_item.list_id]["items"]
    }
    assert prices == {p.item_ref.list_id: p.custom_price for p in per_item.per_item}
    for list_id, rep in company.sales_reps.items():
        assert (listed["sales-reps"][list_id]["code"], listed["sales-reps"][list_id]["email"]) == (
            rep.initial,
            None,
        )


def test_records_written_through_the_api_are_listed_as_get_shows_them(
    server: BackgroundServer,
    token: str,
    pulled: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    url = server.base_url
    sku = next(iter(company.items.values())).full_name
    writes = {
        "customers": ("c-1", {"name": "Zephyr Outfitters", "email": "z@zephyr.example",
                              "billing_address": {"line1": "1 Main St", "state": "Georgia"}}),
        "orders": ("o-1", {"number": "WC1", "customer_id": "c-1", "date": "2026-11-29",
                           "lines": [{"line_id": "l-1", "sku": sku, "quantity": "2", "rate": "9.50"}]}),
        "payments": ("p-1", {"customer_id": "c-1", "order_id": "o-1", "amount": "19", "reference": "WZ-1"}),
    }  # fmt: skip
    for name, (commerce_id, body) in writes.items():
        assert call(url, "PUT", f"/api/v1/{name}/{commerce_id}", token=token, body=body).status == 201
    before = {name: newest(read_pass(url, token, f"/{name}")) for name in writes}

    def agrees(name: str, commerce_id: str) -> dict[str, Any]:
        [row] = [
            r for r in read_pass(url, token, f"/{name}", updated_since=before[name]) if r["id"] == commerce_id
        ]
        shown = call(url, "GET", f"/api/v1/{name}/{commerce_id}", token=token).json
        for field in ("id", "qb_list_id", "qb_txn_id", "qb_edit_sequence", "sync"):
            assert row.get(field) == shown.get(field), field
        return row

    customer = agrees("customers", "c-1")
    assert (customer["name"], customer["email"], customer["sync"]["state"]) == (
        "Zephyr Outfitters",
        "z@zephyr.example",
        "pending",
    )
    assert customer["billing_address"] == {"line1": "1 Main St", "state": "GA"}
    order = agrees("orders", "o-1")
    assert order["number"] == "WC1" and order["customer_id"] == "c-1" and order["qb_txn_id"] is None
    assert [(ln["line_id"], ln["sku"], ln["quantity"], ln["rate"]) for ln in order["lines"]] == [
        ("l-1", sku, "2", "9.5")
    ]
    payment = agrees("payments", "p-1")
    assert (payment["amount"], payment["reference"], payment["order_id"]) == ("19", "WZ-1", "o-1")

    run_session(server, pulled, quickbooks)  # the customer and the order go to QuickBooks
    for name in ("customers", "orders"):
        row = agrees(name, writes[name][0])
        assert row["sync"]["state"] == "synced" and (row.get("qb_list_id") or row.get("qb_txn_id"))
    payment = agrees("payments", "p-1")  # it waits for the order's invoice: GET says so, and so does the list
    assert payment["sync"]["state"] != "synced"
    order = agrees("orders", "o-1")
    assert order["lines"][0]["line_id"] == "l-1" and order["lines"][0]["qb_txn_line_id"]


def test_what_changes_in_quickbooks_or_the_rep_map_comes_in_the_next_sync(
    server: BackgroundServer,
    token: str,
    pulled: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    url = server.base_url
    since = {
        name: newest(read_pass(url, token, f"/{name}"))
        for name in ("customers", "price-levels", "sales-reps")
    }
    doomed = next(c for c in company.customers.values() if c.is_active)
    company.clock.advance(3600)
    company.delete(doomed.list_id)
    level = next(level for level in company.price_levels.values() if level.per_item)
    first = level.per_item[0]
    company.edit(level.list_id, per_item=[PriceLevelPerItem(first.item_ref, custom_price=Decimal("1.23"))])
    make_pulls_due(engine)
    assert run_session(server, pulled, quickbooks).ok
    rep = next(iter(company.sales_reps.values()))
    with engine.begin() as conn:
        reps.map_rep(conn, pulled.id, rep.initial, "rep@yourcompany.example")

    customers = by_key(read_pass(url, token, "/customers", updated_since=since["customers"]))
    assert customers[doomed.list_id]["deleted_at"] is not None  # deleted rows stay listed
    levels = by_key(read_pass(url, token, "/price-levels", updated_since=since["price-levels"]))
    assert levels[level.list_id]["items"] == [
        {"qb_item_list_id": first.item_ref.list_id, "sku": first.item_ref.full_name,
         "custom_price": "1.23", "custom_price_percent": None}
    ]  # fmt: skip
    mapped = after(
        since["sales-reps"], read_pass(url, token, "/sales-reps", updated_since=since["sales-reps"])
    )
    assert [(r["code"], r["email"]) for r in mapped] == [(rep.initial, "rep@yourcompany.example")]

    with engine.begin() as conn:
        reps.unmap_rep(conn, pulled.id, rep.initial)
    unmapped = after(newest(mapped), read_pass(url, token, "/sales-reps", updated_since=newest(mapped)))
    assert [(r["code"], r["email"]) for r in unmapped] == [(rep.initial, None)]


def test_a_token_is_needed_and_an_admin_reads_any_tenant(
    server: BackgroundServer, token: str, pulled: TenantCredentials, engine: Engine,
    make_tenant: Callable[..., TenantCredentials],
) -> None:  # fmt: skip
    url = server.base_url
    for path in (f"/{name}" for name in LISTS):
        for sent in (None, "qbwt_not-a-token"):
            reply = call(url, "GET", f"/api/v1{path}", token=sent)
            assert reply.status == 401 and reply.error["code"] == "unauthorized", path
    admin = tokens.issue_admin_token(engine)
    as_admin = read_pass(url, admin, f"/tenants/{pulled.name}/customers", limit=5)
    assert as_admin == read_pass(url, token, "/customers", limit=5)
    first = get(url, admin, f"/tenants/{pulled.name}/customers", limit=5).json
    assert get(url, token, "/customers", cursor=first["next_cursor"]).status == 200  # same tenant
    assert get(url, admin, "/customers").status == 400  # an admin names the tenant
    make_tenant("globex")
    assert get(url, token, "/tenants/globex/customers").status == 404


# -- parameters -----------------------------------------------------------------------------


@pytest.fixture
def two_tenants(
    make_tenant: Callable[..., TenantCredentials], engine: Engine
) -> dict[str, tuple[TenantCredentials, str]]:
    """acme and globex, each with three customers and two reps (rows enough for a cursor)."""
    made = {}
    for name in ("acme", "globex"):
        tenant = make_tenant(name)
        with engine.begin() as conn:
            for n in range(3):
                conn.execute(
                    text("INSERT INTO customers (tenant_id, name, full_name) VALUES (:t, :n, :n)"),
                    {"t": tenant.id, "n": f"{name} customer {n}"},
                )
            for code in ("AB", "CD"):
                conn.execute(
                    text("INSERT INTO sales_reps (tenant_id, qb_list_id, code) VALUES (:t, :l, :c)"),
                    {"t": tenant.id, "l": f"{name}-{code}", "c": code},
                )
        made[name] = (tenant, tokens.issue_tenant_token(engine, name))
    return made


def cursor_of(url: str, token: str, path: str) -> str:
    cursor = get(url, token, path, limit=1).json["next_cursor"]
    assert cursor
    return str(cursor)


def edited(cursor: str, **changes: Any) -> str:
    fields = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    packed = json.dumps({**fields, **changes}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "2.5"}, "limit"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"updated_since": "2026-11-29"}, "updated_since"),
        ({"updated_since": "2026-11-29T08:00:00"}, "updated_since"),  # no offset: which zone?
        ({"updated_since": "2026-02-30T08:00:00Z"}, "updated_since"),
        ({"updated_since": "2026-11-29T08:00:00+25:00"}, "updated_since"),
        ({"updatedSince": "2026-11-29T08:00:00Z"}, "updatedSince"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": "e30"}, "cursor"),  # {}
        ({"cursor": "CURSOR", "limit": "5"}, "limit"),
        ({"cursor": "CURSOR", "updated_since": "2026-11-29T08:00:00Z"}, "updated_since"),
        ({"cursor": "CURSOR:truncated"}, "cursor"),
        ({"cursor": "CURSOR:other list"}, "cursor"),
        ({"cursor": "CURSOR:other tenant"}, "cursor"),
        ({"cursor": "CURSOR:tampered"}, "cursor"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(
    server: BackgroundServer, two_tenants: dict[str, tuple[TenantCredentials, str]],
    params: dict[str, str], field: str,
) -> None:  # fmt: skip
    url, (_, token) = server.base_url, two_tenants["acme"]
    cursor = cursor_of(url, token, "/customers")
    real = {
        "CURSOR": cursor,
        "CURSOR:truncated": cursor[:-6],
        "CURSOR:other list": cursor_of(url, token, "/sales-reps"),
        "CURSOR:other tenant": cursor_of(url, two_tenants["globex"][1], "/customers"),
        "CURSOR:tampered": edited(cursor, i="1; DROP TABLE customers"),
    }
    sent = {name: real.get(value, value) for name, value in params.items()}
    reply = get(url, token, "/customers", **sent)
    assert reply.status == 400, reply.text
    assert (reply.error["code"], reply.error["field"]) == ("bad_request", field), reply.error


def test_a_cursor_of_another_tenant_is_refused_even_to_an_admin(
    server: BackgroundServer, two_tenants: dict[str, tuple[TenantCredentials, str]], engine: Engine
) -> None:
    url, token = server.base_url, two_tenants["acme"][1]
    globex = two_tenants["globex"][0]
    reply = get(url, token, "/customers", cursor=edited(cursor_of(url, token, "/customers"), t=globex.id))
    assert (reply.status, reply.error["field"]) == (400, "cursor")
    admin = tokens.issue_admin_token(engine)
    of_globex = cursor_of(url, admin, "/tenants/globex/customers")
    reply = get(url, admin, "/tenants/acme/customers", cursor=of_globex)
    assert (reply.status, reply.error["field"]) == (400, "cursor")
    assert "globex" not in reply.text and str(globex.id) not in reply.error["message"]


def test_the_lists_are_in_the_openapi_document(server: BackgroundServer) -> None:
    document = call(server.base_url, "GET", "/api/v1/openapi.json").json
    for name in LISTS:
        for path in (f"/api/v1/{name}", f"/api/v1/tenants/{{tenant}}/{name}"):
            operation = document["paths"][path]["get"]
            query = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
            assert query == {"updated_since", "limit", "cursor"}, path
            assert {"200", "400", "401"} <= set(operation["responses"]), path
            page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            schema = document["components"]["schemas"][page.rsplit("/", 1)[-1]]
            assert set(schema["properties"]) == {"data", "next_cursor"}
