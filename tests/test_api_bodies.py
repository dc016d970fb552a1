"""The PUT bodies' rules (api/bodies.py, api/fields.py): each refusal names its field, and what is
accepted becomes the commerce_body of brief §1. Pure: no database."""

from __future__ import annotations

from typing import Any

import pytest

from qbwc_server.api.bodies import Body, CustomerBody, OrderBody, PaymentBody, parse_body
from qbwc_server.api.fields import state_code
from qbwc_server.api.routing import ApiError
from qbwc_server.qbxml.limits import limit_of

CUSTOMER: dict[str, Any] = {"name": "Acme"}
ORDER: dict[str, Any] = {"number": "WC1", "customer_id": "c-17", "lines": [{"sku": "W-1", "quantity": "1"}]}
PAYMENT: dict[str, Any] = {"customer_id": "c-17", "amount": "37.50"}


def line(**changes: Any) -> dict[str, Any]:
    return {**ORDER, "lines": [{"sku": "W-1", "quantity": "1", **changes}]}


REFUSED: list[tuple[type[Body], dict[str, Any], str]] = [
    (CustomerBody, {}, "name"),
    (CustomerBody, {"name": "x" * 42}, "name"),
    (CustomerBody, {"name": "Жук"}, "name"),
    (CustomerBody, {"name": "  "}, "name"),
    (CustomerBody, {**CUSTOMER, "company_name": "x" * 42}, "company_name"),
    (CustomerBody, {**CUSTOMER, "first_name": "x" * 26}, "first_name"),
    (CustomerBody, {**CUSTOMER, "last_name": "x" * 26}, "last_name"),
    (CustomerBody, {**CUSTOMER, "email": "x" * 1024}, "email"),
    (CustomerBody, {**CUSTOMER, "phone": "1" * 22}, "phone"),
    (CustomerBody, {**CUSTOMER, "billing_address": {"line1": "x" * 42}}, "billing_address.line1"),
    (CustomerBody, {**CUSTOMER, "billing_address": {"line2": "x" * 42}}, "billing_address.line2"),
    (CustomerBody, {**CUSTOMER, "billing_address": {"city": "x" * 32}}, "billing_address.city"),
    (
        CustomerBody,
        {**CUSTOMER, "billing_address": {"state": "x" * 22, "country": "CA"}},
        "billing_address.state",
    ),
    (CustomerBody, {**CUSTOMER, "billing_address": {"postal_code": "1" * 14}}, "billing_address.postal_code"),
    (CustomerBody, {**CUSTOMER, "billing_address": {"country": "x" * 32}}, "billing_address.country"),
    (CustomerBody, {**CUSTOMER, "billing_address": {"street": "1 Main"}}, "billing_address.street"),
    (CustomerBody, {**CUSTOMER, "shipping_addresses": [{"line1": "1 Main"}]}, "shipping_addresses[0].name"),
    (CustomerBody, {**CUSTOMER, "shipping_addresses": [{"name": "x" * 42}]}, "shipping_addresses[0].name"),
    (
        CustomerBody,
        {**CUSTOMER, "shipping_addresses": [{"name": "a", "default": True}, {"name": "b", "default": True}]},
        "shipping_addresses",
    ),
    (
        CustomerBody,
        {**CUSTOMER, "shipping_addresses": [{"name": "Dock"}, {"name": "dock"}]},
        "shipping_addresses",
    ),
    (
        CustomerBody,
        {**CUSTOMER, "shipping_addresses": [{"name": f"s{i}"} for i in range(51)]},
        "shipping_addresses",
    ),
    (CustomerBody, {**CUSTOMER, "sales_rep_email": "richard"}, "sales_rep_email"),
    (CustomerBody, {**CUSTOMER, "customer_type": "x" * 160}, "customer_type"),
    (CustomerBody, {**CUSTOMER, "terms": "x" * 32}, "terms"),
    (CustomerBody, {**CUSTOMER, "active": "maybe"}, "active"),
    (CustomerBody, {**CUSTOMER, "qb_list_id": "80000001 1"}, "qb_list_id"),
    (CustomerBody, {**CUSTOMER, "qb_list_id": "8" * 37}, "qb_list_id"),
    (CustomerBody, {**CUSTOMER, "adress": "1 Main"}, "adress"),
    (OrderBody, {**ORDER, "number": None}, "number"),
    (OrderBody, {**ORDER, "number": "WC1234567890"}, "number"),
    (OrderBody, {**ORDER, "number": "WC→1"}, "number"),
    (OrderBody, {**ORDER, "customer_id": None}, "customer_id"),
    (OrderBody, {**ORDER, "qb_customer_list_id": "80000001-1"}, "customer_id"),
    (OrderBody, {**ORDER, "customer_id": "no spaces"}, "customer_id"),
    (OrderBody, {**ORDER, "lines": []}, "lines"),
    (OrderBody, {**ORDER, "lines": None}, "lines"),
    (OrderBody, {**ORDER, "date": "2026-02-30"}, "date"),
    (OrderBody, {**ORDER, "date": "29/11/2026"}, "date"),
    (OrderBody, {**ORDER, "ship_date": "2026-12-02T10:00:00"}, "ship_date"),
    (OrderBody, {**ORDER, "po_number": "x" * 26}, "po_number"),
    (OrderBody, {**ORDER, "memo": "x" * 4096}, "memo"),
    (OrderBody, {**ORDER, "terms": "x" * 32}, "terms"),
    (OrderBody, {**ORDER, "sales_rep_email": "x@"}, "sales_rep_email"),
    (OrderBody, {**ORDER, "billing_address": {"city": "x" * 32}}, "billing_address.city"),
    (OrderBody, {**ORDER, "shipping_address": {"line1": "x" * 42}}, "shipping_address.line1"),
    (OrderBody, {**ORDER, "lines": [{"quantity": "1"}]}, "lines[0].sku"),
    (OrderBody, {**ORDER, "lines": [{"sku": "W"}]}, "lines[0].quantity"),
    (OrderBody, line(quantity="three"), "lines[0].quantity"),
    (OrderBody, line(quantity="0"), "lines[0].quantity"),
    (OrderBody, line(quantity=-1), "lines[0].quantity"),
    (OrderBody, line(quantity="NaN"), "lines[0].quantity"),
    (OrderBody, line(quantity=True), "lines[0].quantity"),
    (OrderBody, line(quantity="1.000001"), "lines[0].quantity"),
    (OrderBody, line(quantity="10000000000"), "lines[0].quantity"),
    (OrderBody, line(rate="-0.01"), "lines[0].rate"),
    (OrderBody, line(rate="1.234567"), "lines[0].rate"),
    (OrderBody, line(rate="1e12"), "lines[0].rate"),
    (OrderBody, line(description="x" * 4096), "lines[0].description"),
    (OrderBody, line(line_id="a b"), "lines[0].line_id"),
    (
        OrderBody,
        {
            **ORDER,
            "lines": [
                {"sku": "A", "quantity": 1, "line_id": "l"},
                {"sku": "B", "quantity": 1, "line_id": "l"},
            ],
        },
        "lines",
    ),
    (PaymentBody, {"customer_id": "c-17"}, "amount"),
    (PaymentBody, {**PAYMENT, "amount": "0"}, "amount"),
    (PaymentBody, {**PAYMENT, "amount": "-5"}, "amount"),
    (PaymentBody, {**PAYMENT, "amount": "37.505"}, "amount"),
    (PaymentBody, {**PAYMENT, "amount": "10000000000000"}, "amount"),
    (PaymentBody, {**PAYMENT, "customer_id": None}, "customer_id"),
    (PaymentBody, {**PAYMENT, "order_id": "o 42"}, "order_id"),
    (PaymentBody, {**PAYMENT, "date": "2026-13-01"}, "date"),
    (PaymentBody, {**PAYMENT, "reference": "x" * 21}, "reference"),
    (PaymentBody, {**PAYMENT, "reference": "WIZPAY-😀"}, "reference"),
    (PaymentBody, {**PAYMENT, "method": "x" * 32}, "method"),
    (PaymentBody, {**PAYMENT, "memo": "x" * 4096}, "memo"),
]


