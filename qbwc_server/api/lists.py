"""The list endpoints (API.md "Reads"): what the mirror holds, page by page, for a client that
syncs from the newest change it saw. The paging is admin/listings.py's; this module declares the
routes, their query parameters and the shape of each page (for the OpenAPI document).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, Field

from qbwc_server.admin import listings
from qbwc_server.api.fields import tenant_of
from qbwc_server.api.routing import ApiError, ApiReply, Call, Route

#: A decimal number as text ("12.5"), as the writes take them.
Decimal = Annotated[str, Field(json_schema_extra={"format": "decimal"})]

QUERY = {
    "updated_since": "Only rows changed at or after this RFC 3339 time (inclusive: sync next time from"
    " the newest `updated_at` you saw; a row at exactly that time comes again).",
    "limit": f"Rows per page, 1 to {listings.MAX_LIMIT} (default {listings.DEFAULT_LIMIT}).",
    "cursor": "`next_cursor` of the previous page, alone: it carries the filters of its pass"
    " (any other parameter beside it is 400).",
}


class ListedAddress(BaseModel):
    """Only the parts QuickBooks has are present."""

    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    line4: str | None = None
    line5: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    note: str | None = None


class ListedShipTo(ListedAddress):
    name: str
    default: bool


class ListedSyncError(BaseModel):
    code: str
    message: str | None
    quickbooks_code: int | None
    fix: str | None


class ListedSync(BaseModel):
    """As `GET /{kind}/{id}` shows it: `state` is one of API.md's sync states."""

    state: str
    error: ListedSyncError | None
    updated_at: str | None


class ListedRow(BaseModel):
    deleted_at: dt.datetime | None = Field(description="When QuickBooks deleted it (the row stays listed).")
    updated_at: dt.datetime = Field(description="The row's last change here: the paging order.")


class ListedParty(BaseModel):
    customer_id: str | None = Field(description="Our customer's id, when the customer is one of ours.")
    qb_customer_list_id: str | None
    customer_name: str | None


class ListedRep(BaseModel):
    sales_rep_code: str | None
    sales_rep_email: str | None = Field(description="The email mapped to the code (GET /sales-reps).")


class ListedCustomer(ListedRep, ListedRow):
    id: str | None = Field(description="Our id; null for a customer made in QuickBooks.")
    qb_list_id: str | None
    qb_edit_sequence: str | None
    sync: ListedSync
    name: str
    full_name: str
    parent_qb_list_id: str | None
    company_name: str | None
    salutation: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    alt_phone: str | None
    fax: str | None
    contact: str | None
    billing_address: ListedAddress | None
    shipping_address: ListedAddress | None = Field(description="QuickBooks' ShipAddress (the default one).")
    shipping_addresses: list[ListedShipTo]
    customer_type: str | None
    terms: str | None
    price_level: str | None
    sales_tax_code: str | None
    balance: Decimal | None
    total_balance: Decimal | None
    credit_limit: Decimal | None
    account_number: str | None
    custom_fields: dict[str, str | None] | None
    is_active: bool


class ListedItem(ListedRow):
    qb_list_id: str | None
    qb_edit_sequence: str | None
    kind: str = Field(description="inventory or assembly")
    name: str
    sku: str = Field(description="QuickBooks' FullName: what an order line's `sku` names.")
    parent_qb_list_id: str | None
    description: str | None
    sales_price: Decimal | None
    purchase_description: str | None
    purchase_cost: Decimal | None
    average_cost: Decimal | None
    manufacturer_part_number: str | None
    sales_tax_code: str | None
    reorder_point: Decimal | None
    build_point: Decimal | None
    quantity_on_hand: Decimal | None
    quantity_on_order: Decimal | None
    quantity_on_sales_order: Decimal | None
    quantities_at: dt.datetime | None = Field(description="When the quantities were last read.")
    custom_fields: dict[str, str | None] | None
    is_active: bool


class ListedLine(BaseModel):
    qb_txn_line_id: str | None
    sku: str | None
    qb_item_list_id: str | None
    description: str | None
    quantity: Decimal | None
    unit_of_measure: str | None
    rate: Decimal | None
    amount: Decimal | None
    sales_tax_code: str | None


class ListedOrderLine(ListedLine):
    line_id: str | None = Field(description="Our line id, when the line came from a PUT.")
    invoiced: Decimal | None
    closed: bool | None


