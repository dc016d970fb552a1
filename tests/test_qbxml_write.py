"""Writing qbXML: number formats, checked text, references and addresses inside whole requests
validated against Intuit's XSD, the limits table held to qbxmlops130.xml, and the builder registry
(every builder validated by itself, none left unregistered).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from lxml import etree

import qbwc_server.qbxml
from qbwc_server.errors import QbwcError
from qbwc_server.qbxml import registry
from qbwc_server.qbxml.core import QbxmlError, QbxmlVersion, wrap_request
from qbwc_server.qbxml.fields import Address, Ref, ShipToAddress
from qbwc_server.qbxml.limits import LIMITS, REQUESTS, Limit, available, in_qbd, limit_of, since
from qbwc_server.qbxml.query import ListQuery, TxnQuery
from qbwc_server.qbxml.write import (
    BuildError,
    checked_text,
    element,
    format_amount,
    format_percent,
    format_price,
    format_quantity,
    is_storable,
    transliterate,
    write_address,
    write_aggregate,
    write_field,
    write_ref,
    write_request,
    write_ship_to_address,
)
from tests.conftest import shared_file
from tests.xsd import assert_valid_qbxml

V13, V12, V6, V3, V1 = (QbxmlVersion(*v) for v in ((13, 0), (12, 0), (6, 0), (3, 0), (1, 1)))
EST = dt.timezone(dt.timedelta(hours=-5))
GUID = "{5a3c1e2d-7b4f-4c8a-9e6d-2f1b0a9c8d7e}"


@cache
def _types_schema() -> etree._ElementTree:
    return etree.parse(str(shared_file("QBXML_XSD", "qbxml/qbxmlops130.xsd").with_name("qbxmltypes130.xsd")))


def xsd_pattern(type_name: str) -> re.Pattern[str]:
    """The pattern Intuit's qbxmltypes130.xsd gives a numeric type."""
    xs = "{http://www.w3.org/2001/XMLSchema}"
    (simple,) = (t for t in _types_schema().iter(f"{xs}simpleType") if t.get("name") == type_name)
    (pattern,) = simple.iter(f"{xs}pattern")
    return re.compile(pattern.get("value") or "")


# -- numbers -----------------------------------------------------------------------------------

FORMATTERS: dict[str, Callable[..., str]] = {
    "AMTTYPE": format_amount,
    "PRICETYPE": format_price,
    "QUANTYPE": format_quantity,
    "PERCENTTYPE": format_percent,
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1E+2"), "100.00"),  # str() would say 1E+2
        (Decimal("-0"), "0.00"),
        (Decimal("-0.004"), "0.00"),  # rounds to zero: no "-0.00"
        (Decimal("0.005"), "0.01"),  # half up, not half to even
        (Decimal("-0.005"), "-0.01"),  # half away from zero
        (Decimal("0.125"), "0.13"),
        (Decimal("2.675"), "2.68"),
        (Decimal("1E-30"), "0.00"),
        (Decimal("12.5"), "12.50"),
        (7, "7.00"),
        (Decimal("9999999999999.99"), "9999999999999.99"),
        (Decimal("-9999999999999.994"), "-9999999999999.99"),
    ],
)
def test_amounts_are_fixed_point_with_two_decimals(value: Decimal | int, expected: str) -> None:
    assert format_amount(value) == expected
    assert xsd_pattern("AMTTYPE").fullmatch(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1E+2"), "100"),
        (Decimal("12.50"), "12.50"),  # as precise as given
        (Decimal("12.345678"), "12.34568"),
        (Decimal("0.000005"), "0.00001"),
        (Decimal("-0.0000049"), "0.00000"),
        (Decimal("-0"), "0"),
        (Decimal("1E-7"), "0.00000"),
        (Decimal("9999999999.99999"), "9999999999.99999"),
        (-15, "-15"),
    ],
)
@pytest.mark.parametrize("type_name", ["PRICETYPE", "QUANTYPE", "PERCENTTYPE"])
def test_prices_quantities_and_percents_keep_up_to_five_decimals(
    type_name: str, value: Decimal | int, expected: str
) -> None:
    assert FORMATTERS[type_name](value) == expected
    assert xsd_pattern(type_name).fullmatch(expected)


