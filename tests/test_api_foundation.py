"""The API's foundation over real HTTP: tokens and scopes, JSON errors for every failure, body
limits and validation, and the generated OpenAPI document. Test-only routes sit beside the real
ones on the served app, so each rule is shown without depending on a real route's handler."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from qbwc_server.admin import tokens
from qbwc_server.api.app import declared_routes, served_paths
from qbwc_server.api.routing import ApiReply, Call, Route
from qbwc_server.app import create_app
from qbwc_server.config import Settings
from qbwc_server.testing import BackgroundServer
from tests.api_http import Reply, call
from tests.conftest import TenantCredentials


class Line(BaseModel):
    sku: str
    quantity: Decimal = Field(gt=0)


class Order(BaseModel):
    number: str = Field(max_length=11)
    lines: list[Line] = Field(min_length=1)


def echo(call: Call) -> ApiReply:
    body = call.body.model_dump(mode="json") if call.body is not None else None
    return ApiReply(200, {"tenant": call.tenant_name, "path": dict(call.path), "body": body})


def fail(call: Call) -> ApiReply:
    raise RuntimeError("a secret detail of the failure")


TEST_ROUTES = (
    Route("PUT", "/test/things/{id}", echo, "Echo a validated body", body=Order),
    Route("GET", "/test/things/{id}", echo, "Echo the scope"),
    Route("POST", "/test/failure", fail, "Fail unexpectedly"),
    Route("GET", "/test/everyone", echo, "An admin-scope route", scope="admin"),
    Route("GET", "/tenants/{tenant}/test-summary", echo, "An admin-scope route of one tenant", scope="admin"),
)


@pytest.fixture
def api(settings: Settings, engine: Engine) -> Iterator[Callable[..., Reply]]:
    """`api(method, path, token=…, body=…)` against the served app, its body limit at 1 kB."""
    app = create_app(
        dataclasses.replace(settings, api_max_body_kb=1), engine, declared_routes() + TEST_ROUTES
    )
    with BackgroundServer(app) as server:
        yield lambda method, path, **kw: call(server.base_url, method, path, **kw)


@pytest.fixture
def tenant_token(engine: Engine, tenant: TenantCredentials) -> str:
    return tokens.issue_tenant_token(engine, tenant.name)


@pytest.fixture
def admin_token(engine: Engine) -> str:
    return tokens.issue_admin_token(engine)


ORDER = {"number": "WC1", "lines": [{"sku": "W-1", "quantity": "3"}]}


def test_a_tenant_token_is_scoped_to_its_tenant(api: Callable[..., Reply], tenant_token: str) -> None:
    reply = api("PUT", "/api/v1/test/things/o-1", token=tenant_token, body=ORDER)
    assert reply.status == 200, reply.text
    assert reply.json == {"tenant": "acme", "path": {"id": "o-1"}, "body": ORDER}
    own = api("GET", "/api/v1/tenants/acme/test/things/o-1", token=tenant_token)
    assert own.status == 200 and own.json["tenant"] == "acme"
    assert api("GET", "/api/v1/test/things/o-1/", token=tenant_token).status == 200  # trailing slash


@pytest.mark.parametrize("header", [None, "Bearer qbwt_wrong", "Bearer ", "Basic dXNlcjpwYXNz", "qbwt_x"])
def test_no_valid_token_is_401_with_one_body(api: Callable[..., Reply], header: str | None) -> None:
    reply = api("GET", "/api/v1/test/things/o-1", headers={"Authorization": header} if header else {})
    assert reply.status == 401
    assert reply.headers["www-authenticate"].startswith("Bearer")
    assert reply.error["code"] == "unauthorized"
    assert reply.text == api("GET", "/api/v1/jobs/1").text  # the same whatever was wrong


def test_a_revoked_token_is_401(api: Callable[..., Reply], engine: Engine, tenant_token: str) -> None:
    admin = tokens.issue_admin_token(engine)
    assert tokens.revoke_tenant_tokens(engine, "acme") == 1
    assert tokens.revoke_admin_tokens(engine) == 1
    for token in (tenant_token, admin):
        reply = api("GET", "/api/v1/test/things/o-1", token=token)
        assert reply.status == 401 and reply.error["code"] == "unauthorized"


def test_an_admin_token_names_the_tenant_in_the_path(
    api: Callable[..., Reply], admin_token: str, tenant: TenantCredentials
) -> None:
    without = api("GET", "/api/v1/test/things/o-1", token=admin_token)
    assert without.status == 400 and without.error["code"] == "bad_request"
    assert "/api/v1/tenants/{tenant}/test/things/{id}" in without.error["message"]
    reply = api("GET", "/api/v1/tenants/acme/test/things/o-1", token=admin_token)
    assert reply.status == 200 and reply.json["tenant"] == "acme"
    missing = api("GET", "/api/v1/tenants/nobody/test/things/o-1", token=admin_token)
    assert missing.status == 404 and missing.error["code"] == "not_found"


def test_another_tenants_path_is_404_whether_it_exists_or_not(
    api: Callable[..., Reply], make_tenant: Callable[..., TenantCredentials], tenant_token: str
) -> None:
    make_tenant("globex")
    other = api("GET", "/api/v1/tenants/globex/test/things/o-1", token=tenant_token)
    nobody = api("GET", "/api/v1/tenants/nobody/test/things/o-1", token=tenant_token)
    assert other.status == nobody.status == 404
    assert other.text == nobody.text  # no hint of which tenants exist
    assert other.error["code"] == "not_found"


def test_admin_scope_routes_are_for_admin_tokens_only(
    api: Callable[..., Reply], admin_token: str, tenant_token: str
) -> None:
    assert api("GET", "/api/v1/test/everyone", token=admin_token).json == {
        "tenant": None,
        "path": {},
        "body": None,
    }
    reply = api("GET", "/api/v1/test/everyone", token=tenant_token)
    assert reply.status == 404 and reply.error["code"] == "not_found"
    # beside the tenant routes served under /tenants/{tenant}/, its {tenant} is the handler's
    summary = api("GET", "/api/v1/tenants/acme/test-summary", token=admin_token)
    assert summary.status == 200 and summary.json["path"] == {"tenant": "acme"}
    assert api("GET", "/api/v1/tenants/acme/test-summary", token=tenant_token).status == 404


@pytest.mark.parametrize("token", [None, "tenant"])
def test_an_unknown_route_is_json_404(
    api: Callable[..., Reply], tenant_token: str, token: str | None
) -> None:
    for path in ("/api/v1/nothing/here", "/api/v2/jobs/1", "/api/"):
        reply = api("GET", path, token=tenant_token if token else None)
        assert reply.status == 404, path
        assert reply.headers["content-type"].startswith("application/json")
        assert reply.error["code"] == "not_found"


def test_a_wrong_method_is_json_405_with_allow(api: Callable[..., Reply], tenant_token: str) -> None:
    reply = api("DELETE", "/api/v1/test/things/o-1", token=tenant_token)
    assert reply.status == 405
    assert {"GET", "PUT"} <= {m.strip() for m in reply.headers["allow"].split(",")}
    assert reply.error["code"] == "method_not_allowed"


def test_a_body_over_the_limit_is_413_before_it_is_read(api: Callable[..., Reply], tenant_token: str) -> None:
    big = {**ORDER, "padding": "x" * 2000}
    reply = api("PUT", "/api/v1/test/things/o-1", token=tenant_token, body=big)
    assert reply.status == 413
    assert reply.error["code"] == "payload_too_large"
    assert "QBWC_API_MAX_BODY_KB" in reply.error["message"]


def test_a_body_not_json_is_415(api: Callable[..., Reply], tenant_token: str) -> None:
    reply = api(
        "PUT",
        "/api/v1/test/things/o-1",
        token=tenant_token,
        data=b"number=WC1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 415 and reply.error["code"] == "unsupported_media_type"


@pytest.mark.parametrize("data", [b'{"number": "WC1",', b"\xff\xfe{", b'{"number": NaN}'])
def test_malformed_json_is_400(api: Callable[..., Reply], tenant_token: str, data: bytes) -> None:
    reply = api(
        "PUT",
        "/api/v1/test/things/o-1",
        token=tenant_token,
        data=data,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert reply.status == 400 and reply.error["code"] == "bad_request"


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        (
            {"number": "WC1", "lines": [{"sku": "W-1", "quantity": "0"}]},
            "lines[0].quantity",
            "greater than 0",
        ),
        ({"number": "WC1", "lines": [{"sku": "W-1", "quantity": "x"}]}, "lines[0].quantity", "decimal"),
        ({"number": "WC1234567890", "lines": ORDER["lines"]}, "number", "at most 11 characters"),
        ({"number": "WC1", "lines": []}, "lines", "must have at least one line"),
        ({"lines": ORDER["lines"]}, "number", "is required"),
    ],
)
def test_validation_is_422_naming_the_field(
    api: Callable[..., Reply], tenant_token: str, body: object, field: str, reason: str
) -> None:
    reply = api("PUT", "/api/v1/test/things/o-1", token=tenant_token, body=body)
    assert reply.status == 422, reply.text
    error = reply.error
    assert error["code"] == "validation_failed"
    assert error["field"] == field
    assert error["message"].startswith(f"{field} ") and reason in error["message"], error


def test_an_absent_body_is_validated_as_empty(api: Callable[..., Reply], tenant_token: str) -> None:
    reply = api("PUT", "/api/v1/test/things/o-1", token=tenant_token)
    assert reply.status == 422 and reply.error["field"] in ("number", "lines")


def test_ids_outside_the_pattern(api: Callable[..., Reply], tenant_token: str) -> None:
    for bad in ("-starts-with-dash", "a" * 65, "sp%20ace", "%C3%A9t%C3%A9"):
        got = api("GET", f"/api/v1/test/things/{bad}", token=tenant_token)
        assert got.status == 404 and got.error["code"] == "not_found", bad
        put = api("PUT", f"/api/v1/test/things/{bad}", token=tenant_token, body=ORDER)
        assert put.status == 422 and put.error["field"] == "id", bad
    assert api("GET", "/api/v1/test/things/A.b_c:d-9", token=tenant_token).status == 200


def test_an_unexpected_failure_is_json_500_without_a_traceback(
    api: Callable[..., Reply], tenant_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="qbwc_server.api"):
        reply = api("POST", "/api/v1/test/failure", token=tenant_token)
    assert reply.status == 500
    assert reply.error["code"] == "internal_error"
    assert "secret detail" not in reply.text and "Traceback" not in reply.text
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and "a secret detail" in str(logged[0].exc_info[1])  # type: ignore[index]


def test_the_soap_endpoint_and_probes_are_untouched(api: Callable[..., Reply]) -> None:
    assert api("GET", "/healthz").json == {"status": "ok"}
    assert api("GET", "/qbwc").headers["content-type"].startswith("text/xml")


def test_openapi_lists_every_route_in_both_scopes(api: Callable[..., Reply]) -> None:
    reply = api("GET", "/api/v1/openapi.json")  # no token needed
    assert reply.status == 200
    document = reply.json
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    schemas = document["components"]["schemas"]
    served = served_paths(declared_routes() + TEST_ROUTES)
    assert {template for template, _ in served} == set(document["paths"])
    for template, route in served:
        operation = document["paths"][template][route.method.lower()]
        if route.body is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.removeprefix("#/components/schemas/") in schemas
        else:
            assert "requestBody" not in operation
        for status in ("401", "404", "500"):
            error_ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            assert error_ref.endswith("/ErrorBody")
        names = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert names == {part[1:-1] for part in template.split("/") if part.startswith("{")}
    assert "Line" in schemas and "Order" in schemas  # nested models too
    real = {(template, route.method) for template, route in served_paths(declared_routes())}
    assert ("/api/v1/jobs/{id}", "GET") in real
    assert ("/api/v1/tenants/{tenant}/jobs/{id}/retry", "POST") in real
    assert ("/api/v1/sync", "POST") in real
