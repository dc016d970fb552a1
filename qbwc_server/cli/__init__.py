"""`qbwc-server …`: the parser and `main`; each command group has its module beside this one.

Commands parse and print; the work is in admin/ (and db.py, the simulators, gunicorn). Every
command exits 0 on success, 1 with a one-line reason when the work itself failed (e.g. the
server a simulated session was pointed at could not be reached), 2 with a one-line reason on
bad input or configuration, 130 when interrupted. Never a traceback for either.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from qbwc_server import __version__, logs
from qbwc_server.cli import customers, db, demo, jobs, qwc, serve, simulate, status, sync, tenant, tokens
from qbwc_server.cli.common import CommandFailed, Parser, UsageError
from qbwc_server.config import load_settings
from qbwc_server.errors import QbwcError

#: The command groups, in the order `qbwc-server --help` lists them.
GROUPS = (serve, demo, tenant, tokens, qwc, status, jobs, simulate, sync, customers, db)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="qbwc-server",
        description="Sync QuickBooks Desktop with WizCommerce through the QuickBooks Web Connector.",
        epilog="Database: DATABASE_URL, or an embedded PostgreSQL under QBWC_DATA_DIR when unset.",
    )
    parser.add_argument("--version", action="version", version=f"qbwc-server {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run one command; `argv` and `environ` default to the process's own (tests pass theirs)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(environ)
        logs.configure_command(settings.gunicorn.log_format, settings.gunicorn.log_level)
        return int(args.func(args, settings))
    except (UsageError, QbwcError) as exc:  # QbwcError: ConfigError, TenantError, QueueError, …
        print(f"qbwc-server: {exc}", file=sys.stderr)
        return 2
    except CommandFailed as exc:
        print(f"qbwc-server: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `qbwc-server jobs show 1 --response | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
