"""`GET /jobs/{id}`, `POST /jobs/{id}/retry` and `POST /sync` over real HTTP, on real jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, text

from qbwc_server import queue
from qbwc_server.admin import tokens
from qbwc_server.models import IfUnanswered
from qbwc_server.qbxml.errors import explain_status
from qbwc_server.sync.pulls import PULLS
from qbwc_server.testing import BackgroundServer
from tests.api_http import Reply, call
from tests.conftest import TenantCredentials

REQUEST = '<CustomerAddRq requestID="1"><CustomerAdd><Name>Acme</Name></CustomerAdd></CustomerAddRq>'
MESSAGE = 'The name "Acme" of the list element is already in use.'


@pytest.fixture
def api(
    server: BackgroundServer, engine: Engine, tenant: TenantCredentials
) -> Iterator[Callable[..., Reply]]:
    """`api(method, path, body=…)` with a token of the tenant `acme` (`token=` for another)."""
    token = tokens.issue_tenant_token(engine, tenant.name)
    yield lambda method, path, **kw: call(server.base_url, method, path, **{"token": token, **kw})


def add_job(engine: Engine, tenant_id: int, status: str = "queued", **columns: object) -> int:
    """A push-like job in `status`, with the columns given."""
    with engine.begin() as conn:
        job_id = queue.enqueue(
            conn,
            tenant_id,
            "customers.push",
            request_body=REQUEST,
            entity_ref="17",
            if_unanswered=IfUnanswered.LOOK_UP,
        )
        finished = "now()" if status in ("done", "failed", "dead") else "NULL"
        sets = ", ".join(f"{name} = :{name}" for name in columns)
        conn.execute(
            text(
                f"UPDATE jobs SET status = :status, finished_at = {finished}{', ' + sets if sets else ''}"
                " WHERE id = :id"
            ),
            {"status": status, "id": job_id, **columns},
        )
    return job_id


def job_status(engine: Engine, job_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT status FROM jobs WHERE id = :id"), {"id": job_id}).scalar_one())


def test_a_failed_job_shows_quickbooks_answer_our_fix_and_the_request(
    api: Callable[..., Reply], engine: Engine, tenant: TenantCredentials
) -> None:
    job_id = add_job(engine, tenant.id, "failed", attempts=1, last_status_code=3100, last_message=MESSAGE)
    reply = api("GET", f"/api/v1/jobs/{job_id}")
    assert reply.status == 200, reply.text
    job = reply.json
    assert {k: job[k] for k in ("id", "kind", "status", "attempts", "entity_ref", "depends_on")} == {
        "id": job_id,
        "kind": "customers.push",
        "status": "failed",
        "attempts": 1,
        "entity_ref": "17",
        "depends_on": [],
    }
    assert (job["last_status_code"], job["last_message"]) == (3100, MESSAGE)
    assert job["fix"] == explain_status(3100).fix
    assert job["request"] == REQUEST and job["response"] is None
    assert job["created_at"] and job["updated_at"] and job["finished_at"]


def test_a_job_without_a_quickbooks_answer_has_no_fix(
    api: Callable[..., Reply], engine: Engine, tenant: TenantCredentials
) -> None:
    job = api("GET", f"/api/v1/jobs/{add_job(engine, tenant.id)}").json
    assert (job["status"], job["last_status_code"], job["fix"], job["finished_at"]) == (
        "queued",
        None,
        None,
        None,
    )


def test_another_tenants_job_is_404_like_a_missing_one(
    api: Callable[..., Reply], engine: Engine, make_tenant: Callable[..., TenantCredentials]
) -> None:
    globex = make_tenant("globex")
    theirs = add_job(engine, globex.id, "failed")
    mine = api("GET", f"/api/v1/jobs/{theirs}")
    assert mine.status == 404 and mine.error == {
        **mine.error,
        "code": "not_found",
        "message": f"no job {theirs}",
    }
    missing = api("GET", f"/api/v1/jobs/{theirs + 1000}")
    assert missing.status == 404 and missing.error["message"] == f"no job {theirs + 1000}"
    retried = api("POST", f"/api/v1/jobs/{theirs}/retry")
    assert retried.status == 404 and job_status(engine, theirs) == "failed"
    for bad in ("abc", "0", "99999999999999999999", "-1"):
        assert api("GET", f"/api/v1/jobs/{bad}").status == 404, bad
    admin = tokens.issue_admin_token(engine)
    seen = api("GET", f"/api/v1/tenants/globex/jobs/{theirs}", token=admin)
    assert seen.status == 200 and seen.json["id"] == theirs


def test_retry_requeues_a_failed_job(
    api: Callable[..., Reply], engine: Engine, tenant: TenantCredentials
) -> None:
    job_id = add_job(engine, tenant.id, "failed", attempts=3, last_status_code=3100, last_message=MESSAGE)
    reply = api("POST", f"/api/v1/jobs/{job_id}/retry")  # no body: resend defaults to false
    assert reply.status == 200, reply.text
    assert (reply.json["status"], reply.json["attempts"], reply.json["finished_at"]) == ("queued", 0, None)
    assert job_status(engine, job_id) == "queued"


def test_retrying_an_unconfirmed_write_needs_resend(
    api: Callable[..., Reply], engine: Engine, tenant: TenantCredentials
) -> None:
    job_id = add_job(engine, tenant.id, "unconfirmed", attempts=1)
    refused = api("POST", f"/api/v1/jobs/{job_id}/retry", body={})
    assert refused.status == 409
    assert refused.error["code"] == "conflict" and refused.error["field"] == "resend"
    assert "may already have done it" in refused.error["message"]
    assert job_status(engine, job_id) == "unconfirmed"
    assert api("POST", f"/api/v1/jobs/{job_id}/retry", body={"resend": False}).status == 409
    resent = api("POST", f"/api/v1/jobs/{job_id}/retry", body={"resend": True})
    assert resent.status == 200 and resent.json["status"] == "queued"


def test_retry_of_a_job_in_no_state_for_it_is_409(
    api: Callable[..., Reply], engine: Engine, tenant: TenantCredentials
) -> None:
    for status in ("queued", "done"):
        reply = api("POST", f"/api/v1/jobs/{add_job(engine, tenant.id, status)}/retry")
        assert reply.status == 409 and reply.error["code"] == "conflict", status


@pytest.mark.parametrize(("body", "field"), [({"resend": "yes"}, "resend"), ({"resnd": True}, "resnd")])
def test_a_retry_body_is_validated(
    api: Callable[..., Reply], engine: Engine, tenant: TenantCredentials, body: object, field: str
) -> None:
    job_id = add_job(engine, tenant.id, "unconfirmed")
    reply = api("POST", f"/api/v1/jobs/{job_id}/retry", body=body)
    assert reply.status == 422 and reply.error["field"] == field
    assert job_status(engine, job_id) == "unconfirmed"


def cursor_due(engine: Engine, tenant_id: int) -> dict[str, bool]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT entity, next_due_at <= now() AS due FROM sync_cursors WHERE tenant_id = :t"),
            {"t": tenant_id},
        )
        return {row.entity: row.due for row in rows}


def test_sync_now_makes_every_pull_due(
    server: BackgroundServer, engine: Engine, make_tenant: Callable[..., TenantCredentials]
) -> None:
    acme = make_tenant("acme", pulls=True)
    entities = [spec.entity for spec in PULLS]
    with engine.begin() as conn:
        for entity in entities:  # every pull done recently, the next one an hour away
            conn.execute(
                text("""INSERT INTO sync_cursors (tenant_id, entity, last_completed_at, next_due_at)
                        VALUES (:t, :e, now(), now() + interval '1 hour')"""),
                {"t": acme.id, "e": entity},
            )
    stuck = entities[0]
    add_job(engine, acme.id, "failed")  # a push waiting for an admin: not counted as queued
    add_job(engine, acme.id)
    with engine.begin() as conn:
        job_id = queue.enqueue(conn, acme.id, f"{stuck}.pull")
        conn.execute(
            text("UPDATE jobs SET status = 'failed', finished_at = now() WHERE id = :id"), {"id": job_id}
        )
    token = tokens.issue_tenant_token(engine, "acme")
    reply = call(server.base_url, "POST", "/api/v1/sync", token=token)
    assert reply.status == 202, reply.text
    assert reply.json["pulls_due"] == entities[1:]
    assert reply.json["pulls_stuck"] == [stuck]
    assert reply.json["pulls_off"] == []
    assert reply.json["queued_jobs"] == 1
    assert set(cursor_due(engine, acme.id).values()) == {True}


def test_sync_now_leaves_pulls_that_are_off(
    api: Callable[..., Reply], engine: Engine, tenant: TenantCredentials
) -> None:
    reply = api("POST", "/api/v1/sync")  # the fixture's tenant has every pull off
    assert reply.status == 202
    assert reply.json["pulls_due"] == [] and reply.json["pulls_off"] == [spec.entity for spec in PULLS]
    admin = tokens.issue_admin_token(engine)
    assert api("POST", "/api/v1/tenants/acme/sync", token=admin).status == 202
    assert api("POST", "/api/v1/sync", token=admin).status == 400
