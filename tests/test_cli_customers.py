"""`qbwc-server customers link TENANT ID LISTID`: the same work as POST /customers/{id}/link."""

from __future__ import annotations

from sqlalchemy import Engine, text

from qbwc_server.admin import records
from tests.conftest import Run, TenantCredentials


def test_link_binds_the_customer_and_requeues_its_push(
    cli: Run, engine: Engine, tenant: TenantCredentials
) -> None:
    with engine.begin() as conn:
        records.put_customer(conn, tenant.id, "c-17", {"name": "Acme"})
        conn.execute(text("UPDATE jobs SET status = 'failed', finished_at = now()"))
        conn.execute(text("UPDATE customers SET sync_state = 'needs_mapping'"))
    result = cli("customers", "link", tenant.name, "c-17", "80000001-1234567890")
    assert (result.returncode, result.stderr) == (0, "")
    assert "QuickBooks customer 80000001-1234567890" in result.stdout
    with engine.connect() as conn:
        assert conn.execute(text("SELECT qb_list_id, sync_state FROM customers")).one() == (
            "80000001-1234567890",
            "pending",
        )
        assert conn.execute(text("SELECT status FROM jobs")).scalar_one() == "queued"


def test_link_refusals_are_one_line(cli: Run, tenant: TenantCredentials) -> None:
    unknown = cli("customers", "link", tenant.name, "c-404", "80000001-1")
    assert unknown.returncode == 2
    assert unknown.stderr == "qbwc-server: no customer with id 'c-404'\n"
    bad = cli("customers", "link", tenant.name, "c-404", "not a list id")
    assert (bad.returncode, bad.stderr.count("\n")) == (2, 1)
    assert "ListID" in bad.stderr
    assert cli("customers", "link", "nobody", "c-1", "8-1").returncode == 2
    assert cli("customers", "--help").returncode == 0