@pytest.mark.parametrize("type_name", list(FORMATTERS))
@pytest.mark.parametrize(
    "value",
    [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("1E+100"), 10**20],
    ids=["nan", "snan", "inf", "-inf", "1e100", "10**20"],
)
def test_what_no_number_type_holds_is_a_build_error(type_name: str, value: Decimal | int) -> None:
    with pytest.raises(BuildError) as raised:
        FORMATTERS[type_name](value, "SalesOrderAdd/SalesOrderLineAdd/Amount")
    assert raised.value.field == "SalesOrderAdd/SalesOrderLineAdd/Amount"
    assert raised.value.limit == type_name


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("AMTTYPE", Decimal("9999999999999.995")),  # rounding carries into a 14th digit
        ("AMTTYPE", Decimal("10000000000000")),
        ("PRICETYPE", Decimal("9999999999.999995")),
        ("QUANTYPE", Decimal("-10000000000")),
    ],
)
def test_values_just_past_the_range_are_refused(type_name: str, value: Decimal) -> None:
    with pytest.raises(BuildError, match="digits before the point"):
        FORMATTERS[type_name](value)


@pytest.mark.parametrize("value", [1.5, True, "1.5"])
def test_floats_bools_and_strings_are_programming_errors(value: Any) -> None:
    with pytest.raises(TypeError):
        format_amount(value)


def test_element_never_writes_a_decimal_with_str() -> None:
    with pytest.raises(TypeError, match="format_amount"):
        element("Amount", Decimal("1E+2"))
    with pytest.raises(TypeError):
        element("Amount", 100.0)
    with pytest.raises(BuildError, match="UTC offset") as raised:
        element("FromModifiedDate", dt.datetime(2026, 3, 1))
    assert raised.value.field == "FromModifiedDate"


# -- text --------------------------------------------------------------------------------------


def test_build_error_names_the_field_and_the_limit() -> None:
    with pytest.raises(BuildError) as raised:
        write_field("CustomerAdd/Name", "N" * 42, V13)
    error = raised.value
    assert (error.field, error.limit, error.code) == ("CustomerAdd/Name", 41, "validation_failed")
    assert str(error) == "CustomerAdd/Name is 42 characters; QuickBooks stores at most 41"
    assert isinstance(error, QbxmlError) and isinstance(error, QbwcError) and isinstance(error, ValueError)


def test_over_long_text_is_refused_unless_cutting_is_asked_for() -> None:
    assert write_field("CustomerAdd/Name", "N" * 41, V13) == f"<Name>{'N' * 41}</Name>"
    city = "Llanfairpwllgwyngyllgogerychwyrndrobwll"
    with pytest.raises(BuildError) as raised:
        write_address("CustomerAdd/BillAddress", Address(city=city), V13)
    assert (raised.value.field, raised.value.limit) == ("CustomerAdd/BillAddress/City", 31)
    cut = write_address("CustomerAdd/BillAddress", Address(city=city), V13, truncate=True)
    assert cut == f"<BillAddress><City>{city[:31]}</City></BillAddress>"
    # counted as QuickBooks receives it: after transliteration, before XML escaping
    assert (
        write_field("SalesOrderAdd/RefNumber", "A&B<C>-1234", V13)
        == "<RefNumber>A&amp;B&lt;C&gt;-1234</RefNumber>"
    )
    with pytest.raises(BuildError, match="12 characters"):
        write_field("SalesOrderAdd/RefNumber", "SO\N{RIGHTWARDS ARROW}12345678", V13)


@pytest.mark.parametrize(
    ("text", "nearest"),
    [
        ("Café \N{EN DASH} Straße €5", "Café \N{EN DASH} Straße €5"),  # all Windows-1252: unchanged
        ("Łódź", "Lódz"),  # ó is in Windows-1252, Ł and ź are not
        ("Erdős", "Erdos"),
        ("Lǘ", "Lü"),  # keeps the accent Windows-1252 has
        ("Ș", "S"),
        ("ﬁne", "fine"),
        ("\uff37\uff49\uff44\uff45", "Wide"),
        ("A → B ⇒ C", "A -> B => C"),
        ("≥ 5", ">= 5"),
        ("Москва", "Moskva"),
        ("東京", "DongJing"),
        ("ok 😀", "ok :grinning:"),
        ("zero\u200bwidth", "zerowidth"),
        ("bell\x07\ttab", "bell\ttab"),
        ("Jose\u0301", "José"),  # decomposed text is composed first
        ("\u0301e", "e"),  # an accent on nothing has no form of its own
    ],
)
def test_transliteration_is_the_nearest_windows_1252_form(text: str, nearest: str) -> None:
    assert transliterate(text) == nearest
    assert is_storable(nearest)


def test_storable_says_whether_quickbooks_keeps_a_value_as_is() -> None:
    assert is_storable("Smith & Sons \N{EN DASH} Café №") is False  # № is not in Windows-1252
    assert is_storable("Smith & Sons \N{EN DASH} Café ™") is True
    assert is_storable("tab\tand\r\nnewline") is True
    assert is_storable("nul\x00") is False
    assert is_storable("\ud800") is False
    assert is_storable("Jose\u0301") is True  # the same text as "José"


