"""Order pushes end to end: rows and push jobs written as the API writes them, the served app,
the simulated Web Connector and QuickBooks. Each order is compared with the simulated company's
record; every request sent validated against Intuit's XSD (tests/pushes.py's Recorder).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from qbwc_server.admin.settings import set_push_settings
from qbwc_server.qbxml.order_writes import external_guid
from qbwc_server.qbxml.write import write_field, write_request
from qbwc_server.queue import JobResult, retry_job
from qbwc_server.simulator.records import ItemInventory, SalesOrder
from qbwc_server.sync import registry
from qbwc_server.sync.push import PushContext, PushHandler
from qbwc_server.testing import BackgroundServer
from tests.conftest import TenantCredentials
from tests.pushes import Shop, make_shop, order_body

pytestmark = [pytest.mark.slow, pytest.mark.protocol]


@pytest.fixture
def shop(server: BackgroundServer, make_tenant: Callable[..., TenantCredentials], engine: Engine) -> Shop:
    return make_shop(server, make_tenant, engine)


def orders_numbered(shop: Shop, number: str) -> list[SalesOrder]:
    return [o for o in shop.company.sales_orders.values() if o.ref_number == number]


def test_an_order_lands_with_every_field_and_default(shop: Shop) -> None:
    list_id = shop.customer("c-1")
    body = order_body(
        shop, "WC1001", "c-1", lines=3,
        po_number="PO-7", memo="Leave at dock → back door", ship_date="2026-12-02",
        billing_address={"line1": "1 Main St", "line2": "Suite 4", "city": "Atlanta", "state": "GA",
                         "postal_code": "30301", "country": "US"},
        shipping_address={"line1": "9 Dock Rd", "city": "Macon", "state": "GA", "postal_code": "31201"},
        terms="Net 99", sales_rep_email="nobody@example.com",
    )  # fmt: skip
    body["lines"][0]["description"] = "Blue widget"
    row_id, job_id = shop.put("sales_orders", "o-1", body)

    report = shop.session()

    assert report.ok, report.errors
    assert shop.job(job_id)["status"] == "done"
    [order] = orders_numbered(shop, "WC1001")
    assert order.customer_ref.list_id == list_id
    assert (order.txn_date.isoformat(), order.po_number, order.ship_date.isoformat()) == (  # type: ignore[union-attr]
        "2026-11-29", "PO-7", "2026-12-02",
    )  # fmt: skip
    assert order.memo == "Leave at dock -> back door", "transliterated to Windows-1252"
    assert order.class_ref.full_name == "Wizcommerce"  # type: ignore[union-attr]
    assert order.terms_ref.full_name == "Net 30", "unmatched terms: the default"  # type: ignore[union-attr]
    assert order.sales_rep_ref.full_name == "AD", "unmapped rep email: Admin, by its initials"  # type: ignore[union-attr]
    assert order.customer_sales_tax_code_ref.full_name == "Non"  # type: ignore[union-attr]
    assert (order.bill_address.addr1, order.bill_address.addr2, order.bill_address.state) == (  # type: ignore[union-attr]
        "1 Main St", "Suite 4", "GA",
    )  # fmt: skip
    assert order.ship_address.city == "Macon"  # type: ignore[union-attr]
    assert order.external_guid == external_guid(shop.tenant.id, "orders", "o-1")
    assert [
        (x.item_ref.full_name, x.quantity, x.rate, x.sales_tax_code_ref.full_name) for x in order.lines
    ] == [  # type: ignore[union-attr]
        (line["sku"], Decimal(line["quantity"]), Decimal("12.5"), "Non") for line in body["lines"]
    ]
    assert order.lines[0].desc == "Blue widget"

    row = shop.row("sales_orders", "o-1")
    assert row["id"] == row_id and row["sync_state"] == "synced" and row["sync_error"] is None
    assert (row["qb_txn_id"], row["qb_txn_type"], row["edit_sequence"]) == (
        order.txn_id, "SalesOrder", order.edit_sequence,
    )  # fmt: skip
    assert (row["ref_number"], row["customer_list_id"], row["total_amount"]) == (
        "WC1001", list_id, order.total_amount,
    )  # fmt: skip
    assert row["line_ids"] == {
        line["line_id"]: x.txn_line_id for line, x in zip(body["lines"], order.lines, strict=True)
    }
    lines = shop.sql(
        "SELECT qb_txn_line_id FROM sales_order_lines WHERE sales_order_id = :id ORDER BY position", id=row_id
    )
    assert [x["qb_txn_line_id"] for x in lines] == [x.txn_line_id for x in order.lines]


def test_without_sales_tax_or_class_tracking_no_codes_and_no_class(shop: Shop) -> None:
    shop.customer("c-1")
    shop.preferences(sales_tax=False, class_tracking=False)
    shop.put("sales_orders", "o-1", order_body(shop, "WC1002", "c-1"))
    assert shop.session().ok
    [order] = orders_numbered(shop, "WC1002")
    assert order.class_ref is None and order.customer_sales_tax_code_ref is None
    assert all(line.sales_tax_code_ref is None for line in order.lines)
    assert (
        "ClassRef" not in shop.quickbooks.requests[0] and "SalesTaxCodeRef" not in shop.quickbooks.requests[0]
    )


def test_a_thousand_orders_go_in_at_most_twenty_round_trips(shop: Shop) -> None:
    shop.customer("c-1")
    for n in range(1000):
        shop.put("sales_orders", f"o-{n}", order_body(shop, f"B{n:05d}", "c-1", lines=5))
    report = shop.session()
    assert report.ok, report.errors
    assert len(shop.quickbooks.requests) <= 20, len(shop.quickbooks.requests)
    assert shop.quickbooks.count("SalesOrderAddRq") == 1000
    assert sum(1 for o in shop.company.sales_orders.values() if (o.ref_number or "").startswith("B")) == 1000
    synced = shop.one(
        "SELECT count(*) AS n FROM sales_orders WHERE sync_state = 'synced' AND commerce_id IS NOT NULL"
    )
    assert synced["n"] == 1000


def test_a_changed_order_keeps_its_lines_adds_and_removes(shop: Shop) -> None:
    shop.customer("c-1")
    skus = shop.skus()
    body = order_body(shop, "WC2001", "c-1", lines=3)
    shop.put("sales_orders", "o-1", body)
    assert shop.session().ok
    [order] = orders_numbered(shop, "WC2001")
    kept = {line.item_ref.full_name: line.txn_line_id for line in order.lines}  # type: ignore[union-attr]

    # line 0 changes quantity, line 1 is removed, line 2 stays, a new line (no line_id) comes last
    changed = {**body, "memo": "changed", "lines": [
        {**body["lines"][0], "quantity": "9"}, body["lines"][2],
        {"sku": skus[5], "quantity": "1", "rate": "2"},
    ]}  # fmt: skip
    shop.put("sales_orders", "o-1", changed)
    assert shop.session().ok
    assert shop.quickbooks.count("SalesOrderModRq") == 1
    [order] = orders_numbered(shop, "WC2001")
    assert order.memo == "changed"
    assert [(x.item_ref.full_name, x.quantity) for x in order.lines] == [  # type: ignore[union-attr]
        (body["lines"][0]["sku"], Decimal(9)), (body["lines"][2]["sku"], Decimal(3)), (skus[5], Decimal(1)),
    ]  # fmt: skip
    assert order.lines[0].txn_line_id == kept[body["lines"][0]["sku"]]
    assert order.lines[1].txn_line_id == kept[body["lines"][2]["sku"]]
    assert order.lines[2].txn_line_id not in kept.values()
    row = shop.row("sales_orders", "o-1")
    assert row["sync_state"] == "synced" and row["edit_sequence"] == order.edit_sequence
    assert row["line_ids"] == {"WC2001-0": order.lines[0].txn_line_id, "WC2001-2": order.lines[1].txn_line_id}


def test_a_stale_edit_sequence_is_read_again_and_modified_without_a_person(shop: Shop) -> None:
    shop.customer("c-1")
    body = order_body(shop, "WC2002", "c-1")
    shop.put("sales_orders", "o-1", body)
    assert shop.session().ok
    [order] = orders_numbered(shop, "WC2002")
    shop.company.edit(order.txn_id, memo="edited in QuickBooks")  # a new EditSequence
    _, job_id = shop.put("sales_orders", "o-1", {**body, "po_number": "PO-NEW"})
    assert shop.session().ok
    assert shop.job(job_id)["status"] == "done"
    [order] = orders_numbered(shop, "WC2002")
    assert order.po_number == "PO-NEW"
    assert shop.quickbooks.count("SalesOrderModRq") == 2 and shop.quickbooks.count("SalesOrderQueryRq") == 1
    assert shop.row("sales_orders", "o-1")["sync_state"] == "synced"


def test_an_order_deleted_in_quickbooks_is_added_again(shop: Shop) -> None:
    shop.customer("c-1")
    body = order_body(shop, "WC2003", "c-1")
    shop.put("sales_orders", "o-1", body)
    assert shop.session().ok
    [order] = orders_numbered(shop, "WC2003")
    shop.company.delete(order.txn_id)
    shop.put("sales_orders", "o-1", {**body, "memo": "again"})
    assert shop.session().ok
    [again] = orders_numbered(shop, "WC2003")
    assert again.txn_id != order.txn_id and again.memo == "again"
    assert shop.row("sales_orders", "o-1")["qb_txn_id"] == again.txn_id


def test_a_missing_item_holds_the_order_until_the_item_exists_then_it_goes_once(shop: Shop) -> None:
    shop.customer("c-1")
    body = order_body(shop, "WC3001", "c-1")
    body["lines"].append({"sku": "WIDGET-NEW", "quantity": "1", "rate": "5"})
    _, job_id = shop.put("sales_orders", "o-1", body)
    assert shop.session().ok
    row, job = shop.row("sales_orders", "o-1"), shop.job(job_id)
    assert row["sync_state"] == "needs_item"
    error = json.loads(row["sync_error"])
    assert error["quickbooks_code"] == 3140
    assert error["fix"] == "Add the item WIDGET-NEW in QuickBooks; the order goes by itself once it is pulled"
    assert job["status"] == "blocked" and job["params"]["missing_item"] == "WIDGET-NEW"
    assert orders_numbered(shop, "WC3001") == []

    shop.company.add(ItemInventory(name="WIDGET-NEW", full_name="WIDGET-NEW"))
    with shop.engine.begin() as conn:  # what sync/wakeups.py does when an items pull sees the SKU
        retry_job(conn, job_id)
    assert shop.session().ok
    assert len(orders_numbered(shop, "WC3001")) == 1
    assert shop.row("sales_orders", "o-1")["sync_state"] == "synced"


def test_terms_quickbooks_lacks_are_dropped_and_the_order_goes_at_once(shop: Shop) -> None:
    shop.customer("c-1")
    shop.sql("INSERT INTO terms (tenant_id, name, kind) VALUES (:t, 'Net 45', 'Standard')", t=shop.tenant.id)
    _, job_id = shop.put("sales_orders", "o-1", order_body(shop, "WC3002", "c-1", terms="Net 45"))
    assert shop.session().ok
    [order] = orders_numbered(shop, "WC3002")
    assert order.terms_ref is None
    job = shop.job(job_id)
    assert job["status"] == "done" and "without terms" in job["last_message"]


def test_pro_holds_the_order_without_sending_anything(shop: Shop) -> None:
    shop.customer("c-1")
    shop.preferences(edition="pro", sales_orders=False)
    _, job_id = shop.put("sales_orders", "o-1", order_body(shop, "WC4001", "c-1"))
    report = shop.session()
    assert shop.quickbooks.work == [], "decided before a failing request goes out"
    row, job = shop.row("sales_orders", "o-1"), shop.job(job_id)
    assert row["sync_state"] == "waiting"
    message = json.loads(row["sync_error"])["message"]
    assert message.startswith(
        "Sales orders need QuickBooks Premier or Enterprise; set `qbwc-server tenant set shop"
    )
    assert job["status"] == "failed" and job["last_message"] == message
    assert report.close_message is not None and "needs attention" in report.close_message
    with shop.engine.begin() as conn:  # the admin does what the message says: it goes by itself
        set_push_settings(conn, shop.tenant.id, orders_as="estimates")
    assert shop.row("sales_orders", "o-1")["sync_state"] == "pending"
    assert shop.session().ok
    assert shop.quickbooks.count("EstimateAddRq") == 1
    assert shop.row("sales_orders", "o-1")["sync_state"] == "synced"


def test_pro_with_orders_as_estimates_sends_an_estimate(shop: Shop) -> None:
    shop.customer("c-1")
    shop.preferences(edition="pro", sales_orders=False)
    shop.push_settings(orders_as="estimates")
    shop.put("sales_orders", "o-1", order_body(shop, "WC4002", "c-1"))
    assert shop.session().ok
    assert shop.quickbooks.count("EstimateAddRq") == 1 and shop.quickbooks.count("SalesOrderAddRq") == 0
    row = shop.row("sales_orders", "o-1")
    assert row["sync_state"] == "synced" and row["qb_txn_type"] == "Estimate"


def test_a_lost_answer_is_looked_up_and_adopted_never_sent_twice(shop: Shop) -> None:
    shop.customer("c-1")
    _, job_id = shop.put("sales_orders", "o-1", order_body(shop, "WC5001", "c-1"))
    shop.quickbooks.unreadable = 1
    assert shop.session().ok
    assert shop.quickbooks.count("SalesOrderAddRq") == 1 and shop.quickbooks.count("SalesOrderQueryRq") == 1
    assert len(orders_numbered(shop, "WC5001")) == 1, "exactly one order in QuickBooks"
    row = shop.row("sales_orders", "o-1")
    assert row["sync_state"] == "synced" and row["qb_txn_id"] == orders_numbered(shop, "WC5001")[0].txn_id
    assert shop.job(job_id)["status"] == "done"


class _CustomerAdd(PushHandler):
    """A minimal customers.push for this file (the real one is another module's): Name only."""

    kind, nouns, table, batch_size = "customers.push", ("customer", "customers"), "customers", 50

    def build_write(self, ctx: PushContext, row: dict) -> str:  # type: ignore[override,type-arg]
        assert ctx.version is not None
        body = [write_field("CustomerAdd/Name", row["commerce_body"]["name"], ctx.version)]
        return write_request("CustomerAddRq", body, ctx.version, request_id=str(ctx.job.id))

    def apply_written(self, ctx, row, rs, status) -> JobResult:  # type: ignore[no-untyped-def,override]
        list_id = rs.find("CustomerRet").findtext("ListID")
        ctx.conn.execute(
            text("UPDATE customers SET qb_list_id = :l WHERE id = :id"), {"l": list_id, "id": row["id"]}
        )
        return self.synced(ctx, int(row["id"]))


@pytest.fixture
def customer_handler() -> Iterator[None]:
    known = registry.handler_for("customers.push")
    if known is None:
        registry.register(_CustomerAdd())
    yield
    if known is None:
        registry.unregister("customers.push")


@pytest.mark.usefixtures("customer_handler")
def test_a_new_customers_first_order_goes_after_the_customer_in_one_session(shop: Shop) -> None:
    _, customer_job = shop.put("customers", "c-new", {"name": "Brand New Hardware"})
    # planned by the API with the dependency, and one planned without it: the handler adds it
    _, with_dependency = shop.put(
        "sales_orders", "o-1", order_body(shop, "WC6001", "c-new"), depends_on=[customer_job]
    )
    _, without = shop.put("sales_orders", "o-2", order_body(shop, "WC6002", "c-new"))
    shop.sql("UPDATE jobs SET priority = 10 WHERE id = :id", id=without)  # claimed before the customer
    report = shop.session()
    assert report.ok, report.errors
    customer = shop.row("customers", "c-new")
    assert customer["qb_list_id"] in shop.company.customers
    for number in ("WC6001", "WC6002"):
        [order] = orders_numbered(shop, number)
        assert order.customer_ref.list_id == customer["qb_list_id"]
    assert shop.job(with_dependency)["status"] == shop.job(without)["status"] == "done"
    sent = shop.quickbooks.requests
    assert shop.quickbooks.count("SalesOrderAddRq") == 2, "each order sent once: no 3140 on the customer"
    first_order = next(i for i, r in enumerate(sent) if "<SalesOrderAddRq" in r)
    assert "<CustomerAddRq" in "".join(sent[:first_order]), "the customer went first"


def test_an_order_whose_customer_has_no_push_waits_with_the_reason(shop: Shop) -> None:
    shop.sql(
        """INSERT INTO customers (tenant_id, commerce_id, name, full_name, sync_state)
           VALUES (:t, 'c-x', 'X', 'X', 'failed')""",
        t=shop.tenant.id,
    )
    _, job_id = shop.put("sales_orders", "o-1", order_body(shop, "WC6003", "c-x"))
    shop.session()
    assert shop.quickbooks.work == []
    assert shop.job(job_id)["status"] == "blocked"
    assert shop.row("sales_orders", "o-1")["sync_state"] == "waiting"
