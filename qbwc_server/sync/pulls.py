"""Every entity pulled from QuickBooks, in the order a session asks for them, with its defaults.

Lists come first (records refer to them), then customers and products, then sales orders
before invoices (an invoice is kept only when its sales order is mirrored), then deletions.
Intervals are defaults; a tenant's `settings["pull_intervals"]` overrides them per entity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

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
from qbwc_server.sync import deletions, lists
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


PULLS: tuple[PullSpec, ...] = (
    PullSpec(
        entity="classes",
        nouns=("class", "classes"),
        build=_lists(classes.build_class_query_rq),
        record_tags=frozenset({classes.RET_TAG}),
        parse=classes.parse_class_ret,
        apply=lists.apply_classes,
        interval=15 * MINUTE,
        priority=10,
        page_size=None,
    ),
    PullSpec(
        entity="customer_types",
        nouns=("customer type", "customer types"),
        build=_lists(customer_types.build_customer_type_query_rq),
        record_tags=frozenset({customer_types.RET_TAG}),
        parse=customer_types.parse_customer_type_ret,
        apply=lists.apply_customer_types,
        interval=15 * MINUTE,
        priority=10,
        page_size=None,
    ),
    PullSpec(
        entity="terms",
        nouns=("terms", "terms"),
        build=_lists(terms.build_terms_query_rq),
        record_tags=frozenset(terms.RET_TAGS),
        parse=terms.parse_terms_ret,
        apply=lists.apply_terms,
        interval=15 * MINUTE,
        priority=10,
        page_size=None,
    ),
    PullSpec(
        entity="sales_reps",
        nouns=("sales rep", "sales reps"),
        build=_lists(sales_reps.build_sales_rep_query_rq),
        record_tags=frozenset({sales_reps.RET_TAG}),
        parse=sales_reps.parse_sales_rep_ret,
        apply=lists.apply_sales_reps,
        interval=15 * MINUTE,
        priority=10,
        page_size=None,
    ),
    PullSpec(
        entity="sales_tax_codes",
        nouns=("sales tax code", "sales tax codes"),
        build=_lists(sales_tax_codes.build_sales_tax_code_query_rq),
        record_tags=frozenset({sales_tax_codes.RET_TAG}),
        parse=sales_tax_codes.parse_sales_tax_code_ret,
        apply=lists.apply_sales_tax_codes,
        interval=15 * MINUTE,
        priority=10,
        page_size=None,
    ),
    PullSpec(
        entity="price_levels",
        nouns=("price level", "price levels"),
        build=_lists(price_levels.build_price_level_query_rq),
        record_tags=frozenset({price_levels.RET_TAG}),
        parse=price_levels.parse_price_level_ret,
        apply=lists.apply_price_levels,
        interval=15 * MINUTE,
        priority=11,
        page_size=None,
    ),
    PullSpec(
        entity="customers",
        nouns=("customer", "customers"),
        build=_lists(customers.build_customer_query_rq, owner_ids=CUSTOM_FIELDS),
        record_tags=frozenset({customers.RET_TAG}),
        parse=customers.parse_customer_ret,
        apply=customer_sync.apply_customers,
        interval=15 * MINUTE,
        priority=20,
    ),
    PullSpec(
        entity="inventory_items",
        nouns=("inventory item", "inventory items"),
        build=_lists(items.build_item_inventory_query_rq, owner_ids=CUSTOM_FIELDS),
        record_tags=frozenset({items.INVENTORY_RET_TAG}),
        parse=items.parse_item_inventory_ret,
        apply=item_sync.apply_items,
        interval=15 * MINUTE,
        priority=30,
    ),
    PullSpec(
        entity="assembly_items",
        nouns=("assembly item", "assembly items"),
        build=_lists(items.build_item_assembly_query_rq, owner_ids=CUSTOM_FIELDS),
        record_tags=frozenset({items.ASSEMBLY_RET_TAG}),
        parse=items.parse_item_assembly_ret,
        apply=item_sync.apply_items,
        interval=15 * MINUTE,
        priority=30,
    ),
    PullSpec(
        entity="inventory_quantities",
        nouns=("stock figure", "stock figures"),
        build=_lists(items.build_item_inventory_query_rq, include_ret_elements=items.QUANTITY_ELEMENTS),
        record_tags=frozenset({items.INVENTORY_RET_TAG}),
        parse=items.parse_item_quantities_ret,
        apply=item_sync.apply_quantities,
        interval=5 * MINUTE,
        priority=35,
        incremental=False,
        time_attribute="",
    ),
    PullSpec(
        entity="assembly_quantities",
        nouns=("stock figure", "stock figures"),
        build=_lists(items.build_item_assembly_query_rq, include_ret_elements=items.QUANTITY_ELEMENTS),
        record_tags=frozenset({items.ASSEMBLY_RET_TAG}),
        parse=items.parse_item_quantities_ret,
        apply=item_sync.apply_quantities,
        interval=5 * MINUTE,
        priority=35,
        incremental=False,
        time_attribute="",
    ),
    PullSpec(
        entity="sales_orders",
        nouns=("sales order", "sales orders"),
        build=_txns(sales_orders.build_sales_order_query_rq, linked=True),
        record_tags=frozenset({sales_orders.RET_TAG}),
        parse=sales_orders.parse_sales_order_ret,
        apply=order_sync.apply_sales_orders,
        interval=5 * MINUTE,
        priority=40,
    ),
    PullSpec(
        entity="invoices",
        nouns=("invoice", "invoices"),
        build=_txns(invoices.build_invoice_query_rq, linked=True),
        record_tags=frozenset({invoices.RET_TAG}),
        parse=invoices.parse_invoice_ret,
        apply=invoice_sync.apply_invoices,
        interval=5 * MINUTE,
        priority=50,
    ),
    PullSpec(
        entity="payments",
        nouns=("payment", "payments"),
        build=_txns(payments.build_receive_payment_query_rq, linked=False),
        record_tags=frozenset({payments.RET_TAG}),
        parse=payments.parse_receive_payment_ret,
        apply=payment_sync.apply_payments,
        interval=5 * MINUTE,
        priority=60,
    ),
    PullSpec(
        entity="list_deletions",
        nouns=("list deletion", "list deletions"),
        build=_list_deletions,
        record_tags=frozenset({"ListDeletedRet"}),
        parse=deleted.parse_list_deleted_ret,
        apply=deletions.apply_list_deletions,
        interval=15 * MINUTE,
        priority=70,
        page_size=None,
        time_attribute="time_deleted",
    ),
    PullSpec(
        entity="txn_deletions",
        nouns=("transaction deletion", "transaction deletions"),
        build=_txn_deletions,
        record_tags=frozenset({"TxnDeletedRet"}),
        parse=deleted.parse_txn_deleted_ret,
        apply=deletions.apply_txn_deletions,
        interval=5 * MINUTE,
        priority=70,
        page_size=None,
        time_attribute="time_deleted",
    ),
)

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
