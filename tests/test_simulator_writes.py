"""The simulated QuickBooks answering the writes our pushes send (default list entries, estimates,
payments, editions and preferences, references), and the simulated Web Connector's fault switches.
Requests are literal qbXML, never built by our own qbxml/ builders; no server, no database.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from qbwc_server.simulator import SessionReport, SimulatedWebConnector, schema
from qbwc_server.simulator.company import (
    Class,
    Company,
    Customer,
    CustomerType,
    Invoice,
    InvoiceLine,
    ItemInventory,
    ItemSalesTax,
    Ref,
    SalesRep,
    SalesTaxCode,
    StandardTerms,
    account_ref,
)
from qbwc_server.simulator.faults import Faults, lose_writes
from qbwc_server.simulator.generator import generate_company
from qbwc_server.simulator.processor import PRODUCT_NAME, QuickBooksRequestError
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from tests.conftest import shared_file
from tests.test_simulator_wire import PASSWORD, FakeQBWC, fake_qbwc, script
from tests.xsd import assert_valid_qbxml

__all__ = ["fake_qbwc"]  # the fixture, shared with test_simulator_wire.py


@pytest.fixture(autouse=True)
def _intuit_schema() -> None:
    """These tests check documents against Intuit's XSD: without it they are skipped, and in CI
    they fail (conftest.shared_file), never pass by checking nothing."""
    if not schema.available():
        shared_file("QBXML_XSD", "qbxml/qbxmlops130.xsd")


NOT_AVAILABLE = (
    "3250",
    "Error",
    "This feature is not enabled or not available in this version of QuickBooks.",
)
NOT_IN_LIST = "QuickBooks error message: Invalid argument.  The specified record does not exist in the list."
GUID = "{6B29FC40-CA47-1067-B31D-00DD010662DA}"


def document(body: str, *, on_error: str = "continueOnError") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="13.0"?>\n'
        f'<QBXML><QBXMLMsgsRq onError="{on_error}">{body}</QBXMLMsgsRq></QBXML>'
    )


def ask(qb: SimulatedQuickBooks, body: str) -> list[etree._Element]:
    response = qb.process(document(body))
    return list(etree.fromstring(response.split("\n", 1)[1].encode()).iterfind("QBXMLMsgsRs/*"))


def one(qb: SimulatedQuickBooks, body: str) -> etree._Element:
    (rs,) = ask(qb, body)
    return rs


def status(rs: etree._Element) -> tuple[str, str, str]:
    return rs.get("statusCode", ""), rs.get("statusSeverity", ""), rs.get("statusMessage", "")


def ref(tag: str, name: str | None) -> str:
    return "" if name is None else f"<{tag}><FullName>{name}</FullName></{tag}>"


def sales_form(
    kind: str = "SalesOrder",
    *,
    customer: str = "Acme Supply",
    ref_number: str = "1001",
    klass: str | None = None,
    terms: str | None = None,
    rep: str | None = None,
    item_tax: str | None = None,
    tax_code: str | None = None,
    guid: str | None = None,
    lines: tuple[tuple[str, int], ...] = (("WIDGET", 2),),
    line_tax_code: str | None = None,
) -> str:
    """A SalesOrderAddRq or EstimateAddRq, children in the XSD's order."""
    line_xml = "".join(
        f"<{kind}LineAdd>{ref('ItemRef', sku)}<Quantity>{quantity}</Quantity>"
        f"{ref('SalesTaxCodeRef', line_tax_code)}</{kind}LineAdd>"
        for sku, quantity in lines
    )
    return (
        f'<{kind}AddRq requestID="1"><{kind}Add>{ref("CustomerRef", customer)}{ref("ClassRef", klass)}'
        f"<TxnDate>2026-11-20</TxnDate><RefNumber>{ref_number}</RefNumber>{ref('TermsRef', terms)}"
        f"{ref('SalesRepRef', rep)}{ref('ItemSalesTaxRef', item_tax)}"
        f"{ref('CustomerSalesTaxCodeRef', tax_code)}"
        f"{'' if guid is None else f'<ExternalGUID>{guid}</ExternalGUID>'}{line_xml}"
        f"</{kind}Add></{kind}AddRq>"
    )


