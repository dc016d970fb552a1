"""Paging a list to its end over real HTTP while rows change underneath: no row twice in one
pass, no row lost — not even one written by a transaction that began before the first page and
committed after it (what a plain keyset on updated_at loses). Limits, the inclusive
`updated_since`, and the keyset's plan (one index scan, no sort of the tenant's rows).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from qbwc_server.admin import tokens
from qbwc_server.admin.list_views import LISTINGS
from qbwc_server.admin.listings import page_sql
from qbwc_server.testing import BackgroundServer
from tests.api_http import call
from tests.conftest import TenantCredentials
from tests.lists_http import get, key, moment, newest, read_pass


@pytest.fixture
def token(engine: Engine, tenant: TenantCredentials) -> str:
    return tokens.issue_tenant_token(engine, tenant.name)


def add_customers(conn: Connection | Engine, tenant_id: int, names: list[str]) -> None:
    """Customers as a pull writes them (each with its QuickBooks ListID), in one transaction."""
    statement = text("""
        INSERT INTO customers (tenant_id, qb_list_id, name, full_name)
        SELECT :t, 'L-' || n, n, n FROM unnest(CAST(:names AS text[])) AS n
    """)
    if isinstance(conn, Engine):
        with conn.begin() as own:
            own.execute(statement, {"t": tenant_id, "names": names})
    else:
        conn.execute(statement, {"t": tenant_id, "names": names})


def set_phone(conn: Connection | Engine, name: str, phone: str) -> None:
    """Change a customer as every writer does: updated_at = now(), the transaction's start."""
    statement = text("UPDATE customers SET phone = :p, updated_at = now() WHERE name = :n")
    if isinstance(conn, Engine):
        with conn.begin() as own:
            own.execute(statement, {"p": phone, "n": name})
    else:
        conn.execute(statement, {"p": phone, "n": name})


