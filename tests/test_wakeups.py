"""Pushes waiting for something a pull brings go by themselves once it arrives (sync/wakeups.py):
an order refused for an unknown item (3140) when an items pull applies that item, once; a
payment waiting for its order's invoice when an invoices pull applies one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import Connection, Engine, text

from qbwc_server.qbxml.invoices import parse_invoice_ret
from qbwc_server.qbxml.items import parse_item_inventory_ret
from qbwc_server.sync.invoices import apply_invoices
from qbwc_server.sync.items import apply_items
from qbwc_server.sync.wakeups import wake_orders_for_items, wake_payments_for_invoices

ROOT = Path(__file__).resolve().parent.parent
ITEMS = ROOT / "qbwc_server" / "simulator" / "canned" / "ItemInventoryQueryRs.xml"
INVOICE = ROOT / "tests" / "fixtures" / "qbxml" / "invoices" / "linked_to_sales_order.xml"


def job(
    conn: Connection, tenant_id: int, kind: str, status: str, params: dict[str, Any], **extra: Any
) -> int:
    columns = {
        "tenant_id": tenant_id,
        "kind": kind,
        "entity_ref": str(extra.pop("entity_ref", 1)),
        "status": status,
        "params": json.dumps(params),
        "attempts": extra.pop("attempts", 0),
        "if_unanswered": "look_up",
        **extra,
    }
    finished = status in ("failed", "dead", "done")
    names = ", ".join(columns) + (", finished_at" if finished else "")
    values = ", ".join(f"CAST(:{name} AS jsonb)" if name == "params" else f":{name}" for name in columns)
    values += ", now()" if finished else ""
    sql = text(f"INSERT INTO jobs ({names}) VALUES ({values}) RETURNING id")
    return int(conn.execute(sql, columns).scalar_one())


def depends(conn: Connection, tenant_id: int, job_id: int, on: int) -> None:
    conn.execute(
        text("INSERT INTO job_dependencies (job_id, depends_on_id, tenant_id) VALUES (:j, :d, :t)"),
        {"j": job_id, "d": on, "t": tenant_id},
    )


def jobs(engine: Engine) -> dict[int, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, status, attempts, params, run_after <= now() AS due FROM jobs"))
        return {row.id: dict(row._mapping) for row in rows}


def test_orders_waiting_for_an_item_wake_once_with_what_waited_behind_them(
    engine: Engine, make_tenant
) -> None:  # type: ignore[no-untyped-def]
    acme, other = make_tenant("acme"), make_tenant("globex")
    with engine.begin() as conn:
        blocked = job(conn, acme.id, "orders.push", "blocked", {"missing_item": "WID-100"}, attempts=3)
        failed = job(conn, acme.id, "orders.push", "failed", {"missing_item": "wid-100"}, entity_ref=2)
        payment = job(conn, acme.id, "payments.push", "blocked", {}, entity_ref=7)
        depends(conn, acme.id, payment, blocked)
        other_sku = job(conn, acme.id, "orders.push", "blocked", {"missing_item": "GADGET"}, entity_ref=3)
        other_tenant = job(conn, other.id, "orders.push", "blocked", {"missing_item": "WID-100"})
        not_an_order = job(conn, acme.id, "customers.push", "blocked", {"missing_item": "WID-100"})
        assert wake_orders_for_items(conn, acme.id, ["WID-100", "", "  "]) == 2
    after = jobs(engine)
    for woken in (blocked, failed):
        assert after[woken]["status"] == "queued" and after[woken]["attempts"] == 0 and after[woken]["due"]
        assert "missing_item" not in after[woken]["params"], "once: a later pull does not wake it again"
    assert after[payment]["status"] == "queued", "what waited behind the order is released"
    for untouched in (other_sku, other_tenant, not_an_order):
        assert after[untouched]["status"] == "blocked"
    with engine.begin() as conn:
        assert wake_orders_for_items(conn, acme.id, ["WID-100"]) == 0
        assert wake_orders_for_items(conn, acme.id, []) == 0


def test_a_dependent_also_held_by_another_job_stays_blocked(engine: Engine, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant()
    with engine.begin() as conn:
        order = job(conn, acme.id, "orders.push", "blocked", {"missing_item": "WID-100"})
        stuck = job(conn, acme.id, "customers.push", "failed", {}, entity_ref=9)
        payment = job(conn, acme.id, "payments.push", "blocked", {}, entity_ref=7)
        depends(conn, acme.id, payment, order)
        depends(conn, acme.id, payment, stuck)
        assert wake_orders_for_items(conn, acme.id, ["WID-100"]) == 1
    assert jobs(engine)[payment]["status"] == "blocked"


def test_an_items_pull_wakes_orders_for_the_items_it_applied(engine: Engine, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant()
    rets = etree.parse(str(ITEMS)).getroot().findall("ItemInventoryRet")
    items = [parse_item_inventory_ret(ret) for ret in rets]
    with engine.begin() as conn:
        waiting = job(conn, acme.id, "orders.push", "blocked", {"missing_item": items[0].full_name})
        apply_items(conn, acme.id, items)
    assert jobs(engine)[waiting]["status"] == "queued"
    with engine.begin() as conn:
        again = job(
            conn, acme.id, "orders.push", "blocked", {"missing_item": items[0].full_name}, entity_ref=5
        )
        apply_items(conn, acme.id, items)  # unchanged: nothing new arrived, nothing wakes
    assert jobs(engine)[again]["status"] == "blocked"


def test_payments_waiting_for_an_invoice_go_when_the_invoice_arrives(engine: Engine, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant()
    invoice = parse_invoice_ret(etree.parse(str(INVOICE)).getroot().find(".//InvoiceRet"))
    (order_txn_id,) = invoice.sales_order_txn_ids
    later = {"run_after": "2999-01-01T00:00:00Z"}
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO sales_orders (tenant_id, qb_txn_id) VALUES (:t, :id)"),
            {"t": acme.id, "id": order_txn_id},
        )
        waiting = job(conn, acme.id, "payments.push", "queued", {"order_txn_id": order_txn_id}, **later)
        other_order = job(
            conn, acme.id, "payments.push", "queued", {"order_txn_id": "X-1"}, entity_ref=2, **later
        )
        assert apply_invoices(conn, acme.id, [invoice]) == 1
    after = jobs(engine)
    assert after[waiting]["due"] and after[waiting]["status"] == "queued"
    assert not after[other_order]["due"]
    with engine.begin() as conn:
        assert wake_payments_for_invoices(conn, acme.id, [order_txn_id]) == 0, "already due"
        assert wake_payments_for_invoices(conn, acme.id, ["X-1", ""]) == 1
        assert wake_payments_for_invoices(conn, acme.id, []) == 0