@pytest.fixture
def company() -> Company:
    company = Company()
    company.add(StandardTerms(name="Net 30", std_due_days=30))
    for name in ("Tax", "Non"):
        company.add(SalesTaxCode(name=name, is_taxable=name == "Tax"))
    company.add(ItemSalesTax(name="State Tax", tax_rate=Decimal(4)))
    company.add(Class(name="Wholesale"))
    company.add(CustomerType(name="Retail"))
    company.add(SalesRep(initial="JS", sales_rep_entity_ref=Ref(None, "Jane Smith")))
    accounts: dict[str, Any] = {
        "income_account_ref": account_ref("Sales"),
        "cogs_account_ref": account_ref("Cost of Goods Sold"),
        "asset_account_ref": account_ref("Inventory Asset"),
    }
    for sku in ("WIDGET", "GADGET"):
        company.add(
            ItemInventory(name=sku, sales_price=Decimal(10), quantity_on_hand=Decimal(100), **accounts)
        )
    for name in ("Acme Supply", "Beta Market"):
        company.add(Customer(name=name))
    return company


@pytest.fixture
def qb(company: Company) -> SimulatedQuickBooks:
    return SimulatedQuickBooks(company)


# --- default list entries ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields", "existing"),
    [
        ("Class", "", "Wholesale"),
        ("StandardTerms", "<StdDueDays>15</StdDueDays>", "Net 30"),
        ("CustomerType", "", "Retail"),
    ],
)
def test_default_list_entries_are_added_once(
    qb: SimulatedQuickBooks, kind: str, fields: str, existing: str
) -> None:
    add = f"<{kind}AddRq><{kind}Add><Name>{{}}</Name>{fields}</{kind}Add></{kind}AddRq>"
    rs = one(qb, add.format("Wizcommerce"))
    ret = rs.find(f"{kind}Ret")
    assert status(rs)[0] == "0" and ret is not None
    assert (
        ret.findtext("Name") == "Wizcommerce"
        and ret.findtext("IsActive") == "true"
        and ret.findtext("ListID")
    )
    for name in ("Wizcommerce", existing.upper()):  # names are unique case-insensitively
        assert status(one(qb, add.format(name))) == (
            "3100",
            "Error",
            f'The name "{name}" of the list element is already in use.',
        )
    query = one(qb, f"<{kind}QueryRq><FullName>wizcommerce</FullName></{kind}QueryRq>")
    assert query.findtext(f"{kind}Ret/ListID") == ret.findtext("ListID")


def test_sub_class_and_sub_type_take_their_parent(qb: SimulatedQuickBooks) -> None:
    rs = one(
        qb,
        "<CustomerTypeAddRq><CustomerTypeAdd><Name>Boutique</Name><ParentRef><FullName>Retail</FullName>"
        "</ParentRef></CustomerTypeAdd></CustomerTypeAddRq>",
    )
    assert rs.findtext("CustomerTypeRet/FullName") == "Retail:Boutique"
    assert rs.findtext("CustomerTypeRet/Sublevel") == "1"
    rs = one(
        qb,
        "<ClassAddRq><ClassAdd><Name>East</Name><ParentRef><FullName>Nowhere</FullName></ParentRef>"
        "</ClassAdd></ClassAddRq>",
    )
    assert status(rs) == ("3140", "Error", 'There is an invalid reference to QuickBooks Class "Nowhere".')


# --- names across customers, vendors, employees and other names ---------------------------------


def test_customer_names_are_unique_across_other_names() -> None:
    company = generate_company(seed=3, customers=5, items=3)
    company.add_other_name("Pat Employee")
    qb = SimulatedQuickBooks(company)
    add = "<CustomerAddRq><CustomerAdd><Name>{}</Name></CustomerAdd></CustomerAddRq>"
    # A vendor of the generated company, an employee filed by hand, a sales rep's entity name.
    for name in ("Uline", "PAT EMPLOYEE", "Kevin O'Neil"):
        assert status(one(qb, add.format(name.replace("'", "&apos;")))) == (
            "3100",
            "Error",
            f'The name "{name}" of the list element is already in use.',
        )
    assert status(one(qb, add.format("Uline Retail")))[0] == "0"


