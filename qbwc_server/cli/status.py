"""`qbwc-server status [TENANT]`: every tenant in a table, or one in full (as `tenant list|show`)."""

from __future__ import annotations

import argparse
from typing import Any

from qbwc_server.cli import tenant
from qbwc_server.config import Settings


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    if args.tenant:
        return tenant.cmd_show(argparse.Namespace(name=args.tenant), settings)
    return tenant.cmd_list(args, settings)


def register(sub: Any) -> None:
    """Add `status` to `qbwc-server`'s commands."""
    p = sub.add_parser("status", help="health of all tenants, or one")
    p.add_argument("tenant", nargs="?")
    p.set_defaults(func=cmd_status)
