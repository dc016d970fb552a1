"""`qbwc-server tenant set NAME --live-window … --orders-as … --default-… --payment-wait …
--readd-deleted …` and what `tenant show` says about pushes and the company's preferences."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text

from qbwc_server.admin import settings as tenant_settings
from qbwc_server.config import TenantSettings
from qbwc_server.qbxml.preferences import SALES_ORDERS_UNAVAILABLE, CompanyPreferences
from qbwc_server.sync.push_settings import PushSettings
from tests.conftest import Run
from tests.test_cli import ok, refused


def stored_push(engine: Engine) -> PushSettings:
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT settings FROM tenants WHERE name = 'acme'")).scalar_one()
    return PushSettings.of(TenantSettings.from_stored(raw))


def set_preferences(engine: Engine, preferences: CompanyPreferences) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE tenants SET company_preferences = CAST(:p AS jsonb) WHERE name = 'acme'"),
            {"p": json.dumps(preferences.to_json())},
        )


def test_every_push_flag_is_stored_and_shown(cli: Run, engine: Engine) -> None:
    ok(cli("tenant", "add", "acme", "--username", "acme-qb"))
    ok(cli("tenant", "set", "acme", "--pull", "customers=15m"))
    out = ok(
        cli(
            "tenant", "set", "acme", "--live-window", "30", "--orders-as", "estimates",
            "--default-tax-code", "Exm", "--default-class", "Web", "--default-rep", "JS",
            "--default-terms", "Net 15", "--default-customer-type", "Retail", "--payment-wait", "48",
            "--readd-deleted", "no",
        )
    )  # fmt: skip
    assert "Live window:    30s" in out and "Re-add deleted: no" in out
    assert stored_push(engine) == PushSettings(
        30, "estimates", "Exm", "Web", "JS", "Net 15", "Retail", 48, False
    )
    shown = ok(cli("tenant", "show", "acme"))
    expected = {
        "Live window": "30s",
        "Orders as": "estimates",
        "Tax code": "Exm",
        "Class": "Web",
        "Rep": "JS",
        "Terms": "Net 15",
        "Customer type": "Retail",
        "Payment wait": "48h",
    }
    for line in (f"{label + ':':15} {value}" for label, value in expected.items()):
        assert line in shown and line + " (default)" not in shown
    assert "Pulls:" in shown  # the pull schedule set before is kept
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT settings FROM tenants WHERE name = 'acme'")).scalar_one()
    assert raw["pull_intervals"] == {"customers": 900}

    # Back to the company's own non-taxable code; the rest stays.
    ok(cli("tenant", "set", "acme", "--default-tax-code", ""))
    assert stored_push(engine).default_tax_code is None and stored_push(engine).default_class == "Web"


def test_show_marks_defaults_and_says_what_is_not_known_yet(cli: Run) -> None:
    ok(cli("tenant", "add", "acme", "--username", "acme-qb"))
    shown = ok(cli("tenant", "show", "acme"))
    assert "Live window:    120s (default)" in shown
    assert "Orders as:      sales-orders (default)" in shown
    assert "Class:          Wizcommerce (default)" in shown
    assert "Re-add deleted: yes (default)" in shown
    assert "Company prefs:  not seen yet" in shown
    assert "Warning" not in shown


def test_show_warns_when_the_edition_cannot_create_sales_orders(cli: Run, engine: Engine) -> None:
    ok(cli("tenant", "add", "acme", "--username", "acme-qb"))
    set_preferences(engine, CompanyPreferences("pro", False, True, "Non", True, False))
    shown = ok(cli("tenant", "show", "acme"))
    assert "edition pro, class tracking off, sales tax on, non-taxable code Non, estimates on" in shown
    assert f"Warning:        {SALES_ORDERS_UNAVAILABLE}" in shown
    out = ok(cli("tenant", "set", "acme", "--orders-as", "estimates"))
    assert "Warning" not in out
    assert "Warning" not in ok(cli("tenant", "show", "acme"))
    # Estimates turned off: going as estimates cannot work either, and show says so.
    set_preferences(engine, CompanyPreferences("pro", False, True, "Non", False, False))
    assert "estimates are turned off" in ok(cli("tenant", "show", "acme"))


def test_enterprise_shows_no_warning(cli: Run, engine: Engine) -> None:
    ok(cli("tenant", "add", "acme", "--username", "acme-qb"))
    set_preferences(engine, CompanyPreferences("enterprise", True, False, None, None, None))
    shown = ok(cli("tenant", "show", "acme"))
    assert "edition enterprise, class tracking on, sales tax off, estimates unknown" in shown
    assert "Warning" not in shown


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        (("--live-window", "601"), "from 0 to 600 seconds"),
        (("--live-window", "-1"), "from 0 to 600 seconds"),
        (("--live-window", "2m"), "from 0 to 600 seconds"),
        (("--payment-wait", "99999"), "hours"),
        (("--orders-as", "invoices"), "invalid choice"),
        (("--readd-deleted", "maybe"), "invalid choice"),
        (("--default-class", "x" * 32), "class default: a name of 1 to 31 characters"),
        (("--default-rep", "  "), "rep default"),
        (("--default-terms", ""), "terms default"),
    ],
)
def test_bad_values_are_refused_on_one_line_and_change_nothing(
    cli: Run, engine: Engine, flags: tuple[str, ...], reason: str
) -> None:
    ok(cli("tenant", "add", "acme", "--username", "acme-qb"))
    refused(cli("tenant", "set", "acme", "--live-window", "30", *flags), reason)
    assert stored_push(engine) == PushSettings()


def test_nothing_to_change_names_the_push_flags(cli: Run) -> None:
    ok(cli("tenant", "add", "acme", "--username", "acme-qb"))
    refused(cli("tenant", "set", "acme"), "--live-window")


def test_set_push_settings_keeps_other_settings_and_stores_only_changes(engine: Engine, make_tenant) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(live_window=45)
    with engine.begin() as conn:
        push = tenant_settings.set_push_settings(conn, tenant.id, default_class="Web")
        assert push.live_window_seconds == 45 and push.default_class == "Web"
        raw = conn.execute(
            text("SELECT settings FROM tenants WHERE id = :id"), {"id": tenant.id}
        ).scalar_one()
        assert raw["push"] == {"live_window_seconds": 45, "default_class": "Web"}
        assert raw["pull_intervals"] == {"default": 0}
        with pytest.raises(ValueError, match="orders as"):
            tenant_settings.set_push_settings(conn, tenant.id, orders_as="bills")
        tenant_settings.set_push_settings(
            conn, tenant.id, live_window_seconds=120, default_class="Wizcommerce"
        )
        raw = conn.execute(
            text("SELECT settings FROM tenants WHERE id = :id"), {"id": tenant.id}
        ).scalar_one()
        assert "push" not in raw, "back to every default: nothing stored"
