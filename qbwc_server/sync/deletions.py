"""Deletions in QuickBooks (ListDeletedQuery / TxnDeletedQuery) marked on mirror rows.

Rows are kept with `deleted_at` set, so the commerce side learns of the deletion through its
`updated_since` cursor instead of a row silently vanishing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from qbwc_server.qbxml.deleted import DeletedListObject, DeletedTxn
from qbwc_server.sync.upsert import mark_deleted

#: ListDelType -> mirror table (keyed by qb_list_id).
LIST_TABLES = {
    "Customer": "customers",
    "ItemInventory": "items",
    "ItemInventoryAssembly": "items",
    "PriceLevel": "price_levels",
    "SalesRep": "sales_reps",
    "StandardTerms": "terms",
    "DateDrivenTerms": "terms",
    "CustomerType": "customer_types",
    "Class": "classes",
    "SalesTaxCode": "sales_tax_codes",
}

#: TxnDelType -> mirror table (keyed by qb_txn_id).
TXN_TABLES = {"SalesOrder": "sales_orders", "Invoice": "invoices", "ReceivePayment": "payments"}


def apply_list_deletions(conn: Connection, tenant_id: int, deleted: list[DeletedListObject]) -> int:
    by_table: dict[str, dict[str, dt.datetime]] = {}
    for record in deleted:
        table = LIST_TABLES.get(record.list_del_type)
        if table is not None:
            by_table.setdefault(table, {})[record.list_id] = record.time_deleted
    return sum(mark_deleted(conn, table, "qb_list_id", tenant_id, ids) for table, ids in by_table.items())


def apply_txn_deletions(conn: Connection, tenant_id: int, deleted: list[DeletedTxn]) -> int:
    by_table: dict[str, dict[str, dt.datetime]] = {}
    for record in deleted:
        table = TXN_TABLES.get(record.txn_del_type)
        if table is not None:
            by_table.setdefault(table, {})[record.txn_id] = record.time_deleted
    return sum(mark_deleted(conn, table, "qb_txn_id", tenant_id, ids) for table, ids in by_table.items())
