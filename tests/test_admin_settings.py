"""A tenant's settings as the server lives with them: a bad stored value never stops the tenant,
and a changed pull interval takes effect from now (admin/settings.py, sync/schedule.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Engine, text

from qbwc_server.admin.settings import get_settings, set_pull_settings
from qbwc_server.testing import BackgroundServer
from tests.conftest import Run, TenantCredentials
from tests.wire import call

HUGE = 9999999999999999999999 * 86400  # what `--pull invoices=9999999999999999999999d` meant


def authenticate(url: str, creds: TenantCredentials) -> list[str]:
    return call(
        url, "authenticate", ("strUserName", creds.username), ("strPassword", creds.password)
    ).strings("authenticate")


def test_a_stored_interval_out_of_bounds_falls_back_to_the_default_and_status_says_so(
    make_tenant: Callable[..., TenantCredentials], engine: Engine, server: BackgroundServer, cli: Run
) -> None:
    tenant = make_tenant(pulls=True)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE tenants SET settings = CAST(:s AS jsonb) WHERE id = :t"),
            {"s": f'{{"pull_intervals": {{"invoices": {HUGE}, "classes": 0}}}}', "t": tenant.id},
        )

    ticket, _ = authenticate(server.url, tenant)  # was: OverflowError -> Internal Error, every poll

    assert len(ticket) >= 32
    with engine.connect() as conn:
        kinds = set(conn.execute(text("SELECT kind FROM jobs")).scalars())
        assert "invoices.pull" in kinds and "classes.pull" not in kinds, "the good value still applies"
        assert get_settings(conn, tenant.id).pull_interval("invoices") is None
    shown = cli("status", "acme")
    assert shown.returncode == 0, shown.stderr
    problem = shown.stdout.split("Problem", 1)[1]
    assert "invoices" in problem and "default" in problem and "none" not in problem.splitlines()[0]


def test_a_changed_interval_applies_from_now_not_after_the_old_due_time(
    make_tenant: Callable[..., TenantCredentials], engine: Engine
) -> None:
    tenant = make_tenant(pulls=True)
    with engine.begin() as conn:
        set_pull_settings(conn, tenant.id, intervals={"customers": 86400, "invoices": 86400})
        for entity, completed in (("customers", "1 hour"), ("invoices", "10 minutes")):
            conn.execute(
                text(
                    "INSERT INTO sync_cursors (tenant_id, entity, last_completed_at, next_due_at)"
                    " VALUES (:t, :e, now() - CAST(:ago AS interval), now() - CAST(:ago AS interval)"
                    " + interval '1 day')"
                ),
                {"t": tenant.id, "e": entity, "ago": completed},
            )

        set_pull_settings(conn, tenant.id, intervals={"customers": 900, "invoices": 7200})

        due = dict(
            conn.execute(
                text(
                    "SELECT entity, next_due_at - now() FROM sync_cursors"
                    " WHERE tenant_id = :t AND entity IN ('customers', 'invoices')"
                ),
                {"t": tenant.id},
            ).all()
        )
    assert due["customers"] <= dt.timedelta(0), "last pulled an hour ago, every 15 min: due now"
    assert dt.timedelta(minutes=109) < due["invoices"] <= dt.timedelta(minutes=110)
