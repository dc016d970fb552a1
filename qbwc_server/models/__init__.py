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
from qbwc_server.models.queue import IfUnanswered, Job, JobDependency, JobKind, JobStatus
from qbwc_server.models.tenancy import (
    ApiToken,
    AuthFailure,
    PageSession,
    PasswordKind,
    QbwcSession,
    SessionState,
    Tenant,
    TokenKind,
)
from qbwc_server.models.transactions import (
    Invoice,
    InvoiceLine,
    Payment,
    PaymentApplication,
    SalesOrder,
    SalesOrderLine,
)

__all__ = [
    "ApiToken",
    "AuthFailure",
    "Base",
    "Customer",
    "CustomerShipAddress",
    "CustomerType",
    "IfUnanswered",
    "Invoice",
    "InvoiceLine",
    "Item",
    "ItemKind",
    "Job",
    "JobDependency",
    "JobKind",
    "JobStatus",
    "PageSession",
    "PasswordKind",
    "Payment",
    "PaymentApplication",
    "PriceLevel",
    "PriceLevelItem",
    "QbClass",
    "QbwcSession",
    "SalesOrder",
    "SalesOrderLine",
    "SalesRep",
    "SalesRepEmail",
    "SalesTaxCode",
    "SessionState",
    "SyncCursor",
    "SyncState",
    "Tenant",
    "Terms",
    "TokenKind",
    "metadata",
]
