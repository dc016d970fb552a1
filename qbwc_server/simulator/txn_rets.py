"""Each transaction's qbXML `*Ret`: its fields in the XSD's order and how it is written, with its
lines and linked transactions when the query asks. The field lists also tell the Add and Mod
handlers which elements a request may carry.
"""

from __future__ import annotations

from lxml import etree

from qbwc_server.simulator.records import Estimate, Invoice, LinkedTxn, ReceivePayment, SalesOrder
from qbwc_server.simulator.ret_format import Spec, write_fields

_SubElement = etree.SubElement

_TXN_HEAD: Spec = (
    ("TxnID", "txn_id", "str"),
    ("TimeCreated", "time_created", "dt"),
    ("TimeModified", "time_modified", "dt"),
    ("EditSequence", "edit_sequence", "str"),
    ("TxnNumber", "txn_number", "int"),
    ("CustomerRef", "customer_ref", "ref"),
)
_SALES_FORM_ADDRESSES: Spec = (
    ("BillAddress", "bill_address", "addr"),
    ("ShipAddress", "ship_address", "addr"),
)
_TERMS_AND_REP: Spec = (
    ("PONumber", "po_number", "str"),
    ("TermsRef", "terms_ref", "ref"),
    ("DueDate", "due_date", "date"),
    ("SalesRepRef", "sales_rep_ref", "ref"),
    ("FOB", "fob", "str"),
)
_TAX_TOTALS: Spec = (
    ("Subtotal", "subtotal", "amt"),
    ("ItemSalesTaxRef", "item_sales_tax_ref", "ref"),
    ("SalesTaxPercentage", "sales_tax_percentage", "pct"),
    ("SalesTaxTotal", "sales_tax_total", "amt"),
)
_SALES_FORM_TERMS: Spec = (
    *_TERMS_AND_REP,
    ("ShipDate", "ship_date", "date"),
    ("ShipMethodRef", "ship_method_ref", "ref"),
    *_TAX_TOTALS,
)
SALES_ORDER: Spec = (
    *_TXN_HEAD,
    ("ClassRef", "class_ref", "ref"),
    ("TxnDate", "txn_date", "date"),
    ("RefNumber", "ref_number", "str"),
    *_SALES_FORM_ADDRESSES,
    *_SALES_FORM_TERMS,
    ("TotalAmount", "total_amount", "amt"),
    ("IsManuallyClosed", "is_manually_closed", "bool"),
    ("IsFullyInvoiced", "is_fully_invoiced", "bool"),
    ("Memo", "memo", "str"),
    ("CustomerSalesTaxCodeRef", "customer_sales_tax_code_ref", "ref"),
    ("Other", "other", "str"),
    ("ExternalGUID", "external_guid", "str"),
)
SALES_ORDER_LINE: Spec = (
    ("TxnLineID", "txn_line_id", "str"),
    ("ItemRef", "item_ref", "ref"),
    ("Desc", "desc", "str"),
    ("Quantity", "quantity", "qty"),
    ("Rate", "rate", "amt"),
    ("ClassRef", "class_ref", "ref"),
    ("Amount", "amount", "amt"),
    ("SalesTaxCodeRef", "sales_tax_code_ref", "ref"),
    ("Invoiced", "invoiced", "qty"),
    ("IsManuallyClosed", "is_manually_closed", "bool"),
    ("Other1", "other1", "str"),
    ("Other2", "other2", "str"),
)
#: EstimateRet: a sales order's header without shipping or invoicing state, with IsActive.
ESTIMATE: Spec = (
    *_TXN_HEAD,
    ("ClassRef", "class_ref", "ref"),
    ("TxnDate", "txn_date", "date"),
    ("RefNumber", "ref_number", "str"),
    *_SALES_FORM_ADDRESSES,
    ("IsActive", "is_active", "bool"),
    *_TERMS_AND_REP,
    *_TAX_TOTALS,
    ("TotalAmount", "total_amount", "amt"),
    ("Memo", "memo", "str"),
    ("CustomerSalesTaxCodeRef", "customer_sales_tax_code_ref", "ref"),
    ("Other", "other", "str"),
    ("ExternalGUID", "external_guid", "str"),
)
ESTIMATE_LINE: Spec = (
    ("TxnLineID", "txn_line_id", "str"),
    ("ItemRef", "item_ref", "ref"),
    ("Desc", "desc", "str"),
    ("Quantity", "quantity", "qty"),
    ("Rate", "rate", "amt"),
    ("ClassRef", "class_ref", "ref"),
    ("Amount", "amount", "amt"),
    ("SalesTaxCodeRef", "sales_tax_code_ref", "ref"),
    ("Other1", "other1", "str"),
    ("Other2", "other2", "str"),
)
INVOICE: Spec = (
    *_TXN_HEAD,
    ("ClassRef", "class_ref", "ref"),
    ("ARAccountRef", "ar_account_ref", "ref"),
    ("TxnDate", "txn_date", "date"),
    ("RefNumber", "ref_number", "str"),
    *_SALES_FORM_ADDRESSES,
    ("IsPending", "is_pending", "bool"),
    *_SALES_FORM_TERMS,
    ("AppliedAmount", "applied_amount", "amt"),
    ("BalanceRemaining", "balance_remaining", "amt"),
    ("Memo", "memo", "str"),
    ("IsPaid", "is_paid", "bool"),
    ("CustomerSalesTaxCodeRef", "customer_sales_tax_code_ref", "ref"),
    ("Other", "other", "str"),
    ("ExternalGUID", "external_guid", "str"),
)
INVOICE_LINE: Spec = (
    ("TxnLineID", "txn_line_id", "str"),
    ("ItemRef", "item_ref", "ref"),
    ("Desc", "desc", "str"),
    ("Quantity", "quantity", "qty"),
    ("Rate", "rate", "amt"),
    ("ClassRef", "class_ref", "ref"),
    ("Amount", "amount", "amt"),
    ("ServiceDate", "service_date", "date"),
    ("SalesTaxCodeRef", "sales_tax_code_ref", "ref"),
    ("Other1", "other1", "str"),
    ("Other2", "other2", "str"),
)
RECEIVE_PAYMENT: Spec = (
    *_TXN_HEAD,
    ("ARAccountRef", "ar_account_ref", "ref"),
    ("TxnDate", "txn_date", "date"),
    ("RefNumber", "ref_number", "str"),
    ("TotalAmount", "total_amount", "amt"),
    ("PaymentMethodRef", "payment_method_ref", "ref"),
    ("Memo", "memo", "str"),
    ("DepositToAccountRef", "deposit_to_account_ref", "ref"),
    ("UnusedPayment", "unused_payment", "amt"),
    ("UnusedCredits", "unused_credits", "amt"),
    ("ExternalGUID", "external_guid", "str"),
)
APPLIED_TO_TXN: Spec = (
    ("TxnID", "txn_id", "str"),
    ("TxnType", "txn_type", "str"),
    ("TxnDate", "txn_date", "date"),
    ("RefNumber", "ref_number", "str"),
    ("BalanceRemaining", "balance_remaining", "amt"),
    ("Amount", "amount", "amt"),
)
LINKED_TXN: Spec = (
    ("TxnID", "txn_id", "str"),
    ("TxnType", "txn_type", "str"),
    ("TxnDate", "txn_date", "date"),
    ("RefNumber", "ref_number", "str"),
    ("LinkType", "link_type", "str"),
    ("Amount", "amount", "amt"),
)


