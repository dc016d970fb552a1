"""What sales orders and invoices share on their way into the mirror: header columns and lines."""

from __future__ import annotations

from typing import Any

from qbwc_server.qbxml.invoices import Invoice, InvoiceLine
from qbwc_server.qbxml.sales_orders import SalesOrder, SalesOrderLine
from qbwc_server.sync.upsert import address_json, custom_fields_json, ref_id, ref_name


def document_row(doc: SalesOrder | Invoice) -> dict[str, Any]:
    return {
        "qb_txn_id": doc.txn_id,
        "edit_sequence": doc.edit_sequence,
        "qb_time_created": doc.time_created,
        "qb_time_modified": doc.time_modified,
        "txn_number": doc.txn_number,
        "customer_list_id": ref_id(doc.customer),
        "customer_name": ref_name(doc.customer),
        "class_name": ref_name(doc.class_ref),
        "txn_date": doc.txn_date,
        "ref_number": doc.ref_number,
        "bill_address": address_json(doc.bill_address),
        "ship_address": address_json(doc.ship_address),
        "po_number": doc.po_number,
        "terms_name": ref_name(doc.terms),
        "due_date": doc.due_date,
        "sales_rep_code": ref_name(doc.sales_rep),
        "fob": doc.fob,
        "ship_date": doc.ship_date,
        "ship_method": ref_name(doc.ship_method),
        "subtotal": doc.subtotal,
        "sales_tax_total": doc.sales_tax_total,
        "memo": doc.memo,
        "other": doc.other,
        "external_guid": doc.external_guid,
        "custom_fields": custom_fields_json(doc.custom_fields),
    }


def line_row(line: SalesOrderLine | InvoiceLine) -> dict[str, Any]:
    return {
        "qb_txn_line_id": line.txn_line_id,
        "item_list_id": ref_id(line.item),
        "item_name": ref_name(line.item),
        "description": line.desc,
        "quantity": line.quantity,
        "unit_of_measure": line.unit_of_measure,
        "rate": line.rate,
        "amount": line.amount,
        "class_name": ref_name(line.class_ref),
        "sales_tax_code_name": ref_name(line.sales_tax_code),
        "other1": line.other1,
        "other2": line.other2,
    }