def test_generated_company_has_the_lists_pushes_need() -> None:
    company = generate_company(seed=1, customers=3, items=3)
    assert {code.name for code in company.sales_tax_codes.values()} >= {"Tax", "Non"}
    assert company.by_name("sales_tax_items", "State Tax") is not None
    assert company.by_name("classes", "Wizcommerce") is not None
    assert "ULINE" in company.other_names
    again = generate_company(seed=1, customers=3, items=3)
    assert company.other_names == again.other_names


# --- estimates ---------------------------------------------------------------------------------


def test_estimate_add_mod_and_query(qb: SimulatedQuickBooks, company: Company) -> None:
    widget = company.by_name("items", "WIDGET")
    rs = one(
        qb, sales_form("Estimate", ref_number="E-7", klass="Wholesale", guid=GUID, lines=(("WIDGET", 3),))
    )
    ret = rs.find("EstimateRet")
    assert status(rs)[0] == "0" and ret is not None
    assert (ret.findtext("TotalAmount"), ret.findtext("ExternalGUID")) == ("30.00", GUID)
    assert ret.findtext("EstimateLineRet/ItemRef/FullName") == "WIDGET" and ret.findtext("IsActive") == "true"
    assert widget.quantity_on_sales_order == 0  # an estimate reserves no stock
    txn_id, sequence = ret.findtext("TxnID"), ret.findtext("EditSequence")
    line_id = ret.findtext("EstimateLineRet/TxnLineID")
    mod = (
        f"<EstimateModRq><EstimateMod><TxnID>{txn_id}</TxnID><EditSequence>{sequence}</EditSequence>"
        f"<EstimateLineMod><TxnLineID>{line_id}</TxnLineID><Quantity>1</Quantity></EstimateLineMod>"
        "<EstimateLineMod><TxnLineID>-1</TxnLineID><ItemRef><FullName>GADGET</FullName></ItemRef>"
        "<Quantity>2</Quantity></EstimateLineMod></EstimateMod></EstimateModRq>"
    )
    rs = one(qb, mod)
    assert rs.findtext("EstimateRet/TotalAmount") == "30.00"
    assert [x.findtext("ItemRef/FullName") for x in rs.iter("EstimateLineRet")] == ["WIDGET", "GADGET"]
    assert status(one(qb, mod)) == (
        "3200",
        "Error",
        f'The provided edit sequence "{sequence}" is out-of-date.',
    )
    for query in (
        "<RefNumber>e-7</RefNumber>",
        "<RefNumberCaseSensitive>E-7</RefNumberCaseSensitive>",
        "<TxnDateRangeFilter><FromTxnDate>2026-11-20</FromTxnDate><ToTxnDate>2026-11-20</ToTxnDate>"
        "</TxnDateRangeFilter><EntityFilter><FullName>Acme Supply</FullName></EntityFilter>"
        "<RefNumberFilter><MatchCriterion>StartsWith</MatchCriterion><RefNumber>E-7</RefNumber>"
        "</RefNumberFilter>",
    ):
        rs = one(qb, f"<EstimateQueryRq>{query}<IncludeLineItems>true</IncludeLineItems></EstimateQueryRq>")
        assert [x.findtext("TxnID") for x in rs] == [txn_id], query
        assert len(rs[0].findall("EstimateLineRet")) == 2
    rs = one(
        qb, "<EstimateQueryRq><EntityFilter><FullName>Beta Market</FullName></EntityFilter></EstimateQueryRq>"
    )
    assert status(rs)[0] == "1"


# --- editions and preferences -------------------------------------------------------------------


def preferences_of(qb: SimulatedQuickBooks) -> etree._Element:
    host = qb.host_response()
    assert_valid_qbxml(host)
    root = etree.fromstring(host.encode())
    return root


