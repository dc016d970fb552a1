"""A simulated QuickBooks' edition and company preferences: the product name the host response
reports, and which Add/Mod requests they refuse before anything is looked up. Knows request tags
and references; nothing of records or of how the host response is written (processor.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from qbwc_server.simulator.change_checks import StatusError
from qbwc_server.simulator.processor import NOT_AVAILABLE, PRODUCT_NAME

#: ProductName in HostRet per edition. Pro's follows public strHCPResponse captures ("QuickBooks Pro
#: 2014", "QuickBooks Pro 2021"); Premier's is our guess in the same style.
PRODUCT_NAMES = {
    "enterprise": PRODUCT_NAME,
    "premier": "QuickBooks Premier Edition 2024",
    "pro": "QuickBooks Pro 2024",
}
_SALES_ORDER_CHANGES = frozenset({"SalesOrderAddRq", "SalesOrderModRq"})
_ESTIMATE_CHANGES = frozenset({"EstimateAddRq", "EstimateModRq"})
_CLASS_REFS = frozenset({"ClassRef"})
_TAX_REFS = frozenset({"SalesTaxCodeRef", "CustomerSalesTaxCodeRef", "ItemSalesTaxRef"})


@dataclass(frozen=True)
class Preferences:
    """The edition ("enterprise", "premier" or "pro") and the preferences a QuickBooks user can turn
    off; every one on by default, as in a Wholesale Enterprise company."""

    edition: str = "enterprise"
    class_tracking: bool = True
    sales_tax: bool = True
    estimates: bool = True
    #: Sales orders can be turned off in Premier and Enterprise; Pro has none at all.
    sales_orders_enabled: bool = True

    def __post_init__(self) -> None:
        if self.edition not in PRODUCT_NAMES:
            raise ValueError(f"edition must be one of {sorted(PRODUCT_NAMES)}, not {self.edition!r}")

    @property
    def product_name(self) -> str:
        return PRODUCT_NAMES[self.edition]

    @property
    def has_sales_orders(self) -> bool:
        return self.edition != "pro" and self.sales_orders_enabled

    def check(self, request: etree._Element) -> None:
        """Raise StatusError if this Add/Mod asks for something the edition or preferences lack."""
        tag = request.tag
        if tag in _SALES_ORDER_CHANGES and not self.has_sales_orders:
            # 3250: QuickBooks Pro has no sales orders; Premier/Enterprise with the preference off likewise.
            raise StatusError(3250, NOT_AVAILABLE)
        if tag in _ESTIMATE_CHANGES and not self.estimates:
            raise StatusError(3250, NOT_AVAILABLE)  # 3250: estimates turned off in the preferences
        # QuickBooks' answer to a ClassRef with class tracking off, or a sales tax reference with sales
        # tax off, was not found in public sources: we refuse like a disabled feature (3250).
        refused = (set() if self.class_tracking else _CLASS_REFS) | (set() if self.sales_tax else _TAX_REFS)
        if refused and any(element.tag in refused for element in request.iter()):
            raise StatusError(3250, NOT_AVAILABLE)
