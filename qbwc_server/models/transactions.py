"""The mirror of QuickBooks' transactions: sales orders, invoices and received payments, each
with its lines (replaced whole whenever QuickBooks' EditSequence changes).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY, ForeignKey, Index, Numeric, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from qbwc_server.models.base import Base
from qbwc_server.models.mirror import (
    MirroredRecord,
    PushedRecord,
    TenantRow,
    money,
    quantity,
    record_constraints,
)


class TxnRecord(MirroredRecord):
    qb_txn_id: Mapped[str | None]
    txn_number: Mapped[int | None]
    customer_list_id: Mapped[str | None]
    customer_name: Mapped[str | None]
    txn_date: Mapped[dt.date | None]
    ref_number: Mapped[str | None]
    memo: Mapped[str | None]
    external_guid: Mapped[str | None]


class SalesDocument(TxnRecord):
    """What sales orders and invoices share: addresses, terms, rep, shipping, totals."""

    class_name: Mapped[str | None]
    bill_address: Mapped[dict[str, Any] | None]
    ship_address: Mapped[dict[str, Any] | None]
    po_number: Mapped[str | None]
    terms_name: Mapped[str | None]
    due_date: Mapped[dt.date | None]
    sales_rep_code: Mapped[str | None]
    fob: Mapped[str | None]
    ship_date: Mapped[dt.date | None]
    ship_method: Mapped[str | None]
    subtotal: Mapped[Decimal | None] = mapped_column(money)
    sales_tax_total: Mapped[Decimal | None] = mapped_column(money)
    other: Mapped[str | None]


class SalesOrder(SalesDocument, PushedRecord, Base):
    __tablename__ = "sales_orders"

    #: What a pushed order became in QuickBooks: "SalesOrder", or "Estimate" where the edition has
    #: no sales orders and the tenant asked for estimates; NULL for one pulled from QuickBooks.
    qb_txn_type: Mapped[str | None]
    #: The commerce side's line ids -> QuickBooks' TxnLineIDs, so a SalesOrderMod keeps each line.
    line_ids: Mapped[dict[str, Any] | None]

    total_amount: Mapped[Decimal | None] = mapped_column(money)
    is_manually_closed: Mapped[bool | None]
    is_fully_invoiced: Mapped[bool | None]

    __table_args__ = record_constraints("sales_orders", "qb_txn_id")


class Invoice(SalesDocument, Base):
    """An invoice linked to a mirrored sales order: shipment details and payment status."""

    __tablename__ = "invoices"

    is_pending: Mapped[bool | None]
    applied_amount: Mapped[Decimal | None] = mapped_column(money)
    balance_remaining: Mapped[Decimal | None] = mapped_column(money)
    is_paid: Mapped[bool | None]
    tracking_number: Mapped[str | None]
    #: TxnIDs of the sales orders it was made from (LinkedTxn).
    sales_order_txn_ids: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))

    __table_args__ = (
        *record_constraints("invoices", "qb_txn_id"),
        Index("ix_invoices_sales_order_txn_ids", "sales_order_txn_ids", postgresql_using="gin"),
    )


class Payment(TxnRecord, PushedRecord, Base):
    """A received payment and (in `payment_applications`) the invoices it pays."""

    __tablename__ = "payments"

    total_amount: Mapped[Decimal | None] = mapped_column(money)
    payment_method: Mapped[str | None]
    deposit_to_account: Mapped[str | None]
    unused_payment: Mapped[Decimal | None] = mapped_column(money)
    unused_credits: Mapped[Decimal | None] = mapped_column(money)

    __table_args__ = record_constraints("payments", "qb_txn_id")


class TxnLine(TenantRow):
    position: Mapped[int]
    qb_txn_line_id: Mapped[str | None]
    item_list_id: Mapped[str | None]
    item_name: Mapped[str | None]
    description: Mapped[str | None]
    quantity: Mapped[Decimal | None] = mapped_column(quantity)
    unit_of_measure: Mapped[str | None]
    rate: Mapped[Decimal | None] = mapped_column(Numeric(18, 5))
    amount: Mapped[Decimal | None] = mapped_column(money)
    class_name: Mapped[str | None]
    sales_tax_code_name: Mapped[str | None]
    other1: Mapped[str | None]
    other2: Mapped[str | None]


class SalesOrderLine(TxnLine, Base):
    __tablename__ = "sales_order_lines"

    sales_order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id", ondelete="CASCADE"), index=True)
    invoiced: Mapped[Decimal | None] = mapped_column(quantity)
    is_manually_closed: Mapped[bool | None]


class InvoiceLine(TxnLine, Base):
    __tablename__ = "invoice_lines"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)


class PaymentApplication(TenantRow, Base):
    """How much of a payment went to one transaction (usually an invoice)."""

    __tablename__ = "payment_applications"

    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    txn_id: Mapped[str]
    txn_type: Mapped[str]
    txn_date: Mapped[dt.date | None]
    ref_number: Mapped[str | None]
    amount: Mapped[Decimal | None] = mapped_column(money)
    discount_amount: Mapped[Decimal | None] = mapped_column(money)
    balance_remaining: Mapped[Decimal | None] = mapped_column(money)
