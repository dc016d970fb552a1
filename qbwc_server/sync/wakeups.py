"""Pushes that wait for something a pull brings: they go by themselves once it arrives.

- An order QuickBooks refused for an unknown item (3140, `needs_item`) waits with params
  {"missing_item": SKU}; when an items pull applies an item of that name, the order's push job is
  queued again, once (the SKU is taken out of its params, so a later pull does not wake it twice;
  if QuickBooks refuses it again, the push handler names the SKU again).
- A payment for an order waits (run_after in the future, params {"order_txn_id": …}) for the
  order's invoice; when an invoices pull applies an invoice of that order, it goes now.

Called from the pulls' apply code, in the transaction that applies the page: a page rolled back
wakes nothing. One statement each.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

#: Wake the order pushes waiting for one of the SKUs (QuickBooks compares names without regard
#: to case), and release what was held behind them (a payment waiting for its order), as
#: `queue.retry_job` does: a dependent still waiting on another held job stays blocked.
_WAKE_ORDERS = text("""
    WITH RECURSIVE woken AS (
        UPDATE jobs SET status = 'queued', attempts = 0, run_after = now(), finished_at = NULL,
                        last_message = NULL, params = params - 'missing_item', updated_at = now()
        WHERE tenant_id = :tenant_id AND kind = 'orders.push' AND status IN ('blocked', 'failed')
          AND lower(params ->> 'missing_item') = ANY(CAST(:skus AS text[]))
        RETURNING id
    ),
    dependents AS (
        SELECT dep.job_id AS id FROM job_dependencies dep JOIN jobs j ON j.id = dep.job_id
        WHERE dep.depends_on_id IN (SELECT id FROM woken) AND j.status = 'blocked'
        UNION
        SELECT dep.job_id FROM job_dependencies dep JOIN dependents ON dep.depends_on_id = dependents.id
        JOIN jobs j ON j.id = dep.job_id WHERE j.status = 'blocked'
    ),
    released AS (
        UPDATE jobs SET status = 'queued', last_message = NULL, updated_at = now()
        WHERE id IN (SELECT id FROM dependents) AND id NOT IN (SELECT id FROM woken)
          AND NOT EXISTS (SELECT 1 FROM job_dependencies o JOIN jobs d ON d.id = o.depends_on_id
                          WHERE o.job_id = jobs.id
                            AND o.depends_on_id NOT IN (SELECT id FROM woken)
                            AND o.depends_on_id NOT IN (SELECT id FROM dependents)
                            AND d.status IN ('failed', 'dead', 'blocked'))
    )
    SELECT count(*) FROM woken
""")

_WAKE_PAYMENTS = text("""
    UPDATE jobs SET run_after = now(), updated_at = now()
    WHERE tenant_id = :tenant_id AND kind = 'payments.push' AND status = 'queued' AND run_after > now()
      AND params ->> 'order_txn_id' = ANY(CAST(:ids AS text[]))
""")


def wake_orders_for_items(conn: Connection, tenant_id: int, skus: Iterable[str]) -> int:
    """Queue again the order pushes waiting for one of `skus` (item names); how many."""
    wanted = sorted({sku.strip().lower() for sku in skus if sku and sku.strip()})
    if not wanted:
        return 0
    return int(conn.execute(_WAKE_ORDERS, {"tenant_id": tenant_id, "skus": wanted}).scalar_one())


def wake_payments_for_invoices(conn: Connection, tenant_id: int, sales_order_txn_ids: Iterable[str]) -> int:
    """Send now the payment pushes waiting for an invoice of one of these sales orders; how many."""
    wanted = sorted({txn_id for txn_id in sales_order_txn_ids if txn_id})
    if not wanted:
        return 0
    return conn.execute(_WAKE_PAYMENTS, {"tenant_id": tenant_id, "ids": wanted}).rowcount
