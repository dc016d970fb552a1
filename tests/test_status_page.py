"""The status page over real HTTP: logging in and out, the cookie, CSRF, the read-only status
link, and Retry, Link and Sync now doing what they say (checked through admin/)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from qbwc_server.admin import tokens
from qbwc_server.testing import BackgroundServer
from tests.api_http import call
from tests.conftest import Run, TenantCredentials
from tests.console import PUBLIC_URL
from tests.status_pages import PageClient, failed_job, job_status, visible_text

pytestmark = pytest.mark.protocol
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def admin_token(engine: Engine) -> str:
    return tokens.issue_admin_token(engine)


@pytest.fixture
def page(server: BackgroundServer, admin_token: str) -> PageClient:
    """A client logged in as an admin."""
    client = PageClient(server.base_url)
    client.login(admin_token)
    return client


# -- logging in and out --------------------------------------------------------------------------


def test_without_a_login_every_page_sends_the_browser_to_the_login_form(
    server: BackgroundServer, tenant: TenantCredentials
) -> None:
    for path in ("/status", "/status/", f"/status/tenants/{tenant.name}"):
        reply = call(server.base_url, "GET", path)
        assert (reply.status, reply.headers["location"]) == (303, "/status/login"), path
    login = call(server.base_url, "GET", "/status/login")
    assert login.status == 200 and 'type="password"' in login.text and "Log in" in login.text


def test_logging_in_sets_an_httponly_strict_cookie_for_the_page_only(
    server: BackgroundServer, admin_token: str, tenant: TenantCredentials
) -> None:
    client = PageClient(server.base_url)
    reply = client.login(admin_token)
    assert reply.headers["location"] == "/status"
    flags = [part.strip() for part in reply.headers["set-cookie"].split(";")]
    assert flags[0].startswith("qbwc_status=") and len(flags[0]) > 40
    assert {"HttpOnly", "SameSite=Strict", "Path=/status"} <= set(flags)
    assert "Secure" not in flags, "plain http from the browser: a Secure cookie would never come back"
    assert admin_token.split("_", 1)[1] not in reply.headers["set-cookie"], "the cookie is not the token"
    index = client.get("/status")
    assert index.status == 200 and tenant.name in visible_text(index.text)


def test_behind_a_tls_proxy_the_cookie_is_secure(server: BackgroundServer, admin_token: str) -> None:
    reply = call(
        server.base_url,
        "POST",
        "/status/login",
        data=f"token={admin_token}".encode(),
        headers={**FORM, "X-Forwarded-Proto": "https"},  # from 127.0.0.1: a trusted proxy
    )
    assert reply.status == 303
    assert "Secure" in [part.strip() for part in reply.headers["set-cookie"].split(";")]


@pytest.mark.parametrize("kind", ["wrong", "tenant", "empty"])
def test_a_wrong_token_gets_the_form_again_with_401_and_no_hint(
    server: BackgroundServer, engine: Engine, tenant: TenantCredentials, kind: str
) -> None:
    token = {
        "wrong": "qbwa_" + "x" * 43,
        "tenant": tokens.issue_tenant_token(engine, tenant.name),
        "empty": "",
    }[kind]
    reply = call(server.base_url, "POST", "/status/login", data=f"token={token}".encode(), headers=FORM)
    assert reply.status == 401 and "set-cookie" not in reply.headers
    assert "That is not a valid admin token." in visible_text(reply.text)
    assert 'type="password"' in reply.text and (not token or token not in reply.text)


def test_pages_are_never_cached_framed_or_referred(page: PageClient, tenant: TenantCredentials) -> None:
    for reply in (page.get("/status"), page.get(f"/status/tenants/{tenant.name}"), page.get("/status/nope")):
        assert reply.headers["cache-control"] == "no-store"
        assert reply.headers["x-frame-options"] == "DENY"
        assert reply.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in reply.headers["content-security-policy"]
        assert reply.headers["content-type"].startswith("text/html")
    assert page.last is not None and page.last.status == 404


def test_logging_out_ends_the_login_and_needs_the_csrf_token(page: PageClient) -> None:
    assert page.post("/status/logout", {"csrf_token": "forged"}).status == 403
    assert page.get("/status").status == 200, "a forged logout changes nothing"
    reply = page.post("/status/logout", {})
    assert (reply.status, reply.headers["location"]) == (303, "/status/login")
    assert reply.headers["set-cookie"].startswith('qbwc_status=""; expires=')
    assert page.get("/status").status == 303, "the old cookie opens nothing"


def test_revoking_the_admin_token_ends_its_logins(page: PageClient, engine: Engine) -> None:
    assert page.get("/status").status == 200
    tokens.revoke_admin_tokens(engine)
    assert page.get("/status").status == 303
    assert page.post("/status/logout", {}).status == 403


def test_an_expired_login_opens_nothing(page: PageClient, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE page_sessions SET expires_at = now() - interval '1 second'"))
    assert page.get("/status").status == 303


# -- CSRF ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", [None, "", "wrong"])
def test_an_action_without_the_right_csrf_token_is_403_and_does_nothing(
    page: PageClient, engine: Engine, tenant: TenantCredentials, sent: str | None
) -> None:
    job_id = failed_job(engine, tenant.id)
    fields = {"action": "retry", "job_id": str(job_id)}
    if sent is not None:
        fields["csrf_token"] = sent
    reply = page.post(f"/status/tenants/{tenant.name}", fields, csrf=False)
    assert reply.status == 403 and "reload the page" in visible_text(reply.text)
    assert job_status(engine, job_id) == "failed"


def test_an_action_without_a_login_is_403(
    server: BackgroundServer, engine: Engine, tenant: TenantCredentials
) -> None:
    job_id = failed_job(engine, tenant.id)
    reply = PageClient(server.base_url).post(
        f"/status/tenants/{tenant.name}", {"action": "retry", "job_id": str(job_id)}
    )
    assert reply.status == 403 and job_status(engine, job_id) == "failed"


def test_another_logins_csrf_token_does_not_pass(
    server: BackgroundServer, page: PageClient, admin_token: str, engine: Engine, tenant: TenantCredentials
) -> None:
    other = PageClient(server.base_url)
    other.login(admin_token)
    assert other.csrf and other.csrf != page.csrf
    job_id = failed_job(engine, tenant.id)
    reply = page.post(
        f"/status/tenants/{tenant.name}", {"action": "retry", "job_id": str(job_id), "csrf_token": other.csrf}
    )
    assert reply.status == 403 and job_status(engine, job_id) == "failed"


# -- the read-only status link -------------------------------------------------------------------


def link_path(cli: Run, name: str) -> str:
    issued = cli("tenant", "status-link", name)
    assert issued.returncode == 0 and issued.stderr == "", issued
    [url] = issued.stdout.splitlines()
    base = PUBLIC_URL.removesuffix("/qbwc")
    assert re.fullmatch(re.escape(base) + r"/status/t/qbws_[A-Za-z0-9_-]{43}", url), url
    return url.removeprefix(base)


def test_a_status_link_shows_its_tenant_read_only(
    server: BackgroundServer, cli: Run, make_tenant: Callable[..., TenantCredentials], engine: Engine
) -> None:
    acme, other = make_tenant("acme"), make_tenant("globex")
    failed_job(engine, acme.id)
    failed_job(engine, other.id, message="globex's own trouble")
    path = link_path(cli, "acme")

    reply = call(server.base_url, "GET", path)
    assert reply.status == 200, reply.text
    shown = visible_text(reply.text)
    assert "acme" in shown and "already in use" in shown and "Read-only" in shown
    assert "globex" not in shown
    assert "<form" not in reply.text and "csrf_token" not in reply.text, "no button of any kind"
    assert "Retry" not in shown and "Sync now" not in shown and "Log out" not in shown
    assert reply.headers["referrer-policy"] == "no-referrer" and reply.headers["cache-control"] == "no-store"
    assert call(server.base_url, "GET", "/status").status == 303, "the link opens only its tenant's page"


def test_a_status_link_cannot_post_even_with_a_login_beside_it(
    cli: Run, page: PageClient, engine: Engine, tenant: TenantCredentials
) -> None:
    job_id = failed_job(engine, tenant.id)
    path = link_path(cli, tenant.name)
    for fields in ({"action": "retry", "job_id": str(job_id)}, {"action": "sync"}):
        reply = page.post(path, fields)
        assert reply.status == 403 and "read-only" in visible_text(reply.text)
    assert job_status(engine, job_id) == "failed"


def test_a_revoked_status_link_stops_working(
    server: BackgroundServer, cli: Run, tenant: TenantCredentials
) -> None:
    path = link_path(cli, tenant.name)
    assert call(server.base_url, "GET", path).status == 200
    revoked = cli("tenant", "status-link", tenant.name, "--revoke")
    assert revoked.returncode == 0 and revoked.stdout == ""
    assert revoked.stderr.strip() == f"Revoked 1 status link of {tenant.name!r}; none issued."
    reply = call(server.base_url, "GET", path)
    assert reply.status == 404 and "revoked" in visible_text(reply.text)
    assert call(server.base_url, "GET", "/status/t/qbws_nonsense").status == 404


def test_a_status_link_token_is_refused_by_the_api(
    server: BackgroundServer, cli: Run, tenant: TenantCredentials
) -> None:
    token = link_path(cli, tenant.name).rsplit("/", 1)[1]
    for path in ("/api/v1/jobs/1", f"/api/v1/tenants/{tenant.name}/jobs/1"):
        reply = call(server.base_url, "GET", path, token=token)
        assert reply.status == 401 and reply.error["code"] == "unauthorized", path
    assert call(server.base_url, "POST", "/api/v1/sync", token=token, body={}).status == 401


def test_a_status_link_for_an_unknown_tenant_is_a_usage_error(cli: Run) -> None:
    issued = cli("tenant", "status-link", "nobody")
    assert issued.returncode != 0 and issued.stdout == "" and "Traceback" not in issued.stderr
    assert len(issued.stderr.strip().splitlines()) == 1
