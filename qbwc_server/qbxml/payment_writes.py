"""Writing the commerce side's payments into QuickBooks (ReceivePaymentAdd), and the query that
finds one after a lost answer. Knows qbXML and no database.

ReceivePaymentAdd must say how the money is applied, and says it once: `IsAutoApply` true (the
customer's oldest open invoices, QuickBooks' choice), explicit `AppliedToTxnAdd` amounts (a
given order's invoices), or `IsAutoApply` false — the whole amount stays unapplied, a credit on
the customer. Asking for both is a BuildError, as the schema's choice says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.fields import Ref
from qbwc_server.qbxml.order_writes import external_guid
from qbwc_server.qbxml.payments import build_receive_payment_query_rq
from qbwc_server.qbxml.query import TxnQuery
from qbwc_server.qbxml.registry import example, registered
from qbwc_server.qbxml.write import BuildError, write_aggregate, write_field, write_ref, write_request

#: How many of a customer's payments on one day the look-up reads (it matches them itself).
LOOKUP_MAX = 100


@dataclass(frozen=True, slots=True)
class AppliedAmount:
    """Part of a payment applied to one open transaction (an invoice)."""

    txn_id: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PaymentFields:
    """What a payment sends; None leaves an element out."""

    customer_list_id: str
    total_amount: Decimal
    txn_date: dt.date | None = None
    ref_number: str | None = None
    payment_method: str | None = None
    memo: str | None = None
    external_guid: str | None = None
    #: Explicit applications; with none and no `auto_apply`, the payment is a credit.
    applied: tuple[AppliedAmount, ...] = ()
    auto_apply: bool = False


_CUSTOMER = "80000001-1385061234"
_PAYMENT = PaymentFields(
    customer_list_id=_CUSTOMER,
    total_amount=Decimal("37.50"),
    txn_date=dt.date(2026, 11, 29),
    ref_number="WIZPAY-8812",
    payment_method="Credit Card",
    memo="Paid on WizCommerce \N{EN DASH} order WC10042",
    external_guid=external_guid(1, "payments", "p-9"),
)


@registered("ReceivePaymentAddRq", [
    example("unapplied_credit", _PAYMENT, request_id="44"),
    example("auto_applied", PaymentFields(_CUSTOMER, Decimal("10"), auto_apply=True)),
    example("applied_to_invoices", PaymentFields(
        _CUSTOMER, Decimal("100"), ref_number="R-1",
        applied=(
            AppliedAmount("1A2B-1772900000", Decimal("60")), AppliedAmount("1A2C-1772900001", Decimal("40")),
        ),
    ), versions=(QbxmlVersion(13, 0), QbxmlVersion(8, 0), QbxmlVersion(2, 0))),
    example("old_version_no_guid", _PAYMENT, versions=(QbxmlVersion(8, 0), QbxmlVersion(1, 1))),
])  # fmt: skip
def build_receive_payment_add_rq(
    payment: PaymentFields, version: QbxmlVersion, *, request_id: str | None = None
) -> str:
    """`ReceivePaymentAddRq` in schema order: CustomerRef, TxnDate, RefNumber, TotalAmount,
    PaymentMethodRef, Memo, ExternalGUID (9.0+), then IsAutoApply or AppliedToTxnAdd."""
    if payment.auto_apply and payment.applied:
        raise BuildError(
            "ReceivePaymentAdd: IsAutoApply or AppliedToTxnAdd, never both",
            field="ReceivePaymentAdd/IsAutoApply",
            limit="one choice",
        )
    body = "ReceivePaymentAdd"
    guid = payment.external_guid if version >= QbxmlVersion(9, 0) else None  # see order_writes
    parts = [
        write_ref(f"{body}/CustomerRef", Ref(payment.customer_list_id, None), version),
        write_field(f"{body}/TxnDate", payment.txn_date, version),
        # The reference identifies the payment (the look-up matches it): never changed to fit.
        write_field(f"{body}/RefNumber", payment.ref_number, version, non_cp1252="refuse"),
        write_field(f"{body}/TotalAmount", payment.total_amount, version),
        write_ref(f"{body}/PaymentMethodRef", _named(payment.payment_method), version),
        write_field(f"{body}/Memo", payment.memo, version),
        write_field(f"{body}/ExternalGUID", guid, version),
    ]
    if payment.applied:
        applied = f"{body}/AppliedToTxnAdd"
        parts += [
            write_aggregate(applied, [
                write_field(f"{applied}/TxnID", part.txn_id, version),
                write_field(f"{applied}/PaymentAmount", part.amount, version),
            ], version)
            for part in payment.applied
        ]  # fmt: skip
    else:
        parts.append(write_field(f"{body}/IsAutoApply", payment.auto_apply, version))
    return write_request(f"{body}Rq", parts, version, request_id=request_id)


def _named(name: str | None) -> Ref | None:
    return Ref(None, name) if name else None


def build_payment_lookup(
    customer_list_id: str,
    dates: tuple[dt.date, dt.date],
    version: QbxmlVersion,
    *,
    request_id: str | None = None,
) -> str:
    """The customer's payments dated within `dates` (EntityFilter + TxnDateRangeFilter): the
    schema allows no RefNumber beside those filters, so the caller matches RefNumber and amount.
    """
    query = TxnQuery(
        max_returned=LOOKUP_MAX,
        txn_date_from=dates[0],
        txn_date_to=dates[1],
        entity_list_ids=(customer_list_id,),
        request_id=request_id,
    )
    return build_receive_payment_query_rq(query, version)
