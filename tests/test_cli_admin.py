"""The admin commands of the hardening pass: tenant names, disable/enable/delete, `reps unmap`,
`db url`, `qwc` without a public URL, readable `tenant set` (in this process, real database)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from qbwc_server.testing import BackgroundServer
from tests.conftest import Run, TenantCredentials
from tests.console import cli_environment, run_in_process
from tests.test_cli import ok, refused
from tests.wire import call


def count(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


# -- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["acme corp", "a" * 65, "-acme", ".acme", "acmé", "acme/x", ""])
def test_tenant_names_are_short_url_safe_words(cli: Run, name: str) -> None:
    refused(cli("tenant", "add", "--username", "u", "--", name), "tenant name")


def test_good_names_and_existing_odd_ones_keep_working(cli: Run, engine: Engine) -> None:
    ok(cli("tenant", "add", "Acme.co_1-x", "--username", "acme-qb"))
    ok(cli("tenant", "add", "a" * 64, "--username", "long-qb"))
    with engine.begin() as conn:  # made by an earlier release, before names were checked
        conn.execute(
            text(
                "INSERT INTO tenants (name, username, password_kind, password_hash)"
                " VALUES ('Old Company Inc', 'old-qb', 'token', 'x')"
            )
        )
    assert ok(cli("status", "Old Company Inc")).startswith("Old Company Inc: never_connected\n")
    assert "old-qb" in ok(cli("qwc", "Old Company Inc"))
    ok(cli("tenant", "set", "Old Company Inc", "--pull", "customers=30m"))


# -- disable, enable, delete ------------------------------------------------------------------


def test_disable_stores_the_flag_ends_the_session_and_status_says_so(
    cli: Run, tenant: TenantCredentials, engine: Engine
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO qbwc_sessions (ticket, tenant_id) VALUES ('live', :t)"), {"t": tenant.id}
        )

    out = ok(cli("tenant", "disable", "acme"))

    assert "Disabled 'acme'" in out and "tenant enable acme" in out
    assert count(engine, "SELECT count(*) FROM tenants WHERE settings->>'disabled_at' IS NOT NULL") == 1
    assert count(engine, "SELECT count(*) FROM qbwc_sessions WHERE state = 'open'") == 0
    shown = ok(cli("status", "acme"))
    assert shown.startswith("acme: disabled\n") and "tenant enable acme" in shown
    assert "disabled" in ok(cli("tenant", "list"))
    assert "already disabled" in ok(cli("tenant", "disable", "acme"))

    assert "Enabled 'acme'" in ok(cli("tenant", "enable", "acme"))
    assert count(engine, "SELECT count(*) FROM tenants WHERE settings ? 'disabled_at'") == 0
    assert "Problem:        none" in ok(cli("status", "acme"))
    assert "was not disabled" in ok(cli("tenant", "enable", "acme"))
    refused(cli("tenant", "disable", "nosuch"), "no tenant named 'nosuch'")


def test_disable_keeps_the_other_settings(cli: Run, tenant: TenantCredentials, engine: Engine) -> None:
    ok(cli("tenant", "set", "acme", "--pull", "invoices=2m", "--page-size", "200"))
    ok(cli("tenant", "disable", "acme"))
    ok(cli("tenant", "set", "acme", "--pull", "customers=30m"))  # still disabled after a change
    ok(cli("tenant", "enable", "acme"))
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT settings FROM tenants WHERE id = :t"), {"t": tenant.id}
        ).scalar_one()
    assert stored["pull_intervals"]["invoices"] == 120 and stored["pull_intervals"]["customers"] == 1800
    assert stored["pull_page_size"] == 200 and "disabled_at" not in stored


def test_a_disabled_tenant_is_refused_by_authenticate(
    cli: Run, tenant: TenantCredentials, server: BackgroundServer
) -> None:
    ok(cli("tenant", "disable", "acme"))
    answer = call(
        server.url, "authenticate", ("strUserName", tenant.username), ("strPassword", tenant.password)
    ).strings("authenticate")
    assert answer[1] == "nvu"


def test_delete_asks_for_yes_then_removes_the_tenant_and_all_it_owns(
    cli: Run, make_tenant: Callable[..., TenantCredentials], engine: Engine
) -> None:
    acme, other = make_tenant("acme"), make_tenant("globex")
    with engine.begin() as conn:
        for t in (acme.id, other.id):
            conn.execute(text("INSERT INTO jobs (tenant_id, kind) VALUES (:t, 'qbxml.raw')"), {"t": t})
            conn.execute(
                text(
                    "INSERT INTO customers (tenant_id, name, full_name, qb_list_id)"
                    " VALUES (:t, 'C', 'C', '1')"
                ),
                {"t": t},
            )

    asked = cli("tenant", "delete", "acme")

    refused(asked, "--yes")
    assert "1 job" in asked.stderr and "1 customer" in asked.stderr
    assert count(engine, "SELECT count(*) FROM tenants") == 2
    out = ok(cli("tenant", "delete", "acme", "--yes"))
    assert "Deleted tenant 'acme'" in out
    assert count(engine, "SELECT count(*) FROM tenants") == 1
    assert count(engine, "SELECT count(*) FROM jobs WHERE tenant_id = :t", t=acme.id) == 0
    assert count(engine, "SELECT count(*) FROM customers WHERE tenant_id = :t", t=acme.id) == 0
    assert count(engine, "SELECT count(*) FROM customers WHERE tenant_id = :t", t=other.id) == 1
    refused(cli("tenant", "delete", "acme", "--yes"), "no tenant named 'acme'")


# -- reps -------------------------------------------------------------------------------------


def test_reps_unmap_removes_a_mapping(cli: Run, tenant: TenantCredentials, engine: Engine) -> None:
    ok(cli("reps", "map", "acme", "JS", "jo@example.com"))

    out = ok(cli("reps", "unmap", "acme", "JS"))

    assert "JS" in out and "jo@example.com" in out
    assert count(engine, "SELECT count(*) FROM sales_rep_emails") == 0
    refused(cli("reps", "unmap", "acme", "JS"), "no email mapped to rep code 'JS'")
    refused(cli("reps", "unmap", "nosuch", "JS"), "no tenant named")


# -- db url, qwc, tenant set ------------------------------------------------------------------


def test_db_url_is_one_psql_accepts_with_the_password_masked(database_url: str, tmp_path: Path) -> None:
    with_password = make_url(database_url).set(password="s3cret").render_as_string(hide_password=False)
    env = cli_environment(with_password, tmp_path)

    masked = ok(run_in_process(["db", "url"], env)).strip()
    shown = ok(run_in_process(["db", "url", "--show-password"], env)).strip()

    assert masked.startswith("postgresql://") and "+psycopg2" not in masked
    assert "s3cret" not in masked and "***" in masked
    assert shown.startswith("postgresql://") and ":s3cret@" in shown
    plain = ok(run_in_process(["db", "url"], cli_environment(database_url, tmp_path))).strip()
    psql = shutil.which("psql")
    if psql:
        result = subprocess.run([psql, plain, "-Atc", "SELECT 1"], capture_output=True, text=True, timeout=30)
        assert result.stdout.strip() == "1", result.stderr


def test_qwc_warns_when_the_app_url_is_this_machine(
    database_url: str, tmp_path: Path, make_tenant: Callable[..., TenantCredentials]
) -> None:
    make_tenant("acme")
    env = cli_environment(database_url, tmp_path)
    unset = {k: v for k, v in env.items() if k != "QBWC_PUBLIC_URL"}

    local = run_in_process(["qwc", "acme"], unset)
    public = run_in_process(["qwc", "acme"], env)

    assert local.returncode == 0 and "<AppURL>http://localhost:8000/qbwc</AppURL>" in local.stdout
    [warning] = local.stderr.strip().splitlines()
    assert "QBWC_PUBLIC_URL" in warning and "another PC" in warning
    assert public.returncode == 0 and public.stderr == ""


def test_tenant_set_prints_readable_lines(cli: Run, tenant: TenantCredentials) -> None:
    out = ok(
        cli("tenant", "set", "acme", "--pull", "invoices=2m", "--pull", "classes=off", "--page-size", "200")
    )

    assert "{" not in out and "'pull_" not in out
    assert "invoices every 2m" in out and "classes off" in out and "200 records" in out
    refused(cli("tenant", "set", "acme", "--pull", "invoices=9999999999999999999999d"), "31 days")


def test_the_mit_license_pyproject_names_is_shipped() -> None:
    from tests.conftest import REPO_ROOT

    license_text = (REPO_ROOT / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License")
    assert "Copyright (c) 2026 qbwc-server contributors" in license_text
    assert 'license = { text = "MIT" }' in (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