@pytest.mark.parametrize(
    ("edition", "product"),
    [
        ("enterprise", PRODUCT_NAME),
        ("premier", "QuickBooks Premier Edition 2024"),
        ("pro", "QuickBooks Pro 2024"),
    ],
)
def test_edition_decides_sales_orders(company: Company, edition: str, product: str) -> None:
    qb = SimulatedQuickBooks(company, edition=edition)
    assert preferences_of(qb).findtext(".//HostRet/ProductName") == product
    order, estimate = ask(qb, sales_form("SalesOrder") + sales_form("Estimate"))
    assert status(order) == (NOT_AVAILABLE if edition == "pro" else ("0", "Info", "Status OK"))
    assert status(estimate)[0] == "0"
    with pytest.raises(ValueError, match="edition"):
        SimulatedQuickBooks(company, edition="online")


def test_preferences_turned_off_refuse_and_show(company: Company) -> None:
    qb = SimulatedQuickBooks(
        company, sales_orders_enabled=False, estimates=False, class_tracking=False, sales_tax=False
    )
    root = preferences_of(qb)
    assert root.findtext(".//IsUsingClassTracking") == "false"
    assert root.findtext(".//IsUsingEstimates") == "false"
    assert root.find(".//SalesTaxPreferences") is None
    assert status(one(qb, sales_form("SalesOrder"))) == NOT_AVAILABLE  # Enterprise, sales orders off
    assert status(one(qb, sales_form("Estimate"))) == NOT_AVAILABLE
    qb.preferences = type(qb.preferences)(class_tracking=False, sales_tax=False)
    assert status(one(qb, sales_form(klass="Wholesale"))) == NOT_AVAILABLE
    assert status(one(qb, sales_form(line_tax_code="Non"))) == NOT_AVAILABLE
    assert status(one(qb, sales_form(item_tax="State Tax"))) == NOT_AVAILABLE
    customer = "<CustomerAddRq><CustomerAdd><Name>New</Name>{}</CustomerAdd></CustomerAddRq>"
    assert status(one(qb, customer.format(ref("SalesTaxCodeRef", "Non")))) == NOT_AVAILABLE
    assert status(one(qb, sales_form()))[0] == "0" and status(one(qb, customer.format("")))[0] == "0"


def test_preferences_on_by_default_are_reported(qb: SimulatedQuickBooks) -> None:
    root = preferences_of(qb)
    assert root.findtext(".//IsUsingClassTracking") == "true"
    assert root.findtext(".//IsUsingEstimates") == "true"
    assert root.findtext(".//DefaultNonTaxableSalesTaxCodeRef/FullName") == "Non"
    assert root.findtext(".//DefaultTaxableSalesTaxCodeRef/FullName") == "Tax"


# --- references, EditSequence, IDs ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "changes", "label", "value", "where"),
    [
        ("SalesOrder", {"customer": "Nobody"}, "Customer", "Nobody", "SalesOrder"),
        ("SalesOrder", {"lines": (("SKU-404", 1),)}, "Item", "SKU-404", "SalesOrder line"),
        ("Estimate", {"lines": (("SKU-404", 1),)}, "Item", "SKU-404", "Estimate line"),
        ("SalesOrder", {"klass": "Wizcommerce"}, "Class", "Wizcommerce", "SalesOrder"),
        ("SalesOrder", {"terms": "Net 45"}, "Terms", "Net 45", "SalesOrder"),
        ("Estimate", {"rep": "ZZ"}, "SalesRep", "ZZ", "Estimate"),
        ("SalesOrder", {"tax_code": "Exm"}, "SalesTaxCode", "Exm", "SalesOrder"),
        ("SalesOrder", {"line_tax_code": "Exm"}, "SalesTaxCode", "Exm", "SalesOrder line"),
        ("SalesOrder", {"item_tax": "City Tax"}, "Item", "City Tax", "SalesOrder"),
    ],
)
def test_invalid_references_are_3140_in_quickbooks_words(
    qb: SimulatedQuickBooks, kind: str, changes: dict[str, object], label: str, value: str, where: str
) -> None:
    rs = one(qb, sales_form(kind, **changes))  # type: ignore[arg-type]
    assert status(rs) == (
        "3140",
        "Error",
        f'There is an invalid reference to QuickBooks {label} "{value}" in the {where}.  {NOT_IN_LIST}',
    )
    assert not qb.company.sales_orders and not qb.company.estimates  # nothing was added


