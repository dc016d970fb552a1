"""The status page's buttons over real HTTP, on real jobs and records: Retry requeues, Link links
the customer and lets what waited on it go, Sync now makes the pulls due; what a tenant's page
shows (escaped, capped, percent-encoded) and the flash message that reports each action."""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from qbwc_server.admin import tokens
from qbwc_server.admin.pulls import pull_states
from qbwc_server.testing import BackgroundServer
from tests.conftest import TenantCredentials
from tests.pushes import Shop, make_shop
from tests.status_pages import PageClient, failed_job, job_status, make_trouble, visible_text

pytestmark = pytest.mark.protocol


@pytest.fixture
def page(server: BackgroundServer, engine: Engine) -> PageClient:
    """A client logged in as an admin."""
    client = PageClient(server.base_url)
    client.login(tokens.issue_admin_token(engine))
    return client


@pytest.fixture
def shop(server: BackgroundServer, make_tenant: Callable[..., TenantCredentials], engine: Engine) -> Shop:
    return make_shop(server, make_tenant, engine)


def act(page: PageClient, tenant: str, **fields: str) -> str:
    """POST an action on the tenant's page; the visible text of the page it redirects to."""
    path = f"/status/tenants/{urllib.parse.quote(tenant, safe='')}"
    page.get(path)
    reply = page.post(path, fields)
    assert reply.status == 303, (reply.status, reply.text)
    assert reply.headers["location"].startswith(path + "?")
    return visible_text(page.follow(reply).text)


def test_retry_requeues_a_failed_job(page: PageClient, engine: Engine, tenant: TenantCredentials) -> None:
    job_id = failed_job(engine, tenant.id)
    shown = visible_text(page.get(f"/status/tenants/{tenant.name}").text)
    assert f"{job_id} failed customers.push" in shown and "3100" in shown and "already in use" in shown

    after = act(page, tenant.name, action="retry", job_id=str(job_id))

    assert job_status(engine, job_id) == "queued"
    assert f"Job {job_id} (customers.push) is queued again" in after
    assert "Nothing failed." in after


def test_an_unconfirmed_write_is_resent_only_when_the_admin_confirms(
    page: PageClient, engine: Engine, tenant: TenantCredentials
) -> None:
    job_id = failed_job(engine, tenant.id, "unconfirmed", code=None, message="the answer was lost")
    form = page.get(f"/status/tenants/{tenant.name}").text
    assert 'name="resend"' in form and "I checked QuickBooks" in visible_text(form)

    refused = act(page, tenant.name, action="retry", job_id=str(job_id))
    assert "look in QuickBooks first" in refused and job_status(engine, job_id) == "unconfirmed"

    act(page, tenant.name, action="retry", job_id=str(job_id), resend="yes")
    assert job_status(engine, job_id) == "queued"


def test_retry_refuses_another_tenants_job(
    page: PageClient, engine: Engine, make_tenant: Callable[..., TenantCredentials]
) -> None:
    acme, globex = make_tenant("acme"), make_tenant("globex")
    theirs = failed_job(engine, globex.id)
    shown = act(page, acme.name, action="retry", job_id=str(theirs))
    assert f"acme has no job '{theirs}'" in shown and job_status(engine, theirs) == "failed"
    assert "no job 'x'" in act(page, acme.name, action="retry", job_id="x")


def test_link_binds_the_customer_and_releases_its_order(page: PageClient, shop: Shop) -> None:
    trouble = make_trouble(shop)
    tenant_page = page.get(f"/status/tenants/{shop.tenant.name}").text
    shown = visible_text(tenant_page)
    assert "Customers waiting for a mapping" in shown and trouble.waiting_customer in shown
    assert f'<option value="{trouble.quickbooks_list_id}">' in tenant_page, "offered by name"

    after = act(
        page,
        shop.tenant.name,
        action="link",
        customer_id=trouble.waiting_customer,
        qb_list_id=trouble.quickbooks_list_id,
    )

    assert f"is linked to QuickBooks customer {trouble.quickbooks_list_id}" in after
    assert "No customer waits for a mapping." in after
    row = shop.row("customers", trouble.waiting_customer)
    assert row["qb_list_id"] == trouble.quickbooks_list_id and row["sync_state"] == "pending"
    assert shop.job(trouble.customer_job)["status"] == "queued"
    assert shop.job(trouble.held_order_job)["status"] == "queued", "the held order goes by itself"
    assert shop.session().ok
    assert shop.row("sales_orders", "o-held")["sync_state"] == "synced"


