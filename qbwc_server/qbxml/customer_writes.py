"""CustomerAddRq and CustomerModRq: what the commerce side sends of a customer, in schema order.

Only the fields set on `CustomerFields` are written: a Mod leaves everything else as QuickBooks
holds it (we never clear QuickBooks data by omission). Ship-to addresses go as `ShipToAddress`
(qbXML 12.0+, several, the default flagged); an older QuickBooks has one ship address per
customer, so there only the default one goes, as `ShipAddress` (the one flagged default, else
the first). ExternalGUID (8.0+) makes a lost Add recognisable in QuickBooks; below 8.0 it is left
out, and a look-up goes by Name alone.

Free text (company, contact names, addresses) is transliterated to Windows-1252 and, should that
make it longer than QuickBooks stores, cut: the API checked the lengths of what the client sent.
The Name, a ship-to's Name, list references, the email and the phone are never changed. Knows no
database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.fields import Address, Ref, ShipToAddress
from qbwc_server.qbxml.registry import LATEST, example, registered
from qbwc_server.qbxml.write import (
    write_address,
    write_field,
    write_ref,
    write_request,
    write_ship_to_address,
)

#: The namespace of our customers' ExternalGUIDs: fixed forever, so a customer always gets the
#: same GUID, whichever process builds its request.
_GUID_NAMESPACE = uuid.UUID("0f3b6a52-8d1e-5c47-9a2b-6e4d1c7f8a90")
SHIP_TO_SINCE = QbxmlVersion(12, 0)


def customer_guid(tenant_id: int, commerce_id: str) -> str:
    """The stable ExternalGUID of a commerce customer (uuid5 of tenant and id), in braces."""
    return "{" + str(uuid.uuid5(_GUID_NAMESPACE, f"{tenant_id}:{commerce_id}")) + "}"


@dataclass(frozen=True)
class CustomerFields:
    """What we send of a customer; None (or no ship-tos) means "not ours to set": not written."""

    name: str | None = None
    is_active: bool | None = None
    company_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    bill_address: Address | None = None
    ship_to_addresses: tuple[ShipToAddress, ...] = ()
    phone: str | None = None
    email: str | None = None
    #: FullNames of list entries (the rep by its initials).
    customer_type: str | None = None
    terms: str | None = None
    sales_rep: str | None = None
    sales_tax_code: str | None = None
    #: Add only (CustomerMod has no ExternalGUID).
    external_guid: str | None = None


def default_ship_to(ship_tos: tuple[ShipToAddress, ...]) -> ShipToAddress | None:
    """The ship-to flagged default, else the first (what an older QuickBooks gets as ShipAddress)."""
    return next((s for s in ship_tos if s.is_default), ship_tos[0] if ship_tos else None)


def _body(tag: str, customer: CustomerFields, version: QbxmlVersion) -> list[str]:
    """CustomerAdd / CustomerMod after ListID and EditSequence, in schema order."""

    def text(element: str, value: str | None) -> str:
        return write_field(f"{tag}/{element}", value, version, truncate=True)

    def ref(element: str, full_name: str | None) -> str:
        return write_ref(f"{tag}/{element}", Ref(None, full_name) if full_name else None, version)

    ship_to = ""
    if version >= SHIP_TO_SINCE:
        ship_to = "".join(
            write_ship_to_address(f"{tag}/ShipToAddress", s, version, truncate=True)
            for s in customer.ship_to_addresses
        )
    default = default_ship_to(customer.ship_to_addresses)
    ship_address = ""
    if version < SHIP_TO_SINCE and default is not None:
        ship_address = write_address(f"{tag}/ShipAddress", default.address, version, truncate=True)
    return [
        write_field(f"{tag}/Name", customer.name, version, non_cp1252="refuse"),
        write_field(f"{tag}/IsActive", customer.is_active, version),
        text("CompanyName", customer.company_name),
        text("FirstName", customer.first_name),
        text("LastName", customer.last_name),
        write_address(f"{tag}/BillAddress", customer.bill_address, version, truncate=True),
        ship_address,
        ship_to,
        write_field(f"{tag}/Phone", customer.phone, version),
        write_field(f"{tag}/Email", customer.email, version),
        ref("CustomerTypeRef", customer.customer_type),
        ref("TermsRef", customer.terms),
        ref("SalesRepRef", customer.sales_rep),
        ref("SalesTaxCodeRef", customer.sales_tax_code),
    ]


# -- examples: every field, each version where the shape changes --------------------------------

_VERSIONS = (LATEST, QbxmlVersion(12, 0), QbxmlVersion(11, 0), QbxmlVersion(8, 0), QbxmlVersion(6, 0))
_ADDRESS = Address(addr1="1 Main St", addr2="Suite 4", city="Atlanta", state="GA", postal_code="30301",
                   country="US")  # fmt: skip
_EVERYTHING = CustomerFields(
    name="Café Müller & Söhne", is_active=True, company_name="Café Müller & Söhne GmbH",
    first_name="Jürgen", last_name="Müller", bill_address=_ADDRESS,
    ship_to_addresses=(
        ShipToAddress("Warehouse", True, Address(addr1="9 Dock Rd", city="Macon", state="GA")),
        ShipToAddress("Kiosk <2>", False, Address(addr1="River St", city="Savannah", country="US")),
    ),
    phone="404-555-0100", email="ann@acme.example", customer_type="Wholesale", terms="Net 30",
    sales_rep="AD", sales_tax_code="Non", external_guid=customer_guid(1, "c-17"),
)  # fmt: skip
_NAME_ONLY = CustomerFields(name="Acme Hardware")
_NO_DEFAULT_SHIP_TO = CustomerFields(
    name="Lodz Supply", ship_to_addresses=(ShipToAddress("Dock", False, _ADDRESS),), email="łódź@x.example"
)
_CHANGES = CustomerFields(email="new@acme.example", terms="Net 15", is_active=False, phone="")


@registered(
    "CustomerAddRq",
    [
        example("everything", _EVERYTHING, versions=_VERSIONS, request_id="17"),
        example("name_only", _NAME_ONLY, versions=_VERSIONS),
        example("ship_to_not_flagged", _NO_DEFAULT_SHIP_TO, versions=_VERSIONS),
    ],
)  # fmt: skip
def build_customer_add_rq(
    customer: CustomerFields, version: QbxmlVersion, request_id: str | None = None
) -> str:
    """A CustomerAddRq; the Name is required (QuickBooks' key for the look-up of a lost Add)."""
    if not customer.name:
        raise ValueError("CustomerAdd needs a name")
    guid = write_field("CustomerAdd/ExternalGUID", customer.external_guid, version)
    return write_request(
        "CustomerAddRq", [*_body("CustomerAdd", customer, version), guid], version, request_id=request_id
    )


@registered(
    "CustomerModRq",
    [
        example("everything", "80000012-1773057731", "1773057731", _EVERYTHING, versions=_VERSIONS,
                request_id="18"),
        example("some_changes", "80000012-1773057731", "1773057732", _CHANGES, versions=_VERSIONS),
        example("nothing_but_the_ids", "80000012-1773057731", "1773057733", CustomerFields()),
    ],
)  # fmt: skip
def build_customer_mod_rq(
    list_id: str,
    edit_sequence: str,
    customer: CustomerFields,
    version: QbxmlVersion,
    request_id: str | None = None,
) -> str:
    """A CustomerModRq of the fields set on `customer` (ExternalGUID is Add-only and not sent)."""
    head = [
        write_field("CustomerMod/ListID", list_id, version),
        write_field("CustomerMod/EditSequence", edit_sequence, version),
    ]
    return write_request(
        "CustomerModRq", [*head, *_body("CustomerMod", customer, version)], version, request_id=request_id
    )
