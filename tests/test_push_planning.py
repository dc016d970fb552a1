"""How a PUT plans its record's push (sync/push.py): one job per record until it leaves, a new
one behind a push still in flight, dependents released when a held push is planned again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from qbwc_server import queue
from qbwc_server.models import SyncState
from qbwc_server.qbxml.errors import Outcome
from qbwc_server.queue import JobResult
from qbwc_server.sync.push import latest_push_job, plan_push, set_sync_state, sync_error
from tests.conftest import TenantCredentials


def customer_row(engine: Engine, tenant_id: int, commerce_id: str = "c-1") -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                text("""
                    INSERT INTO customers (tenant_id, commerce_id, name, full_name, sync_state)
                    VALUES (:t, :c, :c, :c, 'pending') RETURNING id
                """),
                {"t": tenant_id, "c": commerce_id},
            ).scalar_one()
        )


def plan(engine: Engine, tenant_id: int, row_id: int, kind: str = "customers.push", **kw: Any) -> int:
    with engine.begin() as conn:
        return plan_push(conn, tenant_id, kind, row_id, **kw)


def status(engine: Engine, job_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT status FROM jobs WHERE id = :id"), {"id": job_id}).scalar_one())


def send(engine: Engine, tenant_id: int) -> queue.ClaimedJob:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO qbwc_sessions (ticket, tenant_id) VALUES ('t-1', :t) ON CONFLICT DO NOTHING"),
            {"t": tenant_id},
        )
        job = queue.claim_next_job(conn, tenant_id, "t-1")
    assert job is not None
    return job


def test_a_record_changed_twice_before_it_is_sent_has_one_push(
    engine: Engine, tenant: TenantCredentials
) -> None:
    row = customer_row(engine, tenant.id)
    first = plan(engine, tenant.id, row)
    second = plan(engine, tenant.id, row)
    assert first == second
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 1
        assert conn.execute(text("SELECT if_unanswered FROM jobs")).scalar_one() == "look_up"


def test_a_change_while_the_push_is_in_flight_waits_for_it(engine: Engine, tenant: TenantCredentials) -> None:
    row = customer_row(engine, tenant.id)
    first = plan(engine, tenant.id, row)
    assert send(engine, tenant.id).id == first
    second = plan(engine, tenant.id, row)
    assert second != first
    with engine.connect() as conn:
        deps = (
            conn.execute(text("SELECT depends_on_id FROM job_dependencies WHERE job_id = :j"), {"j": second})
            .scalars()
            .all()
        )
        assert deps == [first]
        assert latest_push_job(conn, tenant.id, "customers.push", row) == second


def test_planning_a_failed_push_again_releases_what_waited_on_it(
    engine: Engine, tenant: TenantCredentials
) -> None:
    customer = customer_row(engine, tenant.id)
    customer_job = plan(engine, tenant.id, customer)
    order_job = plan(engine, tenant.id, 7, kind="orders.push", depends_on=[customer_job])
    send(engine, tenant.id)
    with engine.begin() as conn:
        queue.settle(conn, customer_job, JobResult.fail(Outcome.NEEDS_ADMIN, "name in use", 3100))
    assert (status(engine, customer_job), status(engine, order_job)) == ("failed", "blocked")
    again = plan(engine, tenant.id, customer)  # e.g. the customer was renamed or linked
    assert again == customer_job
    assert (status(engine, customer_job), status(engine, order_job)) == ("queued", "queued")
    assert send(engine, tenant.id).id == customer_job  # the customer still goes first


def test_a_push_behind_a_held_dependency_starts_blocked(engine: Engine, tenant: TenantCredentials) -> None:
    customer_job = plan(engine, tenant.id, customer_row(engine, tenant.id))
    send(engine, tenant.id)
    with engine.begin() as conn:
        queue.settle(conn, customer_job, JobResult.fail(Outcome.NEEDS_ADMIN, "name in use", 3100))
    order_job = plan(engine, tenant.id, 7, kind="orders.push", depends_on=[customer_job])
    assert status(engine, order_job) == "blocked"


def test_sync_state_keeps_quickbooks_code_and_fix(engine: Engine, tenant: TenantCredentials) -> None:
    row = customer_row(engine, tenant.id)
    with engine.begin() as conn:
        set_sync_state(
            conn,
            "customers",
            row,
            SyncState.NEEDS_MAPPING,
            message="name in use",
            quickbooks_code=3100,
            fix="rename it, or link it",
        )
        stored = conn.execute(text("SELECT * FROM customers WHERE id = :id"), {"id": row}).mappings().one()
    assert stored["sync_state"] == "needs_mapping"
    assert sync_error(stored) == {
        "message": "name in use",
        "quickbooks_code": 3100,
        "fix": "rename it, or link it",
    }
    assert sync_error({"sync_error": "plain words"}) == {
        "message": "plain words",
        "quickbooks_code": None,
        "fix": None,
    }


def test_what_waits_on_a_push_whose_answer_was_lost_goes_once_its_look_up_finds_it(
    engine: Engine, tenant: TenantCredentials
) -> None:
    customer_job = plan(engine, tenant.id, customer_row(engine, tenant.id))
    order_job = plan(engine, tenant.id, 7, kind="orders.push", depends_on=[customer_job])
    send(engine, tenant.id)
    with engine.begin() as conn:
        queue.release_leases(conn, "t-1")  # the session ended before the answer came
    assert (status(engine, customer_job), status(engine, order_job)) == ("unconfirmed", "queued")
    looking = send(engine, tenant.id)
    assert (looking.id, looking.unconfirmed) == (customer_job, True)
    with engine.begin() as conn:
        queue.settle(conn, customer_job, JobResult(queue.Action.DONE, message="found in QuickBooks"))
    assert send(engine, tenant.id).id == order_job