#: Each sales form's Ret tag, its fields, and its lines' tag and fields.
_SALES_FORMS: dict[type, tuple[str, Spec, str, Spec]] = {
    SalesOrder: ("SalesOrderRet", SALES_ORDER, "SalesOrderLineRet", SALES_ORDER_LINE),
    Estimate: ("EstimateRet", ESTIMATE, "EstimateLineRet", ESTIMATE_LINE),
    Invoice: ("InvoiceRet", INVOICE, "InvoiceLineRet", INVOICE_LINE),
}


def render_txn(
    parent: etree._Element,
    record: SalesOrder | Estimate | Invoice | ReceivePayment,
    *,
    line_items: bool = False,
    linked_txns: bool = False,
) -> etree._Element:
    """Append a transaction's `*Ret` to `parent` and return it."""
    if isinstance(record, SalesOrder | Estimate | Invoice):
        tag, spec, line_tag, line_spec = _SALES_FORMS[type(record)]
        element = write_fields(_SubElement(parent, tag), record, spec)
        if linked_txns:
            _links(element, record.linked_txns)
        if line_items:
            for sales_line in record.lines:
                write_fields(_SubElement(element, line_tag), sales_line, line_spec)
    else:
        element = write_fields(_SubElement(parent, "ReceivePaymentRet"), record, RECEIVE_PAYMENT)
        if line_items:
            for applied in record.applied:
                write_fields(_SubElement(element, "AppliedToTxnRet"), applied, APPLIED_TO_TXN)
    return element


def _links(element: etree._Element, links: list[LinkedTxn]) -> None:
    for link in links:
        write_fields(_SubElement(element, "LinkedTxn"), link, LINKED_TXN)