def stored(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT qb_list_id, phone, updated_at FROM customers")).mappings()
        return {row["qb_list_id"]: dict(row) for row in rows}


def test_a_pass_while_rows_change_loses_nothing_and_repeats_nothing(
    server: BackgroundServer, engine: Engine, tenant: TenantCredentials, token: str
) -> None:
    url = server.base_url
    add_customers(engine, tenant.id, [f"C{n:02}" for n in range(30)])
    # A writer that began before the first page and commits in the middle of the pass.
    late = engine.connect()
    late_work = late.begin()
    set_phone(late, "C05", "late")
    add_customers(late, tenant.id, ["Late Arrival"])
    # Another that began after it and committed before the first page: its rows are newer.
    set_phone(engine, "C20", "early")

    first_pass: list[dict[str, Any]] = []
    reply = get(url, token, "/customers", limit=7)
    pages = 0
    while True:
        assert reply.status == 200, reply.text
        first_pass += reply.json["data"]
        pages += 1
        if pages == 1:
            set_phone(engine, first_pass[0]["name"], "moved")  # a row already seen changes
            set_phone(engine, "C29", "moved too")  # and one not reached yet
            add_customers(engine, tenant.id, ["New 1"])
        elif pages == 2:
            late_work.commit()
            late.close()
            add_customers(engine, tenant.id, ["New 2"])
        if reply.json["next_cursor"] is None:
            break
        reply = get(url, token, "/customers", cursor=reply.json["next_cursor"])
    assert pages >= 4
    seen = [key(row) for row in first_pass]
    assert len(seen) == len(set(seen)), "a row came twice in one pass"

    now = stored(engine)
    late_at, early_at = now["L-Late Arrival"]["updated_at"], now["L-C20"]["updated_at"]
    # The trap: the late rows are older than C20's change, which committed first. A pass that
    # returned C20 would have the client sync next from past the late rows, never to see them.
    assert late_at < early_at
    assert "L-C20" not in seen and "L-Late Arrival" not in seen
    assert moment(newest(first_pass)) < late_at

    second_pass = read_pass(url, token, "/customers", updated_since=newest(first_pass))
    assert {"L-Late Arrival", "L-C05", "L-C20", "L-C29", "L-New 1", "L-New 2"} <= {
        key(row) for row in second_pass
    }
    # What the client holds after both passes is what the database holds, row for row.
    replica: dict[str, dict[str, Any]] = {}
    for row in first_pass + second_pass:
        replica[key(row)] = row
    assert set(replica) == set(now)
    for list_id, row in now.items():
        assert (replica[list_id]["phone"], moment(replica[list_id]["updated_at"])) == (
            row["phone"],
            row["updated_at"],
        ), list_id


def test_limits_and_the_default_page(
    server: BackgroundServer, engine: Engine, tenant: TenantCredentials, token: str
) -> None:
    url = server.base_url
    add_customers(engine, tenant.id, [f"C{n:04}" for n in range(1001)])
    default = get(url, token, "/customers").json
    assert len(default["data"]) == 100 and default["next_cursor"]
    one = get(url, token, "/customers", limit=1).json
    assert len(one["data"]) == 1
    assert get(url, token, "/customers", cursor=one["next_cursor"]).json["data"][0]["name"] == "C0001"
    most = get(url, token, "/customers", limit=1000).json
    assert len(most["data"]) == 1000 and most["next_cursor"]
    rest = get(url, token, "/customers", cursor=most["next_cursor"]).json  # the cursor keeps the limit
    assert ([row["name"] for row in rest["data"]], rest["next_cursor"]) == (["C1000"], None)
    assert len(read_pass(url, token, "/customers", limit=250)) == 1001


def test_updated_since_is_inclusive_and_takes_any_offset(
    server: BackgroundServer, engine: Engine, tenant: TenantCredentials, token: str
) -> None:
    url = server.base_url
    add_customers(engine, tenant.id, ["Before"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE customers SET updated_at = '2026-11-29 08:00:00.250001+00'"))
    add_customers(engine, tenant.id, ["After"])
    since = {"updated_since": "2026-11-29T08:00:00.250001Z"}
    assert [row["name"] for row in read_pass(url, token, "/customers", **since)] == ["Before", "After"]
    later = {"updated_since": "2026-11-29T03:00:00.250002-05:00"}  # a microsecond after Before
    assert [row["name"] for row in read_pass(url, token, "/customers", **later)] == ["After"]
    # A "+" left unencoded in a query string arrives as a space: still the offset it was.
    raw = call(url, "GET", "/api/v1/customers?updated_since=2026-11-29T09:00:00.250001+01:00", token=token)
    assert [row["name"] for row in raw.json["data"]] == ["Before", "After"]
    assert get(url, token, "/customers", updated_since="2999-01-01T00:00:00Z").json == {
        "data": [],
        "next_cursor": None,
    }


@pytest.mark.parametrize("name", sorted(LISTINGS))
def test_every_page_is_one_index_scan(engine: Engine, tenant: TenantCredentials, name: str) -> None:
    """The page's rows come from `ix_<table>_tenant_id_updated_at_id`, the keyset and the horizon
    in its index condition, stopped by the LIMIT: nothing sorts the tenant's rows."""
    listing = LISTINGS[name]
    where = [
        "tenant_id = :tenant",
        "updated_at < :horizon",
        "updated_at >= :since",
        "(updated_at, id) > (:after_at, :after_id)",
    ]
    moment_ = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    params = {
        "tenant": tenant.id,
        "horizon": moment_,
        "since": moment_,
        "after_at": moment_,
        "after_id": 1,
        "take": 101,
    }
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # the tables are all but empty here
        plan = "\n".join(conn.execute(text("EXPLAIN " + page_sql(listing, where)), params).scalars())
    picked = plan.split("CTE page", 1)[1].split("SubPlan", 1)[0]  # the scan that picks the rows
    assert f"Index Scan using ix_{listing.table}_tenant_id_updated_at_id on {listing.table}" in picked, plan
    assert "ROW(updated_at, id) > ROW(" in picked and "updated_at < " in picked, plan
    assert "Sort" not in picked, plan