def test_every_reference_resolves_and_comes_back(qb: SimulatedQuickBooks) -> None:
    rs = one(
        qb,
        sales_form(
            klass="wholesale",
            terms="Net 30",
            rep="JS",
            item_tax="State Tax",
            tax_code="Non",
            line_tax_code="Tax",
        ),
    )
    ret = rs.find("SalesOrderRet")
    assert status(rs)[0] == "0" and ret is not None
    assert [ret.findtext(f"{tag}/FullName") for tag in ("ClassRef", "TermsRef", "SalesRepRef")] == [
        "Wholesale",
        "Net 30",
        "JS",
    ]
    assert ret.findtext("ItemSalesTaxRef/FullName") == "State Tax"
    assert ret.findtext("CustomerSalesTaxCodeRef/FullName") == "Non"
    assert ret.findtext("SalesOrderLineRet/SalesTaxCodeRef/FullName") == "Tax"


def test_customer_references_name_their_list(qb: SimulatedQuickBooks) -> None:
    rs = one(
        qb,
        "<CustomerAddRq><CustomerAdd><Name>X</Name><CustomerTypeRef><FullName>Wholesale</FullName>"
        "</CustomerTypeRef></CustomerAdd></CustomerAddRq>",
    )
    assert status(rs) == (
        "3140",
        "Error",
        'There is an invalid reference to QuickBooks CustomerType "Wholesale".',
    )


def test_mods_of_missing_or_stale_transactions(qb: SimulatedQuickBooks, company: Company) -> None:
    ret = one(qb, sales_form()).find("SalesOrderRet")
    assert ret is not None
    txn_id, sequence = ret.findtext("TxnID"), ret.findtext("EditSequence")
    mod = "<SalesOrderModRq><SalesOrderMod><TxnID>{}</TxnID><EditSequence>{}</EditSequence><Memo>m</Memo>" + (
        "</SalesOrderMod></SalesOrderModRq>"
    )
    assert status(one(qb, mod.format(txn_id, sequence)))[0] == "0"
    assert status(one(qb, mod.format(txn_id, sequence))) == (
        "3200",
        "Error",
        f'The provided edit sequence "{sequence}" is out-of-date.',
    )
    company.delete(txn_id or "")
    rs = one(qb, mod.format(txn_id, sequence))
    assert rs.get(
        "statusCode"
    ) == "3120" and f'Object "{txn_id}" specified in the request cannot be found' in (
        rs.get("statusMessage") or ""
    )
    assert status(one(qb, mod.format("bogus", sequence))) == (
        "3000",
        "Error",
        'The given object ID "bogus" in the field "txn id" is invalid.',
    )


# --- ExternalGUID ------------------------------------------------------------------------------


def test_external_guid_comes_back_in_every_ret(qb: SimulatedQuickBooks) -> None:
    customer, order, estimate, payment = ask(
        qb,
        f"<CustomerAddRq><CustomerAdd><Name>Gamma</Name><ExternalGUID>{GUID}</ExternalGUID></CustomerAdd>"
        "</CustomerAddRq>"
        + sales_form("SalesOrder", guid=GUID)
        + sales_form("Estimate", guid=GUID)
        + "<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Acme Supply</FullName>"
        f"</CustomerRef><TotalAmount>5.00</TotalAmount><ExternalGUID>{GUID}</ExternalGUID>"
        "<IsAutoApply>false</IsAutoApply></ReceivePaymentAdd></ReceivePaymentAddRq>",
    )
    for rs in (customer, order, estimate, payment):
        assert rs[0].findtext("ExternalGUID") == GUID, rs.tag


# --- payments ----------------------------------------------------------------------------------


