"""QuickBooks' small lists into the mirror: price levels (fixed-percentage and per-item), sales
reps, terms, customer types, classes and sales tax codes. The rep code -> email map is the
admin's (`map_rep_email`), kept apart so a pull never overwrites it.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from qbwc_server.qbxml.classes import QbClass
from qbwc_server.qbxml.customer_types import CustomerType
from qbwc_server.qbxml.price_levels import PriceLevel
from qbwc_server.qbxml.sales_reps import SalesRep
from qbwc_server.qbxml.sales_tax_codes import SalesTaxCode
from qbwc_server.qbxml.terms import Terms
from qbwc_server.sync.upsert import ref_id, ref_name, replace_children, upsert_records


def _list_columns(
    record: PriceLevel | SalesRep | Terms | CustomerType | QbClass | SalesTaxCode,
) -> dict[str, object]:
    return {
        "qb_list_id": record.list_id,
        "edit_sequence": record.edit_sequence,
        "qb_time_created": record.time_created,
        "qb_time_modified": record.time_modified,
        "is_active": record.is_active,
    }


def apply_price_levels(conn: Connection, tenant_id: int, levels: list[PriceLevel]) -> int:
    latest = {level.list_id: level for level in levels}
    rows = [
        {
            **_list_columns(level),
            "name": level.name,
            "price_level_type": level.price_level_type,
            "fixed_percentage": level.fixed_percentage,
        }
        for level in latest.values()
    ]
    changed = upsert_records(conn, "price_levels", "qb_list_id", tenant_id, rows)
    replace_children(
        conn,
        "price_level_items",
        "price_level_id",
        tenant_id,
        {
            row_id: [
                {
                    "item_list_id": ref_id(item.item),
                    "item_name": ref_name(item.item),
                    "custom_price": item.custom_price,
                    "custom_price_percent": item.custom_price_percent,
                }
                for item in latest[list_id].items
            ]
            for list_id, row_id in changed.items()
        },
        new=changed.inserted,
    )
    return len(changed)


def apply_sales_reps(conn: Connection, tenant_id: int, reps: list[SalesRep]) -> int:
    rows = [
        {**_list_columns(rep), "code": rep.initial, "entity_name": ref_name(rep.entity)}
        for rep in {rep.list_id: rep for rep in reps}.values()
    ]
    return len(upsert_records(conn, "sales_reps", "qb_list_id", tenant_id, rows))


def apply_terms(conn: Connection, tenant_id: int, terms: list[Terms]) -> int:
    rows = [
        {
            **_list_columns(t),
            "name": t.name,
            "kind": t.kind,
            "due_days": t.due_days,
            "discount_days": t.discount_days,
            "discount_pct": t.discount_pct,
            "day_of_month_due": t.day_of_month_due,
            "due_next_month_days": t.due_next_month_days,
            "discount_day_of_month": t.discount_day_of_month,
        }
        for t in {t.list_id: t for t in terms}.values()
    ]
    return len(upsert_records(conn, "terms", "qb_list_id", tenant_id, rows))


def _apply_hierarchy(
    conn: Connection, table: str, tenant_id: int, records: list[CustomerType] | list[QbClass]
) -> int:
    rows = [
        {
            **_list_columns(r),
            "name": r.name,
            "full_name": r.full_name,
            "parent_list_id": ref_id(r.parent),
            "sublevel": r.sublevel,
        }
        for r in {r.list_id: r for r in records}.values()
    ]
    return len(upsert_records(conn, table, "qb_list_id", tenant_id, rows))


def apply_customer_types(conn: Connection, tenant_id: int, types: list[CustomerType]) -> int:
    return _apply_hierarchy(conn, "customer_types", tenant_id, types)


def apply_classes(conn: Connection, tenant_id: int, classes: list[QbClass]) -> int:
    return _apply_hierarchy(conn, "classes", tenant_id, classes)


def apply_sales_tax_codes(conn: Connection, tenant_id: int, codes: list[SalesTaxCode]) -> int:
    rows = [
        {**_list_columns(c), "name": c.name, "is_taxable": c.is_taxable, "description": c.desc}
        for c in {c.list_id: c for c in codes}.values()
    ]
    return len(upsert_records(conn, "sales_tax_codes", "qb_list_id", tenant_id, rows))


def map_rep_email(conn: Connection, tenant_id: int, code: str, email: str) -> bool:
    """Map QuickBooks rep code `code` to `email`; True when the rep is known from a pull."""
    conn.execute(
        text("""
            INSERT INTO sales_rep_emails (tenant_id, code, email) VALUES (:t, :code, :email)
            ON CONFLICT (tenant_id, code) DO UPDATE SET email = EXCLUDED.email, updated_at = now()
        """),
        {"t": tenant_id, "code": code, "email": email},
    )
    return touch_reps(conn, tenant_id, code) > 0


def touch_reps(conn: Connection, tenant_id: int, code: str) -> int:
    """Mark the reps with code `code` changed, so GET /sales-reps lists their new email (the map
    is a table of its own; the list pages on the rep's `updated_at`). Returns how many."""
    return conn.execute(
        text("UPDATE sales_reps SET updated_at = now() WHERE tenant_id = :t AND code = :code"),
        {"t": tenant_id, "code": code},
    ).rowcount