@pytest.mark.parametrize(
    ("model", "body", "field"), REFUSED, ids=[f"{m.__name__}:{f}:{i}" for i, (m, _, f) in enumerate(REFUSED)]
)
def test_refused_naming_the_field(model: type[Body], body: dict[str, Any], field: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse_body(model, {k: v for k, v in body.items() if v is not None})
    error = refused.value
    assert (error.status, error.error_code, error.field) == (422, "validation_failed", field)
    assert error.message.startswith(field) or field in {"customer_id", "lines", "shipping_addresses"}


def test_messages_say_why() -> None:
    def message(model: type[Body], body: dict[str, Any]) -> str:
        with pytest.raises(ApiError) as refused:
            parse_body(model, body)
        return refused.value.message

    assert message(OrderBody, line(quantity="0")) == "lines[0].quantity must be a positive decimal"
    assert message(CustomerBody, {"name": "x" * 42}) == (
        "name must be at most 41 characters (QuickBooks' limit for CustomerAdd/Name)"
    )
    assert "Windows-1252" in message(CustomerBody, {"name": "Жук"})
    assert message(OrderBody, {**ORDER, "lines": []}) == "lines must have at least one line"
    assert message(PaymentBody, {"customer_id": "c", "amount": "1.005"}) == (
        "amount has more decimal places than QuickBooks keeps (2)"
    )
    assert message(CustomerBody, {}) == "name is required"


def test_commerce_body_is_normalised() -> None:
    body = parse_body(
        OrderBody,
        {
            **ORDER,
            "id": "o-1",
            "qb_txn_id": "T-1",
            "sync": {"state": "synced"},
            "unchanged": True,
            "memo": None,
            "date": "2026-11-29",
            "billing_address": {"state": "georgia", "country": "United States"},
            "shipping_address": {"state": "Ontario", "country": "CA"},
            "lines": [
                {"sku": "W", "quantity": 3, "rate": "12.50"},
                {"sku": "X", "quantity": "1.500", "rate": 0},
            ],
        },
    ).commerce_body()
    assert body == {
        "number": "WC1",
        "customer_id": "c-17",
        "date": "2026-11-29",
        "billing_address": {"state": "GA", "country": "United States"},
        "shipping_address": {"state": "Ontario", "country": "CA"},
        "lines": [
            {"sku": "W", "quantity": "3", "rate": "12.5"},
            {"sku": "X", "quantity": "1.5", "rate": "0"},
        ],
    }


def test_equal_bodies_normalise_alike() -> None:
    one = parse_body(PaymentBody, {**PAYMENT, "amount": 37.5}).commerce_body()
    assert one == parse_body(PaymentBody, {**PAYMENT, "amount": "37.50"}).commerce_body()
    assert one["amount"] == "37.5"


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("Georgia", "GA"),
        ("georgia", "GA"),
        ("ga", "GA"),
        (" New  York ", "NY"),
        ("Puerto Rico", "PR"),
        ("District of Columbia", "DC"),
        ("Main", "Main"),
        ("Texass", "Texass"),
        ("Ontario", "Ontario"),
    ],
)
def test_state_names_become_codes_exactly(given: str, code: str) -> None:
    assert state_code(given) == code


