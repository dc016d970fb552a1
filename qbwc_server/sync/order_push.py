"""Orders from the commerce side into QuickBooks: SalesOrderAdd, SalesOrderMod, or EstimateAdd
where the edition has no sales orders and the tenant asked for estimates.

What QuickBooks cannot take is decided before anything is sent (NotSent, sync/base.py): an
edition without sales orders, a customer not in QuickBooks yet. What it refuses is recovered
without a person where a person is not needed: a missing terms/rep/class reference is dropped
and the order goes again at once; a missing item holds the order (`needs_item`) until an items
pull sees the SKU; a stale EditSequence re-reads the order and modifies it again; an order
deleted in QuickBooks is added again when the tenant allows it. The order the commerce side
sent is master of every field it sends; what it leaves out stays as QuickBooks has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree
from sqlalchemy import text

from qbwc_server.models import SyncState
from qbwc_server.qbxml.core import QbxmlVersion, ResponseStatus
from qbwc_server.qbxml.order_writes import (
    build_estimate_add_rq,
    build_estimate_query_rq,
    build_sales_order_add_rq,
    build_sales_order_mod_rq,
    external_guid,
    parse_estimate_ret,
)
from qbwc_server.qbxml.query import TxnQuery
from qbwc_server.qbxml.sales_orders import SalesOrder, build_sales_order_query_rq, parse_sales_order_ret
from qbwc_server.qbxml.write import BuildError
from qbwc_server.queue import JobResult, Outcome
from qbwc_server.queue.jobs import Action
from qbwc_server.sync.base import NotSent
from qbwc_server.sync.documents import line_row
from qbwc_server.sync.order_fields import (
    OMITTABLE,
    customer_list_id,
    customer_of,
    line_ids_of,
    lookup_failed,
    missing_reference,
    order_fields,
    with_line_ids,
)
from qbwc_server.sync.orders import apply_sales_orders
from qbwc_server.sync.push import PushContext, PushHandler, set_sync_state
from qbwc_server.sync.upsert import replace_children

SALES_ORDER, ESTIMATE = "SalesOrder", "Estimate"
EDITION_FIX = (
    "Sales orders need QuickBooks Premier or Enterprise; set `qbwc-server tenant set {tenant}"
    " --orders-as estimates` to send orders as estimates, or upgrade QuickBooks"
)
NO_ESTIMATES_FIX = (
    "Sales orders need QuickBooks Premier or Enterprise, and this company does not use estimates:"
    " turn estimates on in QuickBooks (Edit > Preferences > Jobs & Estimates), or upgrade QuickBooks"
)
ITEM_FIX = "Add the item {sku} in QuickBooks; the order goes by itself once it is pulled"


class OrderPushHandler(PushHandler):
    kind = "orders.push"
    nouns = ("order sent to QuickBooks", "orders sent to QuickBooks")
    table = "sales_orders"
    #: 50 orders a message: 1,000 orders in 20 round trips (bench/pushes.py measures the cost).
    batch_size = 50

    # -- write ---------------------------------------------------------------------------------

    def build_write(self, ctx: PushContext, row: Mapping[str, Any]) -> str:
        body = row.get("commerce_body") or {}
        customer = self._customer(ctx, row, body)
        omit = set((ctx.job.params or {}).get("omit") or ())
        try:
            order = order_fields(ctx, row, body, customer, omit)
            request_id = str(ctx.job.id)
            if row.get("qb_txn_id"):
                if (row.get("qb_txn_type") or SALES_ORDER) == ESTIMATE:
                    raise self._not_sent(
                        ctx, row, SyncState.FAILED, Outcome.NEEDS_ADMIN,
                        "This order went to QuickBooks as an estimate; qbwc-server does not change"
                        " estimates: make the change in QuickBooks",
                    )  # fmt: skip
                order = with_line_ids(ctx, row, order)
                return build_sales_order_mod_rq(
                    row["qb_txn_id"], row["edit_sequence"] or "", order, _version(ctx), request_id=request_id
                )
            if self._target(ctx, row) == ESTIMATE:
                return build_estimate_add_rq(order, _version(ctx), request_id=request_id)
            return build_sales_order_add_rq(order, _version(ctx), request_id=request_id)
        except BuildError as error:  # a value QuickBooks cannot take: say so on the row, send nothing
            raise self._not_sent(ctx, row, SyncState.FAILED, Outcome.NEEDS_ADMIN, str(error)) from error

    def apply_written(
        self, ctx: PushContext, row: Mapping[str, Any], rs: etree._Element, status: ResponseStatus
    ) -> JobResult:
        txn_type = ESTIMATE if rs.tag.startswith(ESTIMATE) else SALES_ORDER
        orders = _rets_of(rs, txn_type)
        if not orders:
            return JobResult(Action.UNCONFIRMED, message=f"{rs.tag} carried no record: looked up next")
        return self.land(ctx, row, orders[0], txn_type, note=_omitted(ctx))

    def refused(self, ctx: PushContext, row: Mapping[str, Any], status: ResponseStatus) -> JobResult:
        params = {k: v for k, v in (ctx.job.params or {}).items() if k != "looking_up"}
        row_id = int(row["id"])
        if status.code == 3250 and status.name.startswith("SalesOrderAdd"):
            _remember_no_sales_orders(ctx)
            if self._estimates_allowed(ctx):
                return self.again_as_write(
                    "sales orders are off: sent as an estimate", {**params, "as": ESTIMATE}
                )
            return self._edition_waits(ctx, row_id)
        if status.code == 3140:
            return self._missing(ctx, row, status, params)
        if status.code == 3200:
            return JobResult(Action.RESTART, message="stale EditSequence: re-reading the order", params={
                **params, "reread": True,
            })  # fmt: skip
        if status.code in (3120, 3000) and row.get("qb_txn_id"):
            return self._deleted(ctx, row, status, params)
        return super().refused(ctx, row, status)

    # -- look-up (a write whose answer was lost) and re-read (after 3200) ---------------------

    def build_lookup(self, ctx: PushContext, row: Mapping[str, Any]) -> str:
        if row.get("qb_txn_id"):  # a lost Mod: read the order; sending the same Mod again is harmless
            return self.build_reread(ctx, row)
        number = str((row.get("commerce_body") or {}).get("number") or row.get("ref_number") or "")
        query = TxnQuery(ref_numbers=(number,), include_line_items=True, request_id=str(ctx.job.id))
        if self._target(ctx, row) == ESTIMATE:
            return build_estimate_query_rq(query, _version(ctx))
        return build_sales_order_query_rq(query, _version(ctx))

    def apply_lookup(
        self, ctx: PushContext, row: Mapping[str, Any], rs: etree._Element, status: ResponseStatus
    ) -> JobResult:
        if row.get("qb_txn_id"):
            return self.apply_reread(ctx, row, rs, status)
        if status.is_error and status.code != 1:
            return lookup_failed(ctx, status)
        txn_type = ESTIMATE if rs.tag.startswith(ESTIMATE) else SALES_ORDER
        customer = _customer_list_id(ctx, row)
        ours = external_guid(ctx.tenant_id, "orders", row["commerce_id"]).upper()
        found = [o for o in _rets_of(rs, txn_type) if o.customer.list_id == customer]
        by_guid = [o for o in found if (o.external_guid or "").upper() == ours]
        unmarked = [o for o in found if not o.external_guid]  # QuickBooks did not return GUIDs
        match = (by_guid or sorted(unmarked, key=lambda o: o.time_created))[-1:] if found else []
        if not match:
            return self.again_as_write(
                "not in QuickBooks: the lost write did not happen; sent again", ctx.job.params
            )
        return self.land(ctx, row, match[0], txn_type, note="found in QuickBooks after a lost answer")

    def build_reread(self, ctx: PushContext, row: Mapping[str, Any]) -> str:
        query = TxnQuery(txn_ids=(row["qb_txn_id"],), include_line_items=True, request_id=str(ctx.job.id))
        return build_sales_order_query_rq(query, _version(ctx))

    def apply_reread(
        self, ctx: PushContext, row: Mapping[str, Any], rs: etree._Element, status: ResponseStatus
    ) -> JobResult:
        """QuickBooks' current order: its EditSequence and lines replace ours (so lines match by
        position and SKU), then the Mod goes again with the commerce side's fields."""
        params = {k: v for k, v in (ctx.job.params or {}).items() if k != "looking_up"}
        orders = _rets_of(rs, SALES_ORDER)
        if not orders:
            if status.is_error and status.code not in (1, 500, 3120, 3000):
                return lookup_failed(ctx, status)
            return self._deleted(ctx, row, status, params)
        current = orders[0]
        ctx.conn.execute(
            text("UPDATE sales_orders SET edit_sequence = :e WHERE id = :id"),
            {"e": current.edit_sequence, "id": row["id"]},
        )
        replace_children(ctx.conn, "sales_order_lines", "sales_order_id", ctx.tenant_id, {
            int(row["id"]): [
                {**line_row(x), "invoiced": x.invoiced, "is_manually_closed": x.is_manually_closed}
                for x in current.lines
            ],
        })  # fmt: skip
        return self.again_as_write("re-read from QuickBooks: modified again", params)

    # -- landing -----------------------------------------------------------------------------

    def land(
        self, ctx: PushContext, row: Mapping[str, Any], order: SalesOrder, txn_type: str, *, note: str | None
    ) -> JobResult:
        """QuickBooks' record into the mirror row: the ids first (the pull's upsert leaves alone a
        row that is not synced), then the Ret, lines included, through the pull's own path."""
        body = row.get("commerce_body") or {}
        ctx.conn.execute(  # the same order pulled meanwhile under no commerce id is this one
            text("""
                DELETE FROM sales_orders WHERE tenant_id = :t AND qb_txn_id = :x AND id <> :id
                  AND commerce_id IS NULL
            """),
            {"t": ctx.tenant_id, "x": order.txn_id, "id": row["id"]},
        )
        ctx.conn.execute(
            text("""
                UPDATE sales_orders SET qb_txn_id = :x, qb_txn_type = :type, line_ids = CAST(:ids AS jsonb),
                       edit_sequence = NULL, sync_state = 'synced', deleted_at = NULL
                WHERE id = :id
            """),
            {"x": order.txn_id, "type": txn_type, "ids": line_ids_of(body, order), "id": row["id"]},
        )
        apply_sales_orders(ctx.conn, ctx.tenant_id, [order])
        result = self.synced(ctx, int(row["id"]))
        return JobResult(Action.DONE, message=note, records=result.records, params=_clean(ctx))

    # -- decisions -----------------------------------------------------------------------------

    def _customer(self, ctx: PushContext, row: Mapping[str, Any], body: Mapping[str, Any]) -> str:
        """The customer's ListID; a customer not in QuickBooks yet holds the order behind its push."""
        return customer_list_id(ctx, self.table, row, body)

    def _target(self, ctx: PushContext, row: Mapping[str, Any]) -> str:
        """SalesOrder, or Estimate where the edition has none and the tenant said so; else NotSent."""
        if (ctx.job.params or {}).get("as") == ESTIMATE or row.get("qb_txn_type") == ESTIMATE:
            return ESTIMATE
        preferences = ctx.preferences
        if preferences.get("edition") != "pro" and preferences.get("sales_orders") is not False:
            return SALES_ORDER
        if self._estimates_allowed(ctx):
            return ESTIMATE
        raise self._edition_not_sent(ctx, int(row["id"]))

    def _estimates_allowed(self, ctx: PushContext) -> bool:
        return ctx.settings.orders_as == "estimates" and ctx.preferences.get("estimates") is not False

    def _edition_message(self, ctx: PushContext) -> str:
        if ctx.settings.orders_as == "estimates":
            return NO_ESTIMATES_FIX
        tenant = ctx.conn.execute(
            text("SELECT name FROM tenants WHERE id = :t"), {"t": ctx.tenant_id}
        ).scalar()
        return EDITION_FIX.format(tenant=tenant or "NAME")

    def _edition_not_sent(self, ctx: PushContext, row_id: int) -> NotSent:
        message = self._edition_message(ctx)
        return NotSent(
            JobResult.fail(Outcome.NEEDS_ADMIN, message),
            record=lambda conn: set_sync_state(
                conn, self.table, row_id, SyncState.WAITING, message=message, fix=message
            ),
        )

    def _edition_waits(self, ctx: PushContext, row_id: int) -> JobResult:
        message = self._edition_message(ctx)
        set_sync_state(
            ctx.conn,
            self.table,
            row_id,
            SyncState.WAITING,
            message=message,
            quickbooks_code=3250,
            fix=message,
        )
        return JobResult.fail(Outcome.NEEDS_ADMIN, message, 3250)

    def _not_sent(
        self, ctx: PushContext, row: Mapping[str, Any], state: SyncState, outcome: Outcome, message: str
    ) -> NotSent:
        row_id = int(row["id"])
        return NotSent(
            JobResult.fail(outcome, message),
            record=lambda conn: set_sync_state(conn, self.table, row_id, state, message=message),
        )

    def _missing(
        self, ctx: PushContext, row: Mapping[str, Any], status: ResponseStatus, params: dict[str, Any]
    ) -> JobResult:
        """3140: which reference QuickBooks lacks says what happens next."""
        kind, value = missing_reference(status.message) or ("", "")
        row_id = int(row["id"])
        if kind == "item":
            fix = ITEM_FIX.format(sku=value)
            set_sync_state(ctx.conn, self.table, row_id, SyncState.NEEDS_ITEM, message=status.message,
                           quickbooks_code=3140, fix=fix)  # fmt: skip
            return JobResult(
                Action.FAIL, Outcome.WAIT_FOR_DEPENDENCY, f"QuickBooks 3140: no item {value!r}. {fix}", 3140,
                params={**params, "missing_item": value},
            )  # fmt: skip
        omit = OMITTABLE.get(kind)
        if omit is not None and omit not in params.get("omit", ()):
            omitted = {**params, "omit": [*params.get("omit", ()), omit]}
            return self.again_as_write(f"QuickBooks has no {kind} {value!r}: sent again without it", omitted)
        if kind == "customer":
            fix = f"The customer {value} is not in QuickBooks (deleted or merged?): push it again or link it"
            set_sync_state(ctx.conn, self.table, row_id, SyncState.WAITING, message=status.message,
                           quickbooks_code=3140, fix=fix)  # fmt: skip
            return JobResult.fail(
                Outcome.WAIT_FOR_DEPENDENCY, f"QuickBooks 3140: {status.message} {fix}", 3140
            )
        return super().refused(ctx, row, status)

    def _deleted(
        self, ctx: PushContext, row: Mapping[str, Any], status: ResponseStatus, params: dict[str, Any]
    ) -> JobResult:
        """3120/3000 on a Mod: the order is gone from QuickBooks; added again if the tenant allows."""
        row_id = int(row["id"])
        if ctx.settings.readd_deleted:
            ctx.conn.execute(
                text("""
                    UPDATE sales_orders SET qb_txn_id = NULL, edit_sequence = NULL, line_ids = NULL,
                           qb_txn_type = NULL, deleted_at = NULL WHERE id = :id
                """),
                {"id": row_id},
            )
            ctx.conn.execute(text("DELETE FROM sales_order_lines WHERE sales_order_id = :id"), {"id": row_id})
            return self.again_as_write("deleted in QuickBooks: added again", params)
        fix = "It was deleted in QuickBooks; re-adding is off (`qbwc-server tenant set NAME --readd-deleted`)"
        set_sync_state(ctx.conn, self.table, row_id, SyncState.FAILED, message=status.message or "deleted",
                       quickbooks_code=status.code, fix=fix)  # fmt: skip
        return JobResult.fail(
            Outcome.NEEDS_ADMIN, f"QuickBooks {status.code}: {status.message}. {fix}", status.code
        )


