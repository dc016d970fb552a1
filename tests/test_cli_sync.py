"""The sync commands as an admin runs them: `refresh`, `reps`, `pulls`, `tenant set --pull`, and
`simulate --company` against a served app (the `cli` fixture: `qbwc-server` in this process)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from qbwc_server.testing import BackgroundServer
from tests.conftest import Run, TenantCredentials


def test_refresh_queues_a_full_pull_of_a_group_and_refuses_an_unknown_entity(
    cli: Run,
    tenant: TenantCredentials,
    engine: Engine,
) -> None:
    done = cli("refresh", "acme", "inventory")
    assert done.returncode == 0, done.stderr
    assert "inventory_quantities, assembly_quantities" in done.stdout and "next connects" in done.stdout
    with engine.connect() as conn:
        jobs = conn.execute(text("SELECT kind, status, params FROM jobs ORDER BY id")).all()
    assert [(kind, status) for kind, status, _ in jobs] == [
        ("inventory_quantities.pull", "queued"),
        ("assembly_quantities.pull", "queued"),
    ]
    assert all("since" not in params for _, _, params in jobs), "a refresh reads everything"

    again = cli("refresh", "acme", "inventory_quantities")
    assert again.returncode == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 2, (
            "no second job while one waits"
        )

    bad = cli("refresh", "acme", "widgets")
    assert bad.returncode == 2
    assert (
        bad.stderr.count("\n") == 1 and "unknown entity 'widgets'" in bad.stderr and "invoices" in bad.stderr
    )
    assert cli("refresh", "nobody", "invoices").returncode == 2


def test_reps_map_and_list(cli: Run, tenant: TenantCredentials, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sales_reps (tenant_id, qb_list_id, code, entity_name) VALUES (:t, :id, 'JS', :n)"
            ),
            {"t": tenant.id, "id": "80000001-1", "n": "Jo Smith"},
        )
    mapped = cli("reps", "map", "acme", "JS", "jo@example.com")
    assert mapped.returncode == 0 and "is jo@example.com." in mapped.stdout
    early = cli("reps", "map", "acme", "NEW", "new@example.com")
    assert early.returncode == 0 and "no sales rep with that code has been pulled" in early.stdout
    remapped = cli("reps", "map", "acme", "JS", "joanna@example.com")
    assert remapped.returncode == 0
    listing = cli("reps", "list", "acme")
    assert "JS" in listing.stdout and "Jo Smith" in listing.stdout and "joanna@example.com" in listing.stdout
    assert "NEW" in listing.stdout and "(not in QuickBooks)" in listing.stdout
    bad = cli("reps", "map", "acme", "JS", "not-an-email")
    assert bad.returncode == 2 and "email" in bad.stderr


def test_tenant_set_changes_the_pull_schedule(cli: Run, tenant: TenantCredentials, engine: Engine) -> None:
    done = cli(
        "tenant", "set", "acme", "--pull", "customers=15m", "--pull", "classes=off", "--page-size", "200"
    )
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        settings = conn.execute(
            text("SELECT settings FROM tenants WHERE id = :t"), {"t": tenant.id}
        ).scalar_one()
    assert settings["pull_intervals"]["customers"] == 900 and settings["pull_intervals"]["classes"] == 0
    assert settings["pull_page_size"] == 200
    for wrong in (
        ["--pull", "widgets=5m"],
        ["--pull", "customers"],
        ["--pull", "customers=soon"],
        ["--page-size", "0"],
    ):
        bad = cli("tenant", "set", "acme", *wrong)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1, (wrong, bad.stderr)


def test_simulate_with_a_generated_company_syncs_it_and_pulls_reports_each_entity(
    cli: Run,
    make_tenant: Callable[..., TenantCredentials],
    server: BackgroundServer,
    engine: Engine,
) -> None:
    tenant = make_tenant("shop", pulls=True)
    run = cli(
        "simulate",
        "--url",
        server.url,
        "--user",
        tenant.username,
        "--password-stdin",
        "--company",
        "--customers",
        "40",
        "--noop-delay",
        "0.01",
        stdin=tenant.password + "\n",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "pulled" in run.stdout and "40 customers" in run.stdout
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() == 40

    status = cli("status", "shop")
    assert (
        "Pulls:" in status.stdout and "never completed" not in status.stdout
    )  # each pull: when it completed

    pulls = cli("pulls", "shop")
    assert pulls.returncode == 0
    lines = {line.split()[0]: line for line in pulls.stdout.splitlines()[1:]}
    assert {"customers", "invoices", "inventory_quantities", "txn_deletions"} <= set(lines)
    assert "done" in lines["customers"] and "never" not in lines["customers"].split("done")[0][:45]


@pytest.mark.parametrize("command", [["refresh", "--help"], ["reps", "map", "--help"], ["pulls", "--help"]])
def test_sync_commands_explain_themselves(cli: Run, command: list[str]) -> None:
    shown = cli(*command)
    assert shown.returncode == 0 and "usage: qbwc-server" in shown.stdout
