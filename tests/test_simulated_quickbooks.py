"""The simulated QuickBooks company, through `process()` with literal qbXML, as the Web Connector sends it.
Requests are written out here on purpose, never built by our own qbxml/ builders.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from lxml import etree

from qbwc_server.simulator import schema
from qbwc_server.simulator.company import (
    Address,
    Company,
    Customer,
    ItemInventory,
    Ref,
    SalesOrder,
    SalesOrderLine,
    ShipToAddress,
    StandardTerms,
    account_ref,
)
from qbwc_server.simulator.generator import generate_company
from qbwc_server.simulator.processor import QuickBooksConnectionError, QuickBooksRequestError
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from tests.conftest import shared_file


@pytest.fixture(autouse=True)
def _intuit_schema() -> None:
    """These tests check documents against Intuit's XSD: without it they are skipped, and in CI
    they fail (conftest.shared_file), never pass by checking nothing."""
    if not schema.available():
        shared_file("QBXML_XSD", "qbxml/qbxmlops130.xsd")


def document(body: str, *, on_error: str = "stopOnError", version: str = "13.0") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="{version}"?>\n'
        f'<QBXML><QBXMLMsgsRq onError="{on_error}">{body}</QBXMLMsgsRq></QBXML>'
    )


def ask(qb: SimulatedQuickBooks, body: str, **kwargs: str) -> list[etree._Element]:
    response = qb.process(document(body, **kwargs))
    assert response.startswith('<?xml version="1.0" ?>\n<QBXML>\n<QBXMLMsgsRs>\n')
    root = etree.fromstring(response.split("\n", 1)[1].encode())
    return list(root.find("QBXMLMsgsRs"))  # type: ignore[arg-type]


def status(rs: etree._Element) -> tuple[str, str, str]:
    return rs.get("statusCode", ""), rs.get("statusSeverity", ""), rs.get("statusMessage", "")


@pytest.fixture
def company() -> Company:
    company = Company()
    net30 = company.add(StandardTerms(name="Net 30", std_due_days=30))
    accounts = {
        "income_account_ref": account_ref("Sales"),
        "cogs_account_ref": account_ref("Cost of Goods Sold"),
        "asset_account_ref": account_ref("Inventory Asset"),
    }
    company.add(
        ItemInventory(name="WIDGET", sales_price=Decimal("10.00"), quantity_on_hand=Decimal(100), **accounts)
    )
    company.add(
        Customer(
            name="Café Müller & Sons",
            bill_address=Address(addr1="1 Rue de l'Église", city="Atlanta"),
            ship_to_addresses=[ShipToAddress(name="Main", addr1="2 Dock Rd", default_ship_to=True)],
            terms_ref=company.ref(net30),
            data_ext={"Rep Code": "A1"},
        )
    )
    company.add(Customer(name="O'Brien's Hardware", is_active=False))
    return company


@pytest.fixture
def qb(company: Company) -> SimulatedQuickBooks:
    return SimulatedQuickBooks(company)


def test_customer_query_is_valid_ordered_and_filters_active(qb: SimulatedQuickBooks) -> None:
    (rs,) = ask(qb, '<CustomerQueryRq requestID="7"><ActiveStatus>All</ActiveStatus></CustomerQueryRq>')
    assert status(rs) == ("0", "Info", "Status OK")
    assert list(rs.attrib)[:2] == ["requestID", "statusCode"] and rs.get("retCount") == "2"
    assert [ret.findtext("Name") for ret in rs] == ["Café Müller & Sons", "O'Brien's Hardware"]
    (rs,) = ask(qb, "<CustomerQueryRq/>")
    assert [ret.findtext("Name") for ret in rs] == ["Café Müller & Sons"]
    assert rs[0].find("DataExtRet") is None  # only with OwnerID 0
    assert rs[0].findtext("ShipToAddress/DefaultShipTo") == "true"
    (rs,) = ask(
        qb, "<CustomerQueryRq><ActiveStatus>InactiveOnly</ActiveStatus><OwnerID>0</OwnerID></CustomerQueryRq>"
    )
    assert [ret.findtext("Name") for ret in rs] == ["O'Brien's Hardware"]
    (rs,) = ask(qb, "<CustomerQueryRq><OwnerID>0</OwnerID></CustomerQueryRq>")
    assert rs[0].findtext("DataExtRet/DataExtValue") == "A1"


def test_modified_date_filter_honours_utc_offsets(qb: SimulatedQuickBooks, company: Company) -> None:
    company.clock.advance(3600)  # 11:41:48-05:00 = 16:41:48Z
    customer = company.by_name("customers", "Café Müller & Sons")
    company.edit(customer.list_id, phone="404-555-0100")
    (rs,) = ask(
        qb,
        "<CustomerQueryRq><FromModifiedDate>2026-11-25T16:41:00+00:00</FromModifiedDate></CustomerQueryRq>",
    )
    assert [ret.findtext("Phone") for ret in rs] == ["404-555-0100"]
    assert rs[0].findtext("TimeModified") == "2026-11-25T11:41:48-05:00"
    (rs,) = ask(
        qb,
        "<CustomerQueryRq><FromModifiedDate>2026-11-25T16:42:00+00:00</FromModifiedDate></CustomerQueryRq>",
    )
    assert status(rs) == ("1", "Info", "A query request did not find a matching object in QuickBooks")


def test_missing_list_id_is_500_and_unknown_request_3250(qb: SimulatedQuickBooks) -> None:
    rs, other = ask(
        qb,
        "<CustomerQueryRq><ListID>80000999-1732541234</ListID></CustomerQueryRq><VendorQueryRq/>",
        on_error="continueOnError",
    )
    assert status(rs) == (
        "500",
        "Warn",
        "The query request has not been fully completed. There was a required "
        'element ("80000999-1732541234") that could not be found in QuickBooks.',
    )
    assert other.tag == "VendorQueryRs" and other.get("statusCode") == "3250"


@pytest.mark.parametrize(
    "body",
    [
        "<CustomerQueryRq><Bogus/></CustomerQueryRq>",  # not in the schema
        # out of order
        "<CustomerQueryRq><ActiveStatus>All</ActiveStatus><ListID>8-1</ListID></CustomerQueryRq>",
    ],
)
def test_invalid_documents_are_parse_errors(qb: SimulatedQuickBooks, body: str) -> None:
    with pytest.raises(QuickBooksRequestError) as raised:
        qb.process(document(body))
    assert raised.value.hresult == "0x80040400"


def test_version_above_the_processors_is_a_parse_error(company: Company) -> None:
    qb = SimulatedQuickBooks(company, supported_versions=("12.0",))
    with pytest.raises(QuickBooksRequestError):
        qb.process(document("<CustomerQueryRq/>", version="13.0"))
    assert ask(qb, "<CustomerQueryRq/>", version="12.0")[0].get("statusCode") == "0"


def test_iterator_pages_a_fixed_set_and_expires() -> None:
    qb = SimulatedQuickBooks(generate_company(seed=3, customers=25, items=5))
    (rs,) = ask(
        qb,
        '<CustomerQueryRq iterator="Start"><MaxReturned>10</MaxReturned>'
        "<ActiveStatus>All</ActiveStatus></CustomerQueryRq>",
    )
    total = 10 + int(rs.get("iteratorRemainingCount", ""))
    iterator_id = rs.get("iteratorID", "")
    assert re.fullmatch(r"\{[0-9a-f-]{36}\}", iterator_id) and len(rs) == 10
    qb.company.add(Customer(name="AAA Added After Start"))  # not in the fixed set
    seen = [ret.findtext("Name") for ret in rs]
    while rs.get("iteratorRemainingCount") != "0":
        (rs,) = ask(
            qb,
            f'<CustomerQueryRq iterator="Continue" iteratorID="{iterator_id}">'
            "<MaxReturned>10</MaxReturned></CustomerQueryRq>",
        )
        seen += [ret.findtext("Name") for ret in rs]
    assert len(seen) == total and "AAA Added After Start" not in seen
    (rs,) = ask(
        qb,
        f'<CustomerQueryRq iterator="Continue" iteratorID="{iterator_id}"><MaxReturned>10</MaxReturned>'
        "</CustomerQueryRq>",
    )
    assert rs.get("statusCode") == "3391" and "expired" in rs.get("statusMessage", "")


@pytest.mark.parametrize("how", ["expire_iterators", "open_company", "idle"])
def test_iterators_expire(qb: SimulatedQuickBooks, how: str) -> None:
    (rs,) = ask(
        qb,
        '<CustomerQueryRq iterator="Start"><MaxReturned>1</MaxReturned>'
        "<ActiveStatus>All</ActiveStatus></CustomerQueryRq>",
    )
    iterator_id = rs.get("iteratorID")
    if how == "expire_iterators":
        qb.expire_iterators()
    elif how == "open_company":
        qb.open_company("")
    else:
        qb.company.clock.advance(qb.iterators.idle_seconds + 1)
    (rs,) = ask(
        qb,
        f'<CustomerQueryRq iterator="Continue" iteratorID="{iterator_id}"><MaxReturned>1</MaxReturned>'
        "</CustomerQueryRq>",
    )
    assert status(rs)[:2] == ("3391", "Error")


def test_stop_on_error_leaves_the_rest_unprocessed(qb: SimulatedQuickBooks) -> None:
    add = '<CustomerAddRq requestID="{}"><CustomerAdd><Name>{}</Name></CustomerAdd></CustomerAddRq>'
    body = add.format(1, "Café Müller &amp; Sons") + add.format(2, "Fresh Name") + "<CustomerQueryRq/>"
    first, second, third = ask(qb, body)
    assert status(first) == (
        "3100",
        "Error",
        'The name "Café Müller & Sons" of the list element is already in use.',
    )
    assert status(second) == status(third) == ("3231", "Error", "The request has not been processed.")
    assert second.get("requestID") == "2" and third.get("requestID") is None
    _, second, _ = ask(qb, body, on_error="continueOnError")
    assert second.get("statusCode") == "0" and second.findtext("CustomerRet/Name") == "Fresh Name"


def test_customer_add_mangles_text_and_checks_lengths_and_refs(qb: SimulatedQuickBooks) -> None:
    (rs,) = ask(
        qb,
        "<CustomerAddRq><CustomerAdd><Name>Łódź \u4e2d Traders</Name><TermsRef><FullName>Net 30"
        "</FullName></TermsRef><ExternalGUID>{6B29FC40-CA47-1067-B31D-00DD010662DA}</ExternalGUID>"
        "</CustomerAdd></CustomerAddRq>",
    )
    ret = rs.find("CustomerRet")
    assert ret is not None and ret.findtext("Name") == "?ód? ? Traders"  # outside Windows-1252 -> "?"
    assert ret.findtext("TermsRef/FullName") == "Net 30" and ret.findtext("EditSequence")
    assert ret.findtext("ExternalGUID") == "{6B29FC40-CA47-1067-B31D-00DD010662DA}"
    (rs,) = ask(qb, f"<CustomerAddRq><CustomerAdd><Name>{'N' * 42}</Name></CustomerAdd></CustomerAddRq>")
    assert status(rs) == ("3070", "Error", f'The string "{"N" * 42}" in the field "Name" is too long.')
    (rs,) = ask(
        qb,
        "<CustomerAddRq><CustomerAdd><Name>X</Name><BillAddress><PostalCode>30303-1234-5678</PostalCode>"
        "</BillAddress></CustomerAdd></CustomerAddRq>",
    )
    assert rs.get("statusCode") == "3070" and '"PostalCode"' in rs.get("statusMessage", "")
    (rs,) = ask(
        qb,
        "<CustomerAddRq><CustomerAdd><Name>X</Name><SalesRepRef><FullName>ZZ</FullName></SalesRepRef>"
        "</CustomerAdd></CustomerAddRq>",
    )
    assert status(rs) == ("3140", "Error", 'There is an invalid reference to QuickBooks SalesRep "ZZ".')
    (rs,) = ask(
        qb,
        "<CustomerAddRq><CustomerAdd><Name>X</Name><TermsRef><ListID>nonsense</ListID></TermsRef>"
        "</CustomerAdd></CustomerAddRq>",
    )
    assert status(rs) == (
        "3000",
        "Error",
        'The given object ID "nonsense" in the field "list id" is invalid.',
    )


def test_customer_mod_checks_edit_sequence(qb: SimulatedQuickBooks, company: Company) -> None:
    customer = company.by_name("customers", "Café Müller & Sons")
    stale = customer.edit_sequence
    mod = (
        "<CustomerModRq><CustomerMod><ListID>{}</ListID><EditSequence>{}</EditSequence><Phone>{}</Phone>"
        "</CustomerMod></CustomerModRq>"
    )
    (rs,) = ask(qb, mod.format(customer.list_id, stale, "1"))
    assert rs.get("statusCode") == "0" and rs.findtext("CustomerRet/EditSequence") != stale
    (rs,) = ask(qb, mod.format(customer.list_id, stale, "2"))
    assert status(rs) == ("3200", "Error", f'The provided edit sequence "{stale}" is out-of-date.')
    (rs,) = ask(qb, mod.format("80000999-1732541234", stale, "3"))
    assert rs.get("statusCode") == "3120" and rs.get("statusMessage", "").startswith(
        'Object "80000999-1732541234"'
    )


def test_sales_order_invoice_and_payment_move_stock_and_balances(
    qb: SimulatedQuickBooks, company: Company
) -> None:
    item = company.by_name("items", "WIDGET")
    item_modified = item.time_modified
    (rs,) = ask(
        qb,
        "<SalesOrderAddRq><SalesOrderAdd><CustomerRef><FullName>Café Müller &amp; Sons</FullName>"
        "</CustomerRef><RefNumber>SO-1</RefNumber><SalesOrderLineAdd><ItemRef><FullName>WIDGET</FullName>"
        "</ItemRef><Quantity>4</Quantity></SalesOrderLineAdd></SalesOrderAdd></SalesOrderAddRq>",
    )
    order = rs.find("SalesOrderRet")
    assert order is not None and order.findtext("TotalAmount") == "40.00"
    assert item.quantity_on_sales_order == 4 and item.time_modified == item_modified
    (rs,) = ask(
        qb,
        "<SalesOrderAddRq><SalesOrderAdd><CustomerRef><FullName>Café Müller &amp; Sons</FullName>"
        "</CustomerRef><SalesOrderLineAdd><ItemRef><FullName>GIZMO</FullName></ItemRef></SalesOrderLineAdd>"
        "</SalesOrderAdd></SalesOrderAddRq>",
    )
    assert status(rs) == (
        "3140",
        "Error",
        'There is an invalid reference to QuickBooks Item "GIZMO" in the SalesOrder line.  '
        "QuickBooks error message: Invalid argument.  The specified record does not exist in the list.",
    )
    (rs,) = ask(
        qb,
        f"<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Café Müller &amp; Sons</FullName></CustomerRef>"
        f"<RefNumber>1001</RefNumber><ShipDate>2026-11-26</ShipDate><Other>1Z999</Other>"
        f"<LinkToTxnID>{order.findtext('TxnID')}</LinkToTxnID></InvoiceAdd></InvoiceAddRq>",
    )
    invoice = rs.find("InvoiceRet")
    assert invoice is not None and invoice.findtext("BalanceRemaining") == "40.00"
    assert invoice.findtext("LinkedTxn/TxnType") == "SalesOrder" and invoice.findtext("Other") == "1Z999"
    assert (item.quantity_on_hand, item.quantity_on_sales_order) == (
        96,
        0,
    ) and item.time_modified == item_modified
    invoice_id, invoice_sequence = invoice.findtext("TxnID"), invoice.findtext("EditSequence")
    (rs,) = ask(
        qb,
        f"<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Café Müller &amp; Sons"
        f"</FullName></CustomerRef><TotalAmount>15.00</TotalAmount><AppliedToTxnAdd><TxnID>{invoice_id}"
        f"</TxnID><PaymentAmount>15.00</PaymentAmount></AppliedToTxnAdd></ReceivePaymentAdd>"
        "</ReceivePaymentAddRq>",
    )
    assert rs.findtext("ReceivePaymentRet/AppliedToTxnRet/BalanceRemaining") == "25.00"
    (rs,) = ask(
        qb,
        f"<InvoiceQueryRq><TxnID>{invoice_id}</TxnID><IncludeLinkedTxns>true</IncludeLinkedTxns>"
        "</InvoiceQueryRq>",
    )
    ret = rs[0]
    assert (ret.findtext("BalanceRemaining"), ret.findtext("IsPaid")) == ("25.00", "false")
    assert ret.findtext("EditSequence") != invoice_sequence  # applying a payment modifies the invoice
    assert ret.find("InvoiceLineRet") is None  # lines only with IncludeLineItems
    (rs,) = ask(
        qb,
        "<SalesOrderQueryRq><RefNumber>SO-1</RefNumber><IncludeLineItems>true</IncludeLineItems>"
        "</SalesOrderQueryRq>",
    )
    assert rs[0].findtext("IsFullyInvoiced") == "true" and rs[0].find("LinkedTxn") is None
    assert rs[0].findtext("SalesOrderLineRet/Invoiced") == "4"


def test_include_ret_element_prunes_after_validation(qb: SimulatedQuickBooks) -> None:
    (rs,) = ask(
        qb,
        "<ItemInventoryQueryRq><IncludeRetElement>ListID</IncludeRetElement>"
        "<IncludeRetElement>QuantityOnHand</IncludeRetElement></ItemInventoryQueryRq>",
    )
    assert [child.tag for child in rs[0]] == ["ListID", "QuantityOnHand"]


def test_stock_moves_do_not_touch_time_modified(company: Company) -> None:
    item = company.by_name("items", "WIDGET")
    before = (item.time_modified, item.edit_sequence)
    company.clock.advance(60)
    company.move_stock(item.list_id, on_hand=-5, on_order=10)
    assert (item.quantity_on_hand, item.quantity_on_order) == (95, 10)
    assert (item.time_modified, item.edit_sequence) == before


def test_deletions_are_reported(qb: SimulatedQuickBooks, company: Company) -> None:
    customer = company.by_name("customers", "O'Brien's Hardware")
    order = company.add(
        SalesOrder(
            customer_ref=Ref(company.by_name("customers", "Café Müller & Sons").list_id),
            ref_number="SO-9",
            lines=[
                SalesOrderLine(item_ref=Ref(company.by_name("items", "WIDGET").list_id), quantity=Decimal(1))
            ],
        )
    )
    company.clock.advance(10)
    company.delete(customer.list_id)
    company.delete(order.txn_id)
    lists, txns = ask(
        qb,
        "<ListDeletedQueryRq><ListDelType>Customer</ListDelType><DeletedDateRangeFilter>"
        "<FromDeletedDate>2026-11-25T15:41:50+00:00</FromDeletedDate></DeletedDateRangeFilter>"
        "</ListDeletedQueryRq><TxnDeletedQueryRq><TxnDelType>SalesOrder</TxnDelType>"
        "</TxnDeletedQueryRq>",
    )
    assert lists.findtext("ListDeletedRet/FullName") == "O'Brien's Hardware"
    assert lists.findtext("ListDeletedRet/TimeDeleted") == "2026-11-25T10:41:58-05:00"
    assert txns.findtext("TxnDeletedRet/RefNumber") == "SO-9"
    assert company.by_name("items", "WIDGET").quantity_on_sales_order == 0


def test_fault_switches(qb: SimulatedQuickBooks) -> None:
    qb.fail_connection = ("0x80040408", "Could not start QuickBooks.")
    with pytest.raises(QuickBooksConnectionError):
        qb.open_company("")
    qb.fail_next_requests(1, "0x80040416", "QuickBooks is busy.")
    with pytest.raises(QuickBooksRequestError) as raised:
        qb.process(document("<CustomerQueryRq/>"))
    assert raised.value.hresult == "0x80040416"
    assert ask(qb, "<CustomerQueryRq/>")[0].get("statusCode") == "0"


def test_generator_is_deterministic_and_valid() -> None:
    first, second = (
        generate_company(seed=7, customers=200, items=20),
        generate_company(seed=7, customers=200, items=20),
    )
    assert [c.full_name for c in first.customers.values()] == [c.full_name for c in second.customers.values()]
    qb = SimulatedQuickBooks(first)
    answers = ask(
        qb,
        "<CustomerQueryRq><ActiveStatus>All</ActiveStatus><OwnerID>0</OwnerID></CustomerQueryRq>"
        "<ItemInventoryAssemblyQueryRq><ActiveStatus>All</ActiveStatus></ItemInventoryAssemblyQueryRq>"
        "<PriceLevelQueryRq/><TermsQueryRq/>"
        "<InvoiceQueryRq><PaidStatus>NotPaidOnly</PaidStatus><IncludeLineItems>true</IncludeLineItems>"
        "<IncludeLinkedTxns>true</IncludeLinkedTxns></InvoiceQueryRq>"
        "<ReceivePaymentQueryRq><IncludeLineItems>true</IncludeLineItems></ReceivePaymentQueryRq>",
        on_error="continueOnError",
    )
    assert all(rs.get("statusCode") == "0" for rs in answers)
    names = [ret.findtext("FullName") or "" for ret in answers[0]]
    assert any(":" in name for name in names) and any("&" in name for name in names)
    assert {ret.findtext("PriceLevelType") for ret in answers[2]} == {"FixedPercentage", "PerItem"}
    assert {ret.tag for ret in answers[3]} == {"StandardTermsRet", "DateDrivenTermsRet"}
