"""Adding the list entries our defaults need: ClassAdd, StandardTermsAdd, CustomerTypeAdd.

A default ("Wizcommerce", "Net 30", "Wholesale") that the company lacks is created once, after a
look-up by FullName (the queries of classes.py, terms.py, customer_types.py). A name with ":" is
a sub-entry: its parent goes as ParentRef (it must exist). Terms are standard terms: "Net N"
(any case, e.g. "net 45") is due in N days; any other name is due in 30 days, QuickBooks' own
default for new terms — the admin can change them in QuickBooks afterwards. Knows no database.
"""

from __future__ import annotations

import re

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.fields import Ref
from qbwc_server.qbxml.registry import LATEST, example, registered
from qbwc_server.qbxml.write import write_field, write_ref, write_request

_NET_DAYS = re.compile(r"\s*net\s*(\d{1,3})\s*", re.IGNORECASE)
#: Due days of standard terms whose name does not say "Net N".
DEFAULT_DUE_DAYS = 30
_VERSIONS = (LATEST, QbxmlVersion(12, 0), QbxmlVersion(8, 0), QbxmlVersion(6, 0))


def due_days(terms_name: str) -> int:
    """N for "Net N", else 30."""
    found = _NET_DAYS.fullmatch(terms_name)
    return int(found.group(1)) if found else DEFAULT_DUE_DAYS


def _name_and_parent(full_name: str) -> tuple[str, Ref | None]:
    parent, _, name = full_name.rpartition(":")
    return name, (Ref(None, parent) if parent else None)


def _nested_add(tag: str, full_name: str, version: QbxmlVersion, request_id: str | None) -> str:
    name, parent = _name_and_parent(full_name)
    body = [
        write_field(f"{tag}/Name", name, version, non_cp1252="refuse"),
        write_field(f"{tag}/IsActive", True, version),
        write_ref(f"{tag}/ParentRef", parent, version),
    ]
    return write_request(f"{tag}Rq", body, version, request_id=request_id)


@registered(
    "ClassAddRq",
    [
        example("top_level", "Wizcommerce", versions=_VERSIONS, request_id="40"),
        example("nested", "Channels:Wizcommerce & Co", versions=_VERSIONS),
    ],
)
def build_class_add_rq(full_name: str, version: QbxmlVersion, request_id: str | None = None) -> str:
    return _nested_add("ClassAdd", full_name, version, request_id)


@registered(
    "CustomerTypeAddRq",
    [
        example("top_level", "Wholesale", versions=_VERSIONS, request_id="41"),
        example("nested", "Wholesale:Regional", versions=_VERSIONS),
    ],
)
def build_customer_type_add_rq(full_name: str, version: QbxmlVersion, request_id: str | None = None) -> str:
    return _nested_add("CustomerTypeAdd", full_name, version, request_id)


@registered(
    "StandardTermsAddRq",
    [
        example("net_n", "Net 45", versions=_VERSIONS, request_id="42"),
        example("other_name", "Due on receipt", versions=_VERSIONS),
    ],
)
def build_standard_terms_add_rq(name: str, version: QbxmlVersion, request_id: str | None = None) -> str:
    """StandardTermsAdd: due in N days for "Net N", else in 30 (see the module's docstring)."""
    body = [
        write_field("StandardTermsAdd/Name", name, version, non_cp1252="refuse"),
        write_field("StandardTermsAdd/IsActive", True, version),
        write_field("StandardTermsAdd/StdDueDays", due_days(name), version),
    ]
    return write_request("StandardTermsAddRq", body, version, request_id=request_id)
