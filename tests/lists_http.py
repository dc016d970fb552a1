"""Reading the list endpoints over real HTTP in tests: one page, a whole pass (first page, then
the cursor alone until it is null), and the check that a row has exactly its documented fields.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any

from pydantic import BaseModel

from qbwc_server.api import lists
from tests.api_http import Reply, call

#: Each list's row model, as the OpenAPI document shows it.
MODELS: dict[str, type[BaseModel]] = {
    "customers": lists.ListedCustomer,
    "items": lists.ListedItem,
    "orders": lists.ListedOrder,
    "invoices": lists.ListedInvoice,
    "payments": lists.ListedPayment,
    "price-levels": lists.ListedPriceLevel,
    "sales-reps": lists.ListedSalesRep,
}


def get(base_url: str, token: str, path: str, **params: Any) -> Reply:
    """`GET /api/v1{path}?params` with `token`."""
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    return call(base_url, "GET", f"/api/v1{path}{query}", token=token)


def key(row: dict[str, Any]) -> str:
    """What identifies a row across passes: QuickBooks' id, else ours."""
    return str(row.get("qb_list_id") or row.get("qb_txn_id") or f"id:{row['id']}")


def read_pass(base_url: str, token: str, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every row of one pass, asserting that none comes twice and each is as documented."""
    rows: list[dict[str, Any]] = []
    reply = get(base_url, token, path, **params)
    while True:
        assert reply.status == 200, reply.text
        page = reply.json
        assert set(page) == {"data", "next_cursor"}
        rows += page["data"]
        if page["next_cursor"] is None:
            break
        reply = get(base_url, token, path, cursor=page["next_cursor"])
    keys = [key(row) for row in rows]
    assert len(keys) == len(set(keys)), "a row came twice in one pass"
    orders = [(moment(row["updated_at"]), i) for i, row in enumerate(rows)]
    assert orders == sorted(orders), "rows out of (updated_at, id) order"
    for row in rows:
        assert_documented(path.rsplit("/", 1)[-1], row)
    return rows


def assert_documented(name: str, row: dict[str, Any]) -> None:
    """`row` has exactly the fields its OpenAPI model names, of the documented types."""
    model = MODELS[name]
    fields = {field.alias or field_name for field_name, field in model.model_fields.items()}
    assert set(row) == fields, f"undocumented {set(row) - fields}, missing {fields - set(row)}"
    model.model_validate(row)


def newest(rows: list[dict[str, Any]]) -> str:
    """Where the next sync starts: the newest `updated_at` seen (API.md)."""
    return max(rows, key=lambda row: moment(row["updated_at"]))["updated_at"]  # type: ignore[no-any-return]


def moment(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)
