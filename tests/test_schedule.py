"""Which pulls are due and how they are queued (sync/schedule.py), against the real database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Engine, text

from qbwc_server import queue
from qbwc_server.admin.settings import set_pull_settings
from qbwc_server.models import JobKind
from qbwc_server.sync import schedule
from qbwc_server.sync.pulls import PULLS
from tests.conftest import TenantCredentials


def pull_jobs(engine: Engine) -> list[tuple[str, str, dict[str, object]]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text("SELECT kind, status, params FROM jobs ORDER BY id"))]


def test_a_tenant_that_never_synced_gets_every_pull_in_full_once(
    make_tenant: Callable[..., TenantCredentials], engine: Engine
) -> None:
    tenant = make_tenant(pulls=True)
    with engine.begin() as conn:
        assert schedule.enqueue_due_pulls(conn, tenant.id) == len(PULLS)
        assert schedule.enqueue_due_pulls(conn, tenant.id) == 0, "not due again, and already queued"
        claimed = [queue.claim_next_job(conn, tenant.id, "t" * 32) for _ in PULLS]
    jobs = pull_jobs(engine)
    assert [kind for kind, _, _ in jobs] == [spec.kind for spec in PULLS]
    assert all("since" not in params for _, _, params in jobs), "a first sync reads everything"
    assert [job.kind for job in claimed if job] == [
        spec.kind for spec in sorted(PULLS, key=lambda s: s.priority)
    ]


def test_incremental_pulls_start_before_the_cursor_and_stock_is_always_read_in_full(
    make_tenant: Callable[..., TenantCredentials], engine: Engine
) -> None:
    tenant = make_tenant(pulls=True)
    cursor = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    with engine.begin() as conn:
        for spec in PULLS:
            conn.execute(
                text(
                    "INSERT INTO sync_cursors (tenant_id, entity, last_modified, next_due_at)"
                    " VALUES (:t, :e, :m, now() - interval '1 second')"
                ),
                {"t": tenant.id, "e": spec.entity, "m": cursor if spec.incremental else None},
            )
        schedule.enqueue_due_pulls(conn, tenant.id)
    params = {kind: p for kind, _, p in pull_jobs(engine)}
    assert dt.datetime.fromisoformat(str(params["customers.pull"]["since"])) == cursor - schedule.OVERLAP
    assert "since" not in params["inventory_quantities.pull"]
    assert params["customers.pull"]["page_size"] == 500 and params["classes.pull"]["page_size"] is None


def test_tenant_settings_turn_pulls_off_and_change_their_pace(
    make_tenant: Callable[..., TenantCredentials], engine: Engine
) -> None:
    tenant = make_tenant(pulls=True)
    with engine.begin() as conn:
        set_pull_settings(conn, tenant.id, intervals={"classes": 0, "invoices": 120}, page_size=50)
        schedule.enqueue_due_pulls(conn, tenant.id)
        due = dict(
            conn.execute(
                text(
                    "SELECT entity, CASE WHEN next_due_at < 'infinity' THEN next_due_at - now() END"
                    " FROM sync_cursors WHERE tenant_id = :t"
                ),
                {"t": tenant.id},
            ).all()
        )
    kinds = {kind: params for kind, _, params in pull_jobs(engine)}
    assert "classes.pull" not in kinds and "invoices.pull" in kinds
    assert kinds["customers.pull"]["page_size"] == 50
    assert dt.timedelta(seconds=110) < due["invoices"] <= dt.timedelta(seconds=120)
    assert due["classes"] is None, "off: never due ('infinity')"


def test_finished_pulls_are_pruned_after_a_day_but_failures_and_raw_jobs_stay(
    make_tenant: Callable[..., TenantCredentials], engine: Engine
) -> None:
    tenant = make_tenant(pulls=True)
    with engine.begin() as conn:
        ids = {
            name: queue.enqueue(conn, tenant.id, kind)
            for name, kind in [
                ("old pull", "customers.pull"),
                ("new pull", "invoices.pull"),
                ("old raw", JobKind.RAW_QBXML.value),
                ("failed pull", "price_levels.pull"),
            ]
        }
        conn.execute(
            text("""
                UPDATE jobs SET status = CASE WHEN id = :failed THEN 'failed' ELSE 'done' END,
                       finished_at = CASE WHEN id = :new THEN now() ELSE now() - interval '2 days' END
            """),
            {"failed": ids["failed pull"], "new": ids["new pull"]},
        )
        schedule.enqueue_due_pulls(conn, tenant.id)
        left = set(conn.execute(text("SELECT id FROM jobs")).scalars())
    assert ids["old pull"] not in left
    assert {ids["new pull"], ids["old raw"], ids["failed pull"]} <= left


def test_refresh_widens_a_waiting_pull_and_queues_one_that_is_not(
    tenant: TenantCredentials, engine: Engine
) -> None:
    with engine.begin() as conn:
        queue.enqueue(conn, tenant.id, "invoices.pull", params={"since": "2026-11-01T00:00:00+00:00"})
        assert schedule.request_refresh(conn, tenant.id, ["invoices", "orders"]) == [
            "invoices",
            "sales_orders",
        ]
    jobs = pull_jobs(engine)
    assert [(kind, "since" in params) for kind, _, params in jobs] == [
        ("invoices.pull", False),
        ("sales_orders.pull", False),
    ]
