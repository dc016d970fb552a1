"""What the push tests share: a small simulated company pulled into the mirror once, commerce rows
written as the API writes them (row + commerce_body + push job, one transaction), and sessions
whose every request is recorded and validated against Intuit's XSD.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from qbwc_server.simulator.company import Company
from qbwc_server.simulator.generator import generate_company
from qbwc_server.simulator.preferences import Preferences
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from qbwc_server.simulator.webconnector import SessionReport, SimulatedWebConnector
from qbwc_server.sync.push import plan_push
from qbwc_server.testing import BackgroundServer
from tests.conftest import TenantCredentials
from tests.pushing import Recorder

PREMIER = {
    "edition": "premier",
    "class_tracking": True,
    "sales_tax": True,
    "non_taxable_code": "Non",
    "estimates": True,
    "sales_orders": True,
}


@dataclass
class Shop:
    """A tenant synced with a small simulated company, and the way to push to it."""

    server: BackgroundServer
    tenant: TenantCredentials
    engine: Engine
    company: Company
    quickbooks: Recorder
    reports: list[SessionReport] = field(default_factory=list)

    def session(self) -> SessionReport:
        connector = SimulatedWebConnector(
            self.server.url, self.tenant.username, self.tenant.password, self.quickbooks, noop_delay=0.01
        )
        report = connector.run_session()
        self.reports.append(report)
        return report

    def sql(self, statement: str, **params: Any) -> list[dict[str, Any]]:
        with self.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return [dict(row) for row in result.mappings()] if result.returns_rows else []

    def one(self, statement: str, **params: Any) -> dict[str, Any]:
        rows = self.sql(statement, **params)
        assert len(rows) == 1, rows
        return rows[0]

    def preferences(self, **values: Any) -> None:
        """The company's edition and preferences, in QuickBooks (what the next session's HCP
        response says, and what the server stores from it) and as stored until then."""
        wanted = {**PREMIER, **values}
        self.quickbooks.inner.preferences = Preferences(
            edition=wanted["edition"],
            class_tracking=wanted["class_tracking"],
            sales_tax=wanted["sales_tax"],
            estimates=wanted["estimates"],
            sales_orders_enabled=wanted["sales_orders"] is not False,
        )
        self.sql(
            "UPDATE tenants SET company_preferences = CAST(:p AS jsonb) WHERE id = :t",
            p=json.dumps({**PREMIER, **values}),
            t=self.tenant.id,
        )

    def push_settings(self, **values: Any) -> None:
        self.sql(
            "UPDATE tenants SET settings = jsonb_set(settings, '{push}',"
            " coalesce(settings -> 'push', '{}') || CAST(:p AS jsonb)) WHERE id = :t",
            p=json.dumps(values),
            t=self.tenant.id,
        )

    def customer(self, commerce_id: str, index: int = 0) -> str:
        """Bind a pulled customer (the index-th active one) to `commerce_id`; its ListID."""
        list_id = sorted(c.list_id for c in self.company.customers.values() if c.is_active)[index]
        self.sql(
            "UPDATE customers SET commerce_id = :c WHERE tenant_id = :t AND qb_list_id = :l",
            c=commerce_id,
            t=self.tenant.id,
            l=list_id,
        )
        return list_id

    def skus(self) -> list[str]:
        return sorted(i.full_name for i in self.company.items.values() if i.is_active)

    def put(
        self, table: str, commerce_id: str, body: dict[str, Any], *, depends_on: Iterable[int] = ()
    ) -> tuple[int, int]:
        """A commerce write as the API makes it: the row (insert or update) and its push job."""
        kind = {"sales_orders": "orders.push", "payments": "payments.push", "customers": "customers.push"}[
            table
        ]
        names = (", name, full_name", ", :n, :n") if table == "customers" else ("", "")
        with self.engine.begin() as conn:
            row_id = conn.execute(
                text(f"""
                    INSERT INTO {table} (tenant_id, commerce_id, commerce_body, commerce_updated_at,
                                         sync_state{names[0]})
                    VALUES (:t, :c, CAST(:b AS jsonb), now(), 'pending'{names[1]})
                    ON CONFLICT (tenant_id, commerce_id) WHERE commerce_id IS NOT NULL DO UPDATE
                    SET commerce_body = EXCLUDED.commerce_body, commerce_updated_at = now(),
                        sync_state = 'pending'
                    RETURNING id
                """),
                {"t": self.tenant.id, "c": commerce_id, "b": json.dumps(body), "n": body.get("name")},
            ).scalar_one()
            job_id = plan_push(conn, self.tenant.id, kind, row_id, depends_on=depends_on)
        return int(row_id), job_id

    def row(self, table: str, commerce_id: str) -> dict[str, Any]:
        return self.one(
            f"SELECT * FROM {table} WHERE tenant_id = :t AND commerce_id = :c",
            t=self.tenant.id,
            c=commerce_id,
        )

    def job(self, job_id: int) -> dict[str, Any]:
        return self.one("SELECT * FROM jobs WHERE id = :id", id=job_id)


def make_shop(
    server: BackgroundServer,
    make_tenant: Callable[..., TenantCredentials],
    engine: Engine,
    *,
    name: str = "shop",
    customers: int = 6,
    items: int = 8,
) -> Shop:
    """A tenant whose mirror holds a small company (lists, customers, items), pulls then off."""
    company = generate_company(
        seed=11, customers=customers, items=items, sales_orders=0, invoices=0, payments=0
    )
    tenant = make_tenant(name, pulls=True)
    shop = Shop(server, tenant, engine, company, Recorder(SimulatedQuickBooks(company)))
    report = shop.session()
    assert report.ok, report.errors
    shop.sql(
        """UPDATE tenants SET settings = settings || '{"pull_intervals": {"default": 0}}'::jsonb
           WHERE id = :t""",
        t=tenant.id,
    )
    shop.sql("DELETE FROM jobs WHERE tenant_id = :t AND status = 'queued'", t=tenant.id)
    shop.preferences()
    shop.quickbooks.requests.clear()
    return shop


def order_body(shop: Shop, number: str, customer_id: str, lines: int = 2, **extra: Any) -> dict[str, Any]:
    skus = shop.skus()
    return {
        "number": number,
        "customer_id": customer_id,
        "date": "2026-11-29",
        "lines": [
            {"line_id": f"{number}-{i}", "sku": skus[i % len(skus)], "quantity": str(i + 1), "rate": "12.5"}
            for i in range(lines)
        ],
        **extra,
    }
