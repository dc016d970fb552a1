"""`qbwc-server customers link TENANT ID LISTID`: parsing and printing only.

The work is admin/records.py's, shared with `POST /api/v1/customers/{id}/link`.
"""

from __future__ import annotations

import argparse
from typing import Any

from qbwc_server.admin import records, tenants
from qbwc_server.cli.common import transaction
from qbwc_server.config import Settings


def cmd_link(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        tenant = tenants.get_tenant(conn, args.tenant)
        written = records.link_customer(conn, tenant.id, args.id, args.list_id)
    print(
        f"Customer {args.id!r} of {tenant.name!r} is QuickBooks customer {args.list_id}; its push"
        f" (job {written.job_id}) and what waited on it go on the Web Connector's next call."
    )
    return 0


def register(sub: Any) -> None:
    """Add `customers …` to `qbwc-server`'s commands."""
    group = sub.add_parser("customers", help="the commerce side's customers")
    csub = group.add_subparsers(dest="customers_command", required=True, metavar="ACTION")
    p = csub.add_parser(
        "link",
        help="map a customer to one QuickBooks already has (after 3100: name in use)",
        description="Bind the commerce side's customer ID to the QuickBooks customer LISTID, and push"
        " it there (a CustomerMod with our fields; what we leave out stays as QuickBooks has it). The"
        " orders and payments that waited on that customer go by themselves.",
    )
    p.add_argument("tenant", help="the tenant's name (or Web Connector username)")
    p.add_argument("id", help="the commerce side's customer id")
    p.add_argument("list_id", metavar="LISTID", help="the QuickBooks customer's ListID")
    p.set_defaults(func=cmd_link)
