"""Customers in qbXML: CustomerRet into `Customer`, and CustomerQueryRq. Knows no database.

CustomerQueryRq is the fullest list query: iterators and custom fields (OwnerID).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.fields import (
    Address,
    CustomField,
    Ref,
    ShipToAddress,
    address_of,
    children_of,
    custom_fields_of,
    decimal_of,
    ref_of,
    ship_to_addresses_of,
    text_of,
)
from qbwc_server.qbxml.query import ListQuery, build_list_query
from qbwc_server.qbxml.records import nested_list_head_of
from qbwc_server.qbxml.registry import list_query_examples, registered

RET_TAG = "CustomerRet"
RS_TAG = "CustomerQueryRs"


@dataclass(frozen=True, slots=True)
class Customer:
    list_id: str
    time_created: dt.datetime
    time_modified: dt.datetime
    edit_sequence: str
    name: str
    full_name: str
    is_active: bool
    parent: Ref | None
    sublevel: int
    company_name: str | None
    salutation: str | None
    first_name: str | None
    last_name: str | None
    bill_address: Address | None
    ship_address: Address | None
    ship_to_addresses: tuple[ShipToAddress, ...]
    phone: str | None
    alt_phone: str | None
    fax: str | None
    email: str | None
    contact: str | None
    alt_contact: str | None
    customer_type: Ref | None
    terms: Ref | None
    sales_rep: Ref | None
    balance: Decimal | None
    total_balance: Decimal | None
    sales_tax_code: Ref | None
    item_sales_tax: Ref | None
    account_number: str | None
    credit_limit: Decimal | None
    price_level: Ref | None
    job_status: str | None
    notes: str | None
    external_guid: str | None
    custom_fields: tuple[CustomField, ...]

    @classmethod
    def from_element(cls, element: etree._Element) -> Customer:
        node = children_of(element)
        return cls(
            **nested_list_head_of(node),
            company_name=text_of(node, "CompanyName"),
            salutation=text_of(node, "Salutation"),
            first_name=text_of(node, "FirstName"),
            last_name=text_of(node, "LastName"),
            bill_address=address_of(node, "BillAddress"),
            ship_address=address_of(node, "ShipAddress"),
            ship_to_addresses=ship_to_addresses_of(node),
            phone=text_of(node, "Phone"),
            alt_phone=text_of(node, "AltPhone"),
            fax=text_of(node, "Fax"),
            email=text_of(node, "Email"),
            contact=text_of(node, "Contact"),
            alt_contact=text_of(node, "AltContact"),
            customer_type=ref_of(node, "CustomerTypeRef"),
            terms=ref_of(node, "TermsRef"),
            sales_rep=ref_of(node, "SalesRepRef"),
            balance=decimal_of(node, "Balance"),
            total_balance=decimal_of(node, "TotalBalance"),
            sales_tax_code=ref_of(node, "SalesTaxCodeRef"),
            item_sales_tax=ref_of(node, "ItemSalesTaxRef"),
            account_number=text_of(node, "AccountNumber"),
            credit_limit=decimal_of(node, "CreditLimit"),
            price_level=ref_of(node, "PriceLevelRef"),
            job_status=text_of(node, "JobStatus"),
            notes=text_of(node, "Notes"),
            external_guid=text_of(node, "ExternalGUID"),
            custom_fields=custom_fields_of(node),
        )


def parse_customer_ret(element: etree._Element) -> Customer:
    return Customer.from_element(element)


@registered("CustomerQueryRq", list_query_examples(iterator=True, owner_id=True))
def build_customer_query_rq(query: ListQuery, version: QbxmlVersion) -> str:
    """A CustomerQueryRq: the one list query here with iterators and custom fields (OwnerID)."""
    return build_list_query("CustomerQueryRq", query, version, iterator=True, owner_id=True)