def test_identifying_text_is_refused_rather_than_changed() -> None:
    with pytest.raises(BuildError, match="Windows-1252") as raised:
        checked_text("Łódź Trading", field="CustomerAdd/Name", max_length=41, non_cp1252="refuse")
    assert (raised.value.field, raised.value.limit) == ("CustomerAdd/Name", "Windows-1252")
    assert "\\u0141" in str(raised.value) and "\\u017a" in str(raised.value)
    assert checked_text("Łódź", field="x", max_length=None, non_cp1252="replace") == "?ód?"  # qb_text's way
    assert write_field("CustomerAdd/Notes", "Łódź", V13) == "<Notes>Lódz</Notes>"


# -- references and addresses ------------------------------------------------------------------


def test_a_reference_prefers_the_list_id() -> None:
    both = Ref(list_id="80000001-1385061234", full_name="Café Müller & Söhne")
    assert write_ref("SalesOrderAdd/CustomerRef", both, V13) == (
        "<CustomerRef><ListID>80000001-1385061234</ListID></CustomerRef>"
    )
    by_name = Ref(list_id=None, full_name="Café Müller & Söhne")
    assert write_ref("SalesOrderAdd/CustomerRef", by_name, V13) == (
        "<CustomerRef><FullName>Café Müller &amp; Söhne</FullName></CustomerRef>"
    )
    assert write_ref("SalesOrderAdd/CustomerRef", None, V13) == ""


@pytest.mark.parametrize(
    ("path", "ref", "field", "limit"),
    [
        ("SalesOrderAdd/SalesRepRef", Ref(None, "JMNEW"), None, None),
        ("SalesOrderAdd/SalesRepRef", Ref(None, "JMNEWS"), "SalesOrderAdd/SalesRepRef/FullName", 5),
        ("SalesOrderAdd/CustomerRef", Ref(None, "C" * 210), "SalesOrderAdd/CustomerRef/FullName", 209),
        (
            "CustomerAdd/TermsRef",
            Ref(None, "Net 30 \N{EN DASH} Łódź"),
            "CustomerAdd/TermsRef/FullName",
            "Windows-1252",
        ),
        ("SalesOrderAdd/CustomerRef", Ref("8" * 37, None), "SalesOrderAdd/CustomerRef/ListID", 36),
        ("SalesOrderAdd/ClassRef", Ref(None, None), "SalesOrderAdd/ClassRef", "ListID or FullName"),
        ("SalesOrderAdd/ClassRef", Ref("", ""), "SalesOrderAdd/ClassRef", "ListID or FullName"),
    ],
)
def test_a_reference_is_never_cut_or_transliterated(
    path: str, ref: Ref, field: str | None, limit: object
) -> None:
    if field is None:
        assert write_ref(path, ref, V13).endswith(f"<FullName>{ref.full_name}</FullName></SalesRepRef>")
        return
    with pytest.raises(BuildError) as raised:
        write_ref(path, ref, V13)
    assert (raised.value.field, raised.value.limit) == (field, limit)


FULL = Address(
    addr1="Café Müller & Söhne GmbH", addr2="Attn: Accounts Payable", addr3="1200 Peachtree St NE",
    addr4="Suite 400", addr5="Building C", city="Atlanta", state="GA", postal_code="30309", country="US",
    note="Deliveries 7\N{EN DASH}11 am only",
)  # fmt: skip
FULL_XML = (
    "<Addr1>Café Müller &amp; Söhne GmbH</Addr1><Addr2>Attn: Accounts Payable</Addr2>"
    "<Addr3>1200 Peachtree St NE</Addr3><Addr4>Suite 400</Addr4><Addr5>Building C</Addr5>"
    "<City>Atlanta</City><State>GA</State><PostalCode>30309</PostalCode><Country>US</Country>"
    "<Note>Deliveries 7\N{EN DASH}11 am only</Note>"
)


def test_an_address_in_schema_order_and_what_older_versions_lack_left_out() -> None:
    assert write_address("SalesOrderAdd/ShipAddress", FULL, V13) == f"<ShipAddress>{FULL_XML}</ShipAddress>"
    at_3 = write_address("SalesOrderAdd/ShipAddress", FULL, V3)
    assert "Addr4" in at_3 and "Addr5" not in at_3 and "Note" not in at_3
    at_1 = write_address("CustomerAdd/BillAddress", FULL, V1)
    assert "Addr4" not in at_1 and "<Addr3>" in at_1
    assert write_address("CustomerAdd/BillAddress", Address(), V13) == ""
    assert write_address("CustomerAdd/BillAddress", Address(addr5="x", note="y"), V3) == ""
    assert write_address("CustomerMod/BillAddress", Address(addr2=""), V13) == (
        "<BillAddress><Addr2></Addr2></BillAddress>"  # an empty value clears it in a Mod
    )


