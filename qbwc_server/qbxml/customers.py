"""Customers in qbXML: CustomerRet into `Customer`, and CustomerQueryRq. Knows no database.

CustomerQueryRq is the fullest list query (iterators, OwnerID), so the list-query writer the
other list modules share lives here too, for now.
"""

from __future__ import annotations

import datetime as dt
import re
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
    bool_of,
    custom_fields_of,
    decimal_of,
    int_of,
    ref_of,
    required_datetime,
    required_text,
    ship_to_addresses_of,
    text_of,
)
from qbwc_server.qbxml.query import ListQuery, element, elements, open_tag

RET_TAG = "CustomerRet"
RS_TAG = "CustomerQueryRs"

#: When elements of the list queries appeared ("vX.Y" in qbxmlops130.xml).
INCLUDE_RET_ELEMENT_SINCE = QbxmlVersion(4, 0)
OWNER_ID_SINCE = QbxmlVersion(2, 0)
#: Iterators came with qbXML 5.0 (Intuit's SDK guide; the schema comments do not say).
ITERATOR_SINCE = QbxmlVersion(5, 0)

_GUID = re.compile(r"0|\{[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}")


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
        return cls(
            list_id=required_text(element, "ListID"),
            time_created=required_datetime(element, "TimeCreated"),
            time_modified=required_datetime(element, "TimeModified"),
            edit_sequence=required_text(element, "EditSequence"),
            name=text_of(element, "Name") or "",
            full_name=text_of(element, "FullName") or text_of(element, "Name") or "",
            is_active=bool_of(element, "IsActive") is not False,  # absent means active
            parent=ref_of(element, "ParentRef"),
            sublevel=int_of(element, "Sublevel") or 0,
            company_name=text_of(element, "CompanyName"),
            salutation=text_of(element, "Salutation"),
            first_name=text_of(element, "FirstName"),
            last_name=text_of(element, "LastName"),
            bill_address=address_of(element, "BillAddress"),
            ship_address=address_of(element, "ShipAddress"),
            ship_to_addresses=ship_to_addresses_of(element),
            phone=text_of(element, "Phone"),
            alt_phone=text_of(element, "AltPhone"),
            fax=text_of(element, "Fax"),
            email=text_of(element, "Email"),
            contact=text_of(element, "Contact"),
            alt_contact=text_of(element, "AltContact"),
            customer_type=ref_of(element, "CustomerTypeRef"),
            terms=ref_of(element, "TermsRef"),
            sales_rep=ref_of(element, "SalesRepRef"),
            balance=decimal_of(element, "Balance"),
            total_balance=decimal_of(element, "TotalBalance"),
            sales_tax_code=ref_of(element, "SalesTaxCodeRef"),
            item_sales_tax=ref_of(element, "ItemSalesTaxRef"),
            account_number=text_of(element, "AccountNumber"),
            credit_limit=decimal_of(element, "CreditLimit"),
            price_level=ref_of(element, "PriceLevelRef"),
            job_status=text_of(element, "JobStatus"),
            notes=text_of(element, "Notes"),
            external_guid=text_of(element, "ExternalGUID"),
            custom_fields=custom_fields_of(element),
        )


def parse_customer_ret(element: etree._Element) -> Customer:
    return Customer.from_element(element)


def build_customer_query_rq(query: ListQuery, version: QbxmlVersion) -> str:
    """A CustomerQueryRq: the one list query here with iterators and custom fields (OwnerID)."""
    return build_list_query("CustomerQueryRq", query, version, iterator=True, owner_id=True)


# -- shared by the list modules ---------------------------------------------------------------


def build_list_query(
    rq_tag: str, query: ListQuery, version: QbxmlVersion, *, iterator: bool = False, owner_id: bool = False
) -> str:
    """A `*QueryRq` of the schema's ListQuery shape, in schema order.

    `iterator` / `owner_id` say whether this request has the iterator attributes / OwnerID at all:
    asking for them elsewhere is a ValueError, as is any combination the schema's choice forbids.
    """
    _check_list_query(rq_tag, query, version, iterator=iterator, owner_id=owner_id)
    parts = [open_tag(rq_tag, request_id=query.request_id, iteration=query.iteration)]
    if query.list_ids:
        parts.append(elements("ListID", query.list_ids))
    elif query.full_names:
        parts.append(elements("FullName", query.full_names))
    else:
        max_returned = query.iteration.max_returned if query.iteration else query.max_returned
        if max_returned is not None:
            parts.append(element("MaxReturned", max_returned))
        if query.active_status is not None:
            parts.append(element("ActiveStatus", query.active_status))
        if query.from_modified is not None:
            parts.append(element("FromModifiedDate", query.from_modified))
        if query.to_modified is not None:
            parts.append(element("ToModifiedDate", query.to_modified))
    if version >= INCLUDE_RET_ELEMENT_SINCE:  # older: dropped, QuickBooks returns whole records
        parts.append(elements("IncludeRetElement", query.include_ret_elements))
    if version >= OWNER_ID_SINCE:  # custom fields (DataExt) did not exist before 2.0
        parts.append(elements("OwnerID", query.owner_ids))
    parts.append(f"</{rq_tag}>")
    return "".join(parts)


def _check_list_query(
    rq_tag: str, query: ListQuery, version: QbxmlVersion, *, iterator: bool, owner_id: bool
) -> None:
    if query.list_ids and query.full_names:
        raise ValueError(f"{rq_tag}: ask by ListID or by FullName, not both")
    filters = {
        "max_returned": query.max_returned is not None,
        "active_status": query.active_status is not None,
        "from_modified": query.from_modified is not None,
        "to_modified": query.to_modified is not None,
        "iteration": query.iteration is not None,
    }
    used = [name for name, present in filters.items() if present]
    if (query.list_ids or query.full_names) and used:
        raise ValueError(
            f"{rq_tag}: {', '.join(used)} cannot be combined with ListID/FullName (schema choice)"
        )
    if any(len(value) > 36 for value in query.list_ids):
        raise ValueError(f"{rq_tag}: a ListID is at most 36 characters")
    if query.max_returned is not None and query.max_returned < 1:
        raise ValueError(f"{rq_tag}: max_returned must be at least 1")
    if query.from_modified and query.to_modified and query.from_modified > query.to_modified:
        raise ValueError(f"{rq_tag}: from_modified is after to_modified")
    if query.iteration is not None:
        if not iterator:
            raise ValueError(f"{rq_tag} has no iterator in qbXML; page it by modified dates instead")
        if version < ITERATOR_SINCE:
            raise ValueError(f"{rq_tag}: iterators need qbXML {ITERATOR_SINCE}, QuickBooks speaks {version}")
        if query.iteration.max_returned < 1:
            raise ValueError(f"{rq_tag}: an iteration's max_returned must be at least 1")
        if query.max_returned not in (None, query.iteration.max_returned):
            raise ValueError(f"{rq_tag}: max_returned differs from the iteration's page size")
    if query.owner_ids and not owner_id:
        raise ValueError(f"{rq_tag} has no OwnerID: this list has no custom fields")
    if not all(_GUID.fullmatch(value) for value in query.owner_ids):
        raise ValueError(f"{rq_tag}: an OwnerID is '0' or a GUID in braces")
    if any(len(value) > 50 for value in query.include_ret_elements):
        raise ValueError(f"{rq_tag}: an IncludeRetElement is at most 50 characters")
