"""Customers from QuickBooks into the mirror (with their ship-to addresses).

QuickBooks is master for customer details: a pulled customer overwrites the mirror row, and
deactivation or reactivation there shows here as `is_active`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from qbwc_server.qbxml.customers import Customer
from qbwc_server.sync.upsert import (
    address_json,
    custom_fields_json,
    ref_id,
    ref_name,
    rewrite_children,
    upsert_records,
)


def customer_row(customer: Customer) -> dict[str, Any]:
    return {
        "qb_list_id": customer.list_id,
        "edit_sequence": customer.edit_sequence,
        "qb_time_created": customer.time_created,
        "qb_time_modified": customer.time_modified,
        "is_active": customer.is_active,
        "name": customer.name,
        "full_name": customer.full_name,
        "parent_list_id": ref_id(customer.parent),
        "sublevel": customer.sublevel,
        "company_name": customer.company_name,
        "salutation": customer.salutation,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "alt_phone": customer.alt_phone,
        "fax": customer.fax,
        "contact": customer.contact,
        "alt_contact": customer.alt_contact,
        "bill_address": address_json(customer.bill_address),
        "ship_address": address_json(customer.ship_address),
        "customer_type_list_id": ref_id(customer.customer_type),
        "customer_type_name": ref_name(customer.customer_type),
        "terms_list_id": ref_id(customer.terms),
        "terms_name": ref_name(customer.terms),
        "sales_rep_list_id": ref_id(customer.sales_rep),
        "sales_rep_code": ref_name(customer.sales_rep),
        "sales_tax_code_name": ref_name(customer.sales_tax_code),
        "price_level_list_id": ref_id(customer.price_level),
        "price_level_name": ref_name(customer.price_level),
        "balance": customer.balance,
        "total_balance": customer.total_balance,
        "credit_limit": customer.credit_limit,
        "account_number": customer.account_number,
        "job_status": customer.job_status,
        "notes": customer.notes,
        "custom_fields": custom_fields_json(customer.custom_fields),
    }


def apply_customers(conn: Connection, tenant_id: int, customers: list[Customer]) -> int:
    """Upsert a page of customers; the ship-to addresses of those that changed are rewritten
    where they differ."""
    latest = {customer.list_id: customer for customer in customers}
    changed = upsert_records(
        conn, "customers", "qb_list_id", tenant_id, [customer_row(c) for c in latest.values()]
    )
    rewrite_children(
        conn,
        "customer_ship_addresses",
        "customer_id",
        tenant_id,
        {
            row_id: [
                {"name": ship_to.name, "is_default": ship_to.is_default, **_address_columns(ship_to.address)}
                for ship_to in latest[list_id].ship_to_addresses
            ]
            for list_id, row_id in changed.items()
        },
        new=changed.inserted,
    )
    return len(changed)


def _address_columns(address: Any) -> dict[str, Any]:
    return {
        name: getattr(address, name)
        for name in (
            "addr1",
            "addr2",
            "addr3",
            "addr4",
            "addr5",
            "city",
            "state",
            "postal_code",
            "country",
            "note",
        )
    }
