"""The field types of the commerce records' bodies, and what their routes share.

Every text field is checked against the max length QuickBooks has for the element it becomes
(`qbxml.limits`, Intuit's own table), counted as QuickBooks will count it (after
transliteration), so nothing fails inside QuickBooks for a reason we could say at PUT time.
Numbers are checked against the digits of their qbXML type (`qbxml.formats`); a value QuickBooks
would round is refused rather than silently changed. Knows no database.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Protocol

import us
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema
from sqlalchemy import Connection

from qbwc_server.admin.record_reads import LIST_ID_PATTERN, Kind, get_record
from qbwc_server.admin.records import Written
from qbwc_server.api.routing import ApiError, ApiReply, Call
from qbwc_server.errors import QbwcError
from qbwc_server.qbxml.formats import (
    BuildError,
    checked_text,
    format_amount,
    format_price,
    format_quantity,
    is_storable,
)
from qbwc_server.qbxml.limits import limit_of

#: A commerce id (API.md "Ids"): the path's `{id}`, `customer_id`, `order_id`, a line's `line_id`.
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}"
_ID = re.compile(ID_PATTERN)
#: Enough to catch what is not an email at all (a name, a rep code); mailers decide the rest.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
#: What "US" may be written as; a blank or absent country is taken as US too (a state name there
#: becomes its code).
_US = frozenset({"us", "usa", "u.s.", "u.s.a.", "united states", "united states of america"})
#: Exact state and territory names (case and spacing aside) -> two-letter codes. Not `us`'s
#: phonetic look-up: that would turn "Main" (a street in the wrong field) into "ME" silently.
_STATE_CODES = {state.name.casefold(): state.abbr for state in us.states.STATES_AND_TERRITORIES}
_STATE_ABBRS = frozenset(_STATE_CODES.values())


# -- text --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QbText:
    """Annotates a text field that becomes the qbXML element at `path` (`CustomerAdd/Name`).

    Longer than QuickBooks' max length (after transliteration) is refused. Outside Windows-1252:
    refused when the value `identifies` a record (name, order number, payment reference: a
    transliterated one would no longer match what the commerce side holds), otherwise kept as
    sent and transliterated when the request is built.
    """

    path: str
    identifies: bool = False

    @property
    def max_length(self) -> int | None:
        return limit_of(self.path).max_length

    def check(self, value: str) -> str:
        if self.identifies and not value.strip():
            raise ValueError("must not be blank")
        if self.identifies and not is_storable(value):
            bad = "".join(sorted({c for c in value if not is_storable(c)}))
            raise ValueError(f"has characters QuickBooks cannot store (only Windows-1252 text): {bad!a}")
        try:
            checked_text(value, field=self.path, max_length=self.max_length)
        except BuildError:
            raise ValueError(
                f"must be at most {self.max_length} characters (QuickBooks' limit for {self.path})"
            ) from None
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        if self.max_length is not None:
            json_schema["maxLength"] = self.max_length
        return json_schema


def _email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValueError("must be an email address")
    return value


Email = Annotated[str, AfterValidator(_email), Field(json_schema_extra={"format": "email"})]
CommerceId = Annotated[str, Field(pattern=f"^{ID_PATTERN}$")]
ListId = Annotated[str, Field(pattern=f"^{LIST_ID_PATTERN}$")]


def is_us(country: str | None) -> bool:
    return country is None or not country.strip() or country.strip().casefold() in _US


def state_code(state: str) -> str:
    """A US state's or territory's name as its two-letter code ("Georgia", "georgia" -> "GA";
    "ga" -> "GA"); anything else as given."""
    key = " ".join(state.split()).casefold()
    if key.upper() in _STATE_ABBRS:
        return key.upper()
    return _STATE_CODES.get(key, state)


# -- dates -----------------------------------------------------------------------------------


def _date(value: object) -> object:
    """Only `YYYY-MM-DD` (a real day): no timestamps, no times, no numbers read as days."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date, YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"is not a real date: {value}") from None


Day = Annotated[dt.date, BeforeValidator(_date), Field(json_schema_extra={"format": "date"})]


# -- numbers ---------------------------------------------------------------------------------


def canonical(value: Decimal) -> str:
    """A decimal as commerce_body stores it: "3", "12.5" ("3.00" and 3 are the same number)."""
    return "0" if value.is_zero() else format(value.normalize(), "f")


def _to_decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError('must be a decimal number (a string such as "12.50", or a number)')
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError(f"must be a decimal number, got {str(value)[:40]!r}") from None
    if not number.is_finite():
        raise ValueError("must be a finite decimal number")
    return number


