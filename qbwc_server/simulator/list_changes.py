"""Answering Add and Mod requests for list records (customers, items, and the lists our defaults
may create: classes, standard terms, customer types): names checked before anything changes, then
the record added or edited through the `Company` API.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from lxml import etree

from qbwc_server.simulator.change_checks import check_unique_name, mod_target
from qbwc_server.simulator.change_fields import read_fields, read_parent
from qbwc_server.simulator.company import Company
from qbwc_server.simulator.list_rets import CUSTOMER, ITEM_INVENTORY, SIMPLE
from qbwc_server.simulator.records import Class, CustomerType, ItemInventory, StandardTerms
from qbwc_server.simulator.ret_format import Spec
from qbwc_server.simulator.store import account_ref

#: What a CustomerAdd/Mod or ItemInventoryAdd/Mod may set: the Ret's fields but QuickBooks' own.
CUSTOMER_FIELDS = [f for f in CUSTOMER if f[0] not in ("Balance", "TotalBalance", "FullName", "Sublevel")]
ITEM_FIELDS = [f for f in ITEM_INVENTORY if f[0] not in ("FullName", "Sublevel", "AverageCost")]
#: ClassAdd / StandardTermsAdd / CustomerTypeAdd: their Ret's fields but QuickBooks' own.
CLASS_FIELDS = [f for f in SIMPLE[Class][1] if f[0] not in ("FullName", "Sublevel")]
STANDARD_TERMS_FIELDS = list(SIMPLE[StandardTerms][1])
CUSTOMER_TYPE_FIELDS = [f for f in SIMPLE[CustomerType][1] if f[0] not in ("FullName", "Sublevel")]


def _probe(record: Any, values: dict[str, Any]) -> Any:
    """A stand-in with the new name and parent, to check the name before changing anything."""
    probe = type(record)(name=values.get("name", record.name))
    if not hasattr(record, "parent_ref"):  # a flat list (terms)
        return probe
    parent = values.get("parent_ref", record.parent_ref)
    probe.full_name = f"{parent.full_name}:{probe.name}" if parent else probe.name
    return probe


def list_add(collection: str, spec: Spec, factory: type) -> Callable[[Company, etree._Element], Any]:
    """The handler of a list's Add: `spec`'s fields into a new `factory` record; items get default
    accounts."""

    def add(company: Company, body: etree._Element) -> Any:
        values = read_fields(company, body, spec)
        if hasattr(factory(), "parent_ref"):
            values["parent_ref"] = read_parent(company, body, collection)
        probe = _probe(factory(), values)
        check_unique_name(company, collection, probe)
        record = factory(**values)
        if isinstance(record, ItemInventory):
            record.income_account_ref = record.income_account_ref or account_ref("Sales")
            record.cogs_account_ref = record.cogs_account_ref or account_ref("Cost of Goods Sold")
            record.asset_account_ref = record.asset_account_ref or account_ref("Inventory Asset")
            total_value = body.findtext("TotalValue")
            if total_value is not None and record.quantity_on_hand:
                record.average_cost = (Decimal(total_value) / record.quantity_on_hand).quantize(
                    Decimal("0.01")
                )
        return company.add(record)

    return add


def list_mod(collection: str, spec: Spec) -> Callable[[Company, etree._Element], Any]:
    """The handler of a list's Mod: only the fields sent change."""

    def mod(company: Company, body: etree._Element) -> Any:
        record = mod_target(company, body, collection)
        values = read_fields(company, body, spec)
        if body.find("ParentRef") is not None:
            values["parent_ref"] = read_parent(company, body, collection)
        if "name" in values or "parent_ref" in values:
            check_unique_name(company, collection, _probe(record, values), other_than=record.list_id)
        return company.edit(record.list_id, **values)

    return mod