def test_ship_to_addresses_are_12_0() -> None:
    warehouse = ShipToAddress(name="Warehouse", is_default=True, address=FULL)
    assert write_ship_to_address("CustomerAdd/ShipToAddress", warehouse, V13) == (
        f"<ShipToAddress><Name>Warehouse</Name>{FULL_XML}<DefaultShipTo>true</DefaultShipTo></ShipToAddress>"
    )
    assert write_ship_to_address("CustomerAdd/ShipToAddress", warehouse, QbxmlVersion(11, 0)) == ""
    with pytest.raises(BuildError) as raised:
        write_ship_to_address("CustomerMod/ShipToAddress", ShipToAddress("Łódź", False, Address()), V13)
    assert raised.value.field == "CustomerMod/ShipToAddress/Name"


# -- whole requests, against the XSD -----------------------------------------------------------

WAREHOUSE = ShipToAddress(name="Warehouse", is_default=True, address=FULL)
KIOSK = ShipToAddress(
    name="Savannah Kiosk", is_default=False, address=Address(addr1="River St", city="Savannah")
)


def customer_body(body: str, version: QbxmlVersion) -> list[str]:
    """A CustomerAdd/CustomerMod body in schema order, as the Add/Mod builders will write it."""
    return [
        write_field(f"{body}/Name", "Café Müller & Söhne", version),
        write_field(f"{body}/IsActive", True, version),
        write_ref(f"{body}/ClassRef", Ref(None, "Wizcommerce"), version),
        write_ref(f"{body}/ParentRef", Ref("80000001-1385061234", None), version),
        write_field(f"{body}/CompanyName", "Café Müller & Söhne GmbH", version),
        write_field(f"{body}/FirstName", "Jürgen", version),
        write_field(f"{body}/LastName", "Müller", version),
        write_field(f"{body}/JobTitle", "Owner", version),
        write_address(f"{body}/BillAddress", FULL, version),
        write_address(
            f"{body}/ShipAddress", Address(addr1="Dock 4", city="Atlanta", note="Ring twice"), version
        ),
        write_ship_to_address(f"{body}/ShipToAddress", WAREHOUSE, version),
        write_ship_to_address(f"{body}/ShipToAddress", KIOSK, version),
        write_field(f"{body}/Phone", "(404) 555-0142", version),
        write_field(f"{body}/Email", "ap@cafe-mueller.example", version),
        write_ref(f"{body}/CustomerTypeRef", Ref(None, "Wholesale"), version),
        write_ref(f"{body}/TermsRef", Ref(None, "Net 30"), version),
        write_ref(f"{body}/SalesRepRef", Ref(None, "JM"), version),
        write_field(f"{body}/OpenBalance", Decimal("0"), version) if body == "CustomerAdd" else "",
        write_ref(f"{body}/SalesTaxCodeRef", Ref(None, "Non"), version),
        write_field(f"{body}/AccountNumber", "WC-000142", version),
        write_field(f"{body}/CreditLimit", Decimal("25E+3"), version),
        write_field(f"{body}/Notes", "Prefers e-mail → invoices", version),
        write_ref(f"{body}/PriceLevelRef", Ref(None, "Dealers & Distributors"), version),
        write_field(f"{body}/ExternalGUID", GUID, version) if body == "CustomerAdd" else "",
    ]


def customer_add(version: QbxmlVersion) -> str:
    return write_request(
        "CustomerAddRq", customer_body("CustomerAdd", version), version, request_id="42",
        include_ret_elements=("ListID", "EditSequence"),
    )  # fmt: skip


def customer_mod(version: QbxmlVersion) -> str:
    head = [write_field("CustomerMod/ListID", "80000002-1385061240", version)]
    head.append(write_field("CustomerMod/EditSequence", "1773057731", version))
    return write_request("CustomerModRq", head + customer_body("CustomerMod", version), version)


def sales_order_line(line: str, version: QbxmlVersion, amount: Decimal) -> str:
    return write_aggregate(line, [
        write_ref(f"{line}/ItemRef", Ref(None, "Coffee:Espresso Beans 1kg"), version),
        write_field(f"{line}/Desc", "Espresso beans \N{EN DASH} 1 kg", version),
        write_field(f"{line}/Quantity", Decimal("12"), version),
        write_field(f"{line}/Rate", Decimal("12.345678"), version),
        write_ref(f"{line}/ClassRef", Ref(None, "Wizcommerce"), version),
        write_field(f"{line}/Amount", amount, version),
        write_ref(f"{line}/SalesTaxCodeRef", Ref(None, "Non"), version),
        write_field(f"{line}/Other1", "wc-line-1", version),
    ], version)  # fmt: skip


