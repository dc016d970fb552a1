"""What a PUT of a customer, order or payment may carry (API.md "Writes"), as pydantic models,
and the `commerce_body` each becomes (brief §1: API.md's names, omitted fields absent, decimals
canonical, US state names as codes).

Each text field names the qbXML element it becomes, so its limit is Intuit's. Unknown fields are
refused (a misspelt field would otherwise be dropped without a word), but the read-only fields a
GET answers (`qb_txn_id`, `qb_edit_sequence`, `sync`, `unchanged`) are accepted and ignored, so a
client may PUT back what it read. Knows no database: what needs one (an unknown `customer_id`)
is admin/records.py's.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from qbwc_server.api.fields import (
    Amount,
    CommerceId,
    Day,
    Email,
    ListId,
    QbText,
    Quantity,
    Rate,
    is_us,
    state_code,
)
from qbwc_server.api.routing import ApiError

#: What a GET answers beside the body; accepted in a PUT and ignored.
_READ_ONLY = ("qb_txn_id", "qb_edit_sequence", "sync", "unchanged")
#: The most ship-to addresses QuickBooks keeps for a customer (qbXML: ShipToAddress maxOccurs 50).
MAX_SHIP_TO = 50


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def commerce_body(self) -> dict[str, Any]:
        """The body as stored and compared: fields left out (or null) absent, JSON types only."""
        return self.model_dump(mode="json", exclude_none=True, exclude={"id"})


class RecordBody(Body):
    #: The path's `{id}`, if the client repeats it (it must match).
    id: CommerceId | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in _READ_ONLY}
        return data


class Address(Body):
    """An address; every address we send has the same parts and limits (tests hold them so)."""

    line1: Annotated[str, QbText("CustomerAdd/BillAddress/Addr1")] | None = None
    line2: Annotated[str, QbText("CustomerAdd/BillAddress/Addr2")] | None = None
    city: Annotated[str, QbText("CustomerAdd/BillAddress/City")] | None = None
    state: Annotated[str, QbText("CustomerAdd/BillAddress/State")] | None = None
    postal_code: Annotated[str, QbText("CustomerAdd/BillAddress/PostalCode")] | None = None
    country: Annotated[str, QbText("CustomerAdd/BillAddress/Country")] | None = None

    @model_validator(mode="before")
    @classmethod
    def _state_as_code(cls, data: Any) -> Any:
        """ "Georgia" -> "GA" where the address is in the US (or says no country), before the
        length check: "Northern Mariana Islands" is longer than QuickBooks' State, "MP" is not."""
        if isinstance(data, dict) and isinstance(data.get("state"), str):
            country = data.get("country")
            if country is None or (isinstance(country, str) and is_us(country)):
                return {**data, "state": state_code(data["state"])}
        return data


class ShipTo(Address):
    """One of a customer's named ship-to addresses (qbXML 12+; below, the default one alone)."""

    name: Annotated[str, QbText("CustomerAdd/ShipToAddress/Name")]
    default: bool | None = None


class CustomerBody(RecordBody):
    name: Annotated[str, QbText("CustomerAdd/Name", identifies=True)]
    company_name: Annotated[str, QbText("CustomerAdd/CompanyName")] | None = None
    first_name: Annotated[str, QbText("CustomerAdd/FirstName")] | None = None
    last_name: Annotated[str, QbText("CustomerAdd/LastName")] | None = None
    email: Annotated[str, QbText("CustomerAdd/Email")] | None = None
    phone: Annotated[str, QbText("CustomerAdd/Phone")] | None = None
    billing_address: Address | None = None
    shipping_addresses: Annotated[list[ShipTo], Field(max_length=MAX_SHIP_TO)] | None = None
    sales_rep_email: Email | None = None
    customer_type: Annotated[str, QbText("CustomerAdd/CustomerTypeRef/FullName")] | None = None
    terms: Annotated[str, QbText("CustomerAdd/TermsRef/FullName")] | None = None
    active: bool | None = None
    qb_list_id: ListId | None = None

    @model_validator(mode="after")
    def _ship_tos(self) -> CustomerBody:
        addresses = self.shipping_addresses or []
        if sum(1 for a in addresses if a.default) > 1:
            raise ValueError("shipping_addresses: at most one shipping address may be the default")
        names = [a.name.casefold() for a in addresses]
        if len(set(names)) != len(names):
            raise ValueError(
                "shipping_addresses: each shipping address needs its own name (QuickBooks keys them by name)"
            )
        return self


