"""Defaults resolution (sync/defaults.py) against a real mirror: sales tax code, rep, list entries,
and the `lists.push` jobs planned for defaults the company lacks — once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from qbwc_server.queue import ClaimedJob
from qbwc_server.sync import defaults
from qbwc_server.sync.push import PushContext
from tests.conftest import TenantCredentials


@pytest.fixture
def tenant_id(make_tenant: Callable[..., TenantCredentials], engine: Engine) -> int:
    tenant = make_tenant("acme")
    with engine.begin() as conn:
        for n, (code, name, active) in enumerate(
            [("AD", "Admin", True), ("JS", "John Smith", True), ("OLD", "Old Rep", False)]
        ):
            _insert(conn, "sales_reps", tenant.id, n, code=code, entity_name=name, is_active=active)
        conn.execute(
            text(
                "INSERT INTO sales_rep_emails (tenant_id, code, email)"
                " VALUES (:t, 'JS', 'john@shop.example'), (:t, 'OLD', 'old@shop.example')"
            ),
            {"t": tenant.id},
        )
        _insert(conn, "terms", tenant.id, 10, name="Net 30", kind="standard")
        _insert(conn, "terms", tenant.id, 11, name="Net 15", kind="standard")
        _insert(conn, "terms", tenant.id, 12, name="Net 90", kind="standard", is_active=False)
        for n, name in enumerate(("Wholesale", "Retail", "Wholesale:Regional")):
            _insert(conn, "customer_types", tenant.id, 20 + n, name=name.rsplit(":")[-1], full_name=name)
    return tenant.id


def _insert(conn: Connection, table: str, tenant_id: int, n: int, **values: Any) -> None:
    values = {"qb_list_id": f"8000{n:04}-1", "is_active": True, **values}
    columns = ", ".join(values)
    conn.execute(
        text(
            f"INSERT INTO {table} (tenant_id, {columns})"
            f" VALUES (:tenant_id, {', '.join(':' + c for c in values)})"
        ),
        {"tenant_id": tenant_id, **values},
    )


@pytest.fixture
def ctx(engine: Engine, tenant_id: int) -> Iterator[PushContext]:
    with engine.connect() as conn:
        conn.begin()
        yield PushContext(conn, ClaimedJob(id=1, tenant_id=tenant_id, kind="customers.push", entity_ref="1"))
        conn.rollback()


def _set(
    engine: Engine,
    tenant_id: int,
    *,
    push: dict[str, Any] | None = None,
    preferences: dict[str, Any] | None = None,
) -> None:
    with engine.begin() as conn:
        if push is not None:
            conn.execute(
                text(
                    "UPDATE tenants SET settings = jsonb_set(settings, '{push}', CAST(:p AS jsonb))"
                    " WHERE id = :t"
                ),
                {"p": json.dumps(push), "t": tenant_id},
            )
        if preferences is not None:
            conn.execute(
                text("UPDATE tenants SET company_preferences = CAST(:p AS jsonb) WHERE id = :t"),
                {"p": json.dumps(preferences), "t": tenant_id},
            )


def _context(engine: Engine, tenant_id: int) -> PushContext:
    conn = engine.connect()
    conn.begin()
    return PushContext(conn, ClaimedJob(id=1, tenant_id=tenant_id, kind="customers.push", entity_ref="1"))


def _list_jobs(engine: Engine) -> list[tuple[str, str, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT entity_ref, status, params FROM jobs WHERE kind = 'lists.push' ORDER BY id")
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest.mark.parametrize(
    ("push", "preferences", "expected"),
    [
        ({}, {}, "Non"),
        ({}, {"sales_tax": True, "non_taxable_code": "NTX"}, "NTX"),
        ({"default_tax_code": "Out"}, {"sales_tax": True, "non_taxable_code": "NTX"}, "Out"),
        ({"default_tax_code": "Out"}, {"sales_tax": False, "non_taxable_code": "NTX"}, None),
        ({}, {"sales_tax": None}, "Non"),
    ],
)
def test_the_sales_tax_code(
    engine: Engine, tenant_id: int, push: dict[str, Any], preferences: dict[str, Any], expected: str | None
) -> None:
    _set(engine, tenant_id, push=push, preferences=preferences)
    context = _context(engine, tenant_id)
    try:
        assert defaults.sales_tax_code(context) == expected
    finally:
        context.conn.close()


def test_a_rep_email_maps_to_its_rep_else_the_default_rep(ctx: PushContext) -> None:
    assert defaults.rep_initials(ctx, " John@Shop.example ") == "JS"
    assert defaults.rep_initials(ctx, "nobody@shop.example") == "AD"  # "Admin" is the name AD stands for
    assert defaults.rep_initials(ctx, "old@shop.example") == "AD"  # mapped to an inactive rep
    assert defaults.rep_initials(ctx, None) == "AD"


def test_the_default_rep_by_initials_or_none_at_all(engine: Engine, tenant_id: int) -> None:
    _set(engine, tenant_id, push={"default_rep": "js"})
    context = _context(engine, tenant_id)
    try:
        assert defaults.rep_initials(context, None) == "JS"
    finally:
        context.conn.close()
    _set(engine, tenant_id, push={"default_rep": "Nobody Here"})
    context = _context(engine, tenant_id)
    try:
        assert defaults.rep_initials(context, "nobody@shop.example") is None  # no SalesRepRef then
    finally:
        context.conn.close()


def test_a_list_entry_is_the_mirrors_spelling_else_the_default(ctx: PushContext, engine: Engine) -> None:
    assert defaults.list_entry(ctx, "terms", "net 15") == "Net 15"
    assert defaults.list_entry(ctx, "terms", "Net 45") == "Net 30"  # unmatched: the default
    assert defaults.list_entry(ctx, "terms", "Net 90") == "Net 30"  # inactive in QuickBooks
    assert defaults.list_entry(ctx, "terms", None) == "Net 30"
    assert defaults.list_entry(ctx, "customer_types", "wholesale:regional") == "Wholesale:Regional"
    assert defaults.list_entry(ctx, "customer_types", "Regional") == "Wholesale"  # a FullName, not a Name
    assert _list_jobs(engine) == []


def test_a_default_the_company_lacks_is_omitted_and_planned_once(ctx: PushContext, engine: Engine) -> None:
    assert defaults.list_entry(ctx, "classes", "Retail") is None
    assert defaults.list_entry(ctx, "classes", None) is None
    planned = _list_jobs(engine)  # committed, though the request is built in a read-only transaction
    assert planned == [("classes:Wizcommerce", "queued", {"list": "classes", "name": "Wizcommerce"})]
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET status = 'done', finished_at = now() WHERE kind = 'lists.push'"))
    assert defaults.list_entry(ctx, "classes", None) is None
    assert len(_list_jobs(engine)) == 1, "refused within the day: not asked again"
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE jobs SET finished_at = now() - interval '2 days' WHERE kind = 'lists.push'")
        )
    assert defaults.list_entry(ctx, "classes", None) is None
    assert len(_list_jobs(engine)) == 2, "a day later it is looked for again"


def test_no_class_when_class_tracking_is_off(engine: Engine, tenant_id: int) -> None:
    _set(engine, tenant_id, preferences={"class_tracking": False})
    context = _context(engine, tenant_id)
    try:
        assert defaults.list_entry(context, "classes", "Wizcommerce") is None
    finally:
        context.conn.close()
    with engine.begin() as conn:
        assert defaults.plan_missing_defaults(conn, tenant_id, ["classes"]) == []
    assert _list_jobs(engine) == []


def test_missing_defaults_are_planned_at_put_time_and_reused(engine: Engine, tenant_id: int) -> None:
    _set(engine, tenant_id, push={"default_customer_type": "Key Accounts"})
    with engine.begin() as conn:
        first = defaults.plan_missing_defaults(conn, tenant_id, ["terms", "customer_types", "classes"])
    assert len(first) == 2  # terms "Net 30" is in the mirror
    assert [ref for ref, _, _ in _list_jobs(engine)] == ["customer_types:Key Accounts", "classes:Wizcommerce"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET status = 'unconfirmed' WHERE id = :id"), {"id": first[0]})
        again = defaults.plan_missing_defaults(conn, tenant_id, ["customer_types", "classes", "classes"])
    assert again == first, "a job not done is what the next record depends on too"
    with pytest.raises(ValueError, match="items"), engine.begin() as conn:
        defaults.plan_missing_defaults(conn, tenant_id, ["items"])