def order_head(body: str, version: QbxmlVersion) -> list[str]:
    return [
        write_ref(f"{body}/CustomerRef", Ref("80000001-1385061234", None), version),
        write_ref(f"{body}/ClassRef", Ref(None, "Wizcommerce"), version),
        write_field(f"{body}/TxnDate", dt.date(2026, 3, 9), version),
        write_field(f"{body}/RefNumber", "WC-2026-42", version),
        write_address(f"{body}/BillAddress", FULL, version),
        write_address(f"{body}/ShipAddress", FULL, version),
        write_field(f"{body}/PONumber", "PO 7781", version),
        write_ref(f"{body}/TermsRef", Ref(None, "Net 30"), version),
        write_ref(f"{body}/SalesRepRef", Ref(None, "JM"), version),
        write_field(f"{body}/Memo", "From WizCommerce order #42", version),
        write_ref(f"{body}/CustomerSalesTaxCodeRef", Ref(None, "Non"), version),
        write_field(f"{body}/Other", "wc:42", version),
    ]


def sales_order_add(version: QbxmlVersion) -> str:
    body = [
        *order_head("SalesOrderAdd", version),
        write_field("SalesOrderAdd/ExternalGUID", GUID, version),
        sales_order_line("SalesOrderAdd/SalesOrderLineAdd", version, Decimal("148.15")),
        sales_order_line("SalesOrderAdd/SalesOrderLineAdd", version, Decimal("-0.005")),
    ]
    return write_request("SalesOrderAddRq", body, version, request_id="43", include_ret_elements=("TxnID",))


def sales_order_mod(version: QbxmlVersion) -> str:
    line = "SalesOrderMod/SalesOrderLineMod"
    body = [
        write_field("SalesOrderMod/TxnID", "2F41-1763051200", version),
        write_field("SalesOrderMod/EditSequence", "1763051200", version),
        *order_head("SalesOrderMod", version),
        write_aggregate(line, [
            write_field(f"{line}/TxnLineID", "2F43-1763051200", version),
            write_field(f"{line}/Quantity", Decimal("1E+1"), version),
            write_field(f"{line}/RatePercent", Decimal("-15"), version),
        ], version),
    ]  # fmt: skip
    return write_request("SalesOrderModRq", body, version)


def estimate_add(version: QbxmlVersion) -> str:
    body = [
        *order_head("EstimateAdd", version),
        sales_order_line("EstimateAdd/EstimateLineAdd", version, Decimal("1")),
    ]
    return write_request("EstimateAddRq", body, version)


def receive_payment_add(version: QbxmlVersion) -> str:
    applied = "ReceivePaymentAdd/AppliedToTxnAdd"
    body = [
        write_ref("ReceivePaymentAdd/CustomerRef", Ref("80000001-1385061234", None), version),
        write_field("ReceivePaymentAdd/TxnDate", dt.date(2026, 3, 9), version),
        write_field("ReceivePaymentAdd/RefNumber", "wp_7F3K9", version),
        write_field("ReceivePaymentAdd/TotalAmount", Decimal("1E+3"), version),
        write_ref("ReceivePaymentAdd/PaymentMethodRef", Ref(None, "WizPay"), version),
        write_field("ReceivePaymentAdd/Memo", "WizPay payment", version),
        write_field("ReceivePaymentAdd/ExternalGUID", GUID, version),
        *(
            write_aggregate(applied, [
                write_field(f"{applied}/TxnID", txn_id, version),
                write_field(f"{applied}/PaymentAmount", amount, version),
                write_field(f"{applied}/DiscountAmount", Decimal("0"), version),
            ], version)
            for txn_id, amount in (("1A2B-1772900000", Decimal("999.995")), ("1A2C-17729", Decimal("0.005")))
        ),
    ]  # fmt: skip
    return write_request("ReceivePaymentAddRq", body, version, request_id="44")


def class_add(version: QbxmlVersion) -> str:
    body = [
        write_field("ClassAdd/Name", "Wizcommerce", version),
        write_ref("ClassAdd/ParentRef", Ref(None, "Web"), version),
    ]
    return write_request("ClassAddRq", body, version)


