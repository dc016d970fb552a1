"""Pure qbXML tests for the list entities: customers, price levels, sales reps, terms, customer
types, classes, sales tax codes, and deletions. Parsers read real-shaped fixture files through
`ResponseStream`; every builder's output is validated against Intuit's XSD.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from qbwc_server.qbxml import (
    classes,
    customer_types,
    customers,
    deleted,
    price_levels,
    sales_reps,
    sales_tax_codes,
    terms,
)
from qbwc_server.qbxml.core import QbxmlParseError, QbxmlVersion, ResponseStatus, ResponseStream, wrap_request
from qbwc_server.qbxml.fields import Address, CustomField, Ref, ShipToAddress
from qbwc_server.qbxml.query import Iteration, ListQuery
from qbwc_server.qbxml.write import BuildError
from tests.xsd import assert_valid_qbxml

FIXTURES = Path(__file__).parent / "fixtures" / "qbxml"
ENTITIES = (
    "customers", "price_levels", "sales_reps", "terms",
    "customer_types", "classes", "sales_tax_codes", "deleted",
)  # fmt: skip
V13 = QbxmlVersion(13, 0)
EST = dt.timezone(dt.timedelta(hours=-5))
EDT = dt.timezone(dt.timedelta(hours=-4))
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
#: With an en dash: in Windows-1252 (0x96) but not in Latin-1.
DOCK_NOTE = "Deliveries 7\N{EN DASH}11 am only"


def load(relative: str) -> str:
    """A fixture as the Web Connector hands it to us: decoded text (from its declared encoding)."""
    raw = (FIXTURES / relative).read_bytes()
    declared = re.match(rb'<\?xml[^>]*encoding="([^"]+)"', raw)
    return raw.decode(declared[1].decode() if declared else "utf-8")


def read(relative: str, parse: Callable[[Any], Any]) -> tuple[list[ResponseStatus], list[Any]]:
    """Every record of a fixture parsed with `parse` while the stream still holds it."""
    stream = ResponseStream(load(relative))
    records = [parse(element) for _, element in stream.records()]
    return stream.statuses, records


# -- fixtures themselves -----------------------------------------------------------------------

FIXTURE_FILES = sorted(str(p.relative_to(FIXTURES)) for e in ENTITIES for p in (FIXTURES / e).glob("*.xml"))


@pytest.mark.parametrize("relative", FIXTURE_FILES)
def test_fixture_names_its_version_and_is_valid_unless_it_says_not(relative: str) -> None:
    text = load(relative)
    comment = re.match(r"\s*(?:<\?xml[^>]*\?>\s*)?<!--(.*?)-->", text, re.DOTALL)
    assert comment is not None and re.search(r"qbXML \d+\.\d+", comment[1]), "opens with its version"
    if "NOT valid against the XSD" in comment[1]:
        with pytest.raises(AssertionError, match="not valid"):
            assert_valid_qbxml(text)
    else:
        assert_valid_qbxml(text)


# -- parsers -----------------------------------------------------------------------------------


def test_customers_page_with_ship_tos_job_inactive_and_custom_fields() -> None:
    statuses, found = read("customers/iterator_start.xml", customers.parse_customer_ret)
    assert statuses == [
        ResponseStatus(
            name=customers.RS_TAG, code=0, severity="Info", message="Status OK",
            request_id="pull-customers-1", iterator_id="{8d2f9c7e-3b1a-4f6e-9a51-0c2d7e4b8f13}",
            iterator_remaining=2, ret_count=3,
        )
    ]  # fmt: skip
    cafe, job, deli = found
    assert cafe.list_id == "80000001-1385061234"
    assert cafe.time_created == dt.datetime(2013, 11, 21, 14, 13, 54, tzinfo=EST)
    assert cafe.time_modified == dt.datetime(2026, 3, 9, 8, 2, 11, tzinfo=EDT)
    assert cafe.edit_sequence == "1773057731"
    assert cafe.name == cafe.full_name == "Café Müller & Söhne"
    assert (cafe.is_active, cafe.parent, cafe.sublevel) == (True, None, 0)
    assert cafe.company_name == "Café Müller & Söhne GmbH"
    assert (cafe.salutation, cafe.first_name, cafe.last_name) == ("Frau", "Jürgen", "Müller")
    assert cafe.bill_address == Address(
        addr1="Café Müller & Söhne GmbH", addr2="Attn: Accounts Payable", addr3="1200 Peachtree St NE",
        city="Atlanta", state="GA", postal_code="30309", country="US",
    )  # fmt: skip
    assert cafe.ship_address is not None and cafe.ship_address.note == DOCK_NOTE
    assert cafe.ship_to_addresses == (
        ShipToAddress(
            name="Warehouse", is_default=True,
            address=Address(
                addr1="Café Müller Warehouse", addr2="Dock 4", addr3="455 Fulton Industrial Blvd",
                city="Atlanta", state="GA", postal_code="30336", country="US", note=DOCK_NOTE,
            ),
        ),
        ShipToAddress(
            name="Midtown Café", is_default=False,
            address=Address(
                addr1="Café Müller Midtown", addr2="990 Spring St NW", city="Atlanta", state="GA",
                postal_code="30309",
            ),
        ),
        ShipToAddress(
            name="Savannah Kiosk", is_default=False,
            address=Address(addr1="River St & Abercorn", city="Savannah", state="GA", postal_code="31401"),
        ),
    )  # fmt: skip
    assert [s.name for s in cafe.ship_to_addresses if s.is_default] == ["Warehouse"]
    assert (cafe.phone, cafe.alt_phone, cafe.fax) == ("(404) 555-0142", "(404) 555-0199", "(404) 555-0143")
    assert (cafe.email, cafe.contact, cafe.alt_contact) == (
        "ap@cafe-mueller.example", "Jürgen Müller", "Zoë O'Brien",
    )  # fmt: skip
    assert cafe.customer_type == Ref("80000003-1385061101", "Wholesale")
    assert cafe.terms == Ref("80000002-1385060958", "Net 30")
    assert cafe.sales_rep == Ref("80000004-1385061150", "JM")
    assert (cafe.balance, cafe.total_balance) == (Decimal("1250.00"), Decimal("4310.75"))
    assert cafe.sales_tax_code == Ref("80000002-1385060900", "Non")
    assert cafe.item_sales_tax == Ref("8000000A-1385060990", "GA Fulton 8.9%")
    assert (cafe.account_number, cafe.credit_limit) == ("WC-000142", Decimal("25000.00"))
    assert cafe.price_level == Ref("80000001-1385061300", "Dealers & Distributors")
    assert cafe.job_status == "None"
    assert cafe.notes == 'Prefers invoices by e-mail. "Café" accent required on labels <sic>.'
    assert cafe.external_guid == "{5a3c1e2d-7b4f-4c8a-9e6d-2f1b0a9c8d7e}"
    assert cafe.custom_fields == (
        CustomField(owner_id="0", name="Rep Email", value="jane.doe@wizcommerce.example"),
        CustomField(owner_id="0", name="Loyalty Tier", value="Gold & Partner"),
    )

    assert job.full_name == "Café Müller & Söhne:Warehouse Fit-out"
    assert job.name == "Warehouse Fit-out"
    assert job.parent == Ref("80000001-1385061234", "Café Müller & Söhne")
    assert job.sublevel == 1
    assert job.job_status == "InProgress"
    assert (job.ship_address, job.ship_to_addresses, job.custom_fields) == (None, (), ())
    assert (job.sales_rep, job.price_level, job.external_guid) == (None, None, None)

    assert deli.is_active is False
    assert deli.bill_address == Address()  # <BillAddress /> : present, every part empty
    assert deli.ship_address is None
    assert deli.notes == ""  # <Notes></Notes>: cleared in QuickBooks
    assert deli.balance == Decimal("0.00")


def test_customer_odd_shapes_unknown_elements_and_missing_active() -> None:
    _, (smith,) = read("customers/odd_shapes.xml", customers.parse_customer_ret)
    assert smith.name == "Smith & Sons <Retail>"
    assert smith.is_active is True  # IsActive absent
    assert smith.parent == Ref(None, "Smith Holdings")
    assert smith.sublevel == 1
    assert smith.time_modified == dt.datetime(2026, 2, 1, 9, 30, tzinfo=dt.UTC)
    assert smith.time_created == dt.datetime(2023, 11, 14, 21, 13, 20, tzinfo=dt.UTC)
    assert smith.ship_address == Address()
    assert (smith.balance, smith.credit_limit) == (Decimal("-15.50"), None)
    assert smith.custom_fields == (
        CustomField(owner_id="{6B063959-81B0-4B43-9D5E-32B1DB6E0B9B}", name="SyncHash", value=""),
    )
    assert smith.external_guid == "{5a3c1e2d-7b4f-4c8a-9e6d-2f1b0a9c8d70}"


@pytest.mark.parametrize(
    ("relative", "parse"),
    [
        ("customers/no_match.xml", customers.parse_customer_ret),
        ("classes/no_match.xml", classes.parse_class_ret),
    ],
)
def test_no_match_is_info_with_no_records(relative: str, parse: Callable[[Any], Any]) -> None:
    statuses, found = read(relative, parse)
    assert found == []
    assert [(s.code, s.severity, s.is_error) for s in statuses] == [(1, "Info", False)]


def test_record_without_list_id_is_a_parse_error() -> None:
    text = (
        "<QBXML><QBXMLMsgsRs><SalesRepQueryRs statusCode='0' statusSeverity='Info' statusMessage='OK'>"
        "<SalesRepRet><Initial>JM</Initial></SalesRepRet></SalesRepQueryRs></QBXMLMsgsRs></QBXML>"
    )
    with pytest.raises(QbxmlParseError, match="no <ListID>"):
        [sales_reps.parse_sales_rep_ret(e) for _, e in ResponseStream(text).records()]


def test_price_levels_fixed_and_per_item() -> None:
    statuses, (wholesale, dealers, show) = read(
        "price_levels/both_types.xml", price_levels.parse_price_level_ret
    )
    assert statuses[0].name == price_levels.RS_TAG
    assert (wholesale.name, wholesale.price_level_type) == ("Wholesale 10% off", "FixedPercentage")
    assert (wholesale.fixed_percentage, wholesale.items) == (Decimal("-10.0"), ())
    assert dealers.name == "Dealers & Distributors"
    assert (dealers.price_level_type, dealers.fixed_percentage) == ("PerItem", None)
    assert dealers.items == (
        price_levels.PriceLevelItem(
            item=Ref("80000021-1385062001", "Coffee:Espresso Beans 1kg"),
            custom_price=Decimal("12.50"), custom_price_percent=None,
        ),
        price_levels.PriceLevelItem(
            item=Ref("80000022-1385062002", "Coffee:Crème Brûlée Syrup"),
            custom_price=None, custom_price_percent=Decimal("-15.0"),
        ),
    )  # fmt: skip
    assert dealers.time_modified == dt.datetime(2026, 3, 2, 16, 45, 12, tzinfo=EST)
    assert (show.is_active, show.fixed_percentage) == (False, Decimal("-5.0"))


def test_sales_reps() -> None:
    _, (jm, br, admin) = read("sales_reps/all.xml", sales_reps.parse_sales_rep_ret)
    assert jm == sales_reps.SalesRep(
        list_id="80000004-1385061150",
        time_created=dt.datetime(2013, 11, 21, 14, 12, 30, tzinfo=EST),
        time_modified=dt.datetime(2025, 9, 12, 10, 1, 2, tzinfo=EDT),
        edit_sequence="1757685662",
        initial="JM",
        is_active=True,
        entity=Ref("80000008-1385061140", "José Núñez"),
    )
    assert (br.initial, br.entity) == ("B&R", Ref("80000031-1385061145", "Brown & Reyes Agency"))
    assert (admin.initial, admin.is_active) == ("Admin", False)


def test_terms_both_kinds() -> None:
    _, found = read("terms/both_kinds.xml", terms.parse_terms_ret)
    net30, discount, date_driven, receipt = found
    assert (net30.kind, net30.name, net30.due_days, net30.discount_days) == ("standard", "Net 30", 30, 0)
    assert net30.discount_pct == Decimal("0.00")
    assert (discount.due_days, discount.discount_days, discount.discount_pct) == (30, 10, Decimal("2.00"))
    assert (discount.day_of_month_due, discount.due_next_month_days, discount.discount_day_of_month) == (
        None, None, None,
    )  # fmt: skip
    assert date_driven.kind == "date_driven"
    assert date_driven.name == "15th & EOM"
    assert (date_driven.day_of_month_due, date_driven.due_next_month_days) == (15, 5)
    assert (date_driven.discount_day_of_month, date_driven.discount_pct) == (5, Decimal("1.5"))
    assert (date_driven.due_days, date_driven.discount_days) == (None, None)
    assert (receipt.is_active, receipt.due_days, receipt.discount_pct) == (False, 0, None)


@pytest.mark.parametrize(
    ("relative", "parse"),
    [
        ("customer_types/nested.xml", customer_types.parse_customer_type_ret),
        ("classes/nested.xml", classes.parse_class_ret),
    ],
)
def test_nested_lists(relative: str, parse: Callable[[Any], Any]) -> None:
    _, (top, second, third) = read(relative, parse)
    assert (top.sublevel, top.parent, top.is_active) == (0, None, True)
    assert top.name == top.full_name
    child = second if second.sublevel == 1 else third
    assert child.parent is not None and child.parent.list_id in (top.list_id, second.list_id)
    assert child.full_name == f"{child.parent.full_name}:{child.name}"
    assert third.is_active is False


def test_customer_type_and_class_values() -> None:
    _, types = read("customer_types/nested.xml", customer_types.parse_customer_type_ret)
    assert types[1] == customer_types.CustomerType(
        list_id="80000009-1500000000",
        time_created=dt.datetime(2017, 7, 14, 2, 40, tzinfo=EDT),
        time_modified=dt.datetime(2025, 5, 5, 15, 5, 5, tzinfo=EDT),
        edit_sequence="1746471905",
        name="Distributors",
        full_name="Wholesale:Distributors",
        is_active=True,
        parent=Ref("80000003-1385061101", "Wholesale"),
        sublevel=1,
    )
    assert types[2].name == "Retail & Online"
    _, found = read("classes/nested.xml", classes.parse_class_ret)
    assert [c.full_name for c in found] == ["Wizcommerce", "Regions", "Regions:Süd & Ost"]
    assert isinstance(found[0], classes.QbClass)


def test_sales_tax_codes() -> None:
    _, (tax, non, rs) = read("sales_tax_codes/us_codes.xml", sales_tax_codes.parse_sales_tax_code_ret)
    assert (tax.name, tax.is_taxable, tax.desc) == ("Tax", True, "Taxable Sales")
    assert (non.name, non.is_taxable, non.desc, non.is_active) == ("Non", False, "Non-Taxable Sales", True)
    assert (rs.name, rs.is_active, rs.desc) == ("R&S", False, "")


def test_list_deleted_several_types() -> None:
    statuses, found = read("deleted/list_deleted.xml", deleted.parse_list_deleted_ret)
    assert statuses[0].name == deleted.LIST_RS_TAG
    assert [d.list_del_type for d in found] == [
        "Customer", "Customer", "StandardTerms", "PriceLevel", "SalesRep", "Class",
    ]  # fmt: skip
    assert found[0] == deleted.DeletedListObject(
        list_del_type="Customer",
        list_id="80000051-1700000100",
        time_created=dt.datetime(2023, 11, 14, 22, 15, tzinfo=EST),
        time_deleted=dt.datetime(2026, 3, 8, 17, 2, 33, tzinfo=EDT),
        full_name="Bäckerei Schmidt & Co",
    )
    assert found[1].full_name == "Bäckerei Schmidt & Co:Kiosk"
    assert found[4].full_name == "KL"


def test_txn_deleted_several_types() -> None:
    _, (invoice, order, payment) = read("deleted/txn_deleted.xml", deleted.parse_txn_deleted_ret)
    assert invoice == deleted.DeletedTxn(
        txn_del_type="Invoice",
        txn_id="1A2B-1772900000",
        time_created=dt.datetime(2026, 3, 7, 12, 13, 20, tzinfo=EST),
        time_deleted=dt.datetime(2026, 3, 8, 10, 0, tzinfo=EST),
        ref_number="INV-10442",
    )
    assert (order.txn_del_type, order.ref_number) == ("SalesOrder", "WC-2026-0042")
    assert (payment.txn_del_type, payment.ref_number) == ("ReceivePayment", None)


# -- builders ----------------------------------------------------------------------------------

Builder = Callable[[ListQuery, QbxmlVersion], str]
PLAIN_BUILDERS: dict[str, Builder] = {
    "PriceLevelQueryRq": price_levels.build_price_level_query_rq,
    "SalesRepQueryRq": sales_reps.build_sales_rep_query_rq,
    "TermsQueryRq": terms.build_terms_query_rq,
    "CustomerTypeQueryRq": customer_types.build_customer_type_query_rq,
    "ClassQueryRq": classes.build_class_query_rq,
    "SalesTaxCodeQueryRq": sales_tax_codes.build_sales_tax_code_query_rq,
}
ALL_BUILDERS: dict[str, Builder] = {"CustomerQueryRq": customers.build_customer_query_rq, **PLAIN_BUILDERS}

FROM = dt.datetime(2026, 3, 1, 6, 30, tzinfo=EST)
TO = dt.datetime(2026, 3, 9, 23, 59, 59, tzinfo=IST)
# Every builder is validated against the XSD with each of its registered examples (every option
# and combination) in test_qbxml_write.py; these queries are for exact output.
FULL_NAMES = ListQuery(full_names=("Café Müller & Söhne", "Smith & Sons <Retail>"))
ITERATOR_ID = "{8d2f9c7e-3b1a-4f6e-9a51-0c2d7e4b8f13}"
PULL_STEP = ListQuery(
    active_status="All", from_modified=FROM, owner_ids=("0",), request_id="pull-customers-2",
    iteration=Iteration(max_returned=100, iterator_id=ITERATOR_ID),
)  # fmt: skip


def test_customer_query_exact_output() -> None:
    rq = customers.build_customer_query_rq(PULL_STEP, V13)
    assert rq == (
        '<CustomerQueryRq requestID="pull-customers-2" iterator="Continue" '
        'iteratorID="{8d2f9c7e-3b1a-4f6e-9a51-0c2d7e4b8f13}">'
        "<MaxReturned>100</MaxReturned><ActiveStatus>All</ActiveStatus>"
        "<FromModifiedDate>2026-03-01T06:30:00-05:00</FromModifiedDate>"
        "<OwnerID>0</OwnerID></CustomerQueryRq>"
    )
    first = dataclasses.replace(
        PULL_STEP, iteration=Iteration(max_returned=100), request_id="pull-customers-1"
    )
    start = customers.build_customer_query_rq(first, V13)
    assert start.startswith('<CustomerQueryRq requestID="pull-customers-1" iterator="Start">')


def test_names_and_dates_are_written_escaped_with_offsets() -> None:
    rq = terms.build_terms_query_rq(FULL_NAMES, V13)
    assert (
        "<FullName>Café Müller &amp; Söhne</FullName><FullName>Smith &amp; Sons &lt;Retail&gt;</FullName>"
        in rq
    )
    window = classes.build_class_query_rq(ListQuery(from_modified=FROM, to_modified=TO), V13)
    assert "<FromModifiedDate>2026-03-01T06:30:00-05:00</FromModifiedDate>" in window
    assert "<ToModifiedDate>2026-03-09T23:59:59+05:30</ToModifiedDate>" in window


IMPOSSIBLE: dict[str, ListQuery] = {
    "ids_and_names": ListQuery(list_ids=("1",), full_names=("a",)),
    "ids_and_max": ListQuery(list_ids=("1",), max_returned=5),
    "names_and_status": ListQuery(full_names=("a",), active_status="All"),
    "ids_and_dates": ListQuery(list_ids=("1",), from_modified=FROM),
    "dates_reversed": ListQuery(from_modified=TO, to_modified=FROM),
    "naive_date": ListQuery(from_modified=dt.datetime(2026, 3, 1)),
    "max_zero": ListQuery(max_returned=0),
    "long_list_id": ListQuery(list_ids=("8" * 37,)),
    "long_ret_element": ListQuery(include_ret_elements=("X" * 51,)),
    "bad_owner_id": ListQuery(owner_ids=("6B063959-81B0-4B43-9D5E-32B1DB6E0B9B",)),
    "names_and_iteration": ListQuery(full_names=("a",), iteration=Iteration(max_returned=10)),
    "iteration_max_differs": ListQuery(max_returned=5, iteration=Iteration(max_returned=10)),
}
NO_ITERATOR_OR_OWNER: dict[str, ListQuery] = {
    "iteration": ListQuery(iteration=Iteration(max_returned=100)),
    "owner_ids": ListQuery(owner_ids=("0",)),
}
IMPOSSIBLE_CASES = [
    pytest.param(build, query, id=f"{tag}-{name}")
    for tag, build in ALL_BUILDERS.items()
    for name, query in (IMPOSSIBLE | (NO_ITERATOR_OR_OWNER if tag != "CustomerQueryRq" else {})).items()
]


@pytest.mark.parametrize(("build", "query"), IMPOSSIBLE_CASES)
def test_impossible_list_queries_raise(build: Builder, query: ListQuery) -> None:
    with pytest.raises(BuildError):
        build(query, V13)


@pytest.mark.parametrize("tag", list(ALL_BUILDERS))
def test_older_versions_drop_include_ret_element_and_still_validate(tag: str) -> None:
    build = ALL_BUILDERS[tag]
    query = ListQuery(active_status="All", include_ret_elements=("ListID", "Name"))
    v6, v3 = QbxmlVersion(6, 0), QbxmlVersion(3, 0)
    assert "<IncludeRetElement>ListID</IncludeRetElement>" in build(query, v6)
    assert_valid_qbxml(wrap_request(build(query, v6), v6))
    if tag == "PriceLevelQueryRq":  # the request itself is 4.0: nothing to degrade to
        with pytest.raises(BuildError, match=r"needs qbXML 4\.0"):
            build(query, v3)
        return
    older = build(query, v3)
    assert "IncludeRetElement" not in older and "<ActiveStatus>All</ActiveStatus>" in older
    assert_valid_qbxml(wrap_request(older, v3))


def test_customer_query_on_old_versions() -> None:
    v3 = QbxmlVersion(3, 0)
    with_owner = customers.build_customer_query_rq(ListQuery(owner_ids=("0",)), v3)
    assert "<OwnerID>0</OwnerID>" in with_owner  # OwnerID is 2.0: kept
    assert_valid_qbxml(wrap_request(with_owner, v3))
    assert "OwnerID" not in customers.build_customer_query_rq(ListQuery(owner_ids=("0",)), QbxmlVersion(1, 1))
    with pytest.raises(BuildError, match=r"iterators need qbXML 5\.0"):  # dropping would truncate the pull
        customers.build_customer_query_rq(ListQuery(iteration=Iteration(max_returned=100)), v3)


# -- deleted builders --------------------------------------------------------------------------


def test_deleted_query_exact_output() -> None:
    rq = deleted.build_txn_deleted_query_rq(("Invoice", "SalesOrder"), V13, deleted_from=FROM, request_id="9")
    assert rq == (
        '<TxnDeletedQueryRq requestID="9"><TxnDelType>Invoice</TxnDelType><TxnDelType>SalesOrder</TxnDelType>'
        "<DeletedDateRangeFilter><FromDeletedDate>2026-03-01T06:30:00-05:00</FromDeletedDate>"
        "</DeletedDateRangeFilter></TxnDeletedQueryRq>"
    )


@pytest.mark.parametrize(
    ("build", "types", "options"),
    [
        pytest.param(deleted.build_list_deleted_query_rq, (), {}, id="list-no-types"),
        pytest.param(deleted.build_list_deleted_query_rq, ("Invoice",), {}, id="list-txn-type"),
        pytest.param(deleted.build_list_deleted_query_rq, ("customer",), {}, id="list-wrong-case"),
        pytest.param(deleted.build_txn_deleted_query_rq, ("Customer",), {}, id="txn-list-type"),
        pytest.param(deleted.build_txn_deleted_query_rq, ("Payment",), {}, id="txn-unknown"),
        pytest.param(
            deleted.build_txn_deleted_query_rq, ("Invoice",), {"deleted_from": TO, "deleted_to": FROM},
            id="txn-reversed",
        ),
        pytest.param(
            deleted.build_list_deleted_query_rq, ("Class",), {"deleted_from": dt.datetime(2026, 1, 1)},
            id="list-naive",
        ),
    ],
)  # fmt: skip
def test_impossible_deleted_queries_raise(
    build: Callable[..., str], types: tuple[str, ...], options: dict[str, Any]
) -> None:
    with pytest.raises(BuildError):
        build(types, V13, **options)


def test_deleted_queries_need_qbxml_2() -> None:
    with pytest.raises(BuildError, match=r"needs qbXML 2\.0"):
        deleted.build_list_deleted_query_rq(("Customer",), QbxmlVersion(1, 1))
    with pytest.raises(BuildError, match=r"needs qbXML 2\.0"):
        deleted.build_txn_deleted_query_rq(("Invoice",), QbxmlVersion(1, 0))
