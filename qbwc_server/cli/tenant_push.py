"""`tenant set`'s push-settings flags and `tenant show`'s part about pushes: parsing and printing.

The work is admin/settings.py's; the bounds are sync/push_settings.py's.
"""

from __future__ import annotations

import argparse
from typing import Any

from qbwc_server.admin import settings as tenant_settings
from qbwc_server.cli.common import bounded_int
from qbwc_server.sync.push_settings import MAX_LIVE_WINDOW_SECONDS, MAX_PAYMENT_WAIT_HOURS, PushSettings

#: `tenant set` flag → PushSettings field, for the settings pushes use.
PUSH_FLAGS = {
    "live_window": "live_window_seconds",
    "orders_as": "orders_as",
    "default_tax_code": "default_tax_code",
    "default_class": "default_class",
    "default_rep": "default_rep",
    "default_terms": "default_terms",
    "default_customer_type": "default_customer_type",
    "payment_wait": "payment_wait_hours",
    "readd_deleted": "readd_deleted",
}


def lines(push: PushSettings) -> list[tuple[str, str]]:
    """(label, value) for each push setting; those left at their default say so."""
    default = PushSettings()

    def shown(name: str, text: str) -> str:
        return f"{text} (default)" if getattr(push, name) == getattr(default, name) else text

    tax = push.default_tax_code or "the company's non-taxable code (Non when it has none)"
    window = push.live_window_seconds
    return [
        ("Live window", shown("live_window_seconds", f"{window}s" if window else "off")),
        ("Orders as", shown("orders_as", push.orders_as)),
        ("Tax code", shown("default_tax_code", tax)),
        ("Class", shown("default_class", push.default_class)),
        ("Rep", shown("default_rep", push.default_rep)),
        ("Terms", shown("default_terms", push.default_terms)),
        ("Customer type", shown("default_customer_type", push.default_customer_type)),
        ("Payment wait", shown("payment_wait_hours", f"{push.payment_wait_hours}h")),
        ("Re-add deleted", shown("readd_deleted", "yes" if push.readd_deleted else "no")),
    ]


def print_overview(pushes: tenant_settings.PushOverview) -> None:
    """`tenant show`'s part about pushes: settings, the company file's preferences, warnings."""
    print("Push settings:")
    for label, value in lines(pushes.settings):
        print(f"  {label + ':':15} {value}")
    for reason in pushes.settings.ignored:
        print(f"  Ignored a stored value out of bounds: {reason}")
    prefs = pushes.preferences
    if prefs is None:
        print(f"{'Company prefs:':15} not seen yet (read on the Web Connector's next session)")
    else:

        def said(flag: bool | None) -> str:
            return "unknown" if flag is None else "on" if flag else "off"

        code = prefs.non_taxable_code
        tax = said(prefs.sales_tax) + (f", non-taxable code {code}" if code else "")
        print(
            f"{'Company prefs:':15} edition {prefs.edition}, class tracking {said(prefs.class_tracking)},"
            f" sales tax {tax}, estimates {said(prefs.estimates)}"
        )
    for warning in pushes.warnings:
        print(f"{'Warning:':15} {warning}")


def values_from(args: argparse.Namespace) -> dict[str, Any]:
    """The push settings `tenant set` was given, by PushSettings field name."""
    values = {
        field: getattr(args, flag) for flag, field in PUSH_FLAGS.items() if getattr(args, flag) is not None
    }
    if "readd_deleted" in values:
        values["readd_deleted"] = values["readd_deleted"] == "yes"
    if isinstance(values.get("default_tax_code"), str) and not values["default_tax_code"].strip():
        values["default_tax_code"] = None  # back to the company's own non-taxable code
    return values


def add_flags(p: argparse.ArgumentParser) -> None:
    """`tenant set`'s push settings (sync/push_settings.py checks names; argparse the numbers)."""
    p.add_argument(
        "--live-window",
        type=bounded_int(0, MAX_LIVE_WINDOW_SECONDS, " seconds"),
        metavar="SECONDS",
        help="keep a Web Connector session open this long after its last work, so pushes made"
        f" meanwhile go out in seconds (0 to {MAX_LIVE_WINDOW_SECONDS}; default 120; 0 = off)",
    )
    p.add_argument(
        "--orders-as",
        choices=("sales-orders", "estimates"),
        help="what a confirmed order becomes in QuickBooks (estimates where there are no sales orders:"
        " QuickBooks Pro)",
    )
    p.add_argument(
        "--default-tax-code",
        metavar="CODE",
        help="sales tax code on customers, orders and lines ('' = the company's non-taxable code)",
    )
    p.add_argument("--default-class", metavar="NAME", help="class on pushed orders (default Wizcommerce)")
    p.add_argument("--default-rep", metavar="NAME", help="rep when a rep email maps to none (default Admin)")
    p.add_argument("--default-terms", metavar="NAME", help="terms when none match (default Net 30)")
    p.add_argument(
        "--default-customer-type", metavar="NAME", help="customer type when none matches (default Wholesale)"
    )
    p.add_argument(
        "--payment-wait",
        type=bounded_int(0, MAX_PAYMENT_WAIT_HOURS, " hours"),
        metavar="HOURS",
        help="hours a payment for an order waits for its invoice before it goes unapplied (default 168)",
    )
    p.add_argument(
        "--readd-deleted",
        choices=("yes", "no"),
        help="add a record deleted in QuickBooks again on its next push (default yes)",
    )