def invoice(company: Company, customer: str, amount: int, day: int, number: str) -> Invoice:
    return company.add(  # type: ignore[no-any-return]
        Invoice(
            customer_ref=Ref(company.by_name("customers", customer).list_id),
            txn_date=date(2026, 11, day),
            ref_number=number,
            lines=[
                InvoiceLine(
                    item_ref=Ref(company.by_name("items", "WIDGET").list_id),
                    quantity=Decimal(amount),
                    rate=Decimal(1),
                )
            ],
        )
    )


UNAPPLIED = "<IsAutoApply>false</IsAutoApply>"


def payment(body: str, *, total: str = "10.00", number: str = "P-1", customer: str = "Acme Supply") -> str:
    return (
        f"<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>{customer}</FullName></CustomerRef>"
        f"<TxnDate>2026-11-24</TxnDate><RefNumber>{number}</RefNumber><TotalAmount>{total}</TotalAmount>"
        f"{body}</ReceivePaymentAdd></ReceivePaymentAddRq>"
    )


def applied(txn_id: str, amount: str) -> str:
    return (
        f"<AppliedToTxnAdd><TxnID>{txn_id}</TxnID><PaymentAmount>{amount}</PaymentAmount></AppliedToTxnAdd>"
    )


def test_applied_payments_lower_balances_and_refuse_overpaying(
    qb: SimulatedQuickBooks, company: Company
) -> None:
    first = invoice(company, "Acme Supply", 30, 1, "I-1")
    other = invoice(company, "Beta Market", 10, 1, "I-2")
    rs = one(qb, payment(applied(first.txn_id, "30.01"), total="30.01"))
    assert status(rs) == (
        "3210",
        "Error",
        'The "AppliedToTxnAdd payment amount" field has an invalid value "30.01".  '
        "QuickBooks error message: You cannot pay more than the amount due.",
    )
    assert first.balance_remaining == 30 and not company.payments
    rs = one(qb, payment(applied(first.txn_id, "30.00"), total="30.00"))
    assert rs.findtext("ReceivePaymentRet/UnusedPayment") == "0.00"
    assert (first.balance_remaining, first.is_paid) == (Decimal(0), True)
    for txn_id in (first.txn_id, other.txn_id, "999-1732541234"):  # paid, another customer's, unknown
        rs = one(qb, payment(applied(txn_id, "1.00"), total="1.00"))
        assert rs.get("statusCode") == "3120"
        assert rs.get("statusMessage", "").startswith(
            f'Object "{txn_id}" specified in the request cannot be found.'
        )


def test_auto_apply_prefers_an_exact_amount_then_the_oldest(
    qb: SimulatedQuickBooks, company: Company
) -> None:
    old, newer, exact = (
        invoice(company, "Acme Supply", 20, 1, "I-1"),
        invoice(company, "Acme Supply", 20, 5, "I-2"),
        invoice(company, "Acme Supply", 15, 9, "I-3"),
    )
    rs = one(qb, payment("<IsAutoApply>true</IsAutoApply>", total="15.00"))
    assert [x.findtext("TxnID") for x in rs.iter("AppliedToTxnRet")] == [exact.txn_id]
    rs = one(qb, payment("<IsAutoApply>true</IsAutoApply>", total="30.00", number="P-2"))
    assert [x.findtext("TxnID") for x in rs.iter("AppliedToTxnRet")] == [old.txn_id, newer.txn_id]
    assert (old.balance_remaining, newer.balance_remaining) == (Decimal(0), Decimal(10))
    # IsAutoApply false (the XSD requires one of the two): the whole payment stays an unapplied credit.
    rs = one(qb, payment(UNAPPLIED, total="12.50", number="P-3"))
    assert rs.findtext("ReceivePaymentRet/UnusedPayment") == "12.50" and rs.find(".//AppliedToTxnRet") is None
    assert newer.balance_remaining == 10


