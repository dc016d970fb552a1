"""The company's edition and preferences, read from the HCP response of a session's first
sendRequestXML (HostQueryRs + PreferencesQueryRs): what pushes may send, with no extra round trip.

Everything here tolerates a missing or odd piece: an unknown value is None ("try it, and let
QuickBooks' answer decide"), never a guess that would stop a push for nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from lxml import etree

from qbwc_server.qbxml.core import QbxmlError, parse_xml, response_messages

Edition = Literal["pro", "premier", "enterprise", "accountant", "unknown"]
EDITIONS: tuple[Edition, ...] = ("pro", "premier", "enterprise", "accountant", "unknown")

#: The one message shown wherever an order cannot become a sales order in this company.
SALES_ORDERS_UNAVAILABLE = (
    "Sales orders need QuickBooks Premier or Enterprise; set --orders-as estimates or upgrade"
)

_WORD_PRO = re.compile(r"\bpro\b")


def edition_of(product_name: str | None) -> Edition:
    """HostRet/ProductName as QuickBooks writes it → its edition.

    Names seen in HCP responses: "QuickBooks Pro 2014", "QuickBooks Desktop Pro 2021",
    "QuickBooks Premier Edition 2024", "QuickBooks Premier Accountant Edition 2024",
    "QuickBooks Accountant 2012", "QuickBooks Accountant Desktop 2024", "QuickBooks Enterprise
    Solutions 24.0", "QuickBooks Enterprise Solutions: Accountant 24.0", "QuickBooks Desktop
    Enterprise Solutions: Wholesale and Distribution Edition 24.0". Enterprise is checked first
    (its accountant build is Enterprise); a bare "Accountant" is Premier Accountant.
    """
    name = (product_name or "").lower()
    if "enterprise" in name:
        return "enterprise"
    if "accountant" in name:
        return "accountant"
    if "premier" in name:
        return "premier"
    if _WORD_PRO.search(name):
        return "pro"
    return "unknown"


@dataclass(frozen=True)
class CompanyPreferences:
    """What the company file allows. None: not said (older QuickBooks, no preferences answer)."""

    edition: Edition = "unknown"
    class_tracking: bool | None = None
    sales_tax: bool | None = None
    #: DefaultNonTaxableSalesTaxCodeRef/FullName ("Non" in most US files).
    non_taxable_code: str | None = None
    estimates: bool | None = None
    #: qbXML's PreferencesRet does not report the sales-order preference: False only where the
    #: edition has none (Pro); else None, and a 3250 on SalesOrderAdd says it is off.
    sales_orders: bool | None = None

    # -- reading -----------------------------------------------------------------------------

    @classmethod
    def from_hcp_response(cls, text: str | None) -> CompanyPreferences:
        """Never raises: an unreadable or partial response gives what could be read."""
        if not text or not text.strip():
            return cls()
        try:
            messages = response_messages(parse_xml(text))
        except (QbxmlError, ValueError):
            return cls()
        return cls.from_messages(messages)

    @classmethod
    def from_messages(cls, messages: list[etree._Element]) -> CompanyPreferences:
        """The same, from the HCP response's messages already parsed (read once per session)."""
        host = _ret(messages, "HostQueryRs", "HostRet")
        preferences = _ret(messages, "PreferencesQueryRs", "PreferencesRet")
        edition = edition_of(_text(host, "ProductName"))
        sales_tax: bool | None = None
        non_taxable: str | None = None
        if preferences is not None:
            # SalesTaxPreferences is optional in PreferencesRet: QuickBooks omits it when the
            # company does not use sales tax.
            tax = preferences.find("SalesTaxPreferences")
            sales_tax = tax is not None
            non_taxable = _text(tax, "DefaultNonTaxableSalesTaxCodeRef/FullName")
        return cls(
            edition=edition,
            class_tracking=_flag(preferences, "AccountingPreferences/IsUsingClassTracking"),
            sales_tax=sales_tax,
            non_taxable_code=non_taxable,
            estimates=_flag(preferences, "JobsAndEstimatesPreferences/IsUsingEstimates"),
            sales_orders=False if edition == "pro" else None,
        )

    @classmethod
    def from_json(cls, data: object) -> CompanyPreferences:
        """From `tenants.company_preferences` (None, or anything odd: nothing known)."""
        if not isinstance(data, Mapping):
            return cls()
        edition = data.get("edition")
        code = data.get("non_taxable_code")
        return cls(
            edition=edition if edition in EDITIONS else "unknown",
            class_tracking=_bool_or_none(data.get("class_tracking")),
            sales_tax=_bool_or_none(data.get("sales_tax")),
            non_taxable_code=code if isinstance(code, str) and code.strip() else None,
            estimates=_bool_or_none(data.get("estimates")),
            sales_orders=_bool_or_none(data.get("sales_orders")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "edition": self.edition,
            "class_tracking": self.class_tracking,
            "sales_tax": self.sales_tax,
            "non_taxable_code": self.non_taxable_code,
            "estimates": self.estimates,
            "sales_orders": self.sales_orders,
        }

    # -- what pushes may do -----------------------------------------------------------------

    @property
    def can_create_sales_orders(self) -> bool:
        """False for Pro or when sales orders are known to be off; unknown → try."""
        return self.edition != "pro" and self.sales_orders is not False

    @property
    def uses_class_tracking(self) -> bool:
        """Send ClassRef unless class tracking is known to be off."""
        return self.class_tracking is not False

    @property
    def uses_sales_tax(self) -> bool:
        """Send sales tax codes unless the company is known not to use sales tax."""
        return self.sales_tax is not False


def _ret(messages: list[etree._Element], rs_tag: str, ret_tag: str) -> etree._Element | None:
    for message in messages:
        if message.tag == rs_tag:
            return message.find(ret_tag)
    return None


def _text(element: etree._Element | None, path: str) -> str | None:
    if element is None:
        return None
    value = element.findtext(path)
    return value.strip() if value and value.strip() else None


def _flag(element: etree._Element | None, path: str) -> bool | None:
    value = (_text(element, path) or "").lower()
    return {"true": True, "1": True, "false": False, "0": False}.get(value)


def _bool_or_none(value: object) -> bool | None:
    return value if isinstance(value, bool) else None