class OrderLine(Body):
    line_id: CommerceId | None = None
    sku: Annotated[str, QbText("SalesOrderAdd/SalesOrderLineAdd/ItemRef/FullName", identifies=True)]
    description: Annotated[str, QbText("SalesOrderAdd/SalesOrderLineAdd/Desc")] | None = None
    quantity: Quantity
    #: Left out: QuickBooks prices the line itself (the item's price, or the customer's level).
    rate: Rate | None = None


class CustomerRefBody(RecordBody):
    """A transaction for one customer: by our id, or by QuickBooks' ListID (exactly one)."""

    customer_id: CommerceId | None = None
    qb_customer_list_id: ListId | None = None

    @model_validator(mode="after")
    def _one_customer(self) -> CustomerRefBody:
        if (self.customer_id is None) == (self.qb_customer_list_id is None):
            raise ValueError("customer_id: give exactly one of customer_id and qb_customer_list_id")
        return self


class OrderBody(CustomerRefBody):
    number: Annotated[str, QbText("SalesOrderAdd/RefNumber", identifies=True)]
    date: Day | None = None
    po_number: Annotated[str, QbText("SalesOrderAdd/PONumber")] | None = None
    memo: Annotated[str, QbText("SalesOrderAdd/Memo")] | None = None
    ship_date: Day | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    terms: Annotated[str, QbText("SalesOrderAdd/TermsRef/FullName")] | None = None
    sales_rep_email: Email | None = None
    lines: Annotated[list[OrderLine], Field(min_length=1)]

    @model_validator(mode="after")
    def _line_ids(self) -> OrderBody:
        ids = [line.line_id for line in self.lines if line.line_id is not None]
        if len(set(ids)) != len(ids):
            raise ValueError("lines: a line_id may appear only once in an order")
        return self


class PaymentBody(CustomerRefBody):
    order_id: CommerceId | None = None
    amount: Amount
    date: Day | None = None
    reference: Annotated[str, QbText("ReceivePaymentAdd/RefNumber", identifies=True)] | None = None
    method: Annotated[str, QbText("ReceivePaymentAdd/PaymentMethodRef/FullName")] | None = None
    memo: Annotated[str, QbText("ReceivePaymentAdd/Memo")] | None = None


# -- a failed validation, as API.md's 422 ------------------------------------------------------

_PLAIN = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this record",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "string_pattern_mismatch": "must be 1 to 64 of A-Z a-z 0-9 . _ : -, starting with a letter or digit",
    "too_short": "must not be empty",
}


def field_path(loc: tuple[int | str, ...]) -> str:
    """pydantic's location as API.md names a field: `lines[0].quantity`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def validation_error(exc: ValidationError) -> ApiError:
    """The first error of a body, as `422 validation_failed` naming the field and the reason."""
    error = exc.errors(include_url=False)[0]
    field = field_path(tuple(error["loc"]))
    kind = error["type"]
    reason = _PLAIN.get(kind, str(error["msg"]).removeprefix("Value error, "))
    if kind == "string_pattern_mismatch" and field.endswith("list_id"):
        reason = "must be a QuickBooks ListID (such as 80000001-1234567890)"
    elif kind == "too_short" and field == "lines":
        reason = "must have at least one line"
    elif kind == "too_long":
        reason = f"must have at most {error.get('ctx', {}).get('max_length')} entries"
    if not field and ": " in reason:  # a rule across fields: "field: the whole sentence"
        field, _, message = reason.partition(": ")
        return ApiError(422, "validation_failed", message, field=field)
    return ApiError(422, "validation_failed", f"{field or 'the body'} {reason}", field=field or None)


def parse_body(model: type[Body], data: object) -> Body:
    """`data` validated against `model`, or the 422 the API answers."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None