def terms_add(version: QbxmlVersion) -> str:
    body = [
        write_field("StandardTermsAdd/Name", "2% 10 Net 30", version),
        write_field("StandardTermsAdd/StdDueDays", 30, version),
        write_field("StandardTermsAdd/StdDiscountDays", 10, version),
        write_field("StandardTermsAdd/DiscountPct", Decimal("2.0"), version),
    ]
    return write_request("StandardTermsAddRq", body, version)


def customer_type_add(version: QbxmlVersion) -> str:
    return write_request(
        "CustomerTypeAddRq", [write_field("CustomerTypeAdd/Name", "Wholesale", version)], version
    )


REQUEST_WRITERS: dict[str, Callable[[QbxmlVersion], str]] = {
    "CustomerAddRq": customer_add, "CustomerModRq": customer_mod, "SalesOrderAddRq": sales_order_add,
    "SalesOrderModRq": sales_order_mod, "EstimateAddRq": estimate_add,
    "ReceivePaymentAddRq": receive_payment_add, "ClassAddRq": class_add, "StandardTermsAddRq": terms_add,
    "CustomerTypeAddRq": customer_type_add,
}  # fmt: skip


@pytest.mark.parametrize("version", [V13, V12, QbxmlVersion(8, 0), V6, V3], ids=str)
@pytest.mark.parametrize("tag", list(REQUEST_WRITERS))
def test_requests_written_with_the_writers_validate(tag: str, version: QbxmlVersion) -> None:
    rq = REQUEST_WRITERS[tag](version)
    assert rq.startswith(f"<{tag}") and rq.endswith(f"</{tag}>")
    assert_valid_qbxml(wrap_request(rq, version))
    for path in LIMITS:  # nothing the version lacks was written
        if path.startswith(tag.removesuffix("Rq")) and not available(path, version):
            assert f"<{path.rsplit('/', 1)[-1]}>" not in rq or _also_elsewhere(path, version), path


def _also_elsewhere(path: str, version: QbxmlVersion) -> bool:
    """Whether an element of that name is available at another path of the same request."""
    tag, body = path.rsplit("/", 1)[-1], path.split("/", 1)[0]
    return any(
        p.split("/", 1)[0] == body and p.rsplit("/", 1)[-1] == tag and available(p, version) for p in LIMITS
    )


def test_what_older_versions_lack_is_left_out_of_a_customer() -> None:
    at_13, at_6, at_3 = customer_add(V13), customer_add(V6), customer_add(V3)
    assert at_13.count("<ShipToAddress>") == 2 and "<ClassRef>" in at_13 and "<JobTitle>" in at_13
    assert "ShipToAddress" not in at_6 and "ClassRef" not in at_6 and "JobTitle" not in at_6
    assert "<ExternalGUID>" not in at_6 and "<Addr5>" in at_6 and "<IncludeRetElement>" in at_6
    assert "<Addr5>" not in at_3 and "<Note>" not in at_3 and "IncludeRetElement" not in at_3
    assert "<CreditLimit>25000.00</CreditLimit>" in at_3


def test_a_sales_order_writes_its_numbers_in_their_types() -> None:
    rq = sales_order_add(V13)
    assert "<Quantity>12</Quantity><Rate>12.34568</Rate>" in rq
    assert "<Amount>148.15</Amount>" in rq and "<Amount>-0.01</Amount>" in rq
    assert "<Desc>Espresso beans \N{EN DASH} 1 kg</Desc>" in rq
    payment = receive_payment_add(V13)
    assert (
        "<TotalAmount>1000.00</TotalAmount>" in payment
        and "<PaymentAmount>1000.00</PaymentAmount>" in payment
    )


def test_a_request_newer_than_the_session_is_refused() -> None:
    with pytest.raises(
        BuildError, match=r"SalesOrderAddRq needs qbXML 2\.1; this session negotiated 2\.0"
    ) as raised:
        sales_order_add(QbxmlVersion(2, 0))
    assert (raised.value.field, raised.value.limit) == ("SalesOrderAddRq", QbxmlVersion(2, 1))


def test_the_schema_check_sees_the_order() -> None:
    """What makes the validations above worth something: the XSD refuses elements out of order."""
    body = [write_field("CustomerAdd/Phone", "404", V13), write_field("CustomerAdd/Name", "Acme", V13)]
    with pytest.raises(AssertionError, match="not valid"):
        assert_valid_qbxml(wrap_request(write_request("CustomerAddRq", body, V13), V13))


def test_elements_not_in_quickbooks_desktop_are_refused() -> None:
    with pytest.raises(BuildError, match="not in QuickBooks Desktop") as raised:
        write_field("SalesOrderAdd/IsTaxIncluded", True, V13)
    assert raised.value.field == "SalesOrderAdd/IsTaxIncluded"
    with pytest.raises(BuildError):
        write_field("ReceivePaymentAdd/AppliedToTxnAdd/TxnLineDetail/Amount", Decimal(1), V13)


