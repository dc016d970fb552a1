"""Sales orders from QuickBooks into the mirror: those we pushed come back with QuickBooks'
numbers and status; those created in QuickBooks pull in as new orders.
"""

from __future__ import annotations

from sqlalchemy import Connection

from qbwc_server.qbxml.sales_orders import SalesOrder
from qbwc_server.sync.documents import document_row, line_row
from qbwc_server.sync.upsert import replace_children, upsert_records


def apply_sales_orders(conn: Connection, tenant_id: int, orders: list[SalesOrder]) -> int:
    latest = {order.txn_id: order for order in orders}
    rows = [
        {
            **document_row(order),
            "total_amount": order.total_amount,
            "is_manually_closed": order.is_manually_closed,
            "is_fully_invoiced": order.is_fully_invoiced,
        }
        for order in latest.values()
    ]
    changed = upsert_records(conn, "sales_orders", "qb_txn_id", tenant_id, rows)
    replace_children(
        conn,
        "sales_order_lines",
        "sales_order_id",
        tenant_id,
        {
            row_id: [
                {**line_row(line), "invoiced": line.invoiced, "is_manually_closed": line.is_manually_closed}
                for line in latest[txn_id].lines
            ]
            for txn_id, row_id in changed.items()
        },
    )
    return len(changed)