def qb_number(
    formatter: Callable[[Decimal, str], str], type_name: str, *, zero_allowed: bool
) -> Callable[[object], Decimal]:
    """A validator: a decimal above zero (or at least zero), that QuickBooks' `type_name`
    holds exactly (`formatter` refuses too many digits; a value it would round is refused too)."""

    def check(value: object) -> Decimal:
        number = _to_decimal(value)
        if number < 0 or (number == 0 and not zero_allowed):
            raise ValueError("must not be negative" if zero_allowed else "must be a positive decimal")
        try:
            written = formatter(number, type_name)
        except BuildError:
            raise ValueError(f"has more digits than QuickBooks keeps ({type_name})") from None
        if Decimal(written) != number:
            places = len(written.partition(".")[2])
            raise ValueError(f"has more decimal places than QuickBooks keeps ({places})")
        return number

    return check


_DECIMAL_JSON = WithJsonSchema({"anyOf": [{"type": "string", "format": "decimal"}, {"type": "number"}]})
_CANONICAL = PlainSerializer(canonical, return_type=str, when_used="json")

#: A line's quantity (QUANTYPE): above zero.
Quantity = Annotated[
    Decimal,
    BeforeValidator(qb_number(format_quantity, "QUANTYPE", zero_allowed=False)),
    _CANONICAL,
    _DECIMAL_JSON,
]
#: A line's rate (PRICETYPE): zero is allowed (a free item, as QuickBooks allows), negative not
#: (a discount is an item of its own in QuickBooks, never a negative rate on a product line).
Rate = Annotated[
    Decimal,
    BeforeValidator(qb_number(format_price, "PRICETYPE", zero_allowed=True)),
    _CANONICAL,
    _DECIMAL_JSON,
]
#: A payment's amount (AMTTYPE): above zero, at most two decimals.
Amount = Annotated[
    Decimal,
    BeforeValidator(qb_number(format_amount, "AMTTYPE", zero_allowed=False)),
    _CANONICAL,
    _DECIMAL_JSON,
]


# -- what the record routes share -------------------------------------------------------------

#: API status of a records error, by its stable code.
_STATUS = {"not_found": 404, "conflict": 409, "validation_failed": 422, "bad_request": 400}


def tenant_of(call: Call) -> int:
    if call.tenant_id is None:  # routes are tenant-scope: the app never calls them without one
        raise ApiError(400, "bad_request", "this route needs a tenant")
    return call.tenant_id


def record_id(call: Call, *, creating: bool = False) -> str:
    """The path's `{id}`; one that no record can have is 404 (422 where a PUT would create it)."""
    value = call.path.get("id", "")
    if not _ID.fullmatch(value):
        if creating:
            raise ApiError(
                422,
                "validation_failed",
                "id must be 1 to 64 of A-Z a-z 0-9 . _ : -, starting with a letter or digit",
                field="id",
            )
        raise ApiError(404, "not_found", f"no record with id {value[:70]!r}")
    return value


@contextmanager
def answering() -> Iterator[None]:
    """Records errors (admin/records.py) as API errors: 404, 409, 422 naming the field."""
    try:
        yield
    except ApiError:
        raise
    except QbwcError as exc:
        status = _STATUS.get(exc.code)
        if status is None:
            raise
        raise ApiError(status, exc.code, str(exc), field=getattr(exc, "field", None)) from exc


class _RecordBody(Protocol):
    """A validated PUT body (api/bodies.py's RecordBody)."""

    id: str | None

    def commerce_body(self) -> dict[str, Any]: ...


Writer = Callable[[Connection, int, str, dict[str, Any]], Written]


def put_reply(call: Call, write: Writer) -> ApiReply:
    """A PUT: `201` created, `200` changed or `"unchanged": true`; the record as GET shows it."""
    tenant_id, commerce_id = tenant_of(call), record_id(call, creating=True)
    body: _RecordBody = call.body  # type: ignore[assignment]  # the route's model, validated
    if body.id is not None and body.id != commerce_id:
        raise ApiError(422, "validation_failed", f"id {body.id!r} is not the path's id", field="id")
    with answering(), call.engine.begin() as conn:
        written = write(conn, tenant_id, commerce_id, body.commerce_body())
    status = 201 if written.outcome == "created" else 200
    return ApiReply(status, {**written.record, "unchanged": written.outcome == "unchanged"})


def get_reply(call: Call, kind: Kind) -> ApiReply:
    """A GET of one record; `404 not_found` for an id we do not have."""
    tenant_id, commerce_id = tenant_of(call), record_id(call)
    with answering(), call.engine.connect() as conn:
        return ApiReply(200, get_record(conn, kind, tenant_id, commerce_id))
