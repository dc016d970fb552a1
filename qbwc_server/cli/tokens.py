"""`qbwc-server tenant token NAME [--revoke]` and `qbwc-server admin-token [--revoke]`: API tokens;
`qbwc-server tenant status-link NAME [--revoke]`: a tenant's read-only status page link.

Issuing prints the token (or the link's URL) alone on one line of standard output, so
`TOKEN=$(qbwc-server …)` captures it; it is shown only then (only its digest is kept). Revoking
prints nothing on standard output and one line on standard error. The work is admin/tokens.py's.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qbwc_server.admin import tokens
from qbwc_server.cli.common import transaction
from qbwc_server.config import Settings


def _plural(n: int) -> str:
    return f"{n} token{'' if n == 1 else 's'}"


def cmd_tenant_token(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        if args.revoke:
            revoked = tokens.revoke_tenant_tokens(conn, args.name)
        else:
            token = tokens.issue_tenant_token(conn, args.name)
    if args.revoke:
        print(f"Revoked {_plural(revoked)} of {args.name!r}; none issued.", file=sys.stderr)
    else:
        print(token)
    return 0


def cmd_admin_token(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        if args.revoke:
            revoked = tokens.revoke_admin_tokens(conn)
        else:
            token = tokens.issue_admin_token(conn)
    if args.revoke:
        print(f"Revoked {_plural(revoked)} (admin); none issued.", file=sys.stderr)
    else:
        print(token)
    return 0


def cmd_status_link(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        if args.revoke:
            revoked = tokens.revoke_status_links(conn, args.name)
        else:
            token = tokens.issue_status_link(conn, args.name)
    if args.revoke:
        noun = "link" if revoked == 1 else "links"
        print(f"Revoked {revoked} status {noun} of {args.name!r}; none issued.", file=sys.stderr)
    else:
        print(tokens.status_link_url(settings.public_url, token))
    return 0


def register_tenant_token(tenant_actions: Any) -> None:
    """Add `token` and `status-link` to the `tenant` group's actions (cli/tenant.py calls this)."""
    p = tenant_actions.add_parser(
        "token", help="issue an API token for the tenant (printed once), or --revoke all of its tokens"
    )
    p.add_argument("name")
    p.add_argument("--revoke", action="store_true", help="revoke every token of the tenant; issue none")
    p.set_defaults(func=cmd_tenant_token)
    p = tenant_actions.add_parser(
        "status-link",
        help="print a read-only status page link for the tenant (QBWC_PUBLIC_URL's host), or --revoke"
        " all of its links",
    )
    p.add_argument("name")
    p.add_argument("--revoke", action="store_true", help="revoke every status link of the tenant; issue none")
    p.set_defaults(func=cmd_status_link)


def register(sub: Any) -> None:
    """Add `admin-token` to `qbwc-server`'s commands."""
    p = sub.add_parser(
        "admin-token", help="issue an admin API token (every tenant's routes), or --revoke all of them"
    )
    p.add_argument("--revoke", action="store_true", help="revoke every admin token; issue none")
    p.set_defaults(func=cmd_admin_token)
