"""Every entity pulled from QuickBooks, in the order a session asks for them, with its defaults.

Lists come first (records refer to them), then customers and products, then sales orders
before invoices (an invoice is kept only when its sales order is mirrored), then deletions.
Intervals are defaults; a tenant's `settings["pull_intervals"]` overrides them per entity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from lxml import etree
from sqlalchemy import Connection

from qbwc_server.qbxml import (
    classes,
    customer_types,
    customers,
    deleted,
    invoices,
    items,
    payments,
    price_levels,
    sales_orders,
    sales_reps,
    sales_tax_codes,
    terms,
)
from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.query import ListQuery, TxnQuery
from qbwc_server.sync import customers as customer_sync
from qbwc_server.sync import deletions, lists, unchanged
from qbwc_server.sync import invoices as invoice_sync
from qbwc_server.sync import items as item_sync
from qbwc_server.sync import orders as order_sync
from qbwc_server.sync import payments as payment_sync
from qbwc_server.sync.pull import PullSpec, PullWindow

MINUTE = dt.timedelta(minutes=1)
#: "Custom fields" in QuickBooks are data extensions owned by OwnerID 0.
CUSTOM_FIELDS = ("0",)


def _lists(
    build: Callable[[ListQuery, QbxmlVersion], str], **options: object
) -> Callable[[PullWindow, QbxmlVersion], str]:
    """A list query for everything (active or not) modified since the window's start."""

    def build_window(window: PullWindow, version: QbxmlVersion) -> str:
        query = ListQuery(
            active_status="All",
            from_modified=window.since,
            iteration=window.iteration,
            request_id=window.request_id,
            **options,  # type: ignore[arg-type]
        )
        return build(query, version)

    return build_window


def _txns(
    build: Callable[[TxnQuery, QbxmlVersion], str], *, linked: bool
) -> Callable[[PullWindow, QbxmlVersion], str]:
    def build_window(window: PullWindow, version: QbxmlVersion) -> str:
        query = TxnQuery(
            modified_from=window.since,
            include_line_items=True,
            include_linked_txns=linked or None,
            owner_ids=CUSTOM_FIELDS,
            iteration=window.iteration,
            request_id=window.request_id,
        )
        return build(query, version)

    return build_window


def _list_deletions(window: PullWindow, version: QbxmlVersion) -> str:
    types = tuple(deletions.LIST_TABLES)
    return deleted.build_list_deleted_query_rq(
        types, version, deleted_from=window.since, request_id=window.request_id
    )


def _txn_deletions(window: PullWindow, version: QbxmlVersion) -> str:
    types = tuple(deletions.TXN_TABLES)
    return deleted.build_txn_deleted_query_rq(
        types, version, deleted_from=window.since, request_id=window.request_id
    )


def _small_list(
    entity: str,
    nouns: tuple[str, str],
    build: Callable[[ListQuery, QbxmlVersion], str],
    tags: Iterable[str],
    parse: Callable[[etree._Element], Any],
    apply: Callable[[Connection, int, list[Any]], int],
) -> PullSpec:
    """A short list QuickBooks answers whole (these queries have no iterator), read every 15 min."""
    return PullSpec(
        entity=entity, nouns=nouns, build=_lists(build), record_tags=frozenset(tags), parse=parse,
        apply=apply, interval=15 * MINUTE, priority=10, page_size=None,
    )  # fmt: skip


def _stock(entity: str, build: Callable[[ListQuery, QbxmlVersion], str], tag: str) -> PullSpec:
    """Stock figures only, always in full: stock moves do not change an item's TimeModified."""
    return PullSpec(
        entity=entity, nouns=("stock figure", "stock figures"),
        build=_lists(build, include_ret_elements=items.QUANTITY_ELEMENTS), record_tags=frozenset({tag}),
        parse=items.parse_item_quantities_ret, apply=item_sync.apply_quantities, interval=5 * MINUTE,
        priority=35, incremental=False, time_attribute="",
    )  # fmt: skip


