"""`qbwc-server qwc TENANT`: print the tenant's .qwc file (built by webconnector/qwc.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qbwc_server.admin import tenants
from qbwc_server.cli.common import reading
from qbwc_server.config import Settings
from qbwc_server.webconnector.qwc import build_qwc


def cmd_qwc(args: argparse.Namespace, settings: Settings) -> int:
    with reading(settings) as conn:
        t = tenants.get_tenant(conn, args.tenant)
    qwc = build_qwc(
        tenant_name=t.name,
        username=t.username,
        owner_id=t.owner_id,
        file_id=t.file_id,
        app_url=args.url or settings.public_url,
        run_every_minutes=args.every,
    )
    sys.stdout.write(qwc)
    return 0


def register(sub: Any) -> None:
    """Add `qwc` to `qbwc-server`'s commands."""
    p = sub.add_parser("qwc", help="print the tenant's .qwc file for the Web Connector")
    p.add_argument("tenant")
    p.add_argument("--url", help="AppURL (default QBWC_PUBLIC_URL); https:// unless localhost")
    p.add_argument(
        "--every",
        type=int,
        default=1,
        choices=range(1, 1441),
        metavar="MINUTES",
        help="how often the Web Connector runs (default 1)",
    )
    p.set_defaults(func=cmd_qwc)
