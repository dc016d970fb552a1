"""Received payments from QuickBooks into the mirror, with the invoices each one pays."""

from __future__ import annotations

from sqlalchemy import Connection

from qbwc_server.qbxml.payments import ReceivePayment
from qbwc_server.sync.upsert import ref_id, ref_name, replace_children, upsert_records


def apply_payments(conn: Connection, tenant_id: int, payments: list[ReceivePayment]) -> int:
    latest = {payment.txn_id: payment for payment in payments}
    rows = [
        {
            "qb_txn_id": p.txn_id,
            "edit_sequence": p.edit_sequence,
            "qb_time_created": p.time_created,
            "qb_time_modified": p.time_modified,
            "txn_number": p.txn_number,
            "customer_list_id": ref_id(p.customer),
            "customer_name": ref_name(p.customer),
            "txn_date": p.txn_date,
            "ref_number": p.ref_number,
            "total_amount": p.total_amount,
            "payment_method": ref_name(p.payment_method),
            "deposit_to_account": ref_name(p.deposit_to_account),
            "memo": p.memo,
            "unused_payment": p.unused_payment,
            "unused_credits": p.unused_credits,
            "external_guid": p.external_guid,
        }
        for p in latest.values()
    ]
    changed = upsert_records(conn, "payments", "qb_txn_id", tenant_id, rows)
    replace_children(
        conn,
        "payment_applications",
        "payment_id",
        tenant_id,
        {
            row_id: [
                {
                    "txn_id": applied.txn_id,
                    "txn_type": applied.txn_type,
                    "txn_date": applied.txn_date,
                    "ref_number": applied.ref_number,
                    "amount": applied.amount,
                    "discount_amount": applied.discount_amount,
                    "balance_remaining": applied.balance_remaining,
                }
                for applied in latest[txn_id].applied
            ]
            for txn_id, row_id in changed.items()
        },
    )
    return len(changed)
