"""Customer payments as qbXML carries them (ReceivePaymentQueryRq / ReceivePaymentRet);
knows no database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.fields import (
    CustomField,
    Ref,
    children_of,
    date_of,
    decimal_of,
    ref_of,
    required,
    text_of,
)
from qbwc_server.qbxml.query import TxnQuery, write_txn_query_rq
from qbwc_server.qbxml.records import txn_head_of
from qbwc_server.qbxml.registry import registered, txn_query_examples

RET_TAG = "ReceivePaymentRet"
RS_TAG = "ReceivePaymentQueryRs"


@dataclass(frozen=True, slots=True)
class AppliedToTxn:
    """Part of a payment applied to one transaction (usually an invoice)."""

    txn_id: str
    txn_type: str
    txn_date: dt.date | None
    ref_number: str | None
    #: The invoice's balance after this payment.
    balance_remaining: Decimal | None
    amount: Decimal | None
    discount_amount: Decimal | None

    @classmethod
    def from_element(cls, element: etree._Element) -> AppliedToTxn:
        node = children_of(element)
        return cls(
            txn_id=required(text_of(node, "TxnID"), node, "TxnID"),
            txn_type=text_of(node, "TxnType") or "",
            txn_date=date_of(node, "TxnDate"),
            ref_number=text_of(node, "RefNumber"),
            balance_remaining=decimal_of(node, "BalanceRemaining"),
            amount=decimal_of(node, "Amount"),
            discount_amount=decimal_of(node, "DiscountAmount"),
        )


@dataclass(frozen=True, slots=True)
class ReceivePayment:
    txn_id: str
    time_created: dt.datetime
    time_modified: dt.datetime
    edit_sequence: str
    txn_number: int | None
    customer: Ref
    ar_account: Ref | None
    txn_date: dt.date
    ref_number: str | None
    total_amount: Decimal | None
    payment_method: Ref | None
    memo: str | None
    deposit_to_account: Ref | None
    unused_payment: Decimal | None
    unused_credits: Decimal | None
    external_guid: str | None
    applied: tuple[AppliedToTxn, ...]
    custom_fields: tuple[CustomField, ...]

    @classmethod
    def from_element(cls, element: etree._Element) -> ReceivePayment:
        # The schema marks every element of ReceivePaymentRet optional; QuickBooks Desktop always
        # sends those txn_head_of requires, and a payment without them could not be mirrored anyway.
        node = children_of(element)
        return cls(
            **txn_head_of(node),
            ar_account=ref_of(node, "ARAccountRef"),
            total_amount=decimal_of(node, "TotalAmount"),
            payment_method=ref_of(node, "PaymentMethodRef"),
            deposit_to_account=ref_of(node, "DepositToAccountRef"),
            unused_payment=decimal_of(node, "UnusedPayment"),
            unused_credits=decimal_of(node, "UnusedCredits"),
            applied=tuple(AppliedToTxn.from_element(e) for e in element.iterfind("AppliedToTxnRet")),
        )


def parse_receive_payment_ret(element: etree._Element) -> ReceivePayment:
    """A `ReceivePaymentRet` as a `ReceivePayment` with what it was applied to."""
    return ReceivePayment.from_element(element)


@registered("ReceivePaymentQueryRq", txn_query_examples(linked_txns=False))
def build_receive_payment_query_rq(query: TxnQuery, version: QbxmlVersion) -> str:
    """`ReceivePaymentQueryRq` for `query` (1.1+). The request has no IncludeLinkedTxns: asking
    for linked transactions is a BuildError; applications come as AppliedToTxnRet anyway.
    """
    return write_txn_query_rq(
        "ReceivePaymentQueryRq", query, version, since=QbxmlVersion(1, 1), linked_txns_since=None
    )