def test_a_lost_payment_is_found_by_customer_date_and_ref_number(
    qb: SimulatedQuickBooks, company: Company
) -> None:
    ask(
        qb,
        payment(UNAPPLIED, number="WP-77")
        + payment(UNAPPLIED, number="WP-77", customer="Beta Market")
        + payment(UNAPPLIED, number="WP-78"),
    )
    rs = one(qb, "<ReceivePaymentQueryRq><RefNumber>wp-77</RefNumber></ReceivePaymentQueryRq>")
    assert len(rs) == 2  # RefNumbers need not be unique: all of them come back
    # qbXML cannot combine RefNumber with EntityFilter: the range filter From == To is the exact match.
    rs = one(
        qb,
        "<ReceivePaymentQueryRq><TxnDateRangeFilter><FromTxnDate>2026-11-24</FromTxnDate>"
        "<ToTxnDate>2026-11-24</ToTxnDate></TxnDateRangeFilter><EntityFilter><FullName>Acme Supply</FullName>"
        "</EntityFilter><RefNumberRangeFilter><FromRefNumber>WP-77</FromRefNumber><ToRefNumber>WP-77"
        "</ToRefNumber></RefNumberRangeFilter></ReceivePaymentQueryRq>",
    )
    assert [(x.findtext("RefNumber"), x.findtext("CustomerRef/FullName")) for x in rs] == [
        ("WP-77", "Acme Supply")
    ]
    rs = one(
        qb,
        "<ReceivePaymentQueryRq><EntityFilter><FullName>Acme Supply</FullName></EntityFilter>"
        "<RefNumberFilter><MatchCriterion>StartsWith</MatchCriterion><RefNumber>wp-7</RefNumber></RefNumberFilter>"
        "</ReceivePaymentQueryRq>",
    )
    assert [x.findtext("RefNumber") for x in rs] == ["WP-77", "WP-78"]
    rs = one(qb, "<CustomerQueryRq><FullName>acme supply</FullName></CustomerQueryRq>")
    assert rs.findtext("CustomerRet/Name") == "Acme Supply"


# --- requests validated against the XSD -----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        payment("<IsAutoApply>true</IsAutoApply>" + applied("100-1", "1.00")),  # both: the XSD's choice
        payment(""),  # neither: the choice is required
        # RefNumber before TxnDate: out of order
        "<SalesOrderAddRq><SalesOrderAdd><CustomerRef><FullName>Acme Supply</FullName></CustomerRef>"
        "<RefNumber>1</RefNumber><TxnDate>2026-11-20</TxnDate></SalesOrderAdd></SalesOrderAddRq>",
        "<ClassAddRq><ClassAdd><IsActive>true</IsActive></ClassAdd></ClassAddRq>",  # no Name
    ],
)
def test_invalid_write_documents_are_parse_errors(qb: SimulatedQuickBooks, body: str) -> None:
    with pytest.raises(QuickBooksRequestError) as raised:
        qb.process(document(body))
    assert (raised.value.hresult, raised.value.message) == (
        "0x80040400",
        "QuickBooks found an error when parsing the provided XML text stream.",
    )
    assert not qb.company.payments and not qb.company.sales_orders


# --- the simulated Web Connector's fault switches --------------------------------------------------


def customer_add(name: str, request_id: int = 1) -> str:
    body = f"<CustomerAdd><Name>{name}</Name></CustomerAdd>"
    return document(f'<CustomerAddRq requestID="{request_id}">{body}</CustomerAddRq>')


def connect(fake: FakeQBWC, qb: SimulatedQuickBooks, **faults: object) -> SimulatedWebConnector:
    return SimulatedWebConnector(
        fake.url,
        "acme",
        PASSWORD,
        qb,
        noop_delay=0,
        timeout=5,
        **faults,  # type: ignore[arg-type]
    )


def operations(report: SessionReport) -> list[str]:
    return [call.operation for call in report.calls]


HANDSHAKE = ["serverVersion", "clientVersion", "authenticate"]


@pytest.mark.parametrize(("after", "closes"), [("close", True), ("stop", False)])
def test_a_lost_response_was_processed_but_never_delivered(
    fake_qbwc: FakeQBWC, qb: SimulatedQuickBooks, after: str, closes: bool
) -> None:
    fake_qbwc.script = script(sendRequestXML=[customer_add("Lost Co")], receiveResponseXML=[100])
    report = connect(fake_qbwc, qb, lose_responses=1.0, after_lost_response=after).run_session()
    assert operations(report) == [*HANDSHAKE, "sendRequestXML", *(["closeConnection"] if closes else [])]
    assert report.outcome == "response lost" and not report.ok
    assert qb.company.by_name("customers", "Lost Co") is not None  # QuickBooks did add it
    assert report.requests_processed == 1 and report.unanswered_request == customer_add("Lost Co")
    with pytest.raises(ValueError, match="after_lost_response"):
        connect(fake_qbwc, qb, after_lost_response="later")


