"""The demo's commerce side: what WizCommerce does over the JSON API (API.md), over real HTTP to
the server the demo serves — a new customer, an order for it, its payment, each read back.
Only HTTP and JSON here (stdlib http.client): these are the calls anybody can make with curl.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import urllib.parse
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

#: The commerce side's own ids (API.md "Ids"), the same on every run: the demo starts from a
#: clean slate (the demo tenant's mirror is emptied), so each run tells the same story.
CUSTOMER_ID, ORDER_ID, PAYMENT_ID = "c-1001", "o-1001", "p-1001"
ORDER_NUMBER, PAYMENT_REFERENCE = "WC1001", "WIZPAY-1001"
#: Which field of each kind of record holds QuickBooks' id.
QB_ID = {"customers": "qb_list_id", "orders": "qb_txn_id", "payments": "qb_txn_id"}
SALE = (("customers", CUSTOMER_ID), ("orders", ORDER_ID), ("payments", PAYMENT_ID))


class DemoApiError(Exception):
    """The API answered what the demo did not expect; the message names the call and the answer."""


@dataclass(frozen=True)
class Line:
    """An order line: a SKU QuickBooks has, how many, at what price."""

    sku: str
    quantity: int
    rate: Decimal


@dataclass(frozen=True)
class ReadBack:
    """A record as GET shows it: its sync state, the QuickBooks id it received, and why not (if not)."""

    kind: str
    commerce_id: str
    state: str
    qb_id: str | None
    error: str | None

    @property
    def line(self) -> str:
        path = f"/api/v1/{self.kind}/{self.commerce_id}"
        qb_id = f"{QB_ID[self.kind]} {self.qb_id}" if self.qb_id else "not in QuickBooks yet"
        return f"GET {path:<24} -> {self.state}, {qb_id}" + (f" ({self.error})" if self.error else "")


class ApiClient:
    """JSON over HTTP with a bearer token; one connection per call."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url, self.token = base_url, token
        #: (method, path, status) of every call made, in order.
        self.calls: list[tuple[str, str, int]] = []

    def call(self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200,)) -> Any:
        """The reply's JSON; DemoApiError (with API.md's error message) for any other status."""
        url = urllib.parse.urlsplit(self.base_url)
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
        try:
            connection.request(method, "/api/v1" + path, body=data, headers=headers)
            response = connection.getresponse()
            status, text = response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        self.calls.append((method, path, status))
        if status not in expect:
            try:
                message = json.loads(text)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = text[:200]
            raise DemoApiError(f"{method} /api/v1{path} answered {status}: {message}")
        return json.loads(text)

    def put(self, kind: str, commerce_id: str, body: dict[str, Any], what: str) -> None:
        """PUT one record and print what the server answered (201 Created on a clean slate)."""
        path = f"/{kind}/{commerce_id}"
        record = self.call("PUT", path, body, expect=(200, 201))
        print(f"  PUT /api/v1{path:<16} -> {self.calls[-1][2]}, sync {record['sync']['state']}: {what}")

    def read_back(self, count: int = len(SALE)) -> list[ReadBack]:
        """The first `count` of the sale's customer, order and payment, as GET shows them."""
        records = []
        for kind, commerce_id in SALE[:count]:
            record = self.call("GET", f"/{kind}/{commerce_id}")
            sync = record["sync"]
            message = sync["error"]["message"] if sync["error"] else None
            records.append(ReadBack(kind, commerce_id, sync["state"], record[QB_ID[kind]], message))
        return records

    def sync_now(self) -> None:
        """Sync Now (POST /sync): every pull is due at the Web Connector's next poll."""
        reply = self.call("POST", "/sync", expect=(202,))
        print(f"  POST /api/v1/sync -> 202: {reply['message']}")


def put_order(client: ApiClient, name: str, lines: list[Line], day: dt.date) -> Decimal:
    """A new customer and an order for it; returns the order's total."""
    address = {"line1": "1 Main St", "city": "Atlanta", "state": "Georgia", "postal_code": "30301"}
    customer = {
        "name": name,
        "company_name": name,
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@magnolia.example",
        "phone": "404-555-0100",
        "billing_address": address,  # "Georgia" goes to QuickBooks as "GA"
    }
    client.put("customers", CUSTOMER_ID, customer, f"customer {name!r}")
    order = {
        "number": ORDER_NUMBER,
        "customer_id": CUSTOMER_ID,
        "date": day.isoformat(),
        "po_number": "PO-7",
        "lines": [
            {"line_id": f"{ORDER_ID}-{n}", "sku": line.sku, "quantity": line.quantity, "rate": str(line.rate)}
            for n, line in enumerate(lines, start=1)
        ],
    }
    total = sum((line.rate * line.quantity for line in lines), Decimal(0))
    items = ", ".join(f"{line.quantity} x {line.sku} at {line.rate}" for line in lines)
    client.put("orders", ORDER_ID, order, f"order {ORDER_NUMBER}: {items} = {total}")
    return total


def put_payment(client: ApiClient, amount: Decimal, day: dt.date) -> None:
    """The order's payment. It names the order, so the server applies it to that order's
    invoice, never to whatever else the customer owes."""
    payment = {
        "customer_id": CUSTOMER_ID,
        "order_id": ORDER_ID,
        "amount": str(amount),
        "date": day.isoformat(),
        "reference": PAYMENT_REFERENCE,
        "method": "Visa",
    }
    what = f"payment {PAYMENT_REFERENCE}: {amount} for order {ORDER_ID}"
    client.put("payments", PAYMENT_ID, payment, what)
