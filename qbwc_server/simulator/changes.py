"""Answering Add and Mod requests against a simulated company with QuickBooks' rules and status codes.
Knows which request goes to which handler (list_changes.py, txn_changes.py); the checks are
change_checks.py's, reading the body change_fields.py's, the records' side effects company.py's.

Checks run in this order: text QuickBooks cannot store becomes "?" (it keeps Windows-1252 only),
3070 too long, 3000 malformed ID, 3120 unknown object, 3200 stale EditSequence, 3100 name in
use, 3140 invalid reference. Messages follow QuickBooks' wording as seen in public code and logs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lxml import etree

from qbwc_server.simulator.change_checks import check_lengths, store_as_windows_1252
from qbwc_server.simulator.company import Company
from qbwc_server.simulator.list_changes import (
    CLASS_FIELDS,
    CUSTOMER_FIELDS,
    CUSTOMER_TYPE_FIELDS,
    ITEM_FIELDS,
    STANDARD_TERMS_FIELDS,
    list_add,
    list_mod,
)
from qbwc_server.simulator.payment_changes import add_payment
from qbwc_server.simulator.records import Class, Customer, CustomerType, ItemInventory, StandardTerms
from qbwc_server.simulator.txn_changes import (
    add_estimate,
    add_invoice,
    add_sales_order,
    mod_estimate,
    mod_sales_order,
)

#: Applies one Add/Mod body to the company and returns the record to send back.
Handler = Callable[[Company, etree._Element], Any]


def answer_change(company: Company, request: etree._Element) -> Any:
    """Apply one Add/Mod request and return the record to send back; raises StatusError."""
    kind, operation = re.fullmatch(r"(\w+?)(Add|Mod)Rq", request.tag).groups()  # type: ignore[union-attr]
    body = request.find(kind + operation)
    assert body is not None  # the XSD requires it
    store_as_windows_1252(body)
    check_lengths(body, kind)
    handler = _HANDLERS[(kind, operation)]
    return handler(company, body)


_HANDLERS: dict[tuple[str, str], Handler] = {
    ("Customer", "Add"): list_add("customers", CUSTOMER_FIELDS, Customer),
    ("Customer", "Mod"): list_mod("customers", CUSTOMER_FIELDS),
    ("ItemInventory", "Add"): list_add("items", ITEM_FIELDS, ItemInventory),
    ("ItemInventory", "Mod"): list_mod("items", ITEM_FIELDS),
    ("Class", "Add"): list_add("classes", CLASS_FIELDS, Class),
    ("StandardTerms", "Add"): list_add("terms", STANDARD_TERMS_FIELDS, StandardTerms),
    ("CustomerType", "Add"): list_add("customer_types", CUSTOMER_TYPE_FIELDS, CustomerType),
    ("SalesOrder", "Add"): add_sales_order,
    ("SalesOrder", "Mod"): mod_sales_order,
    ("Estimate", "Add"): add_estimate,
    ("Estimate", "Mod"): mod_estimate,
    ("Invoice", "Add"): add_invoice,
    ("ReceivePayment", "Add"): add_payment,
}
CHANGES = frozenset(f"{kind}{operation}Rq" for kind, operation in _HANDLERS)
