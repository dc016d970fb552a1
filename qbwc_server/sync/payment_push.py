"""Payments from the commerce side into QuickBooks (ReceivePaymentAdd), each exactly once.

A payment for an order is applied to that order's open invoices as the mirror knows them,
oldest first and never more than each balance — never `IsAutoApply`, which would pay whatever
the customer owes first. Until such an invoice is in the mirror the payment is not sent: its job
waits (Deferred) until the tenant's deadline, and an invoices pull that brings one for the order
wakes it sooner (sync/wakeups.py, by the job's `order_txn_id`). Past the deadline it goes
unapplied, a credit on the customer, and the row says so. A payment without an order is
auto-applied by QuickBooks. Payments are immutable once in QuickBooks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lxml import etree
from sqlalchemy import text

from qbwc_server.models import SyncState
from qbwc_server.qbxml.core import QbxmlVersion, ResponseStatus
from qbwc_server.qbxml.order_writes import external_guid
from qbwc_server.qbxml.payment_writes import (
    AppliedAmount,
    PaymentFields,
    build_payment_lookup,
    build_receive_payment_add_rq,
)
from qbwc_server.qbxml.payments import ReceivePayment, parse_receive_payment_ret
from qbwc_server.qbxml.write import BuildError
from qbwc_server.queue import JobResult, Outcome
from qbwc_server.queue.jobs import Action
from qbwc_server.sync.base import Deferred, NotSent
from qbwc_server.sync.order_fields import (
    OMITTABLE,
    customer_list_id,
    customer_of,
    date_of,
    decimal_of,
    hold_behind,
    lookup_failed,
    missing_reference,
)
from qbwc_server.sync.payments import apply_payments
from qbwc_server.sync.push import PushContext, PushHandler, set_sync_state


class PaymentPushHandler(PushHandler):
    kind = "payments.push"
    nouns = ("payment sent to QuickBooks", "payments sent to QuickBooks")
    table = "payments"
    batch_size = 50

    def build_write(self, ctx: PushContext, row: Mapping[str, Any]) -> str:
        row_id = int(row["id"])
        if row.get("qb_txn_id"):  # immutable once pushed: nothing to send
            raise NotSent(
                JobResult(Action.DONE, message="already in QuickBooks; a payment is never changed"),
                record=lambda conn: set_sync_state(conn, self.table, row_id, SyncState.SYNCED),
            )
        body = row.get("commerce_body") or {}
        customer = self._customer(ctx, row, body)
        params = ctx.job.params or {}
        applied: tuple[AppliedAmount, ...] = ()
        if body.get("order_id") and not params.get("unapplied"):
            applied = self._applications(ctx, row, body)
        omit = set(params.get("omit") or ())
        payment = PaymentFields(
            customer_list_id=customer,
            total_amount=decimal_of(body.get("amount")) or Decimal(0),
            txn_date=date_of(body.get("date")),
            ref_number=body.get("reference") or None,
            payment_method=None if "payment_method" in omit else body.get("method") or None,
            memo=body.get("memo") or None,
            external_guid=external_guid(ctx.tenant_id, "payments", str(row["commerce_id"])),
            applied=applied,
            auto_apply=not body.get("order_id"),
        )
        try:
            return build_receive_payment_add_rq(payment, _version(ctx), request_id=str(ctx.job.id))
        except BuildError as error:
            message = str(error)
            raise NotSent(
                JobResult.fail(Outcome.NEEDS_ADMIN, message),
                record=lambda conn: set_sync_state(
                    conn, self.table, row_id, SyncState.FAILED, message=message
                ),
            ) from error

    def apply_written(
        self, ctx: PushContext, row: Mapping[str, Any], rs: etree._Element, status: ResponseStatus
    ) -> JobResult:
        payments = [parse_receive_payment_ret(ret) for ret in rs.iterfind("ReceivePaymentRet")]
        if not payments:
            return JobResult(Action.UNCONFIRMED, message=f"{rs.tag} carried no record: looked up next")
        return self.land(ctx, row, payments[0])

    def refused(self, ctx: PushContext, row: Mapping[str, Any], status: ResponseStatus) -> JobResult:
        params = {k: v for k, v in (ctx.job.params or {}).items() if k != "looking_up"}
        body = row.get("commerce_body") or {}
        if status.code in (3210, 3120) and body.get("order_id") and not params.get("unapplied"):
            # More than an invoice's balance (3210), or an invoice paid meanwhile ("cannot be
            # found"): the mirror was behind QuickBooks. The money goes in as a credit, said so.
            reason = f"QuickBooks refused to apply it ({status.code}: {status.message})"
            return self.again_as_write(f"{reason}: sent unapplied", {**params, "unapplied": reason})
        if status.code == 3140:
            kind, value = missing_reference(status.message) or ("", "")
            omit = OMITTABLE.get(kind)
            if omit == "payment_method" and omit not in params.get("omit", ()):
                omitted = {**params, "omit": [*params.get("omit", ()), omit]}
                return self.again_as_write(
                    f"QuickBooks has no payment method {value!r}: sent without it", omitted
                )
        return super().refused(ctx, row, status)

    # -- look-up: by customer, date, RefNumber and amount (and ExternalGUID where returned) ----

    def build_lookup(self, ctx: PushContext, row: Mapping[str, Any]) -> str:
        body = row.get("commerce_body") or {}
        customer = customer_of(ctx, body)[0] or ""
        day = date_of(body.get("date"))
        # Without a date QuickBooks dated it on its own PC: a day either side of ours covers it.
        created = row["created_at"].date()
        dates = (
            (day, day) if day else (created - dt.timedelta(days=1), dt.date.today() + dt.timedelta(days=1))
        )
        return build_payment_lookup(customer, dates, _version(ctx), request_id=str(ctx.job.id))

    def apply_lookup(
        self, ctx: PushContext, row: Mapping[str, Any], rs: etree._Element, status: ResponseStatus
    ) -> JobResult:
        if status.is_error and status.code != 1:
            return lookup_failed(ctx, status)
        body = row.get("commerce_body") or {}
        ours = external_guid(ctx.tenant_id, "payments", str(row["commerce_id"])).upper()
        amount = decimal_of(body.get("amount"))
        found = [
            p
            for p in (parse_receive_payment_ret(ret) for ret in rs.iterfind("ReceivePaymentRet"))
            if (p.ref_number or None) == (body.get("reference") or None) and p.total_amount == amount
        ]
        by_guid = [p for p in found if (p.external_guid or "").upper() == ours]
        unmarked = sorted((p for p in found if not p.external_guid), key=lambda p: p.time_created)
        match = by_guid[:1] or unmarked[-1:]
        if not match:
            return self.again_as_write(
                "not in QuickBooks: the lost write did not happen; sent again", ctx.job.params
            )
        return self.land(ctx, row, match[0])

    # -- landing -----------------------------------------------------------------------------

    def land(self, ctx: PushContext, row: Mapping[str, Any], payment: ReceivePayment) -> JobResult:
        """The Ret into the mirror row (ids first: the pull's upsert leaves unsynced rows alone),
        then what became of the money, on the row when it is not what was asked."""
        row_id = int(row["id"])
        ctx.conn.execute(
            text("""
                DELETE FROM payments
                WHERE tenant_id = :t AND qb_txn_id = :x AND id <> :id AND commerce_id IS NULL
            """),
            {"t": ctx.tenant_id, "x": payment.txn_id, "id": row_id},
        )
        ctx.conn.execute(
            text("UPDATE payments SET qb_txn_id = :x, sync_state = 'synced' WHERE id = :id"),
            {"x": payment.txn_id, "id": row_id},
        )
        apply_payments(ctx.conn, ctx.tenant_id, [payment])
        result = self.synced(ctx, row_id)
        note = self._note(ctx, row, payment)
        if note is not None:
            state = ctx.conn.execute(
                text("SELECT sync_state FROM payments WHERE id = :id"), {"id": row_id}
            ).scalar()
            set_sync_state(ctx.conn, self.table, row_id, str(state), message=note)
        params = {k: v for k, v in (ctx.job.params or {}).items() if k not in ("looking_up", "omit")}
        return JobResult(Action.DONE, message=note, records=result.records, params=params)

    def _note(self, ctx: PushContext, row: Mapping[str, Any], payment: ReceivePayment) -> str | None:
        body = row.get("commerce_body") or {}
        if not body.get("order_id"):
            return None
        applied = sum((a.amount or Decimal(0) for a in payment.applied), Decimal(0))
        left = (payment.total_amount or Decimal(0)) - applied
        if not payment.applied:
            by = f"{_deadline(ctx, row):%Y-%m-%d %H:%M} UTC"
            reason = (ctx.job.params or {}).get("unapplied") or (
                f"no invoice for order {body['order_id']} was found by {by}"
            )
            return f"sent unapplied, as a credit: {reason}"
        if left > 0:
            return f"applied {applied} to the order's invoices; {left} left unapplied, as a credit"
        return None

    # -- decisions -----------------------------------------------------------------------------

    def _customer(self, ctx: PushContext, row: Mapping[str, Any], body: Mapping[str, Any]) -> str:
        return customer_list_id(ctx, self.table, row, body)

    def _applications(
        self, ctx: PushContext, row: Mapping[str, Any], body: Mapping[str, Any]
    ) -> tuple[AppliedAmount, ...]:
        """The order's open invoices, oldest first, each paid at most its balance; the rest of the
        money stays unapplied. With none in the mirror yet: wait (Deferred) until the deadline."""
        order = (
            ctx.conn.execute(
                text("SELECT id, qb_txn_id FROM sales_orders WHERE tenant_id = :t AND commerce_id = :o"),
                {"t": ctx.tenant_id, "o": body["order_id"]},
            )
            .mappings()
            .first()
        )
        row_id = int(row["id"])
        if order is None or not order["qb_txn_id"]:
            raise hold_behind(
                ctx, self.table, row_id, "orders.push", order["id"] if order else None,
                f"waiting for the order {body['order_id']} to be added to QuickBooks",
                f"Push the order {body['order_id']} again (PUT /orders)",
            )  # fmt: skip
        invoices = ctx.conn.execute(
            text("""
                SELECT qb_txn_id, balance_remaining FROM invoices
                WHERE tenant_id = :t AND :order = ANY(sales_order_txn_ids) AND balance_remaining > 0
                  AND deleted_at IS NULL AND qb_txn_id IS NOT NULL
                ORDER BY txn_date, txn_number, id
            """),
            {"t": ctx.tenant_id, "order": order["qb_txn_id"]},
        ).all()
        left = decimal_of(body.get("amount")) or Decimal(0)
        applied: list[AppliedAmount] = []
        for txn_id, balance in invoices:
            if left <= 0:
                break
            amount = min(left, balance)
            applied.append(AppliedAmount(txn_id, amount))
            left -= amount
        if applied:
            return tuple(applied)
        deadline = _deadline(ctx, row)
        if dt.datetime.now(dt.UTC) >= deadline:
            return ()  # unapplied, as a credit; the row says so once it is in
        message = (
            "waiting for the order's invoice to be pulled from QuickBooks; after"
            f" {deadline:%Y-%m-%d %H:%M} UTC it goes unapplied, as a credit"
        )
        raise Deferred(
            deadline,
            message,
            params={"order_txn_id": order["qb_txn_id"]},
            record=lambda conn: set_sync_state(conn, self.table, row_id, SyncState.WAITING, message=message),
        )


def _deadline(ctx: PushContext, row: Mapping[str, Any]) -> dt.datetime:
    """When a payment for an order stops waiting for the order's invoice."""
    start: dt.datetime = row.get("created_at") or dt.datetime.now(dt.UTC)
    return start.astimezone(dt.UTC) + dt.timedelta(hours=ctx.settings.payment_wait_hours)


def _version(ctx: PushContext) -> QbxmlVersion:
    assert ctx.version is not None  # set whenever a request is built
    return ctx.version