def test_a_long_territory_name_fits_once_it_is_a_code() -> None:
    body = parse_body(CustomerBody, {**CUSTOMER, "billing_address": {"state": "Northern Mariana Islands"}})
    assert body.commerce_body()["billing_address"] == {"state": "MP"}


def test_other_text_is_kept_as_sent_and_counted_as_quickbooks_will_store_it() -> None:
    body = parse_body(CustomerBody, {**CUSTOMER, "company_name": "Москва Trading", "first_name": "Zoë"})
    assert body.commerce_body()["company_name"] == "Москва Trading"  # transliterated when built
    with pytest.raises(ApiError) as refused:  # ":grinning:" is 10 characters in QuickBooks
        parse_body(CustomerBody, {**CUSTOMER, "company_name": "😀" * 5})
    assert refused.value.field == "company_name"


def test_every_address_we_send_has_the_same_limits() -> None:
    """bodies.Address checks CustomerAdd/BillAddress's limits; every address element it becomes has them."""
    parts = ("Addr1", "Addr2", "City", "State", "PostalCode", "Country")
    holders = (
        "CustomerMod/BillAddress",
        "CustomerAdd/ShipToAddress",
        "CustomerAdd/ShipAddress",
        "SalesOrderAdd/BillAddress",
        "SalesOrderAdd/ShipAddress",
        "SalesOrderMod/ShipAddress",
        "EstimateAdd/BillAddress",
        "EstimateAdd/ShipAddress",
    )
    for part in parts:
        expected = limit_of(f"CustomerAdd/BillAddress/{part}").max_length
        assert {limit_of(f"{h}/{part}").max_length for h in holders} == {expected}
    for field in ("RefNumber", "PONumber", "Memo"):  # orders may go as estimates
        assert limit_of(f"SalesOrderAdd/{field}") == limit_of(f"EstimateAdd/{field}")


def test_the_schema_shows_quickbooks_limits() -> None:
    schema = CustomerBody.model_json_schema()
    assert schema["properties"]["name"]["maxLength"] == 41
    assert "name" in schema["required"]
    order = OrderBody.model_json_schema()
    assert order["properties"]["number"]["maxLength"] == 11
    assert order["$defs"]["OrderLine"]["properties"]["quantity"]["anyOf"][0]["format"] == "decimal"