SAMPLES: dict[str, object] = {
    "STRTYPE": "x", "IDTYPE": "80000001-1385061234", "ENUMTYPE": "None", "GUIDTYPE": GUID,
    "AMTTYPE": Decimal("1"), "PRICETYPE": Decimal("1.5"), "QUANTYPE": Decimal("2"),
    "PERCENTTYPE": Decimal("-10"), "FLOATTYPE": Decimal("1.2345"), "BOOLTYPE": False, "INTTYPE": 3,
    "DATETYPE": dt.date(2026, 3, 9),
    "DATETIMETYPE": dt.datetime(2026, 3, 9, 10, 41, 48, tzinfo=EST),
}  # fmt: skip


@pytest.mark.parametrize("path", [p for p, limit in LIMITS.items() if limit.type is not None])
def test_every_leaf_of_the_table_can_be_written(path: str) -> None:
    limit = limit_of(path)
    assert limit.type in SAMPLES, f"no writer for {limit.type}"
    value = SAMPLES[limit.type]
    if not in_qbd(path):
        with pytest.raises(BuildError):
            write_field(path, value, V13)
        return
    written = write_field(path, value, V13)
    assert written.startswith(f"<{path.rsplit('/', 1)[-1]}>")
    assert write_field(path, None, V13) == ""
    with pytest.raises(TypeError):
        write_field(path, object(), V13)


# -- the limits table is qbxmlops130.xml's -----------------------------------------------------

COVERED = (
    "CustomerAddRq", "CustomerModRq", "SalesOrderAddRq", "SalesOrderModRq", "EstimateAddRq",
    "ReceivePaymentAddRq", "ClassAddRq", "StandardTermsAddRq", "CustomerTypeAddRq",
)  # fmt: skip


def _ops_file() -> etree._Element:
    path = shared_file("QBXML_XSD", "qbxml/qbxmlops130.xsd").with_name("qbxmlops130.xml")
    return etree.parse(str(path), etree.XMLParser(remove_comments=False, resolve_entities=False)).getroot()


def _note(element: etree._Element) -> str:
    """The comment on an element's own line: after a leaf, or first inside an aggregate."""
    beside = element[0] if any(isinstance(c.tag, str) for c in element) else element.getnext()
    if beside is not None and beside.tag is etree.Comment and beside.sourceline == element.sourceline:
        return beside.text or ""
    return ""


def _limit(element: etree._Element, or_since: QbxmlVersion | None) -> Limit:
    """What the file says of `element`: "max length = N for QBD|…", "not in QBD|…", "vX.Y"."""
    max_length, first, qbd = None, None, True
    for clause in (c.strip() for c in _note(element).split(",")):
        if match := re.fullmatch(r"max length = (\d+)(?: for ([A-Z|]+))?", clause):
            if match[2] is None or "QBD" in match[2].split("|"):
                max_length = int(match[1])
        elif (match := re.fullmatch(r"not in ([A-Z|]+)", clause)) and "QBD" in match[1].split("|"):
            qbd = False
        elif match := re.fullmatch(r"v(\d+\.\d+)", clause):
            first = QbxmlVersion.parse(match[1])
    if or_since is not None and (first is None or or_since > first):
        first = or_since  # "<!-- v11.0, BEGIN OR: … -->": the choice itself appeared then
    leaf = not any(isinstance(c.tag, str) for c in element)
    return Limit((element.text or "").strip() if leaf else None, max_length, first, qbd)


def _walk(element: etree._Element, path: str) -> Iterator[tuple[str, Limit]]:
    choices: list[QbxmlVersion | None] = []
    for child in element:
        if child.tag is etree.Comment:
            text = child.text or ""
            if "BEGIN OR" in text:
                found = re.search(r"\bv(\d+\.\d+)\b", text)
                choices.append(QbxmlVersion.parse(found[1]) if found else None)
            elif "END OR" in text:
                choices.pop()
        elif isinstance(child.tag, str):
            or_since = max((v for v in choices if v is not None), default=None)
            child_path = f"{path}/{child.tag}"
            yield child_path, _limit(child, or_since)
            yield from _walk(child, child_path)


def _file_limits() -> dict[str, Limit]:
    root, found = _ops_file(), {}
    for tag in COVERED:
        (request,) = root.iter(tag)
        found[tag] = _limit(request, None)
        for path, limit in _walk(request, tag):
            body = f"{tag}/{tag.removesuffix('Rq')}"
            found[path.removeprefix(f"{tag}/") if path.startswith(body) else path] = limit
    return found


