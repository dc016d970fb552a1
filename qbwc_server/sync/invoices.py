"""Invoices from QuickBooks into the mirror: only those made from a mirrored sales order, with
shipment details (ShipDate, ShipMethod, tracking) and payment status (BalanceRemaining, IsPaid).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from qbwc_server.qbxml.invoices import Invoice
from qbwc_server.sync.documents import document_row, line_row
from qbwc_server.sync.upsert import replace_children, upsert_records
from qbwc_server.sync.wakeups import wake_payments_for_invoices


def apply_invoices(conn: Connection, tenant_id: int, invoices: list[Invoice]) -> int:
    """Upsert the invoices linked to sales orders the mirror has (or already mirrored); skip the rest."""
    latest = {invoice.txn_id: invoice for invoice in invoices}
    wanted = _linked_to_mirror(conn, tenant_id, list(latest.values()))
    rows = [
        {
            **document_row(invoice),
            "is_pending": invoice.is_pending,
            "applied_amount": invoice.applied_amount,
            "balance_remaining": invoice.balance_remaining,
            "is_paid": invoice.is_paid,
            "tracking_number": invoice.tracking_number,
            "sales_order_txn_ids": list(invoice.sales_order_txn_ids),
        }
        for invoice in latest.values()
        if invoice.txn_id in wanted
    ]
    changed = upsert_records(conn, "invoices", "qb_txn_id", tenant_id, rows)
    # Payments waiting for an invoice of their order go now (sync/wakeups.py).
    wake_payments_for_invoices(
        conn, tenant_id, (so for txn_id in changed for so in latest[txn_id].sales_order_txn_ids)
    )
    replace_children(
        conn,
        "invoice_lines",
        "invoice_id",
        tenant_id,
        {row_id: [line_row(line) for line in latest[txn_id].lines] for txn_id, row_id in changed.items()},
    )
    return len(changed)


def _linked_to_mirror(conn: Connection, tenant_id: int, invoices: list[Invoice]) -> set[str]:
    """TxnIDs of the invoices made from a mirrored sales order, or already in the mirror."""
    order_ids = sorted({so for invoice in invoices for so in invoice.sales_order_txn_ids})
    known_orders = set(
        conn.execute(
            text("SELECT qb_txn_id FROM sales_orders WHERE tenant_id = :t AND qb_txn_id = ANY(:ids)"),
            {"t": tenant_id, "ids": order_ids},
        ).scalars()
    )
    known_invoices = set(
        conn.execute(
            text("SELECT qb_txn_id FROM invoices WHERE tenant_id = :t AND qb_txn_id = ANY(:ids)"),
            {"t": tenant_id, "ids": [invoice.txn_id for invoice in invoices]},
        ).scalars()
    )
    return {
        invoice.txn_id
        for invoice in invoices
        if invoice.txn_id in known_invoices or known_orders.intersection(invoice.sales_order_txn_ids)
    }
