"""The commerce writes and single-record reads (API.md "Writes", "Reads"), over real HTTP to the
served app with a tenant token, against a real database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text

from qbwc_server.admin import tokens
from qbwc_server.queue import block_dependents
from qbwc_server.sync.push import set_sync_state
from qbwc_server.testing import BackgroundServer
from tests.api_http import call as http_call
from tests.conftest import TenantCredentials

Api = Callable[..., tuple[int, dict[str, Any]]]


@pytest.fixture
def api(server: BackgroundServer, engine: Engine, tenant: TenantCredentials) -> Api:
    """`api("PUT", "/customers/c-1", {...})` -> (status, JSON body), with the tenant's token."""
    token = tokens.issue_tenant_token(engine, tenant.name)

    def call(method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        sent = {} if body is None else {"body": body}
        reply = http_call(server.base_url, method, f"/api/v1{path}", token=token, **sent)
        return reply.status, reply.json

    return call


def jobs(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, kind, entity_ref, status FROM jobs ORDER BY id")).mappings()
        return [dict(r) for r in rows]


def depends(engine: Engine, job_id: int) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT depends_on_id FROM job_dependencies WHERE job_id = :j ORDER BY 1"), {"j": job_id}
            ).scalars()
        )


def sql(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def counts(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("customers", "sales_orders", "sales_order_lines", "payments", "jobs")
        )


CUSTOMER = {
    "name": "Acme Hardware",
    "email": "ann@acme.example",
    "billing_address": {"line1": "1 Main St", "city": "Atlanta", "state": "Georgia", "postal_code": "30301"},
    "shipping_addresses": [{"name": "Warehouse", "line1": "9 Dock Rd", "state": "GA", "default": True}],
}
LINES = [{"line_id": "l1", "sku": "WIDGET-1", "quantity": "3", "rate": "12.50"}]
ORDER = {"number": "WC10042", "customer_id": "c-17", "date": "2026-11-29", "lines": LINES}
PAYMENT = {"customer_id": "c-17", "order_id": "o-42", "amount": "37.50", "reference": "WIZPAY-8812"}


def test_customer_created_then_unchanged_then_changed(api: Api, engine: Engine) -> None:
    status, body = api("PUT", "/customers/c-17", CUSTOMER)
    assert status == 201
    assert body["unchanged"] is False
    assert body["id"] == "c-17" and body["name"] == "Acme Hardware" and body["qb_list_id"] is None
    assert body["billing_address"]["state"] == "GA"  # a state name becomes its code
    assert body["sync"]["state"] == "pending" and body["sync"]["error"] is None
    [job] = jobs(engine)
    assert (job["kind"], job["status"]) == ("customers.push", "queued")

    status, again = api(
        "PUT",
        "/customers/c-17",
        {**CUSTOMER, "billing_address": {**CUSTOMER["billing_address"], "state": "GA"}},
    )
    assert (status, again["unchanged"]) == (200, True)
    assert len(jobs(engine)) == 1

    status, changed = api("PUT", "/customers/c-17", {**CUSTOMER, "phone": "404-555-0100"})
    assert (status, changed["unchanged"], changed["phone"]) == (200, False, "404-555-0100")
    assert jobs(engine) == [job]  # the unsent push is reused: it reads the row when it goes
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM customers")).mappings().one()
        ship_tos = conn.execute(text("SELECT name, is_default, addr1 FROM customer_ship_addresses")).all()
    assert (row["name"], row["full_name"], row["email"], row["phone"]) == (
        "Acme Hardware",
        "Acme Hardware",
        "ann@acme.example",
        "404-555-0100",
    )
    assert row["bill_address"] == {
        "addr1": "1 Main St",
        "city": "Atlanta",
        "state": "GA",
        "postal_code": "30301",
    }
    assert row["ship_address"] == {"addr1": "9 Dock Rd", "state": "GA"}
    assert [tuple(s) for s in ship_tos] == [("Warehouse", True, "9 Dock Rd")]
    assert "phone" not in CUSTOMER and row["commerce_body"] == {
        k: v for k, v in changed.items() if k in {*CUSTOMER, "phone"}
    }


def test_numbers_compare_as_decimals(api: Api, engine: Engine) -> None:
    api("PUT", "/customers/c-17", {"name": "Acme"})
    assert api("PUT", "/orders/o-42", ORDER)[0] == 201
    same = {**ORDER, "lines": [{"line_id": "l1", "sku": "WIDGET-1", "quantity": 3, "rate": "12.500"}]}
    status, body = api("PUT", "/orders/o-42", same)
    assert (status, body["unchanged"], body["lines"][0]["quantity"], body["lines"][0]["rate"]) == (
        200,
        True,
        "3",
        "12.5",
    )
    assert len(jobs(engine)) == 2


def test_get_shows_the_record_its_ids_and_sync_state(api: Api, engine: Engine) -> None:
    assert api("GET", "/customers/c-17") == (
        404,
        {
            "error": {
                "code": "not_found",
                "message": "no customer with id 'c-17'",
                "field": None,
                "quickbooks_code": None,
                "fix": None,
            }
        },
    )
    api("PUT", "/customers/c-17", CUSTOMER)
    with engine.begin() as conn:
        row_id = conn.execute(text("SELECT id FROM customers")).scalar_one()
        conn.execute(text("UPDATE customers SET edit_sequence = '1416315972' WHERE id = :id"), {"id": row_id})
        set_sync_state(
            conn,
            "customers",
            row_id,
            "needs_mapping",
            message='The name "Acme Hardware" of the list element is already in use.',
            quickbooks_code=3100,
            fix="Rename it, or link it",
        )
    status, body = api("GET", "/customers/c-17")
    assert status == 200
    assert body["qb_edit_sequence"] == "1416315972"
    assert body["sync"]["state"] == "needs_mapping"
    assert body["sync"]["error"] == {
        "code": "needs_mapping",
        "message": 'The name "Acme Hardware" of the list element is already in use.',
        "quickbooks_code": 3100,
        "fix": "Rename it, or link it",
    }
    assert body["sync"]["updated_at"]
    assert "unchanged" not in body
    assert api("GET", "/orders/o-1")[0] == api("GET", "/payments/p-1")[0] == 404


def test_order_goes_after_its_new_customer(api: Api, engine: Engine) -> None:
    api("PUT", "/customers/c-17", CUSTOMER)
    status, body = api("PUT", "/orders/o-42", ORDER)
    assert status == 201 and body["qb_txn_id"] is None and body["sync"]["state"] == "pending"
    customer_job, order_job = jobs(engine)
    assert order_job["kind"] == "orders.push"
    assert depends(engine, order_job["id"]) == [customer_job["id"]]
    with engine.connect() as conn:
        lines = conn.execute(text("SELECT position, item_name, quantity, rate FROM sales_order_lines")).all()
        order = conn.execute(text("SELECT ref_number, customer_name, txn_date FROM sales_orders")).one()
    assert [(p, i, f"{q:f}", f"{r:f}") for p, i, q, r in lines] == [(0, "WIDGET-1", "3.00000", "12.50000")]
    assert (order.ref_number, order.customer_name, str(order.txn_date)) == (
        "WC10042",
        "Acme Hardware",
        "2026-11-29",
    )


def test_order_of_a_customer_in_quickbooks_waits_for_nothing(api: Api, engine: Engine) -> None:
    api("PUT", "/customers/c-17", CUSTOMER)
    sql(engine, "UPDATE customers SET qb_list_id = '80000001-1' ")
    sql(engine, "UPDATE jobs SET status = 'done', finished_at = now()")
    api("PUT", "/orders/o-42", ORDER)
    assert depends(engine, jobs(engine)[-1]["id"]) == []
    api(
        "PUT",
        "/orders/o-43",
        {**ORDER, "number": "WC10043", "customer_id": None, "qb_customer_list_id": "80000009-9"},
    )
    assert depends(engine, jobs(engine)[-1]["id"]) == []


def test_order_of_a_customer_held_in_quickbooks_is_waiting(api: Api, engine: Engine) -> None:
    api("PUT", "/customers/c-17", CUSTOMER)
    [customer_job] = jobs(engine)
    sql(engine, "UPDATE jobs SET status = 'failed', finished_at = now(), last_message = 'QuickBooks 3100'")
    status, body = api("PUT", "/orders/o-42", ORDER)
    assert status == 201
    assert body["sync"]["state"] == "waiting"
    assert f"job {customer_job['id']}" in body["sync"]["error"]["message"]
    assert "its customer" in body["sync"]["error"]["fix"]
    assert jobs(engine)[-1]["status"] == "blocked"


def test_payment_goes_after_its_customer_and_order(api: Api, engine: Engine) -> None:
    api("PUT", "/customers/c-17", CUSTOMER)
    api("PUT", "/orders/o-42", ORDER)
    status, body = api("PUT", "/payments/p-1", PAYMENT)
    assert status == 201 and body["amount"] == "37.5" and body["order_id"] == "o-42"
    customer_job, order_job, payment_job = jobs(engine)
    assert payment_job["kind"] == "payments.push"
    assert depends(engine, payment_job["id"]) == [customer_job["id"], order_job["id"]]
    assert api("PUT", "/payments/p-1", {**PAYMENT, "amount": 37.5})[1]["unchanged"] is True


def test_a_refused_body_stores_and_queues_nothing(api: Api, engine: Engine) -> None:
    before = counts(engine)
    assert api("PUT", "/orders/o-42", ORDER)[1]["error"]["field"] == "customer_id"  # c-17 unknown
    assert api("PUT", "/customers/c-17", {**CUSTOMER, "name": "x" * 42})[0] == 422
    assert api("PUT", "/payments/p-1", PAYMENT)[0] == 422
    assert counts(engine) == before


REFUSED = [
    # (route, body, field): one per rule that needs the database or the path
    ("/orders/o-42", ORDER, "customer_id"),
    ("/payments/p-1", {**PAYMENT, "order_id": None}, "customer_id"),
    ("/payments/p-1", {**PAYMENT, "customer_id": "c-1"}, "order_id"),  # o-42 unknown
    ("/payments/p-1", {**PAYMENT, "customer_id": "c-1", "order_id": "o-1"}, "order_id"),  # another's order
    ("/customers/c-1", {"name": "Bob", "qb_list_id": "80000001-1"}, "qb_list_id"),  # c-2 holds it
    ("/customers/c-1", {"name": "Bob", "id": "c-9"}, "id"),
    ("/customers/-c", {"name": "Bob"}, "id"),
    ("/customers/c-1", {"name": "Bob", "sales_rep_email": "bob"}, "sales_rep_email"),  # and test_api_bodies
]


@pytest.mark.parametrize(("path", "body", "field"), REFUSED, ids=[f"{p}:{f}" for p, _, f in REFUSED])
def test_refused_with_422_naming_the_field(
    api: Api, engine: Engine, path: str, body: Any, field: str
) -> None:
    api("PUT", "/customers/c-1", {"name": "Ann"})
    api("PUT", "/customers/c-2", {"name": "Cy", "qb_list_id": "80000001-1"})
    api("PUT", "/orders/o-1", {**ORDER, "number": "1", "customer_id": "c-2"})
    before = counts(engine)
    status, answer = api("PUT", path, {k: v for k, v in body.items() if v is not None})
    assert status == 422
    assert answer["error"]["code"] == "validation_failed"
    assert answer["error"]["field"] == field
    assert field in answer["error"]["message"] or field == "qb_list_id"
    assert counts(engine) == before


def test_pushed_order_changes_queue_a_mod_but_not_below_what_is_invoiced(api: Api, engine: Engine) -> None:
    api("PUT", "/customers/c-17", CUSTOMER)
    two = [*LINES, {"sku": "BOLT", "quantity": "10"}]
    api("PUT", "/orders/o-42", {**ORDER, "lines": two})
    sql(engine, "UPDATE jobs SET status = 'done', finished_at = now()")
    sql(engine, "UPDATE customers SET qb_list_id = '80000001-1', sync_state = 'synced'")
    sql(
        engine,
        """UPDATE sales_orders SET qb_txn_id = 'T-1', line_ids = '{"l1": "L-1"}', sync_state = 'synced'""",
    )
    sql(engine, "UPDATE sales_order_lines SET qb_txn_line_id = 'L-' || (position + 1), invoiced = 2")
    reduced = [{**LINES[0], "quantity": "1"}, two[1]]
    status, answer = api("PUT", "/orders/o-42", {**ORDER, "lines": reduced})
    assert (status, answer["error"]["code"], answer["error"]["field"]) == (
        409,
        "conflict",
        "lines[0].quantity",
    )
    status, answer = api("PUT", "/orders/o-42", {**ORDER, "lines": LINES})  # BOLT removed
    assert (status, answer["error"]["field"]) == (409, "lines")
    assert "BOLT" in answer["error"]["message"]
    # matched by line_id wherever it moved; the unnamed line by position and SKU
    moved = [two[1], {"sku": "NEW", "quantity": "1"}, {**LINES[0], "quantity": "2"}]
    assert api("PUT", "/orders/o-42", {**ORDER, "lines": moved})[0] == 409  # BOLT is no longer at 1
    kept = [{**LINES[0], "quantity": "2"}, {"sku": "bolt", "quantity": "4"}, {"sku": "NEW", "quantity": "1"}]
    status, body = api("PUT", "/orders/o-42", {**ORDER, "lines": kept})
    assert (status, body["unchanged"], body["qb_txn_id"], body["sync"]["state"]) == (
        200,
        False,
        "T-1",
        "pending",
    )
    assert [j["status"] for j in jobs(engine)] == ["done", "done", "queued"]  # the Mod
    with engine.connect() as conn:  # QuickBooks' lines, with what it invoiced, stay until it answers
        assert conn.execute(text("SELECT count(*) FROM sales_order_lines")).scalar_one() == 2


@pytest.mark.parametrize("column", ["is_fully_invoiced", "is_manually_closed"])
def test_order_invoiced_or_closed_in_quickbooks_is_409(api: Api, engine: Engine, column: str) -> None:
    api("PUT", "/customers/c-17", CUSTOMER)
    api("PUT", "/orders/o-42", ORDER)
    sql(engine, f"UPDATE sales_orders SET qb_txn_id = 'T-1', {column} = true")
    before = counts(engine)
    status, answer = api("PUT", "/orders/o-42", {**ORDER, "memo": "later"})
    assert (status, answer["error"]["code"]) == (409, "conflict")
    assert counts(engine) == before
    assert api("PUT", "/orders/o-42", ORDER)[1]["unchanged"] is True  # the same body is still fine


@pytest.mark.parametrize("pushed", ["qb_txn_id", "sent", "unconfirmed"])
def test_payment_is_immutable_once_pushed(api: Api, engine: Engine, pushed: str) -> None:
    api("PUT", "/customers/c-17", {"name": "Acme", "qb_list_id": "80000001-1"})
    api("PUT", "/payments/p-1", {**PAYMENT, "order_id": None})
    if pushed == "qb_txn_id":
        sql(engine, "UPDATE payments SET qb_txn_id = 'T-9'")
    else:
        sql(
            engine,
            f"UPDATE jobs SET status = '{pushed}', sent_at = now(), lease_ticket = 't'"
            " WHERE kind = 'payments.push'",
        )
    status, answer = api("PUT", "/payments/p-1", {"customer_id": "c-17", "amount": "40"})
    assert (status, answer["error"]["code"]) == (409, "conflict")
    assert api("PUT", "/payments/p-1", {**PAYMENT, "order_id": None})[1]["unchanged"] is True


def test_link_releases_what_waited_on_the_customer(api: Api, engine: Engine) -> None:
    api("PUT", "/customers/c-17", CUSTOMER)
    api("PUT", "/orders/o-42", ORDER)
    customer_job, order_job = jobs(engine)
    with engine.begin() as conn:  # what a 3100 leaves: the customer's push failed, the order held
        conn.execute(
            text("UPDATE jobs SET status = 'failed', finished_at = now() WHERE id = :j"),
            {"j": customer_job["id"]},
        )
        block_dependents(conn, customer_job["id"], "waiting on the customer (3100)")
        conn.execute(text("UPDATE customers SET sync_state = 'needs_mapping'"))
        conn.execute(text("UPDATE sales_orders SET sync_state = 'waiting', sync_error = 'held'"))
    assert [j["status"] for j in jobs(engine)] == ["failed", "blocked"]

    status, body = api("POST", "/customers/c-17/link", {"qb_list_id": "80000001-1234567890"})
    assert status == 200
    assert body["qb_list_id"] == "80000001-1234567890" and body["sync"]["state"] == "pending"
    assert jobs(engine) == [{**customer_job, "status": "queued"}, {**order_job, "status": "queued"}]
    assert api("GET", "/orders/o-42")[1]["sync"] == {
        **api("GET", "/orders/o-42")[1]["sync"],
        "state": "pending",
        "error": None,
    }


def test_link_refusals(api: Api, engine: Engine) -> None:
    assert api("POST", "/customers/c-1/link", {"qb_list_id": "8-1"})[0] == 404
    api("PUT", "/customers/c-1", {"name": "Ann"})
    api("PUT", "/customers/c-2", {"name": "Cy", "qb_list_id": "8-1"})
    status, answer = api("POST", "/customers/c-1/link", {"qb_list_id": "8-1"})
    assert (status, answer["error"]["field"]) == (422, "qb_list_id")
    assert "'c-2'" in answer["error"]["message"]
    assert api("POST", "/customers/c-1/link", {"qb_list_id": "not a list id"})[0] == 422
    status, answer = api("POST", "/customers/c-2/link", {"qb_list_id": "8-2"})  # bound to 8-1 already
    assert (status, answer["error"]["code"]) == (409, "conflict")


def test_binding_claims_the_pulled_customer(api: Api, engine: Engine, tenant: TenantCredentials) -> None:
    """One row per QuickBooks customer: a pulled one nobody claimed becomes ours."""
    sql(
        engine,
        "INSERT INTO customers (tenant_id, name, full_name, qb_list_id, edit_sequence, balance)"
        " VALUES (:t, 'Acme', 'Acme', '80000001-1', '77', 12.5)",
        t=tenant.id,
    )
    status, body = api("PUT", "/customers/c-17", {"name": "Acme", "qb_list_id": "80000001-1"})
    assert (status, body["qb_list_id"], body["qb_edit_sequence"]) == (201, "80000001-1", "77")
    sql(
        engine,
        "INSERT INTO customers (tenant_id, name, full_name, qb_list_id, edit_sequence)"
        " VALUES (:t, 'Bo', 'Bo', '80000002-1', '78')",
        t=tenant.id,
    )
    api("PUT", "/customers/c-18", {"name": "Bo"})
    status, body = api("POST", "/customers/c-18/link", {"qb_list_id": "80000002-1"})
    assert (status, body["qb_list_id"], body["qb_edit_sequence"]) == (200, "80000002-1", "78")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT commerce_id, qb_list_id, balance FROM customers ORDER BY id")).all()
    assert [(c, q) for c, q, _ in rows] == [("c-17", "80000001-1"), ("c-18", "80000002-1")]


def test_an_order_changed_before_it_goes_reuses_its_push(api: Api, engine: Engine) -> None:
    api("PUT", "/customers/c-17", CUSTOMER)
    api("PUT", "/orders/o-42", ORDER)
    status, body = api("PUT", "/orders/o-42", {**ORDER, "memo": "Leave at dock"})
    assert (status, body["unchanged"], body["memo"]) == (200, False, "Leave at dock")
    customer_job, order_job = jobs(engine)
    assert order_job["status"] == "queued"
    assert depends(engine, order_job["id"]) == [customer_job["id"]]


def test_renaming_a_customer_held_by_3100_releases_its_orders(api: Api, engine: Engine) -> None:
    api("PUT", "/customers/c-17", CUSTOMER)
    api("PUT", "/orders/o-42", ORDER)
    customer_job, _ = jobs(engine)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE jobs SET status = 'failed', finished_at = now() WHERE id = :j"),
            {"j": customer_job["id"]},
        )
        block_dependents(conn, customer_job["id"], "waiting on the customer (3100)")
        conn.execute(text("UPDATE sales_orders SET sync_state = 'waiting'"))
    assert api("PUT", "/customers/c-17", {**CUSTOMER, "name": "Acme Hardware (Atlanta)"})[0] == 200
    assert [j["status"] for j in jobs(engine)] == ["queued", "queued"]
    assert api("GET", "/orders/o-42")[1]["sync"]["state"] == "pending"