PULLS: tuple[PullSpec, ...] = (
    _small_list("classes", ("class", "classes"), classes.build_class_query_rq, {classes.RET_TAG},
                classes.parse_class_ret, lists.apply_classes),
    _small_list("customer_types", ("customer type", "customer types"),
                customer_types.build_customer_type_query_rq, {customer_types.RET_TAG},
                customer_types.parse_customer_type_ret, lists.apply_customer_types),
    _small_list("terms", ("terms", "terms"), terms.build_terms_query_rq, terms.RET_TAGS,
                terms.parse_terms_ret, lists.apply_terms),
    _small_list("sales_reps", ("sales rep", "sales reps"), sales_reps.build_sales_rep_query_rq,
                {sales_reps.RET_TAG}, sales_reps.parse_sales_rep_ret, lists.apply_sales_reps),
    _small_list("sales_tax_codes", ("sales tax code", "sales tax codes"),
                sales_tax_codes.build_sales_tax_code_query_rq, {sales_tax_codes.RET_TAG},
                sales_tax_codes.parse_sales_tax_code_ret, lists.apply_sales_tax_codes),
    _small_list("price_levels", ("price level", "price levels"), price_levels.build_price_level_query_rq,
                {price_levels.RET_TAG}, price_levels.parse_price_level_ret, lists.apply_price_levels),
    PullSpec(
        entity="customers", nouns=("customer", "customers"),
        build=_lists(customers.build_customer_query_rq, owner_ids=CUSTOM_FIELDS),
        record_tags=frozenset({customers.RET_TAG}), parse=customer_sync.read_pulled_customer,
        apply=customer_sync.apply_customers, interval=15 * MINUTE, priority=20,
        unchanged=unchanged.CUSTOMERS,
    ),
    PullSpec(
        entity="inventory_items", nouns=("inventory item", "inventory items"),
        build=_lists(items.build_item_inventory_query_rq, owner_ids=CUSTOM_FIELDS),
        record_tags=frozenset({items.INVENTORY_RET_TAG}), parse=items.parse_item_inventory_ret,
        apply=item_sync.apply_items, interval=15 * MINUTE, priority=30,
    ),
    PullSpec(
        entity="assembly_items", nouns=("assembly item", "assembly items"),
        build=_lists(items.build_item_assembly_query_rq, owner_ids=CUSTOM_FIELDS),
        record_tags=frozenset({items.ASSEMBLY_RET_TAG}), parse=items.parse_item_assembly_ret,
        apply=item_sync.apply_items, interval=15 * MINUTE, priority=30,
    ),
    _stock("inventory_quantities", items.build_item_inventory_query_rq, items.INVENTORY_RET_TAG),
    _stock("assembly_quantities", items.build_item_assembly_query_rq, items.ASSEMBLY_RET_TAG),
    PullSpec(
        entity="sales_orders", nouns=("sales order", "sales orders"),
        build=_txns(sales_orders.build_sales_order_query_rq, linked=True),
        record_tags=frozenset({sales_orders.RET_TAG}), parse=sales_orders.parse_sales_order_ret,
        apply=order_sync.apply_sales_orders, interval=5 * MINUTE, priority=40,
    ),
    PullSpec(
        entity="invoices", nouns=("invoice", "invoices"),
        build=_txns(invoices.build_invoice_query_rq, linked=True),
        record_tags=frozenset({invoices.RET_TAG}), parse=invoices.parse_invoice_ret,
        apply=invoice_sync.apply_invoices, interval=5 * MINUTE, priority=50,
    ),
    PullSpec(
        entity="payments", nouns=("payment", "payments"),
        build=_txns(payments.build_receive_payment_query_rq, linked=False),
        record_tags=frozenset({payments.RET_TAG}), parse=payments.parse_receive_payment_ret,
        apply=payment_sync.apply_payments, interval=5 * MINUTE, priority=60,
    ),
    PullSpec(
        entity="list_deletions", nouns=("list deletion", "list deletions"), build=_list_deletions,
        record_tags=frozenset({"ListDeletedRet"}), parse=deleted.parse_list_deleted_ret,
        apply=deletions.apply_list_deletions, interval=15 * MINUTE, priority=70, page_size=None,
        time_attribute="time_deleted",
    ),
    PullSpec(
        entity="txn_deletions", nouns=("transaction deletion", "transaction deletions"), build=_txn_deletions,
        record_tags=frozenset({"TxnDeletedRet"}), parse=deleted.parse_txn_deleted_ret,
        apply=deletions.apply_txn_deletions, interval=5 * MINUTE, priority=70, page_size=None,
        time_attribute="time_deleted",
    ),
)  # fmt: skip

PULLS_BY_ENTITY = {spec.entity: spec for spec in PULLS}

#: What `qbwc-server refresh TENANT ENTITY` accepts beyond single entity names.
GROUPS: dict[str, tuple[str, ...]] = {
    "lists": ("classes", "customer_types", "terms", "sales_reps", "sales_tax_codes", "price_levels"),
    "items": ("inventory_items", "assembly_items"),
    "inventory": ("inventory_quantities", "assembly_quantities"),
    "orders": ("sales_orders",),
    "deletions": ("list_deletions", "txn_deletions"),
    "all": tuple(PULLS_BY_ENTITY),
}
