"""A customers pull writes the row and ship-to rows the full reader (`parse_customer_ret`, then
`customer_row`) would write, and fails a record with the reason it would give: over the fixture
files, the simulator's customers, and records Hypothesis spoils the way real answers vary
(elements missing, repeated, empty, unknown ones added, whitespace and entities in values,
values no QuickBooks writes). No database: the rows are compared as the upsert's JSON carries them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from qbwc_server.qbxml.core import QbxmlError, ResponseStream
from qbwc_server.qbxml.customers import parse_customer_ret
from qbwc_server.simulator import render
from qbwc_server.simulator.generator import generate_company
from qbwc_server.sync.customers import customer_row, read_pulled_customer, ship_to_rows
from qbwc_server.sync.upsert import rows_json

FIXTURES = Path(__file__).parent / "fixtures" / "qbxml" / "customers"
CI = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow],
)


OPEN = "<QBXML><QBXMLMsgsRs><CustomerQueryRs statusCode='0' statusSeverity='Info' statusMessage='OK'>"
CLOSE = "</CustomerQueryRs></QBXMLMsgsRs></QBXML>"


def records(text: str) -> list[etree._Element]:
    return [element for batch in ResponseStream(text).batches({"CustomerRet"}, 500) for _, element in batch]


def full_reader(element: etree._Element) -> tuple[Any, ...]:
    """What the pull wrote before: (row, ship-to rows, ListID, TimeModified), or the error."""
    try:
        customer = parse_customer_ret(element)
    except QbxmlError as exc:
        return (type(exc), str(exc))
    return as_stored(customer_row(customer), ship_to_rows(customer), customer.list_id, customer.time_modified)


def pull_reader(element: etree._Element) -> tuple[Any, ...]:
    try:
        pulled = read_pulled_customer(element)
    except QbxmlError as exc:
        return (type(exc), str(exc))
    return as_stored(pulled.row, pulled.ship_tos, pulled.list_id, pulled.time_modified)


def as_stored(row: dict[str, Any], ship_tos: list[dict[str, Any]], *keys: Any) -> tuple[Any, ...]:
    """What the upsert's JSON carries (read back: PostgreSQL reads it by name, and a jsonb
    keeps no key order), and what the pull follows."""
    return (json.loads(rows_json([row])), json.loads(rows_json(ship_tos)), *keys)


def simulator_page() -> str:
    company = generate_company(7, customers=300, items=5, sales_orders=0, invoices=0, payments=0)
    parent = etree.Element("CustomerQueryRs", statusCode="0", statusSeverity="Info", statusMessage="OK")
    for customer in company.customers.values():
        render.render(parent, customer, render.Options(data_ext=True))
    return "<QBXML><QBXMLMsgsRs>" + etree.tostring(parent, encoding="unicode") + "</QBXMLMsgsRs></QBXML>"


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.xml")))
def test_fixture_customers_are_written_as_the_full_reader_writes_them(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    declared = re.match(rb'<\?xml[^>]*encoding="([^"]+)"', raw)
    for element in records(raw.decode(declared[1].decode() if declared else "utf-8")):
        assert pull_reader(element) == full_reader(element)


def test_simulated_customers_are_written_as_the_full_reader_writes_them() -> None:
    elements = records(simulator_page())
    assert len(elements) == 300
    rows = [pull_reader(element) for element in elements]
    assert rows == [full_reader(element) for element in elements]
    assert any(row[1] for row in rows), "some have ship-to addresses"
    assert any(row[0][0]["custom_fields"] for row in rows), "some have custom fields"


# -- spoiled records -------------------------------------------------------------------------

TEMPLATE = (
    "<CustomerRet><ListID>80000001-1</ListID><TimeCreated>2025-05-06T08:45:48-05:00</TimeCreated>"
    "<TimeModified>2025-05-06T08:45:48-05:00</TimeModified><EditSequence>17</EditSequence>"
    "<Name>Ace</Name><FullName>Top:Ace</FullName><IsActive>true</IsActive>"
    "<ParentRef><ListID>80000000-1</ListID><FullName>Top</FullName></ParentRef><Sublevel>1</Sublevel>"
    "<CompanyName>Ace &amp; Co</CompanyName><Salutation>Ms</Salutation><FirstName>José</FirstName>"
    "<LastName>Lee</LastName><BillAddress><Addr1>1 Main St</Addr1><City>Atlanta</City>"
    "<Note>back</Note></BillAddress><ShipAddress><Addr2>Suite 5</Addr2></ShipAddress>"
    "<ShipToAddress><Name>Main</Name><Addr1>2 Elm</Addr1><DefaultShipTo>true</DefaultShipTo></ShipToAddress>"
    "<ShipToAddress><Name>Dock</Name><Country>US</Country><DefaultShipTo>0</DefaultShipTo></ShipToAddress>"
    "<Phone>404</Phone><AltPhone>405</AltPhone><Fax>406</Fax><Email>a@b.c</Email><Contact>J</Contact>"
    "<AltContact>K</AltContact><CustomerTypeRef><ListID>8-1</ListID><FullName>Retail</FullName></CustomerTypeRef>"
    "<TermsRef><ListID>9-1</ListID><FullName>Net 30</FullName></TermsRef>"
    "<SalesRepRef><ListID>7-1</ListID><FullName>JS</FullName></SalesRepRef><Balance>10.50</Balance>"
    "<TotalBalance>12.00</TotalBalance><SalesTaxCodeRef><ListID>6-1</ListID><FullName>Tax</FullName>"
    "</SalesTaxCodeRef><ItemSalesTaxRef><FullName>State</FullName></ItemSalesTaxRef>"
    "<AccountNumber>C1</AccountNumber><CreditLimit>500</CreditLimit>"
    "<PriceLevelRef><ListID>5-1</ListID><FullName>Gold</FullName></PriceLevelRef><JobStatus>None</JobStatus>"
    "<Notes>n</Notes><ExternalGUID>{x}</ExternalGUID>"
    "<DataExtRet><OwnerID>0</OwnerID><DataExtName>Rep</DataExtName><DataExtType>STR255TYPE</DataExtType>"
    "<DataExtValue>A1</DataExtValue></DataExtRet>"
    "<DataExtRet><OwnerID>{6B0}</OwnerID><DataExtName>Hash</DataExtName><DataExtValue>z</DataExtValue></DataExtRet>"
    "<DataExtRet><DataExtName>NoOwner</DataExtName></DataExtRet>"
    "</CustomerRet>"
)
MARK = "@odd@"
#: Values no QuickBooks writes, and shapes it does: blank, padded, escaped, other cases.
ODD = (
    "", " ", "  7 ", "\n\t", "x", "0", "1", " 1 ", "-1", "TRUE", " true ", " false ", "1e3", "1E+3",
    "-0", "NaN", "Infinity", "1e400", "99999999999999", "1_000", "2147483648", "+5", "١٣", "12.345",
    "2025-13-01T00:00:00", "2025-05-06", "2025-05-06T08:45:48", " 2025-05-06T08:45:48Z ",
    "&amp;&lt;&gt;", "a&#10;b", "&#233;t&#233;", "<![CDATA[<x>]]>", "<Addr1>in</Addr1>", "a<b/>c",
)  # fmt: skip


@st.composite
def spoiled(draw: st.DrawFn) -> str:
    """The template with some of its elements (at any depth) dropped, emptied, given an odd
    value, repeated or followed by an unknown one."""
    root = etree.fromstring(TEMPLATE)
    elements = list(root.iter())[1:]
    for element in draw(st.lists(st.sampled_from(elements), max_size=6, unique_by=id)):
        action = draw(st.sampled_from(["drop", "empty", "value", "repeat", "unknown"]))
        parent = element.getparent()
        if parent is None:
            continue
        if action == "drop":
            parent.remove(element)
        elif action == "empty":
            element.clear()
        elif action == "value":
            for child in list(element):
                element.remove(child)
            element.text = MARK  # replaced below, by text that may be markup
        elif action == "repeat":
            twin = etree.fromstring(etree.tostring(element))
            if len(twin) == 0:
                twin.text = (twin.text or "") + "2"
            element.addnext(twin)
        else:
            element.addnext(etree.Element(draw(st.sampled_from(["Unknown", "Extra", "ListID2"]))))
    text = etree.tostring(root, encoding="unicode")
    while MARK in text:
        text = text.replace(MARK, draw(st.sampled_from(ODD)), 1)
    if draw(st.booleans()):  # pretty-printed, as QuickBooks sends it
        text = text.replace("><", ">\n  <")
    return text


@CI
@given(spoiled())
def test_a_spoiled_customer_is_written_or_refused_as_the_full_reader_does(record: str) -> None:
    try:
        (element,) = records(OPEN + record + CLOSE)
    except QbxmlError:
        return  # not well-formed: the stream refuses it before any reader sees it
    assert pull_reader(element) == full_reader(element)


def test_every_element_with_every_odd_value_is_written_or_refused_as_the_full_reader_does() -> None:
    """One element at a time (leaves and blocks alike), each odd value in turn."""
    root = etree.fromstring(TEMPLATE)
    paths = [root.getroottree().getpath(element) for element in root.iter()][1:]
    refused = 0
    for path in paths:
        for value in ODD:
            copy = etree.fromstring(TEMPLATE)
            (element,) = copy.xpath(path)
            for child in list(element):
                element.remove(child)
            element.text = MARK
            (record,) = records(OPEN + etree.tostring(copy, encoding="unicode").replace(MARK, value) + CLOSE)
            expected = full_reader(record)
            assert pull_reader(record) == expected, (path, value)
            refused += isinstance(expected[0], type)
    assert 0 < refused < len(paths) * 10, "some values are refused, most are read"
