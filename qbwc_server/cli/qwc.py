"""`qbwc-server qwc TENANT`: print the tenant's .qwc file (admin/qwc.py), and keep the polling
interval it asks for (`--every`): `status` calls the tenant inactive after 3 of them without a call."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qbwc_server.admin.qwc import MAX_EVERY, MIN_EVERY, write_qwc
from qbwc_server.cli.common import bounded_int, transaction
from qbwc_server.config import Settings
from qbwc_server.webconnector.qwc import is_local_url


def cmd_qwc(args: argparse.Namespace, settings: Settings) -> int:
    app_url = args.url or settings.public_url
    with transaction(settings) as conn:
        _, qwc = write_qwc(conn, args.tenant, app_url=app_url, every=args.every)
    if not args.url and is_local_url(app_url):  # the .qwc goes to another PC, which cannot reach it
        print(
            f"qbwc-server: warning: the AppURL is {app_url}, this machine: a Web Connector on another PC"
            " cannot reach it; set QBWC_PUBLIC_URL (or --url) to the server's public https:// address",
            file=sys.stderr,
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
        type=bounded_int(MIN_EVERY, MAX_EVERY, " minutes"),
        metavar="MINUTES",
        help="how often the Web Connector runs, 1 to 1440 minutes (default: as the last .qwc, else 1);"
        " kept on the tenant: `status` calls it inactive after 3 intervals without a call",
    )
    p.set_defaults(func=cmd_qwc)
