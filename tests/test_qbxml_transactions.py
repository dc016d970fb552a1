"""Items, sales orders, invoices and payments in qbXML: parsing real responses, building queries."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from qbwc_server.qbxml import invoices, items, payments, registry, sales_orders
from qbwc_server.qbxml.core import QbxmlParseError, QbxmlVersion, ResponseStatus, ResponseStream, wrap_request
from qbwc_server.qbxml.fields import Address, CustomField, LinkedTxn, Ref, format_datetime
from qbwc_server.qbxml.query import Iteration, ListQuery, TxnQuery
from qbwc_server.qbxml.write import BuildError
from tests.conftest import shared_file
from tests.xsd import assert_valid_qbxml

FIXTURES = Path(__file__).parent / "fixtures" / "qbxml"
ENTITIES = ("items", "sales_orders", "invoices", "payments")
V13 = QbxmlVersion(13, 0)
EST = dt.timezone(dt.timedelta(hours=-5))
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))

PARSERS: dict[str, Callable[[etree._Element], Any]] = {
    items.INVENTORY_RET_TAG: items.parse_item_inventory_ret,
    items.ASSEMBLY_RET_TAG: items.parse_item_assembly_ret,
    sales_orders.RET_TAG: sales_orders.parse_sales_order_ret,
    invoices.RET_TAG: invoices.parse_invoice_ret,
    payments.RET_TAG: payments.parse_receive_payment_ret,
}


def fixture_text(entity: str, case: str) -> str:
    """The fixture decoded as the Web Connector hands it to us: by its declared encoding."""
    raw = (FIXTURES / entity / f"{case}.xml").read_bytes()
    declared = re.match(rb'<\?xml[^>]*encoding="([^"]+)"', raw)
    return raw.decode(declared[1].decode() if declared else "utf-8")


def parse_fixture(entity: str, case: str, parse: Callable[[etree._Element], Any] | None = None) -> list[Any]:
    stream = ResponseStream(fixture_text(entity, case))
    return [(parse or PARSERS[str(element.tag)])(element) for _status, element in stream.records()]


def statuses(entity: str, case: str) -> list[ResponseStatus]:
    stream = ResponseStream(fixture_text(entity, case))
    for _ in stream.records():
        pass
    return stream.statuses


# -- fixtures are plausible QuickBooks output -------------------------------------------------

ALL_FIXTURES = sorted(p.relative_to(FIXTURES) for e in ENTITIES for p in (FIXTURES / e).glob("*.xml"))


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=str)
def test_fixture_opens_with_its_version_and_validates_unless_it_says_not(path: Path) -> None:
    text = fixture_text(path.parent.name, path.stem)
    comment = re.match(r"\s*(<\?xml[^>]*\?>\s*)?<!--(.*?)-->", text, re.S)
    assert comment is not None and "qbXML 13.0" in comment[2], (
        "a fixture opens with a comment naming its version"
    )
    if "NOT schema-valid" in comment[2]:
        with pytest.raises(AssertionError):
            assert_valid_qbxml(text)
    else:
        assert_valid_qbxml(text)


# -- items ------------------------------------------------------------------------------------


def test_inventory_page_reads_parent_sub_item_and_inactive_item() -> None:
    parent, bolt, espresso = parse_fixture("items", "inventory_page")

    assert parent.kind == "inventory"
    assert parent.name == parent.full_name == "Bolts & Nuts"
    assert parent.parent is None and parent.sublevel == 0 and parent.is_active
    assert parent.sales_desc == 'Assorted bolts & nuts, 1/4" <zinc>'
    assert parent.sales_price == Decimal("0.25") and parent.average_cost == Decimal("0.12125")
    assert parent.quantity_on_hand == 1200 and parent.quantity_on_sales_order == 150
    assert parent.build_point is None and parent.custom_fields == ()
    assert parent.time_modified == dt.datetime(2025, 11, 2, 14, 3, 51, tzinfo=EST)

    assert bolt.list_id == "80000013-1709561790" and bolt.edit_sequence == "1732110067"
    assert bolt.full_name == "Bolts & Nuts:Hex Bolt M8"
    assert bolt.parent == Ref("80000012-1709561722", "Bolts & Nuts") and bolt.sublevel == 1
    assert bolt.manufacturer_part_number == "HB-M8-40"
    assert bolt.sales_tax_code == Ref("10000-1709560000", "Tax")
    assert bolt.purchase_desc == "Hex bolt M8x40 (box of 100)" and bolt.purchase_cost == Decimal("0.31")
    assert bolt.quantity_on_hand == Decimal("-4") and bolt.quantity_on_hand < 0
    assert bolt.reorder_point == bolt.quantity_on_order == Decimal("12.5")
    assert bolt.external_guid == "{6b1f0e8a-2c3d-4e5f-8a9b-0c1d2e3f4a5b}"
    assert bolt.custom_fields == (CustomField("0", "Bin Location", "A-14 & A-15"),)

    assert espresso.name == "Café Müller Espresso" and espresso.is_active is False
    assert espresso.sales_desc == ""  # present but empty: QuickBooks has it cleared
    assert espresso.purchase_desc is None


def test_inventory_page_keeps_the_iterator() -> None:
    (status,) = statuses("items", "inventory_page")
    assert status.name == items.INVENTORY_RS_TAG and status.code == 0
    assert status.iterator_id == "{3f0a6c2e-8d41-4b7a-9c55-1e2f3a4b5c6d}"
    assert status.iterator_remaining == 17 and status.request_id == "items-7"


def test_assembly_reads_build_point_and_ignores_components() -> None:
    (kit,) = parse_fixture("items", "assembly")
    assert kit.kind == "assembly" and kit.name == "Shelf Kit 4-Tier"
    assert kit.build_point == 5 and kit.reorder_point is None
    assert kit.quantity_on_hand == Decimal("12.5") and kit.quantity_on_sales_order == 3
    assert kit.sales_price == Decimal("89.00") and kit.average_cost == Decimal("40.87")
    assert kit.custom_fields == (CustomField("0", "Assembly Minutes", "25"),)
    assert statuses("items", "assembly")[0].name == items.ASSEMBLY_RS_TAG


def test_lean_refresh_reads_quantities_from_both_kinds() -> None:
    found = parse_fixture("items", "quantities_lean", items.parse_item_quantities_ret)
    assert found == [
        items.ItemQuantities("inventory", "80000012-1709561722", Decimal(1187), Decimal(500), Decimal(150)),
        items.ItemQuantities("inventory", "80000013-1709561790", Decimal("-6.5"), None, Decimal(40)),
        items.ItemQuantities("assembly", "80000040-1715000000", Decimal(10), Decimal(0), Decimal(3)),
    ]


def test_quantities_read_off_a_whole_record_too() -> None:
    stream = ResponseStream(fixture_text("items", "inventory_page"))
    quantities = [items.parse_item_quantities_ret(element) for _, element in stream.records()]
    assert quantities[1].quantity_on_hand == Decimal(-4) and quantities[1].quantity_on_order == Decimal(
        "12.5"
    )


def test_no_match_is_a_status_without_records() -> None:
    assert parse_fixture("items", "no_match") == []
    (status,) = statuses("items", "no_match")
    assert status.code == 1 and not status.is_error


def test_item_parsers_refuse_the_wrong_record() -> None:
    element = etree.fromstring("<ItemInventoryRet><ListID>1</ListID></ItemInventoryRet>")
    with pytest.raises(QbxmlParseError, match="ItemInventoryAssemblyRet"):
        items.parse_item_assembly_ret(element)
    with pytest.raises(QbxmlParseError, match="TimeCreated"):
        items.parse_item_inventory_ret(element)


def _xsd_children(tag: str) -> set[str]:
    """The element names a Ret may hold per the XSD (group references expanded)."""
    xs = "{http://www.w3.org/2001/XMLSchema}"
    # the element definitions live beside the ops schema, in qbxml130.xsd
    tree = etree.parse(str(shared_file("QBXML_XSD", "qbxml/qbxmlops130.xsd").with_name("qbxml130.xsd")))
    groups = {g.get("name"): g for g in tree.iter(f"{xs}group") if g.get("name")}
    (definition,) = (e for e in tree.iter(f"{xs}element") if e.get("name") == tag)
    names: set[str] = set()
    pending = [definition]
    while pending:
        for child in pending.pop().iter(f"{xs}element", f"{xs}group"):
            if child.tag == f"{xs}group" and child.get("ref"):
                pending.append(groups[child.get("ref")])
            elif child.get("name") or child.get("ref"):
                names.add(child.get("name") or child.get("ref") or "")
    return names


@pytest.mark.parametrize("ret_tag", [items.INVENTORY_RET_TAG, items.ASSEMBLY_RET_TAG])
def test_quantity_elements_are_the_schemas_names(ret_tag: str) -> None:
    assert set(items.QUANTITY_ELEMENTS) <= _xsd_children(ret_tag)


# -- sales orders ------------------------------------------------------------------------------


def test_sales_order_reads_header_links_and_flattened_group_lines() -> None:
    order, closed = parse_fixture("sales_orders", "open_orders")

    assert order.txn_id == "2F41-1763051200" and order.txn_number == 5123
    assert order.customer == Ref("80000007-1709570000", "Smith & Sons Hardware")
    assert order.class_ref == Ref("80000050-1720000000", "Wizcommerce")
    assert order.txn_date == dt.date(2025, 11, 13) and order.ref_number == "SO-1042"
    assert order.bill_address == Address(
        addr1="Smith & Sons Hardware", addr2="Attn: Accounts Payable", addr3="1200 Peachtree St NE",
        city="Atlanta", state="GA", postal_code="30309", country="US",
    )  # fmt: skip
    assert order.ship_address is not None and order.ship_address.note == "Call before delivery"
    assert (order.po_number, order.fob, order.other) == ("PO-77812", "Atlanta", "WZ-88121")
    assert order.terms == Ref("80000002-1709560000", "Net 30") and order.sales_rep == Ref(
        "80000009-1709565000", "JD"
    )
    assert order.due_date == dt.date(2025, 12, 13) and order.ship_date == dt.date(2025, 11, 18)
    assert order.ship_method == Ref("80000004-1709560000", "UPS Ground")
    assert (order.subtotal, order.sales_tax_total, order.total_amount) == (Decimal("356.00"), 0, Decimal(356))
    assert order.is_manually_closed is False and order.is_fully_invoiced is False
    assert order.memo == "Web order #WZ-88121 & rush"
    assert order.external_guid == "{0f6a2b4c-7d8e-4f90-a1b2-c3d4e5f60718}"
    assert order.linked_txns == (
        LinkedTxn("2F77-1763500000", "Invoice", dt.date(2025, 11, 18), "10391", "QUANTYPE", Decimal("0.00")),
    )
    assert order.custom_fields == (CustomField("0", "Wiz Order ID", "WZ-88121"),)  # not the line's

    assert [line.txn_line_id for line in order.lines] == [
        "2F43-1763051200",
        "2F45-1763051200",
        "2F46-1763051200",
    ]
    first, kit, bolts = order.lines
    assert first.item == Ref("80000013-1709561790", "Bolts & Nuts:Hex Bolt M8")
    assert (first.quantity, first.rate, first.amount) == (200, Decimal("0.85"), Decimal("170.00"))
    assert first.unit_of_measure == "Each" and first.invoiced == 120 and first.is_manually_closed is False
    assert first.other1 == "bin A-14" and first.other2 is None and first.group_txn_line_id is None
    assert first.sales_tax_code == Ref("20000-1709560000", "Non")
    assert kit.group_txn_line_id == bolts.group_txn_line_id == "2F44-1763051200"
    assert bolts.desc == "Assorted bolts & nuts" and bolts.amount == Decimal("16.00")

    assert closed.customer.full_name == "Café Müller"
    assert closed.bill_address == Address()  # <BillAddress/>: present, every part empty
    assert closed.ship_address is None and closed.memo == ""
    assert closed.is_manually_closed is True and closed.lines == () and closed.linked_txns == ()
    assert closed.txn_number == 5131 and closed.custom_fields == ()


def test_sales_order_ignores_unknown_elements_and_odd_order() -> None:
    (order,) = parse_fixture("sales_orders", "unknown_elements")
    assert order.customer == Ref(None, "Smith & Sons Hardware")
    assert order.ref_number == "SO-1060" and order.txn_date == dt.date(2025, 11, 24)
    assert order.memo == "from the road" and order.total_amount == Decimal("8.50")
    assert order.time_created == dt.datetime(2025, 11, 24, 11, 0, tzinfo=dt.UTC)
    assert order.txn_number is None and order.class_ref is None
    (line,) = order.lines
    assert line.item == Ref("80000013-1709561790", None)
    assert (line.quantity, line.rate, line.amount) == (10, Decimal("0.85"), Decimal("8.50"))


# -- invoices ---------------------------------------------------------------------------------


def test_invoice_linked_to_a_sales_order_with_shipment_details() -> None:
    (invoice,) = parse_fixture("invoices", "linked_to_sales_order")
    assert invoice.txn_id == "2F77-1763500000" and invoice.ref_number == "10391"
    assert invoice.customer == Ref("80000007-1709570000", "Smith & Sons Hardware")
    assert invoice.sales_order_txn_ids == ("2F41-1763051200",)
    assert invoice.ship_date == dt.date(2025, 11, 18) and invoice.fob == "Atlanta"
    assert invoice.ship_method == Ref("80000004-1709560000", "UPS Ground")
    assert invoice.other == "1Z999AA10123456784"
    assert invoice.tracking_number == "1Z999AA10123456784"
    assert invoice.custom_fields == (CustomField("0", "Tracking Number", "1Z999AA10123456784"),)
    assert invoice.is_pending is False and invoice.is_paid is False
    assert (invoice.subtotal, invoice.applied_amount, invoice.balance_remaining) == (
        102,
        0,
        Decimal("102.00"),
    )
    assert invoice.po_number == "PO-77812" and invoice.due_date == dt.date(2025, 12, 18)
    assert invoice.memo == "Partial shipment of SO-1042" and invoice.class_ref is not None
    (line,) = invoice.lines
    assert line.item == Ref("80000013-1709561790", "Bolts & Nuts:Hex Bolt M8")
    assert (line.quantity, line.unit_of_measure, line.rate, line.amount) == (
        120,
        "Each",
        Decimal("0.85"),
        102,
    )
    assert line.other1 == "bin A-14" and line.group_txn_line_id is None
    (status,) = statuses("invoices", "linked_to_sales_order")
    assert status.iterator_remaining == 4 and status.ret_count == 1


def test_paid_invoice_linked_to_a_payment_and_a_partly_paid_one() -> None:
    paid, partly = parse_fixture("invoices", "paid_and_partly_paid")

    assert paid.customer.full_name == "Café Müller"
    assert paid.is_paid is True and paid.balance_remaining == Decimal("0.00")
    assert paid.applied_amount == Decimal("-196.00")
    assert paid.sales_order_txn_ids == ()
    assert [(link.txn_type, link.ref_number) for link in paid.linked_txns] == [("ReceivePayment", "4471")]
    assert paid.bill_address == Address() and paid.memo == ""
    assert paid.ship_address is not None and paid.ship_address.addr2 == "Königstraße 12"
    assert paid.tracking_number is None  # "Tracking #" is blank and Other is absent
    assert [(line.txn_line_id, line.group_txn_line_id) for line in paid.lines] == [
        ("30A2-1764100000", "30A1-1764100000"),
        ("30A3-1764100000", "30A1-1764100000"),
        ("30A4-1764100000", None),
    ]
    assert paid.lines[2].desc == "Freight \u2013 Spedition Müller" and paid.lines[2].quantity is None

    assert partly.is_paid is False and partly.balance_remaining == Decimal("350.00")
    assert partly.applied_amount == Decimal("-150.00") and partly.subtotal == 500
    assert partly.lines[0].quantity == Decimal("5.88235") and partly.lines[0].sales_tax_code is None
    assert partly.tracking_number is None and partly.custom_fields == ()


def test_tracking_number_prefers_a_filled_custom_field_over_other() -> None:
    (invoice,) = parse_fixture("invoices", "linked_to_sales_order")
    moved = dataclasses.replace(
        invoice, other="see note", custom_fields=(CustomField("0", "FedEx TRACKING", " 7712 "),)
    )
    assert moved.tracking_number == "7712"
    assert dataclasses.replace(invoice, custom_fields=()).tracking_number == "1Z999AA10123456784"


# -- payments ---------------------------------------------------------------------------------


def test_payment_applied_to_two_invoices_and_one_unapplied() -> None:
    check, card = parse_fixture("payments", "applied_and_unapplied")

    assert check.txn_id == "30B5-1764680000" and check.ref_number == "4471"
    assert check.customer == Ref("80000007-1709570000", "Smith & Sons Hardware")
    assert check.ar_account == Ref("80000010-1709560100", "Accounts Receivable")
    assert check.total_amount == Decimal("346.00") and check.unused_payment == 0
    assert check.payment_method == Ref("80000001-1709560300", "Check")
    assert check.deposit_to_account == Ref("80000015-1709560100", "Undeposited Funds")
    assert check.memo == "Check 4471 & remittance advice"
    assert check.applied == (
        payments.AppliedToTxn(
            "30A0-1764100000", "Invoice", dt.date(2025, 11, 25), "10402", Decimal(0), Decimal(196), None
        ),
        payments.AppliedToTxn(
            "30C0-1764200000",
            "Invoice",
            dt.date(2025, 11, 26),
            "10403",
            Decimal(350),
            Decimal(150),
            Decimal(3),
        ),
    )

    assert card.customer.full_name == "Café Müller" and card.ref_number is None
    assert card.applied == () and card.unused_payment == Decimal("250.00")
    assert card.unused_credits == 0 and card.memo == ""
    assert card.time_created == dt.datetime(2025, 12, 3, 7, 20, tzinfo=dt.UTC)
    assert card.external_guid == "{9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d}"
    assert card.custom_fields == (CustomField("0", "WizPay Ref", "wp_7F3K9"),)


# -- query builders ---------------------------------------------------------------------------

SINCE = dt.datetime(2025, 11, 2, 9, 30, tzinfo=EST)
UNTIL = dt.datetime(2025, 11, 3, 20, 0, 15, tzinfo=IST)
ITEM_BUILDERS = [items.build_item_inventory_query_rq, items.build_item_assembly_query_rq]
TXN_BUILDERS = [
    sales_orders.build_sales_order_query_rq,
    invoices.build_invoice_query_rq,
    payments.build_receive_payment_query_rq,
]


def registered_cases(*builds: Callable[..., str]) -> list[Any]:
    """Each registered example of these builders (every option and combination they take)."""
    return [
        pytest.param(builder.build, case.args[0], id=f"{builder.build.__name__}-{case.name}")
        for builder in registry.builders()
        if builder.build in builds
        for case in builder.examples
    ]


@pytest.mark.parametrize(("build", "query"), registered_cases(*ITEM_BUILDERS))
def test_item_query_validates(build: Callable[[ListQuery, QbxmlVersion], str], query: ListQuery) -> None:
    rq = build(query, V13)
    assert_valid_qbxml(wrap_request(rq, V13))
    if query.iteration is not None:
        assert f'iterator="{query.iteration.step}"' in rq
        assert f"<MaxReturned>{query.iteration.max_returned}</MaxReturned>" in rq
        assert ("iteratorID=" in rq) == (query.iteration.iterator_id is not None)
    if query.from_modified is not None:
        assert f"<FromModifiedDate>{format_datetime(query.from_modified)}</FromModifiedDate>" in rq
    if query.to_modified is not None:
        assert f"<ToModifiedDate>{format_datetime(query.to_modified)}</ToModifiedDate>" in rq


def test_item_query_escapes_names_and_keeps_schema_order() -> None:
    query = ListQuery(
        full_names=("Bolts & Nuts",), include_ret_elements=("ListID",), owner_ids=("0",), request_id="r&1"
    )
    assert items.build_item_inventory_query_rq(query, V13) == (
        '<ItemInventoryQueryRq requestID="r&amp;1"><FullName>Bolts &amp; Nuts</FullName>'
        "<IncludeRetElement>ListID</IncludeRetElement><OwnerID>0</OwnerID></ItemInventoryQueryRq>"
    )


@pytest.mark.parametrize(("build", "query"), registered_cases(*TXN_BUILDERS))
def test_txn_query_validates(build: Callable[[TxnQuery, QbxmlVersion], str], query: TxnQuery) -> None:
    rq = build(query, V13)
    assert_valid_qbxml(wrap_request(rq, V13))
    if query.iteration is not None:
        assert f'iterator="{query.iteration.step}"' in rq
        assert f"<MaxReturned>{query.iteration.max_returned}</MaxReturned>" in rq
    if query.modified_from is not None:
        assert f"<FromModifiedDate>{format_datetime(query.modified_from)}</FromModifiedDate>" in rq
    if query.include_line_items is not None:
        assert f"<IncludeLineItems>{str(query.include_line_items).lower()}</IncludeLineItems>" in rq


def test_payment_query_leaves_out_a_false_include_linked_txns() -> None:
    rq = payments.build_receive_payment_query_rq(TxnQuery(include_linked_txns=False), V13)
    assert rq == "<ReceivePaymentQueryRq></ReceivePaymentQueryRq>"


def test_invoice_query_in_schema_order() -> None:
    query = TxnQuery(
        modified_from=SINCE,
        entity_list_ids=("80000007-1709570000",),
        include_line_items=True,
        include_linked_txns=True,
        owner_ids=("0",),
        iteration=Iteration(max_returned=20),
    )
    assert invoices.build_invoice_query_rq(query, V13) == (
        '<InvoiceQueryRq iterator="Start"><MaxReturned>20</MaxReturned>'
        "<ModifiedDateRangeFilter><FromModifiedDate>2025-11-02T09:30:00-05:00</FromModifiedDate>"
        "</ModifiedDateRangeFilter><EntityFilter><ListID>80000007-1709570000</ListID></EntityFilter>"
        "<IncludeLineItems>true</IncludeLineItems><IncludeLinkedTxns>true</IncludeLinkedTxns>"
        "<OwnerID>0</OwnerID></InvoiceQueryRq>"
    )


# -- impossible combinations and older versions ------------------------------------------------

IMPOSSIBLE_LIST_QUERIES = {
    "ids_and_names": (ListQuery(list_ids=("1",), full_names=("A",)), "not both"),
    "ids_and_max_returned": (ListQuery(list_ids=("1",), max_returned=5), "max_returned"),
    "names_and_active_status": (ListQuery(full_names=("A",), active_status="All"), "active_status"),
    "ids_and_dates": (
        ListQuery(list_ids=("1",), from_modified=SINCE, to_modified=UNTIL),
        "from_modified, to_modified",
    ),
    "names_and_iterator": (ListQuery(full_names=("A",), iteration=Iteration(max_returned=10)), "iteration"),
    "max_returned_zero": (ListQuery(max_returned=0), "at least 1"),
    "two_page_sizes": (ListQuery(max_returned=10, iteration=Iteration(max_returned=100)), "disagrees"),
    "dates_reversed": (ListQuery(from_modified=UNTIL, to_modified=SINCE), "after"),
    "ret_element_too_long": (ListQuery(include_ret_elements=("X" * 51,)), "IncludeRetElement"),
}


@pytest.mark.parametrize("build", ITEM_BUILDERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("query", "message"), IMPOSSIBLE_LIST_QUERIES.values(), ids=IMPOSSIBLE_LIST_QUERIES.keys()
)
def test_item_query_refuses_impossible_combinations(
    build: Callable[[ListQuery, QbxmlVersion], str], query: ListQuery, message: str
) -> None:
    with pytest.raises(BuildError, match=message):
        build(query, V13)


IMPOSSIBLE_TXN_QUERIES = {
    "ids_and_refs": (TxnQuery(txn_ids=("1",), ref_numbers=("A",)), "not both"),
    "ids_and_max_returned": (TxnQuery(txn_ids=("1",), max_returned=5), "max_returned"),
    "refs_and_dates": (TxnQuery(ref_numbers=("A",), modified_from=SINCE), "modified_from"),
    "ids_and_customers": (TxnQuery(txn_ids=("1",), entity_list_ids=("8-1",)), "entity_list_ids"),
    "refs_and_iterator": (TxnQuery(ref_numbers=("A",), iteration=Iteration(max_returned=10)), "iteration"),
    "iterator_max_zero": (TxnQuery(iteration=Iteration(max_returned=0)), "at least 1"),
    "two_page_sizes": (TxnQuery(max_returned=10, iteration=Iteration(max_returned=100)), "disagrees"),
    "dates_reversed": (TxnQuery(modified_from=UNTIL, modified_to=SINCE), "after"),
    "empty_ret_element": (TxnQuery(include_ret_elements=("",)), "IncludeRetElement"),
}


@pytest.mark.parametrize("build", TXN_BUILDERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("query", "message"), IMPOSSIBLE_TXN_QUERIES.values(), ids=IMPOSSIBLE_TXN_QUERIES.keys()
)
def test_txn_query_refuses_impossible_combinations(
    build: Callable[[TxnQuery, QbxmlVersion], str], query: TxnQuery, message: str
) -> None:
    with pytest.raises(BuildError, match=message):
        build(query, V13)


def test_payment_query_refuses_linked_txns() -> None:
    with pytest.raises(BuildError, match="no IncludeLinkedTxns"):
        payments.build_receive_payment_query_rq(TxnQuery(include_linked_txns=True), V13)


@pytest.mark.parametrize(
    ("build", "query", "version", "message"),
    [
        (items.build_item_assembly_query_rq, ListQuery(), QbxmlVersion(1, 1), "needs qbXML 2.0"),
        (sales_orders.build_sales_order_query_rq, TxnQuery(), QbxmlVersion(2, 0), "needs qbXML 2.1"),
        (payments.build_receive_payment_query_rq, TxnQuery(), QbxmlVersion(1, 0), "needs qbXML 1.1"),
        (invoices.build_invoice_query_rq, TxnQuery(include_linked_txns=True), QbxmlVersion(1, 0), "1.1"),
        (invoices.build_invoice_query_rq, TxnQuery(entity_list_ids=("8-1",)), QbxmlVersion(1, 1), "2.0"),
    ],
    ids=["assembly<2.0", "sales_order<2.1", "payment<1.1", "linked_txns<1.1", "customer_filter<2.0"],
)
def test_too_old_a_version_for_what_changes_the_meaning_is_refused(
    build: Callable[[Any, QbxmlVersion], str], query: Any, version: QbxmlVersion, message: str
) -> None:
    with pytest.raises(BuildError, match=message):
        build(query, version)


LEAN_ITEMS = ListQuery(
    include_ret_elements=items.QUANTITY_ELEMENTS, owner_ids=("0",), iteration=Iteration(max_returned=9)
)
LEAN_TXNS = TxnQuery(
    include_ret_elements=("TxnID",), owner_ids=("0",), include_line_items=True, modified_from=SINCE
)


@pytest.mark.parametrize(
    ("build", "query"),
    [(build, LEAN_ITEMS) for build in ITEM_BUILDERS] + [(build, LEAN_TXNS) for build in TXN_BUILDERS],
    ids=[build.__name__ for build in ITEM_BUILDERS + TXN_BUILDERS],
)
def test_older_versions_drop_only_what_returns_more(
    build: Callable[[Any, QbxmlVersion], str], query: Any
) -> None:
    at_6 = build(query, QbxmlVersion(6, 0))
    assert at_6 == build(query, V13)  # nothing these queries use is newer than 4.0
    at_3 = build(query, QbxmlVersion(3, 0))
    assert "IncludeRetElement" not in at_3  # whole records come back instead: a superset
    assert "<OwnerID>0</OwnerID>" in at_3
    assert_valid_qbxml(wrap_request(at_3, V13))


def test_before_2_0_item_queries_ask_for_no_custom_fields() -> None:
    rq = items.build_item_inventory_query_rq(LEAN_ITEMS, QbxmlVersion(1, 0))
    assert "OwnerID" not in rq and "IncludeRetElement" not in rq
    assert_valid_qbxml(wrap_request(rq, V13))