def test_link_says_why_it_cannot(page: PageClient, shop: Shop) -> None:
    trouble = make_trouble(shop)
    taken = shop.row("customers", "c-1")["qb_list_id"]
    shown = act(page, shop.tenant.name, action="link", customer_id=trouble.waiting_customer, qb_list_id=taken)
    assert "is customer 'c-1' already" in shown
    assert shop.row("customers", trouble.waiting_customer)["qb_list_id"] is None
    assert "Pick the QuickBooks customer" in act(
        page, shop.tenant.name, action="link", customer_id=trouble.waiting_customer
    )


def test_the_link_form_narrows_a_long_list_by_the_names_start(page: PageClient, shop: Shop) -> None:
    trouble = make_trouble(shop)
    shop.sql(
        """INSERT INTO customers (tenant_id, qb_list_id, name, full_name, sync_state)
           SELECT :t, 'ZZ-' || n, 'Zed ' || n, 'Zed ' || n, 'synced' FROM generate_series(1, 250) n""",
        t=shop.tenant.id,
    )
    path = f"/status/tenants/{shop.tenant.name}"
    full = page.get(path).text
    assert full.count('<option value="ZZ-') <= 200 and "type more of the name" in visible_text(full)
    narrowed = page.get(path + "?q=zed%2012").text
    assert {f"Zed 12{n}" for n in range(10)} | {"Zed 12"} <= set(_options(narrowed))
    assert "Zed 13" not in _options(narrowed)
    assert trouble.quickbooks_name in _options(narrowed), "the customer of the same name stays offered"


def _options(page_html: str) -> list[str]:
    return [html.unescape(name) for name in re.findall(r'<option value="[^"]+">([^<]*)</option>', page_html)]


def test_sync_now_makes_every_pull_due(page: PageClient, shop: Shop) -> None:
    shop.sql(
        "UPDATE sync_cursors SET next_due_at = now() + interval '1 day' WHERE tenant_id = :t",
        t=shop.tenant.id,
    )
    shown = act(page, shop.tenant.name, action="sync")
    assert "Sync now:" in shown and "pulls are due" in shown
    with shop.engine.connect() as conn:
        states = pull_states(conn, shop.tenant.id)
        now = conn.execute(text("SELECT now()")).scalar_one()
    assert all(s.next_due_at is not None and s.next_due_at <= now for s in states if not s.off)


def test_a_tenant_page_escapes_what_it_shows_and_caps_the_failures(
    page: PageClient, engine: Engine, tenant: TenantCredentials
) -> None:
    for n in range(55):
        failed_job(engine, tenant.id, message=f"<script>alert({n})</script> & more")
    reply = page.get(f"/status/tenants/{tenant.name}")
    assert "<script>" not in reply.text and "&lt;script&gt;alert(54)&lt;/script&gt; &amp; more" in reply.text
    shown = visible_text(reply.text)
    assert "Showing the newest 50 of 55" in shown and "qbwc-server jobs list --tenant acme" in shown
    assert reply.text.count('value="retry"') == 50


def test_a_flash_not_signed_by_this_login_is_not_shown(page: PageClient, tenant: TenantCredentials) -> None:
    forged = page.get(f"/status/tenants/{tenant.name}?flash=Call+support+at+555&kind=ok&sig=00")
    assert "Call support" not in forged.text


def test_names_are_percent_encoded_in_links(
    page: PageClient, engine: Engine, tenant: TenantCredentials
) -> None:
    with engine.begin() as conn:  # a name made before names were restricted
        conn.execute(text("UPDATE tenants SET name = 'Acme & Co/West <1>' WHERE id = :t"), {"t": tenant.id})
    index = page.get("/status").text
    assert 'href="/status/tenants/Acme%20%26%20Co%2FWest%20%3C1%3E"' in index
    assert "Acme &amp; Co/West &lt;1&gt;" in index
    shown = act(page, "Acme & Co/West <1>", action="sync")
    assert "Sync now:" in shown and "Acme & Co/West <1>" in shown
    missing = page.get("/status/tenants/nobody")
    assert missing.status == 404 and "No company named 'nobody'" in visible_text(missing.text)
