"""The records of a simulated QuickBooks company: one dataclass per qbXML `*Ret`, fields in snake_case
mirroring the element names. Plain data: company.py changes them, render.py writes them as qbXML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO = Decimal(0)


@dataclass(slots=True)
class Ref:
    """A `*Ref`: ListID and/or FullName."""

    list_id: str | None = None
    full_name: str | None = None


@dataclass(slots=True)
class Address:
    addr1: str | None = None
    addr2: str | None = None
    addr3: str | None = None
    addr4: str | None = None
    addr5: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    note: str | None = None


@dataclass(slots=True)
class ShipToAddress(Address):
    """One of a customer's named ship-to addresses (qbXML 12.0+)."""

    name: str = ""
    default_ship_to: bool = False


@dataclass(slots=True)
class ListRecord:
    """What every list record carries; ListID and times are set by `Company.add`."""

    list_id: str = ""
    time_created: datetime = _EPOCH
    time_modified: datetime = _EPOCH
    edit_sequence: str = ""
    is_active: bool = True

    def ref_name(self) -> str:
        """The FullName other records use to refer to this one."""
        return str(getattr(self, "full_name", "") or getattr(self, "name", ""))


@dataclass(slots=True)
class Customer(ListRecord):
    name: str = ""
    full_name: str = ""
    class_ref: Ref | None = None
    parent_ref: Ref | None = None
    sublevel: int = 0
    company_name: str | None = None
    salutation: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    bill_address: Address | None = None
    ship_address: Address | None = None
    ship_to_addresses: list[ShipToAddress] = field(default_factory=list)
    phone: str | None = None
    alt_phone: str | None = None
    fax: str | None = None
    email: str | None = None
    cc: str | None = None
    contact: str | None = None
    alt_contact: str | None = None
    customer_type_ref: Ref | None = None
    terms_ref: Ref | None = None
    sales_rep_ref: Ref | None = None
    balance: Decimal = _ZERO
    total_balance: Decimal = _ZERO
    sales_tax_code_ref: Ref | None = None
    resale_number: str | None = None
    account_number: str | None = None
    credit_limit: Decimal | None = None
    preferred_payment_method_ref: Ref | None = None
    job_status: str = "None"
    notes: str | None = None
    price_level_ref: Ref | None = None
    external_guid: str | None = None
    #: Custom fields (DataExt with OwnerID 0): name -> value.
    data_ext: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ItemInventory(ListRecord):
    name: str = ""
    full_name: str = ""
    class_ref: Ref | None = None
    parent_ref: Ref | None = None
    sublevel: int = 0
    manufacturer_part_number: str | None = None
    sales_tax_code_ref: Ref | None = None
    sales_desc: str | None = None
    sales_price: Decimal | None = None
    income_account_ref: Ref | None = None
    purchase_desc: str | None = None
    purchase_cost: Decimal | None = None
    cogs_account_ref: Ref | None = None
    pref_vendor_ref: Ref | None = None
    asset_account_ref: Ref | None = None
    reorder_point: Decimal | None = None
    max: Decimal | None = None
    quantity_on_hand: Decimal = _ZERO
    average_cost: Decimal = _ZERO
    quantity_on_order: Decimal = _ZERO
    quantity_on_sales_order: Decimal = _ZERO
    external_guid: str | None = None
    data_ext: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class AssemblyLine:
    item_inventory_ref: Ref
    quantity: Decimal | None = None


@dataclass(slots=True)
class ItemInventoryAssembly(ItemInventory):
    build_point: Decimal | None = None
    lines: list[AssemblyLine] = field(default_factory=list)


@dataclass(slots=True)
class PriceLevelPerItem:
    item_ref: Ref
    custom_price: Decimal | None = None
    custom_price_percent: Decimal | None = None


@dataclass(slots=True)
class PriceLevel(ListRecord):
    name: str = ""
    #: "FixedPercentage" or "PerItem".
    price_level_type: str = "FixedPercentage"
    price_level_fixed_percentage: Decimal = _ZERO
    per_item: list[PriceLevelPerItem] = field(default_factory=list)


@dataclass(slots=True)
class SalesRep(ListRecord):
    initial: str = ""
    sales_rep_entity_ref: Ref = field(default_factory=Ref)

    def ref_name(self) -> str:
        return self.initial


@dataclass(slots=True)
class StandardTerms(ListRecord):
    name: str = ""
    std_due_days: int | None = None
    std_discount_days: int | None = None
    discount_pct: Decimal | None = None


@dataclass(slots=True)
class DateDrivenTerms(ListRecord):
    name: str = ""
    day_of_month_due: int = 1
    due_next_month_days: int | None = None
    discount_day_of_month: int | None = None
    discount_pct: Decimal | None = None


@dataclass(slots=True)
class CustomerType(ListRecord):
    name: str = ""
    full_name: str = ""
    parent_ref: Ref | None = None
    sublevel: int = 0


@dataclass(slots=True)
class Class(ListRecord):
    name: str = ""
    full_name: str = ""
    parent_ref: Ref | None = None
    sublevel: int = 0


@dataclass(slots=True)
class SalesTaxCode(ListRecord):
    name: str = ""
    is_taxable: bool = False
    desc: str | None = None


