"""The company's edition and preferences, read from the HCP response and stored on the tenant by
the first sendRequestXML of a session (over HTTP), with no extra round trip."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from qbwc_server.qbxml.preferences import CompanyPreferences, edition_of
from qbwc_server.simulator import host_response
from tests.test_protocol import COMPANY, authenticate, enqueue_raw, receive, send_request

OK = 'statusCode="0" statusSeverity="Info" statusMessage="Status OK"'


def hcp(product: str | None, preferences: str | None) -> str:
    """An HCP response with this ProductName (None: no HostRet) and PreferencesRet body (None: none)."""
    host = (
        f'<HostQueryRs requestID="0" {OK}><HostRet><ProductName>{product}</ProductName>'
        "<MajorVersion>24</MajorVersion><MinorVersion>0</MinorVersion><Country>US</Country>"
        "<SupportedQBXMLVersion>13.0</SupportedQBXMLVersion></HostRet></HostQueryRs>"
        if product is not None
        else ""
    )
    prefs = (
        f'<PreferencesQueryRs requestID="2" {OK}><PreferencesRet>{preferences}</PreferencesRet>'
        "</PreferencesQueryRs>"
        if preferences is not None
        else ""
    )
    return f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>{host}{prefs}</QBXMLMsgsRs></QBXML>'


def accounting(class_tracking: str) -> str:
    return (
        "<AccountingPreferences><IsUsingAccountNumbers>false</IsUsingAccountNumbers>"
        f"<IsRequiringAccounts>true</IsRequiringAccounts><IsUsingClassTracking>{class_tracking}"
        "</IsUsingClassTracking></AccountingPreferences>"
    )


def estimates(on: str) -> str:
    on_off = f"<IsUsingEstimates>{on}</IsUsingEstimates>"
    return f"<JobsAndEstimatesPreferences>{on_off}</JobsAndEstimatesPreferences>"


SALES_TAX = (
    "<SalesTaxPreferences><DefaultItemSalesTaxRef><FullName>State Tax</FullName></DefaultItemSalesTaxRef>"
    "<PaySalesTax>Monthly</PaySalesTax><DefaultTaxableSalesTaxCodeRef><FullName>Tax</FullName>"
    "</DefaultTaxableSalesTaxCodeRef><DefaultNonTaxableSalesTaxCodeRef><FullName>Exm</FullName>"
    "</DefaultNonTaxableSalesTaxCodeRef></SalesTaxPreferences>"
)


@pytest.mark.parametrize(
    ("product", "edition"),
    [
        ("QuickBooks Pro 2014", "pro"),
        ("QuickBooks Desktop Pro 2021", "pro"),
        ("QuickBooks Premier Edition 2024", "premier"),
        ("QuickBooks Premier Accountant Edition 2024", "accountant"),
        ("QuickBooks Accountant Desktop 2024", "accountant"),
        ("QuickBooks Enterprise Solutions 24.0", "enterprise"),
        ("QuickBooks Enterprise Solutions: Accountant 24.0", "enterprise"),
        ("QuickBooks Desktop Enterprise Solutions: Wholesale and Distribution Edition 24.0", "enterprise"),
        ("QuickBooks Point of Sale", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_edition_from_product_name(product: str | None, edition: str) -> None:
    assert edition_of(product) == edition


def test_pro_with_everything_said() -> None:
    prefs = CompanyPreferences.from_hcp_response(
        hcp("QuickBooks Pro 2014", accounting("false") + estimates("true") + SALES_TAX)
    )
    assert prefs == CompanyPreferences("pro", False, True, "Exm", True, False)
    assert not prefs.can_create_sales_orders and not prefs.uses_class_tracking and prefs.uses_sales_tax


def test_premier_without_sales_tax() -> None:
    prefs = CompanyPreferences.from_hcp_response(
        hcp("QuickBooks Premier Edition 2024", accounting("true") + estimates("false"))
    )
    assert prefs == CompanyPreferences("premier", True, False, None, False, None)
    assert prefs.can_create_sales_orders and prefs.uses_class_tracking and not prefs.uses_sales_tax


def test_enterprise_from_the_simulators_hcp_response() -> None:
    prefs = CompanyPreferences.from_hcp_response(
        host_response(company_file=COMPANY, supported_versions=["13.0"], country="US")
    )
    assert prefs == CompanyPreferences("enterprise", True, True, "Non", True, None)
    assert prefs.can_create_sales_orders


@pytest.mark.parametrize(
    "text_",
    [
        None,
        "",
        "   ",
        "not xml at all",
        "<QBXML><QBXMLMsgsRs>",  # cut short
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs></QBXMLMsgsRs></QBXML>',
        '<!DOCTYPE x [<!ENTITY e "boom">]><QBXML><QBXMLMsgsRs>&e;</QBXMLMsgsRs></QBXML>',
        "\x00\ufffe",
    ],
)
def test_unreadable_responses_give_nothing_known(text_: str | None) -> None:
    assert CompanyPreferences.from_hcp_response(text_) == CompanyPreferences()


def test_missing_pieces_are_unknown_not_guessed() -> None:
    only_host = CompanyPreferences.from_hcp_response(hcp("QuickBooks Enterprise Solutions 24.0", None))
    assert only_host == CompanyPreferences(edition="enterprise")
    assert only_host.sales_tax is None and only_host.uses_sales_tax and only_host.uses_class_tracking
    odd = CompanyPreferences.from_hcp_response(
        hcp(None, accounting("maybe") + "<SalesTaxPreferences/>" + estimates(""))
    )
    assert odd == CompanyPreferences("unknown", None, True, None, None, None)


def test_json_round_trip_and_odd_stored_values() -> None:
    prefs = CompanyPreferences("pro", False, True, "Non", True, False)
    assert prefs.to_json() == {
        "edition": "pro",
        "class_tracking": False,
        "sales_tax": True,
        "non_taxable_code": "Non",
        "estimates": True,
        "sales_orders": False,
    }
    assert CompanyPreferences.from_json(prefs.to_json()) == prefs
    for odd in (None, [], "pro", {"edition": "home", "class_tracking": "yes", "non_taxable_code": 5}):
        assert CompanyPreferences.from_json(odd) == CompanyPreferences()
    assert not CompanyPreferences.from_json({"sales_orders": False}).can_create_sales_orders


def stored(engine: Engine, tenant_id: int) -> object:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT company_preferences FROM tenants WHERE id = :id"), {"id": tenant_id}
        ).scalar_one()


@pytest.mark.protocol
def test_first_send_request_stores_the_preferences_and_an_empty_hcp_keeps_them(
    server, tenant, engine
) -> None:
    assert stored(engine, tenant.id) is None
    enqueue_raw(engine, tenant.id)
    enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert send_request(server.url, ticket, hcp("QuickBooks Pro 2014", accounting("false") + SALES_TAX))
    pro = {
        "edition": "pro",
        "class_tracking": False,
        "sales_tax": True,
        "non_taxable_code": "Exm",
        "estimates": None,
        "sales_orders": False,
    }
    assert stored(engine, tenant.id) == pro
    with engine.connect() as conn:
        host = conn.execute(
            text("SELECT host_product FROM tenants WHERE id = :id"), {"id": tenant.id}
        ).scalar()
    assert host == "QuickBooks Pro 2014", "the same statement recorded the host"
    assert receive(server.url, ticket) < 100
    assert send_request(server.url, ticket, "")  # later calls of the session carry no HCP response
    assert receive(server.url, ticket) == 100
    assert stored(engine, tenant.id) == pro

    # A new session whose HCP response cannot be read keeps what was stored.
    enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert send_request(server.url, ticket, hcp(None, None).replace("<QBXMLMsgsRs>", "<QBXMLMsgsRs>junk"))
    assert stored(engine, tenant.id) == pro


@pytest.mark.protocol
def test_a_later_session_updates_them(server, tenant, engine) -> None:
    for product, edition in (("QuickBooks Pro 2014", "pro"), ("QuickBooks Premier Edition 2024", "premier")):
        enqueue_raw(engine, tenant.id)
        ticket = authenticate(server.url, tenant)[0]
        assert send_request(server.url, ticket, hcp(product, accounting("true")))
        assert receive(server.url, ticket) == 100
        assert isinstance(prefs := stored(engine, tenant.id), dict) and prefs["edition"] == edition