class ListedSalesDocument(ListedParty, ListedRep, ListedRow):
    number: str | None
    date: dt.date | None
    due_date: dt.date | None
    po_number: str | None
    memo: str | None
    terms: str | None
    class_: str | None = Field(alias="class")
    billing_address: ListedAddress | None
    shipping_address: ListedAddress | None
    ship_date: dt.date | None
    ship_method: str | None
    fob: str | None
    subtotal: Decimal | None
    sales_tax_total: Decimal | None


class ListedOrder(ListedSalesDocument):
    id: str | None = Field(description="Our id; null for an order made in QuickBooks.")
    qb_txn_id: str | None
    qb_edit_sequence: str | None
    sync: ListedSync
    qb_txn_type: str | None = Field(description="SalesOrder or Estimate for ours; null for pulled ones.")
    total: Decimal | None
    fully_invoiced: bool | None
    closed: bool | None
    lines: list[ListedOrderLine]


class ListedLinkedOrder(BaseModel):
    id: str | None = Field(description="Our order id; null for an order made in QuickBooks.")
    qb_txn_id: str


class ListedInvoice(ListedSalesDocument):
    qb_txn_id: str | None
    qb_edit_sequence: str | None
    tracking_number: str | None
    applied_amount: Decimal | None
    balance: Decimal | None
    paid: bool | None
    pending: bool | None
    linked_orders: list[ListedLinkedOrder] = Field(description="The sales orders it was made from.")
    lines: list[ListedLine]


class ListedApplication(BaseModel):
    qb_txn_id: str
    txn_type: str
    date: dt.date | None
    reference: str | None
    amount: Decimal | None
    discount_amount: Decimal | None


class ListedPayment(ListedParty, ListedRow):
    id: str | None = Field(description="Our id; null for a payment made in QuickBooks.")
    qb_txn_id: str | None
    qb_edit_sequence: str | None
    sync: ListedSync
    reference: str | None
    order_id: str | None
    date: dt.date | None
    amount: Decimal | None
    method: str | None
    memo: str | None
    deposit_to_account: str | None
    unused_payment: Decimal | None
    unused_credits: Decimal | None
    applications: list[ListedApplication]


class ListedPrice(BaseModel):
    qb_item_list_id: str | None
    sku: str | None
    custom_price: Decimal | None
    custom_price_percent: Decimal | None


class ListedPriceLevel(ListedRow):
    qb_list_id: str | None
    qb_edit_sequence: str | None
    name: str
    type: str | None = Field(description="FixedPercentage (every item) or PerItem (`items`).")
    fixed_percentage: Decimal | None
    items: list[ListedPrice]
    is_active: bool


class ListedSalesRep(ListedRow):
    qb_list_id: str | None
    qb_edit_sequence: str | None
    code: str = Field(description="The rep's initials in QuickBooks.")
    name: str | None
    email: str | None = Field(description="The email mapped to the code (`qbwc-server reps map`).")
    is_active: bool


T = TypeVar("T", bound=BaseModel)


class ListPage(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(
        description="Pass it alone as `?cursor=` for the next page; null at the end."
    )


def _lister(name: str) -> Callable[[Call], ApiReply]:
    def handler(call: Call) -> ApiReply:
        tenant_id = tenant_of(call)
        try:
            step = listings.start_pass(name, tenant_id, call.query)
            with call.engine.connect() as conn:
                page = listings.read_page(conn, step)
        except listings.ListingError as exc:
            raise ApiError(400, "bad_request", str(exc), field=exc.field) from None
        body: dict[str, Any] = {"data": page.rows, "next_cursor": page.next_cursor}
        return ApiReply(200, body)

    return handler


#: path -> (list name, row model, summary).
_LISTS: dict[str, tuple[str, type[BaseModel], str]] = {
    "/customers": ("customers", ListedCustomer, "Customers, ours and QuickBooks'"),
    "/items": ("items", ListedItem, "Products, with quantity on hand, on order and on sales order"),
    "/orders": ("orders", ListedOrder, "Sales orders, ours and those made in QuickBooks"),
    "/invoices": ("invoices", ListedInvoice, "Invoices: linked orders, shipment, balance, paid"),
    "/payments": ("payments", ListedPayment, "Received payments, ours and QuickBooks'"),
    "/price-levels": ("price-levels", ListedPriceLevel, "Price levels, with per-item prices"),
    "/sales-reps": ("sales-reps", ListedSalesRep, "Sales reps: code, name and mapped email"),
}

ROUTES: tuple[Route, ...] = tuple(
    Route(
        "GET",
        path,
        _lister(name),
        f"{summary}, by last change (paged: updated_since, limit, cursor)",
        response=ListPage[model],  # type: ignore[valid-type]
        query=QUERY,
    )
    for path, (name, model, summary) in _LISTS.items()
)