def test_lose_responses_decider_sees_request_numbers_across_sessions(
    fake_qbwc: FakeQBWC, qb: SimulatedQuickBooks
) -> None:
    fake_qbwc.script = script(
        sendRequestXML=[customer_add("A"), customer_add("B"), customer_add("C")], receiveResponseXML=[50]
    )
    seen: list[int] = []

    def third(number: int, request_xml: str) -> bool:
        seen.append(number)
        return number == 3

    connector = connect(fake_qbwc, qb, lose_responses=third)
    report = connector.run_session()
    assert report.outcome == "response lost" and seen == [1, 2, 3]
    assert operations(report).count("receiveResponseXML") == 2
    fake_qbwc.script = script(sendRequestXML=[customer_add("D")], receiveResponseXML=[100])
    assert connector.run_session().ok and seen[-1] == 4 and connector.requests_seen == 4


def test_fault_decisions_are_seeded() -> None:
    def pattern(faults: Faults) -> list[bool]:
        return [faults.loses(n, customer_add("X")) for n in range(1, 41)]

    first, again = pattern(Faults(0.2, seed=11)), pattern(Faults(0.2, seed=11))
    assert first == again and 2 <= sum(first) <= 16 and pattern(Faults(0.2, seed=12)) != first
    writes = lose_writes(1.0)
    assert writes(1, customer_add("X")) and not writes(2, document("<CustomerQueryRq/>"))


@pytest.mark.parametrize("processed", [False, True])
def test_abandoned_session_never_closes(
    fake_qbwc: FakeQBWC, qb: SimulatedQuickBooks, processed: bool
) -> None:
    fake_qbwc.script = script(
        sendRequestXML=[customer_add("First"), customer_add("Second")], receiveResponseXML=[50]
    )
    report = connect(fake_qbwc, qb, abandon_after=1, abandon_processed=processed).run_session()
    assert operations(report) == [*HANDSHAKE, "sendRequestXML", "receiveResponseXML", "sendRequestXML"]
    assert report.outcome == "abandoned" and report.close_message is None
    assert qb.company.by_name("customers", "First") is not None
    assert (qb.company.by_name("customers", "Second") is not None) is processed
    assert report.unanswered_request == (customer_add("Second") if processed else None)


def test_hresult_instead_of_a_response(fake_qbwc: FakeQBWC, qb: SimulatedQuickBooks) -> None:
    fake_qbwc.script = script(
        sendRequestXML=[customer_add("One"), customer_add("Two")], receiveResponseXML=[50, 100]
    )
    busy = ("0x80040416", "QuickBooks is busy and cannot process the request.")
    report = connect(fake_qbwc, qb, hresults={2: busy}).run_session()
    assert report.ok and report.requests_processed == 1
    first, second = (args for op, _, args in fake_qbwc.received if op == "receiveResponseXML")
    assert first["hresult"] == "" and "CustomerAddRs" in first["response"]
    assert (second["hresult"], second["message"], second["response"]) == (*busy, "")
    assert qb.company.by_name("customers", "Two") is None  # QuickBooks never saw it


def test_quickbooks_not_running(fake_qbwc: FakeQBWC, qb: SimulatedQuickBooks) -> None:
    fake_qbwc.script = script(connectionError=["done"])
    report = connect(fake_qbwc, qb, quickbooks_not_running=True).run_session()
    assert operations(report) == [*HANDSHAKE, "connectionError"]
    assert report.calls[-1].arguments["hresult"] == "0x80040408"
    assert report.calls[-1].arguments["message"] == "Could not start QuickBooks."
    assert report.outcome == "could not connect to QuickBooks"