def _version(ctx: PushContext) -> QbxmlVersion:
    assert ctx.version is not None  # set whenever a request is built
    return ctx.version


def _rets_of(rs: etree._Element, txn_type: str) -> list[SalesOrder]:
    parse = parse_estimate_ret if txn_type == ESTIMATE else parse_sales_order_ret
    return [parse(ret) for ret in rs.iterfind(f"{txn_type}Ret")]


def _customer_list_id(ctx: PushContext, row: Mapping[str, Any]) -> str | None:
    return customer_of(ctx, row.get("commerce_body") or {})[0]


def _remember_no_sales_orders(ctx: PushContext) -> None:
    """After 3250, later orders decide before sending (the next session's preferences rewrite it)."""
    ctx.conn.execute(
        text("""
            UPDATE tenants SET company_preferences = coalesce(company_preferences, '{}'::jsonb)
                   || '{"sales_orders": false}'::jsonb
            WHERE id = :t
        """),
        {"t": ctx.tenant_id},
    )


def _omitted(ctx: PushContext) -> str | None:
    omit = (ctx.job.params or {}).get("omit")
    return f"sent without {', '.join(omit)}: QuickBooks has no such entry" if omit else None


def _clean(ctx: PushContext) -> dict[str, Any]:
    """The job's parameters once done: nothing of its recoveries (a finished job is not woken)."""
    transient = ("looking_up", "reread", "missing_item", "omit")
    return {k: v for k, v in (ctx.job.params or {}).items() if k not in transient}
