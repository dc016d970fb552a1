"""Products (ItemInventory, ItemInventoryAssembly) and their stock figures into the mirror.

Stock moves in QuickBooks do not change an item's TimeModified, so quantities also arrive
through a lean full refresh (`apply_quantities`) that touches only the quantity columns.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from qbwc_server.qbxml.items import Item, ItemQuantities
from qbwc_server.sync.upsert import (
    custom_fields_json,
    raw_cursor,
    recordset,
    ref_id,
    ref_name,
    rows_json,
    upsert_records,
)
from qbwc_server.sync.wakeups import wake_orders_for_items


def item_row(item: Item) -> dict[str, Any]:
    return {
        "qb_list_id": item.list_id,
        "kind": item.kind,
        "edit_sequence": item.edit_sequence,
        "qb_time_created": item.time_created,
        "qb_time_modified": item.time_modified,
        "is_active": item.is_active,
        "name": item.name,
        "full_name": item.full_name,
        "parent_list_id": ref_id(item.parent),
        "sublevel": item.sublevel,
        "manufacturer_part_number": item.manufacturer_part_number,
        "sales_desc": item.sales_desc,
        "sales_price": item.sales_price,
        "purchase_desc": item.purchase_desc,
        "purchase_cost": item.purchase_cost,
        "average_cost": item.average_cost,
        "sales_tax_code_name": ref_name(item.sales_tax_code),
        "reorder_point": item.reorder_point,
        "build_point": item.build_point,
        "quantity_on_hand": item.quantity_on_hand,
        "quantity_on_order": item.quantity_on_order,
        "quantity_on_sales_order": item.quantity_on_sales_order,
        "external_guid": item.external_guid,
        "custom_fields": custom_fields_json(item.custom_fields),
    }


def apply_items(conn: Connection, tenant_id: int, items: list[Item]) -> int:
    latest = {item.list_id: item for item in items}
    changed = upsert_records(conn, "items", "qb_list_id", tenant_id, [item_row(i) for i in latest.values()])
    # Orders QuickBooks refused for want of one of these items go now, by themselves (3140).
    names = (name for list_id in changed for name in (latest[list_id].full_name, latest[list_id].name))
    wake_orders_for_items(conn, tenant_id, (name for name in names if name))
    return len(changed)


def apply_quantities(conn: Connection, tenant_id: int, quantities: list[ItemQuantities]) -> int:
    """Update stock figures of known items; only rows whose figures moved are written."""
    latest = {q.list_id: q for q in quantities}
    if not latest:
        return 0
    rows = [
        {
            "qb_list_id": q.list_id,
            "quantity_on_hand": q.quantity_on_hand,
            "quantity_on_order": q.quantity_on_order,
            "quantity_on_sales_order": q.quantity_on_sales_order,
        }
        for q in latest.values()
    ]
    with raw_cursor(conn) as cur:
        cur.execute(
            f"""
            UPDATE items AS t
            SET quantity_on_hand = r.quantity_on_hand, quantity_on_order = r.quantity_on_order,
                quantity_on_sales_order = r.quantity_on_sales_order, quantities_at = now(), updated_at = now()
            FROM {recordset("items", list(rows[0]))}
            WHERE t.tenant_id = %(tenant_id)s AND t.qb_list_id = r.qb_list_id
              AND (t.quantity_on_hand, t.quantity_on_order, t.quantity_on_sales_order)
                  IS DISTINCT FROM (r.quantity_on_hand, r.quantity_on_order, r.quantity_on_sales_order)
            """,
            {"tenant_id": tenant_id, "rows": rows_json(rows)},
        )
        return int(cur.rowcount)
