"""The checks QuickBooks makes on an Add or Mod before it changes anything, with its status codes and
wording: 3070 too long, 3000 malformed ID, 3120 unknown object, 3200 stale EditSequence, 3100 name in use.
Also how text outside Windows-1252 is stored. Knows request elements, not what a request changes.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from qbwc_server.simulator.company import Company

_ID = re.compile(r"[0-9A-F]{1,8}-[0-9]{1,10}")

#: Max lengths for QuickBooks Desktop (US), from qbxmlops130.xml; Name and RefNumber depend on the request.
MAX_LENGTHS = {
    **dict.fromkeys(("Addr1", "Addr2", "Addr3", "Addr4", "Addr5", "Note", "CompanyName", "JobTitle"), 41),
    **dict.fromkeys(("Contact", "AltContact"), 41),
    "City": 31,
    "State": 21,
    "PostalCode": 13,
    "Country": 31,
    "Salutation": 15,
    "FirstName": 25,
    "MiddleName": 5,
    "LastName": 25,
    "Phone": 21,
    "AltPhone": 21,
    "Fax": 21,
    "Email": 1023,
    "Cc": 1023,
    "ResaleNumber": 15,
    "AccountNumber": 99,
    "Notes": 4095,
    "Memo": 4095,
    "PONumber": 25,
    "FOB": 13,
    "Other": 29,
    "Other1": 29,
    "Other2": 29,
    "Desc": 4095,
    "SalesDesc": 4095,
    "PurchaseDesc": 4095,
    "ManufacturerPartNumber": 31,
    "JobDesc": 99,
}
_NAME_LENGTH = {"Customer": 41, "ItemInventory": 31, "Class": 31, "StandardTerms": 31, "CustomerType": 31}
_REF_NUMBER_LENGTH = {"SalesOrder": 11, "Estimate": 11, "Invoice": 11, "ReceivePayment": 20}


class StatusError(Exception):
    """A request QuickBooks refuses with a status code (severity Error)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def not_found(object_id: str) -> StatusError:
    """3120: the request names a record (or a line) the company does not have."""
    return StatusError(
        3120,
        f'Object "{object_id}" specified in the request cannot be found.  '
        "QuickBooks error message: Invalid argument.  The specified record does not exist in the list.",
    )


def store_as_windows_1252(body: etree._Element) -> None:
    # QuickBooks stores text in Windows-1252: anything outside it comes back as "?".
    for element in body.iter():
        if element.text and not element.text.isascii():
            element.text = element.text.encode("cp1252", "replace").decode("cp1252")


def check_lengths(body: etree._Element, kind: str) -> None:
    """3070 for the first text longer than QuickBooks stores; refs and links are checked elsewhere."""

    def walk(element: etree._Element) -> None:
        for child in element:
            if child.tag.endswith("Ref") or child.tag in ("LinkToTxn", "AppliedToTxnAdd"):
                continue
            if len(child):
                walk(child)
                continue
            limit = MAX_LENGTHS.get(child.tag)
            if child.tag == "Name":
                limit = 41 if element.tag == "ShipToAddress" else _NAME_LENGTH.get(kind)
            elif child.tag == "RefNumber":
                limit = _REF_NUMBER_LENGTH.get(kind)
            text = child.text or ""
            if limit is not None and len(text) > limit:
                # 3070: QuickBooks names the value and the field.
                raise StatusError(3070, f'The string "{text}" in the field "{child.tag}" is too long.')

    walk(body)


def check_id(object_id: str, field: str = "list id") -> str:
    """`object_id` if it looks like a ListID/TxnID, else 3000 (before any lookup, as QuickBooks does)."""
    if not _ID.fullmatch(object_id):
        raise StatusError(3000, f'The given object ID "{object_id}" in the field "{field}" is invalid.')
    return object_id


def check_unique_name(company: Company, collection: str, record: Any, other_than: str = "") -> None:
    """3100 when `record`'s full name belongs to another record of the list."""
    if company.name_taken(collection, record.ref_name(), other_than=other_than):
        # 3100: names are unique within a list (customers also against vendors, employees, other names).
        raise StatusError(3100, f'The name "{record.ref_name()}" of the list element is already in use.')


def mod_target(company: Company, body: etree._Element, collection: str, key: str = "ListID") -> Any:
    """The record a Mod names by `key`: 3000 or 3120 if there is none, 3200 if the sender's
    EditSequence is not the latest."""
    object_id = check_id(body.findtext(key) or "", "list id" if key == "ListID" else "txn id")
    record = getattr(company, collection).get(object_id)
    if record is None:
        raise not_found(object_id)
    sent = body.findtext("EditSequence") or ""
    if sent != record.edit_sequence:
        # 3200: someone changed the record since the sender read it.
        raise StatusError(3200, f'The provided edit sequence "{sent}" is out-of-date.')
    return record
