"""qbwc-server: QuickBooks Desktop <-> WizCommerce sync through the QuickBooks Web Connector."""

__version__ = "0.1.0"
