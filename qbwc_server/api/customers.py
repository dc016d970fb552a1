"""Customer routes: create or replace (PUT), read (GET), and link to a customer QuickBooks
already has (POST …/link). The work is admin/records.py's."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from qbwc_server.admin import records
from qbwc_server.api.bodies import Body, CustomerBody
from qbwc_server.api.fields import ListId, answering, get_reply, put_reply, record_id, tenant_of
from qbwc_server.api.routing import ApiReply, Call, Route


class LinkBody(Body):
    #: The QuickBooks customer this one is (its ListID, as `GET /customers` shows it).
    qb_list_id: Annotated[ListId, Field(description="The QuickBooks customer's ListID")]


def put_customer(call: Call) -> ApiReply:
    return put_reply(call, records.put_customer)


def get_customer(call: Call) -> ApiReply:
    return get_reply(call, "customers")


def link_customer(call: Call) -> ApiReply:
    """Bind the customer to an existing QuickBooks customer; what waited on it goes by itself."""
    tenant_id, commerce_id = tenant_of(call), record_id(call)
    assert isinstance(call.body, LinkBody)
    with answering(), call.engine.begin() as conn:
        written = records.link_customer(conn, tenant_id, commerce_id, call.body.qb_list_id)
    return ApiReply(200, written.record)


ROUTES: tuple[Route, ...] = (
    Route(
        "PUT",
        "/customers/{id}",
        put_customer,
        "Create or replace a customer; it is pushed to QuickBooks on the Web Connector's next call",
        body=CustomerBody,
        statuses=(200, 201),
    ),
    Route("GET", "/customers/{id}", get_customer, "A customer, its QuickBooks ids and sync state"),
    Route(
        "POST",
        "/customers/{id}/link",
        link_customer,
        "Map the customer to an existing QuickBooks customer (after 3100 'name in use');"
        " what waited on it goes by itself",
        body=LinkBody,
    ),
)
