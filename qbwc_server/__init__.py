"""qbwc-server: QuickBooks Desktop <-> WizCommerce sync through the QuickBooks Web Connector."""

# Spyne 2.14 cannot import on Python 3.12+ without this; it must run before any spyne import.
from qbwc_server import _spyne_compat  # noqa: F401

__version__ = "0.1.0"
