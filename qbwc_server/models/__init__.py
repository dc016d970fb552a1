"""Typed SQLAlchemy models; importing this package registers every table on `metadata`."""

from qbwc_server.models.base import Base, metadata
from qbwc_server.models.lists import (
    CustomerType,
    PriceLevel,
    PriceLevelItem,
    QbClass,
    SalesRep,
    SalesRepEmail,
    SalesTaxCode,
    Terms,
)
from qbwc_server.models.mirror import Customer, CustomerShipAddress, Item, ItemKind, SyncCursor, SyncState
from qbwc_server.models.transactions import (
    Invoice,
    InvoiceLine,
    Payment,
    PaymentApplication,
    SalesOrder,
    SalesOrderLine,
)
from qbwc_server.models.queue import Job, JobKind, JobStatus
from qbwc_server.models.tenancy import PasswordKind, QbwcSession, SessionState, Tenant

__all__ = [
    "Customer",
    "CustomerShipAddress",
    "CustomerType",
    "Invoice",
    "InvoiceLine",
    "Item",
    "ItemKind",
    "Payment",
    "PaymentApplication",
    "PriceLevel",
    "PriceLevelItem",
    "QbClass",
    "SalesOrder",
    "SalesOrderLine",
    "SalesRep",
    "SalesRepEmail",
    "SalesTaxCode",
    "SyncState",
    "Terms",
    "Base",
    "Job",
    "JobKind",
    "JobStatus",
    "PasswordKind",
    "QbwcSession",
    "SessionState",
    "SyncCursor",
    "Tenant",
    "metadata",
]
