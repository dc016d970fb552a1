"""Order routes: create or replace a confirmed order (PUT), read it (GET). The work is
admin/records.py's."""

from __future__ import annotations

from qbwc_server.admin import records
from qbwc_server.api.bodies import OrderBody
from qbwc_server.api.fields import get_reply, put_reply
from qbwc_server.api.routing import ApiReply, Call, Route


def put_order(call: Call) -> ApiReply:
    return put_reply(call, records.put_order)


def get_order(call: Call) -> ApiReply:
    return get_reply(call, "orders")


ROUTES: tuple[Route, ...] = (
    Route(
        "PUT",
        "/orders/{id}",
        put_order,
        "Create or replace a confirmed order; pushed to QuickBooks after its customer (409 when"
        " QuickBooks has invoiced what the change removes, or closed the order)",
        body=OrderBody,
        statuses=(200, 201),
    ),
    Route("GET", "/orders/{id}", get_order, "An order, its QuickBooks ids and sync state"),
)
