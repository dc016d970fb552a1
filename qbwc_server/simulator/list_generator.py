"""The generated company's lists: terms, reps, customer types, classes, tax codes, ship and payment
methods, then items (some sub-items and assemblies), price levels and customers (some with jobs).
Knows what realistic list data looks like; adds it only through the `Company` API.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from qbwc_server.simulator.company import Company
from qbwc_server.simulator.dice import Dice
from qbwc_server.simulator.records import (
    Address,
    AssemblyLine,
    Class,
    Customer,
    CustomerType,
    DateDrivenTerms,
    ItemInventory,
    ItemInventoryAssembly,
    PaymentMethod,
    PriceLevel,
    PriceLevelPerItem,
    Ref,
    SalesRep,
    SalesTaxCode,
    ShipMethod,
    ShipToAddress,
    StandardTerms,
)
from qbwc_server.simulator.store import account_ref

_FIRST = [
    "James",
    "Mary",
    "José",
    "Zoë",
    "Liam",
    "Chloé",
    "Noah",
    "Renée",
    "Sean",
    "Ingrid",
    "Amara",
    "Mateo",
]
_LAST = ["O'Brien", "Müller", "Smith", "García", "Nguyen", "D'Angelo", "Kowalski", "Johnson", "Peña", "Lee"]
_WORDS = [
    "Café Müller",
    "O'Reilly's",
    "Señor Frío",
    "Smith & Sons",
    "Björk",
    "Crème Brûlée",
    "Acme",
    "Blue Ridge",
    "Peachtree",
    "Main Street",
    "Harbor & Hill",
    "Lakeside",
    "Summit",
    "Ace",
    "Golden Gate",
]
#: Vendors and other names: not simulated as records, but no customer may take their names (3100).
VENDORS = ("Uline", "Grainger Industrial Supply", "Peachtree Freight Lines", "Georgia Dept. of Revenue")
_KINDS = ["Supply", "Wholesale", "Boutique", "Hardware", "Market", "Traders", "Outfitters", "Bakery", "Co."]
_STREETS = [
    "Peachtree St NE",
    "Main St",
    "Market St",
    "Rue de l'Église",
    "Elm Ave",
    "Commerce Pkwy",
    "Oak Blvd",
]
_CITIES = [
    ("Atlanta", "GA", "30303"),
    ("Savannah", "GA", "31401"),
    ("Austin", "TX", "78701"),
    ("Portland", "OR", "97201"),
    ("Miami", "FL", "33101"),
    ("Denver", "CO", "80202"),
]
_PRODUCTS = [
    "Widget",
    "Gadget",
    "Bracket",
    "Valve",
    "Cable",
    "Lamp",
    "Mug",
    "Tote",
    "Candle",
    "Soap",
    "Scarf",
]
_ADJECTIVES = ["Large", "Small", "Blue", "Red", "Deluxe", "Café-Style", '12"', "Men's", "Kids'", "Eco"]


def add_lists(company: Company) -> dict[str, list[Ref]]:
    """The small lists (terms, reps, types, classes, tax codes, ship and payment methods); returns
    the refs customers pick from: "terms", "reps", "types"."""
    add = company.add
    terms = [
        add(StandardTerms(name="Net 15", std_due_days=15)),
        add(StandardTerms(name="Net 30", std_due_days=30)),
        add(StandardTerms(name="Net 60", std_due_days=60)),
        add(
            StandardTerms(name="2% 10 Net 30", std_due_days=30, std_discount_days=10, discount_pct=Decimal(2))
        ),
        add(DateDrivenTerms(name="15th of Month", day_of_month_due=15, due_next_month_days=5)),
        add(StandardTerms(name="Net 90", std_due_days=90, is_active=False)),
    ]
    reps = [
        add(SalesRep(initial=initial, sales_rep_entity_ref=Ref(None, name)))
        for initial, name in (
            ("AD", "Admin"),
            ("JS", "John Smith"),
            ("MG", "María González"),
            ("KO", "Kevin O'Neil"),
            ("TL", "Tom Lee"),
        )
    ]
    reps.append(add(SalesRep(initial="XX", sales_rep_entity_ref=Ref(None, "Former Rep"), is_active=False)))
    types = [add(CustomerType(name=name)) for name in ("Wholesale", "Retail", "Distributor", "Online")]
    add(CustomerType(name="Regional", parent_ref=company.ref(types[0])))
    for name in ("Wizcommerce", "Retail", "Wholesale"):
        add(Class(name=name))
    add(SalesTaxCode(name="Tax", is_taxable=True, desc="Taxable Sales"))
    add(SalesTaxCode(name="Non", is_taxable=False, desc="Non-Taxable Sales"))
    for name in ("UPS", "FedEx", "USPS", "DHL", "Freight"):
        add(ShipMethod(name=name))
    for name in VENDORS:
        company.add_other_name(name)
    for name, kind in (
        ("Cash", "Cash"),
        ("Check", "Check"),
        ("Visa", "Visa"),
        ("MasterCard", "MasterCard"),
        ("American Express", "AmericanExpress"),
        ("ACH", "ECheck"),
    ):
        add(PaymentMethod(name=name, payment_method_type=kind))
    return {
        "terms": [company.ref(t) for t in terms[:5]],
        "reps": [company.ref(r) for r in reps[:5]],
        "types": [company.ref(t) for t in types],
    }


def _address(rng: Dice) -> Address:
    city, state, postal = rng.pick(_CITIES)
    values: dict[str, str] = {
        "addr1": f"{rng.number(1, 9999)} {rng.pick(_STREETS)}",
        "city": city,
        "state": state,
        "postal_code": postal,
        "country": "US",
    }
    if rng.chance(0.2):
        values["addr2"] = f"Suite {rng.number(100, 999)}"
    return Address(**values)


def _ship_to(rng: Dice, name: str) -> ShipToAddress:
    place = _address(rng)
    return ShipToAddress(
        name=name,
        addr1=place.addr1,
        addr2=place.addr2,
        city=place.city,
        state=place.state,
        postal_code=place.postal_code,
        country=place.country,
    )


def add_customers(
    company: Company, rng: Dice, count: int, lists: dict[str, list[Ref]], step: float
) -> list[str]:
    """`count` customers, a few with a job under them (jobs count); returns their ListIDs."""
    ids: list[str] = []
    tax_non, tax = company.by_name("sales_tax_codes", "Non"), company.by_name("sales_tax_codes", "Tax")
    levels = [company.ref(level) for level in company.price_levels.values()]
    while len(ids) < count:
        company.clock.advance(step)
        first, last = rng.pick(_FIRST), rng.pick(_LAST)
        business = f"{rng.pick(_WORDS)} {rng.pick(_KINDS)}"
        name = f"{business} #{len(ids) + 1}"[:41]
        ship_tos = [
            _ship_to(rng, label)
            for label in rng.sample(["Main", "Warehouse", "Store 2", "Dock"], rng.pick((0, 1, 1, 2, 3)))
        ]
        if ship_tos:
            ship_tos[0].default_ship_to = True
        customer = company.add(
            Customer(
                name=name,
                company_name=business[:41],
                first_name=first,
                last_name=last,
                bill_address=_address(rng),
                ship_address=_address(rng),
                ship_to_addresses=ship_tos,
                phone=f"404-555-{rng.number(0, 9999):04d}",
                email=f"{first.lower()}.{len(ids)}@example.com".encode("ascii", "ignore").decode(),
                contact=f"{first} {last}",
                customer_type_ref=rng.pick(lists["types"]),
                terms_ref=rng.pick(lists["terms"]),
                sales_rep_ref=rng.pick(lists["reps"]),
                sales_tax_code_ref=company.ref(tax if rng.chance(0.3) else tax_non),
                account_number=f"C{len(ids) + 1:06d}",
                credit_limit=Decimal(rng.pick((5000, 10000, 25000))),
                price_level_ref=rng.pick(levels) if levels and rng.chance(0.3) else None,
                notes="Prefers deliveries before noon" if rng.chance(0.1) else None,
                is_active=not rng.chance(0.03),
                data_ext={"Rep Code": rng.pick(("A1", "B2", "C3"))},
            )
        )
        ids.append(customer.list_id)
        if rng.chance(0.05) and len(ids) < count:  # a job under this customer
            job = company.add(
                Customer(
                    name=f"Job {rng.number(1, 99)}",
                    parent_ref=company.ref(customer),
                    bill_address=customer.bill_address,
                    terms_ref=customer.terms_ref,
                )
            )
            ids.append(job.list_id)
    return ids


def add_items(company: Company, rng: Dice, count: int, step: float) -> list[str]:
    """`count` inventory items, some sub-items, some assemblies of earlier items; returns their ListIDs."""
    ids: list[str] = []
    accounts = {
        "income_account_ref": account_ref("Sales"),
        "cogs_account_ref": account_ref("Cost of Goods Sold"),
        "asset_account_ref": account_ref("Inventory Asset"),
    }
    while len(ids) < count:
        company.clock.advance(step)
        number = len(ids) + 1
        cost = Decimal(rng.number(100, 20000)) / 100
        values: dict[str, Any] = dict(
            name=f"SKU-{number:05d}",
            sales_desc=f"{rng.pick(_ADJECTIVES)} {rng.pick(_PRODUCTS)}",
            sales_price=(cost * Decimal("1.6")).quantize(Decimal("0.01")),
            purchase_cost=cost,
            average_cost=cost,
            manufacturer_part_number=f"MPN-{rng.number(10000, 99999)}",
            quantity_on_hand=Decimal(rng.number(0, 900)),
            quantity_on_order=Decimal(rng.pick((0, 0, 50, 100))),
            is_active=not rng.chance(0.05),
            sales_tax_code_ref=company.ref(company.by_name("sales_tax_codes", "Tax")),
            **accounts,
        )
        if ids and rng.chance(0.1):  # a sub-item
            values["parent_ref"] = company.ref(company.items[rng.pick(ids)])
        if ids and rng.chance(0.1):
            parts = [
                AssemblyLine(company.ref(company.items[i]), Decimal(rng.number(1, 4)))
                for i in rng.sample(ids, min(2, len(ids)))
            ]
            item: ItemInventory = company.add(
                ItemInventoryAssembly(**values, build_point=Decimal(10), lines=parts)
            )
        else:
            item = company.add(ItemInventory(**values, reorder_point=Decimal(20)))
        ids.append(item.list_id)
    return ids


def add_price_levels(company: Company, rng: Dice, item_ids: list[str]) -> None:
    """A fixed-percentage level, an inactive one, and a per-item level over up to 20 items."""
    company.add(PriceLevel(name="Wholesale -10%", price_level_fixed_percentage=Decimal(-10)))
    company.add(PriceLevel(name="Holiday +5%", price_level_fixed_percentage=Decimal(5), is_active=False))
    chosen = rng.sample(item_ids, min(20, len(item_ids)))
    entries = [
        PriceLevelPerItem(
            company.ref(company.items[i]),
            ((company.items[i].sales_price or Decimal(1)) * Decimal("0.85")).quantize(Decimal("0.01")),
        )
        for i in chosen
    ]
    company.add(PriceLevel(name="Distributor", price_level_type="PerItem", per_item=entries))
