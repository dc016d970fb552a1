"""The operations routes over real HTTP: GET /status, the admin's GET /tenants, GET /jobs (paged
by status), POST /refresh/{entity} and GET /qwc (a download) — each one's happy path, 401, and
bad parameters. The health states themselves, reached by real sessions, are tests/test_health.py's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from lxml import etree
from sqlalchemy import Engine, event, text

from qbwc_server import queue
from qbwc_server.admin import tokens
from qbwc_server.admin.health import STATES
from qbwc_server.api.health import State
from qbwc_server.sync.pulls import GROUPS
from qbwc_server.testing import BackgroundServer
from tests.api_http import Reply, call
from tests.conftest import TenantCredentials

PUBLIC_URL = "https://qbwc.example.com/qbwc"  # the settings fixture's QBWC_PUBLIC_URL
RAW = '<CustomerQueryRq requestID="1"><MaxReturned>1</MaxReturned></CustomerQueryRq>'


@pytest.fixture
def api(
    server: BackgroundServer, engine: Engine, tenant: TenantCredentials
) -> Iterator[Callable[..., Reply]]:
    """`api(method, path)` with a token of the tenant `acme` (`token=` for another, None for none)."""
    token = tokens.issue_tenant_token(engine, tenant.name)
    yield lambda method, path, **kw: call(server.base_url, method, path, **{"token": token, **kw})


@pytest.fixture
def admin(engine: Engine) -> str:
    return tokens.issue_admin_token(engine)


def add_jobs(engine: Engine, tenant_id: int, statuses: list[str]) -> list[int]:
    """Raw jobs, one per status given, in that order."""
    ids = []
    with engine.begin() as conn:
        for status in statuses:
            job_id = queue.enqueue(conn, tenant_id, "qbxml.raw", request_body=RAW)
            finished = "now()" if status in ("done", "failed", "dead") else "NULL"
            conn.execute(
                text(f"UPDATE jobs SET status = :s, finished_at = {finished} WHERE id = :id"),
                {"s": status, "id": job_id},
            )
            ids.append(job_id)
    return ids


def test_every_route_wants_a_token(api: Callable[..., Reply]) -> None:
    for method, path in (
        ("GET", "/api/v1/status"),
        ("GET", "/api/v1/tenants"),
        ("GET", "/api/v1/jobs"),
        ("POST", "/api/v1/refresh/customers"),
        ("GET", "/api/v1/qwc"),
    ):
        for token in (None, "qbwc_not-a-token"):
            reply = api(method, path, token=token)
            assert reply.status == 401 and reply.error["code"] == "unauthorized", (method, path)


# -- GET /status and GET /tenants ----------------------------------------------------------------


def test_status_answers_the_tenants_health(api: Callable[..., Reply], admin: str) -> None:
    reply = api("GET", "/api/v1/status")
    assert reply.status == 200, reply.text
    body = reply.json
    assert body["tenant"] == "acme" and body["state"] == "never_connected"
    assert "never connected" in body["headline"] and body["checklist"]
    assert body["last_contact_at"] is None and body["last_session"] is None
    assert body["expected_poll_seconds"] == 60 and body["queue"] == {} and body["failures"] == []
    assert {p["entity"] for p in body["pulls"]} >= {"customers", "inventory_quantities", "invoices"}
    assert set(body["quickbooks"]) == {
        "product",
        "version",
        "country",
        "edition",
        "qbxml_version",
        "company_file",
    }
    assert api("GET", "/api/v1/tenants/acme/status", token=admin).json["tenant"] == "acme"
    refused = api("GET", "/api/v1/status", token=admin)  # an admin names the tenant
    assert refused.status == 400 and "/api/v1/tenants/{tenant}/status" in refused.error["message"]


def test_the_state_names_are_api_mds(api: Callable[..., Reply]) -> None:
    assert State.__args__ == STATES  # type: ignore[attr-defined]
    document = api("GET", "/api/v1/openapi.json").json
    schema = document["components"]["schemas"]["StatusReply"]["properties"]["state"]
    assert schema["enum"] == list(STATES)


def test_tenants_lists_each_tenants_health_in_one_statement(
    server: BackgroundServer,
    engine: Engine,
    make_tenant: Callable[..., TenantCredentials],
    admin: str,
    api: Callable[..., Reply],
) -> None:
    def statements_for_tenants() -> tuple[Reply, int]:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731  (conn, cursor, statement, …)
        event.listen(engine, "before_cursor_execute", listener)
        try:
            reply = call(server.base_url, "GET", "/api/v1/tenants", token=admin)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return reply, len(seen)

    one, with_one = statements_for_tenants()
    for name in ("globex", "initech", "umbrella"):
        make_tenant(name)
    add_jobs(engine, make_tenant("hooli").id, ["failed", "queued"])
    many, with_five = statements_for_tenants()

    assert one.status == 200 and [t["tenant"] for t in one.json["data"]] == ["acme"]
    assert with_five == with_one, "one statement however many tenants"
    rows = {t["tenant"]: t for t in many.json["data"]}
    assert list(rows) == ["acme", "globex", "hooli", "initech", "umbrella"]
    hooli = rows["hooli"]
    assert hooli["queue"] == {"failed": 1, "queued": 1} and hooli["failures_total"] == 1
    assert any("1 job needs help" in p for p in hooli["problems"])
    assert set(hooli) == {
        "tenant", "state", "headline", "checklist", "last_contact_at", "last_session", "queue",
        "failures_total", "problems",
    }  # fmt: skip
    for name, summary in rows.items():  # the summary and the tenant's own status agree
        full = call(server.base_url, "GET", f"/api/v1/tenants/{name}/status", token=admin).json
        assert (full["state"], full["headline"]) == (summary["state"], summary["headline"])
    assert api("GET", "/api/v1/tenants").status == 404, "not a route for a tenant token"


# -- GET /jobs ---------------------------------------------------------------------------------


def test_jobs_pages_newest_first_to_the_end_without_a_gap(
    api: Callable[..., Reply],
    engine: Engine,
    tenant: TenantCredentials,
    make_tenant: Callable[..., TenantCredentials],
) -> None:
    ids = add_jobs(engine, tenant.id, ["queued", "failed", "done", "failed", "dead", "failed", "blocked"])
    add_jobs(engine, make_tenant("globex").id, ["failed"])  # never shown to acme

    everything = api("GET", "/api/v1/jobs").json
    assert [j["id"] for j in everything["data"]] == ids[::-1] and everything["next_cursor"] is None
    assert "request" not in everything["data"][0], "a listing leaves the bodies to GET /jobs/{id}"

    seen, page = [], api("GET", "/api/v1/jobs?status=failed&limit=2").json
    while True:
        seen += [(j["id"], j["status"]) for j in page["data"]]
        if page["next_cursor"] is None:
            break
        add_jobs(engine, tenant.id, ["failed"])  # newer rows arriving meanwhile change no later page
        page = api("GET", f"/api/v1/jobs?cursor={page['next_cursor']}").json
    assert seen == [(ids[5], "failed"), (ids[3], "failed"), (ids[1], "failed")]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=finished", "status"),
        ("status=FAILED", "status"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=eyJzdGF0dXMiOm51bGx9", "cursor"),  # {"status":null}: not one we gave out
    ],
)
def test_jobs_refuses_bad_parameters_naming_them(api: Callable[..., Reply], query: str, field: str) -> None:
    reply = api("GET", f"/api/v1/jobs?{query}")
    assert reply.status == 400 and reply.error["field"] == field, reply.text
    if field == "status":
        assert "queued, sent, unconfirmed, done, failed, blocked, dead" in reply.error["message"]


def test_a_cursor_goes_alone(api: Callable[..., Reply], engine: Engine, tenant: TenantCredentials) -> None:
    add_jobs(engine, tenant.id, ["failed", "failed"])
    cursor = api("GET", "/api/v1/jobs?limit=1").json["next_cursor"]
    assert cursor
    reply = api("GET", f"/api/v1/jobs?cursor={cursor}&status=failed")
    assert reply.status == 400 and reply.error["field"] == "status"


# -- POST /refresh/{entity} ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "entity", ["customers", "items", "inventory", "orders", "invoices", "payments", "lists", "all"]
)
def test_refresh_queues_full_pulls(
    api: Callable[..., Reply], engine: Engine, tenant: TenantCredentials, entity: str
) -> None:
    reply = api("POST", f"/api/v1/refresh/{entity}")
    assert reply.status == 202, reply.text
    expected = list(GROUPS.get(entity, ())) or ["sales_orders" if entity == "orders" else entity]
    assert reply.json["entity"] == entity and reply.json["queued"] == expected
    with engine.connect() as conn:
        queued = conn.execute(
            text("SELECT kind, params FROM jobs WHERE tenant_id = :t AND status = 'queued' ORDER BY id"),
            {"t": tenant.id},
        ).all()
    assert [kind for kind, _ in queued] == [f"{name}.pull" for name in expected]
    assert all("since" not in params for _, params in queued), "a full pull, not changes only"


def test_refresh_of_an_unknown_entity_is_404_naming_the_choices(api: Callable[..., Reply]) -> None:
    for entity in ("widgets", "sales_orders", "Customers"):
        reply = api("POST", f"/api/v1/refresh/{entity}")
        assert reply.status == 404 and reply.error["field"] == "entity"
        assert "customers, items, inventory, orders, invoices, payments, lists, all" in reply.error["message"]


# -- GET /qwc ----------------------------------------------------------------------------------


def test_qwc_is_a_download_and_keeps_the_interval(
    api: Callable[..., Reply], engine: Engine, tenant: TenantCredentials
) -> None:
    reply = api("GET", "/api/v1/qwc?every=15")

    assert reply.status == 200
    assert reply.headers["content-type"] == "application/xml; charset=utf-8"
    assert reply.headers["content-disposition"] == 'attachment; filename="acme.qwc"'
    root = etree.fromstring(reply.text.encode())
    assert root.tag == "QBWCXML" and root.findtext("AppURL") == PUBLIC_URL
    assert (
        root.findtext("UserName") == tenant.username and root.findtext("Scheduler/RunEveryNMinutes") == "15"
    )
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT settings FROM tenants WHERE id = :t"), {"t": tenant.id}
        ).scalar_one()
    assert stored["qwc"] == {"run_every_minutes": 15}
    assert stored["push"]["live_window_seconds"] == 0, "merged into the settings, the others kept"
    assert api("GET", "/api/v1/status").json["expected_poll_seconds"] == 15 * 60
    again = etree.fromstring(api("GET", "/api/v1/qwc").text.encode())
    assert again.findtext("Scheduler/RunEveryNMinutes") == "15", "without every: as the last one"


@pytest.mark.parametrize("every", ["0", "1441", "5m", "-1", ""])
def test_qwc_refuses_a_bad_interval(api: Callable[..., Reply], every: str) -> None:
    reply = api("GET", f"/api/v1/qwc?every={every}")
    assert reply.status == 400 and reply.error["field"] == "every", reply.text
    assert reply.headers["content-type"].startswith("application/json")


def test_openapi_documents_the_download(api: Callable[..., Reply]) -> None:
    document = api("GET", "/api/v1/openapi.json").json
    success = document["paths"]["/api/v1/qwc"]["get"]["responses"]["200"]
    assert success["content"] == {"application/xml": {"schema": {"type": "string"}}}
    assert "Content-Disposition" in success["headers"]
    assert {p["name"] for p in document["paths"]["/api/v1/jobs"]["get"]["parameters"]} == {
        "status",
        "limit",
        "cursor",
    }
    assert "202" in document["paths"]["/api/v1/refresh/{entity}"]["post"]["responses"]
    assert "/api/v1/tenants" in document["paths"] and "/api/v1/tenants/{tenant}/status" in document["paths"]
    assert json.dumps(document)  # serialisable as served