@dataclass(slots=True)
class ItemSalesTax(ListRecord):
    """A sales tax item (ItemSalesTaxRef on sales forms); only kept so references can be checked."""

    name: str = ""
    tax_rate: Decimal = _ZERO


@dataclass(slots=True)
class ShipMethod(ListRecord):
    name: str = ""


@dataclass(slots=True)
class PaymentMethod(ListRecord):
    name: str = ""
    #: AmericanExpress, Cash, Check, DebitCard, Discover, ECheck, GiftCard, MasterCard, Other,
    #: OtherCreditCard or Visa.
    payment_method_type: str | None = None


@dataclass(slots=True)
class LinkedTxn:
    txn_id: str
    txn_type: str
    txn_date: date | None
    ref_number: str | None
    link_type: str
    amount: Decimal


@dataclass(slots=True)
class TxnRecord:
    """What every transaction carries; TxnID, TxnNumber and times are set by `Company.add`."""

    customer_ref: Ref = field(default_factory=Ref)
    txn_id: str = ""
    time_created: datetime = _EPOCH
    time_modified: datetime = _EPOCH
    edit_sequence: str = ""
    txn_number: int = 0
    txn_date: date | None = None
    ref_number: str | None = None
    memo: str | None = None
    external_guid: str | None = None


@dataclass(slots=True)
class SalesOrderLine:
    item_ref: Ref | None = None
    desc: str | None = None
    quantity: Decimal | None = None
    rate: Decimal | None = None
    class_ref: Ref | None = None
    amount: Decimal | None = None
    sales_tax_code_ref: Ref | None = None
    invoiced: Decimal = _ZERO
    is_manually_closed: bool = False
    other1: str | None = None
    other2: str | None = None
    txn_line_id: str = ""


@dataclass(slots=True)
class _SalesForm(TxnRecord):
    class_ref: Ref | None = None
    bill_address: Address | None = None
    ship_address: Address | None = None
    po_number: str | None = None
    terms_ref: Ref | None = None
    due_date: date | None = None
    sales_rep_ref: Ref | None = None
    fob: str | None = None
    ship_date: date | None = None
    ship_method_ref: Ref | None = None
    subtotal: Decimal = _ZERO
    item_sales_tax_ref: Ref | None = None
    sales_tax_percentage: Decimal = _ZERO
    sales_tax_total: Decimal = _ZERO
    customer_sales_tax_code_ref: Ref | None = None
    #: The "Other" field: shippers keep the tracking number here.
    other: str | None = None
    linked_txns: list[LinkedTxn] = field(default_factory=list)


@dataclass(slots=True)
class SalesOrder(_SalesForm):
    total_amount: Decimal = _ZERO
    is_manually_closed: bool = False
    is_fully_invoiced: bool = False
    lines: list[SalesOrderLine] = field(default_factory=list)


@dataclass(slots=True)
class EstimateLine:
    item_ref: Ref | None = None
    desc: str | None = None
    quantity: Decimal | None = None
    rate: Decimal | None = None
    class_ref: Ref | None = None
    amount: Decimal | None = None
    sales_tax_code_ref: Ref | None = None
    other1: str | None = None
    other2: str | None = None
    txn_line_id: str = ""


@dataclass(slots=True)
class Estimate(_SalesForm):
    """An estimate (QuickBooks Pro's stand-in for sales orders): no stock reserved, no balance."""

    is_active: bool = True
    total_amount: Decimal = _ZERO
    lines: list[EstimateLine] = field(default_factory=list)


@dataclass(slots=True)
class InvoiceLine:
    item_ref: Ref | None = None
    desc: str | None = None
    quantity: Decimal | None = None
    rate: Decimal | None = None
    class_ref: Ref | None = None
    amount: Decimal | None = None
    service_date: date | None = None
    sales_tax_code_ref: Ref | None = None
    other1: str | None = None
    other2: str | None = None
    #: The sales order line this line invoices: (TxnID, TxnLineID).
    link_to: tuple[str, str] | None = None
    txn_line_id: str = ""


@dataclass(slots=True)
class Invoice(_SalesForm):
    ar_account_ref: Ref | None = None
    is_pending: bool = False
    applied_amount: Decimal = _ZERO
    balance_remaining: Decimal = _ZERO
    is_paid: bool = False
    lines: list[InvoiceLine] = field(default_factory=list)


@dataclass(slots=True)
class AppliedToTxn:
    txn_id: str
    amount: Decimal
    txn_type: str = "Invoice"
    txn_date: date | None = None
    ref_number: str | None = None
    balance_remaining: Decimal | None = None


@dataclass(slots=True)
class ReceivePayment(TxnRecord):
    ar_account_ref: Ref | None = None
    total_amount: Decimal | None = None
    payment_method_ref: Ref | None = None
    deposit_to_account_ref: Ref | None = None
    unused_payment: Decimal = _ZERO
    unused_credits: Decimal = _ZERO
    applied: list[AppliedToTxn] = field(default_factory=list)


@dataclass(slots=True)
class Deleted:
    """A ListDeletedRet / TxnDeletedRet: `del_type` is the ListDelType or TxnDelType."""

    del_type: str
    object_id: str
    time_created: datetime
    time_deleted: datetime
    full_name: str | None = None
    ref_number: str | None = None
