"""Payment routes: record a payment collected on the commerce side (PUT), read it (GET). The
work is admin/records.py's."""

from __future__ import annotations

from qbwc_server.admin import records
from qbwc_server.api.bodies import PaymentBody
from qbwc_server.api.fields import get_reply, put_reply
from qbwc_server.api.routing import ApiReply, Call, Route


def put_payment(call: Call) -> ApiReply:
    return put_reply(call, records.put_payment)


def get_payment(call: Call) -> ApiReply:
    return get_reply(call, "payments")


ROUTES: tuple[Route, ...] = (
    Route(
        "PUT",
        "/payments/{id}",
        put_payment,
        "Create or replace a payment; with order_id it is applied to that order's invoices once"
        " they are in QuickBooks (409 on a change once pushed: payments are immutable there)",
        body=PaymentBody,
        statuses=(200, 201),
    ),
    Route("GET", "/payments/{id}", get_payment, "A payment, its QuickBooks ids and sync state"),
)