def test_the_limits_table_is_the_files_both_ways() -> None:
    assert set(COVERED) <= set(REQUESTS)
    in_file = _file_limits()
    table = {
        path: limit
        for path, limit in LIMITS.items()
        if path.split("/")[0].removesuffix("Rq") + "Rq" in COVERED
    }
    missing = sorted(set(in_file) - set(table))
    extra = sorted(set(table) - set(in_file))
    differ = {
        path: (table[path], in_file[path])
        for path in set(table) & set(in_file)
        if table[path] != in_file[path]
    }
    assert not missing, f"elements of qbxmlops130.xml the table lacks: {missing}"
    assert not extra, f"paths in the table that qbxmlops130.xml lacks: {extra}"
    assert not differ, "\n".join(f"{p}: table {t} != file {f}" for p, (t, f) in sorted(differ.items()))


def test_the_table_knows_the_versions_the_writers_rely_on() -> None:
    assert limit_of("CustomerAdd/Name").max_length == 41
    assert since("CustomerAdd/BillAddress/Addr4") == QbxmlVersion(2, 0)
    assert since("CustomerAdd/BillAddress/Note") == QbxmlVersion(6, 0)
    assert since("CustomerAdd/ShipToAddress/City") == V12  # from what holds it
    assert since("SalesOrderAdd/SalesOrderLineAdd/SerialNumber") == QbxmlVersion(11, 0)  # from its OR
    assert since("SalesOrderAdd/Memo") == QbxmlVersion(2, 1)  # the request's own version
    with pytest.raises(KeyError, match="CustomerAdd/Nmae"):
        limit_of("CustomerAdd/Nmae")


# -- the registry ------------------------------------------------------------------------------

CASES = [
    pytest.param(builder, case, version, id=f"{builder.tag}-{case.name}-{version}")
    for builder in registry.builders()
    for case in builder.examples
    for version in case.versions
]


@pytest.mark.parametrize(("builder", "case", "version"), CASES)
def test_every_registered_builder_validates_with_every_example(
    builder: registry.RegisteredBuilder, case: registry.Example, version: QbxmlVersion
) -> None:
    rq = builder.run(case, version)
    assert rq.startswith(f"<{builder.tag}") and rq.endswith(f"</{builder.tag}>")
    assert_valid_qbxml(wrap_request(rq, version))


#: The list queries with iterators and custom fields; the other lists have neither.
FULL_LIST_QUERIES = ("CustomerQueryRq", "ItemInventoryQueryRq", "ItemInventoryAssemblyQueryRq")


@pytest.mark.parametrize("builder", registry.builders(), ids=lambda b: b.tag)
def test_the_query_examples_set_every_option(builder: registry.RegisteredBuilder) -> None:
    """Each query builder's examples set every field of its query somewhere (the XSD test sees all)."""
    queries = [case.args[0] for case in builder.examples]
    if not isinstance(queries[0], ListQuery | TxnQuery):
        return
    lacking: set[str] = set()  # what the request has not: never asked for (False is left out)
    if isinstance(queries[0], ListQuery) and builder.tag not in FULL_LIST_QUERIES:
        lacking = {"owner_ids", "iteration"}
    if builder.tag == "ReceivePaymentQueryRq":
        lacking = {"include_linked_txns"}
    for option in (f.name for f in dataclasses.fields(queries[0])):
        if option in lacking:
            assert not any(getattr(query, option) for query in queries), f"{builder.tag}: {option}"
        else:
            assert any(getattr(query, option) not in (None, ()) for query in queries), (
                f"{builder.tag}: {option}"
            )


def test_every_public_builder_is_registered() -> None:
    registered = {builder.build for builder in registry.builders()}
    package = qbwc_server.qbxml
    found = [
        function
        for module_info in pkgutil.iter_modules(package.__path__, f"{package.__name__}.")
        for name, function in inspect.getmembers(
            importlib.import_module(module_info.name), inspect.isfunction
        )
        if re.fullmatch(r"build_\w+_rq", name) and function.__module__ == module_info.name
    ]
    assert len(found) >= 14
    unregistered = [f"{f.__module__}.{f.__name__}" for f in found if f not in registered]
    assert not unregistered, f"register these with @registered(tag, examples): {unregistered}"


def test_a_builder_needs_named_examples() -> None:
    with pytest.raises(ValueError, match="examples"):
        registry.registered("NoneQueryRq", [])
    with pytest.raises(ValueError, match="own name"):
        registry.registered("NoneQueryRq", [registry.example("a"), registry.example("a")])
