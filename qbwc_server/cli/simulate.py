"""`qbwc-server simulate`: one session of the simulated Web Connector (simulator/) against a
server, answered from canned responses or a generated QuickBooks company."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from qbwc_server.config import Settings


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server.simulator import CannedProcessor, SimulatedWebConnector, WebConnectorProtocolError
    from qbwc_server.simulator.processor import RequestProcessor
    from qbwc_server.simulator.report import format_report

    password = args.password
    if password is None:
        password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else getpass.getpass()
    down = ("0x80040408", "Could not start QuickBooks.") if args.quickbooks_down else None
    processor: RequestProcessor
    if args.company:
        from qbwc_server.simulator.generator import generate_company
        from qbwc_server.simulator.quickbooks import SimulatedQuickBooks

        company = generate_company(
            seed=args.seed, customers=args.customers, items=max(10, args.customers // 5)
        )
        simulated = SimulatedQuickBooks(company)
        simulated.fail_connection = down
        processor = simulated
    else:
        processor = CannedProcessor(Path(args.canned_dir) if args.canned_dir else None, fail_connection=down)
    connector = SimulatedWebConnector(args.url, args.user, password, processor, noop_delay=args.noop_delay)
    try:
        report = connector.run_session()
    except (WebConnectorProtocolError, OSError) as exc:
        print(f"The server broke the Web Connector protocol or could not be reached: {exc}", file=sys.stderr)
        return 1
    print(format_report(report))
    if report.close_message:
        print(f"The Web Connector shows: {report.close_message}")
    return 0 if report.ok or report.outcome == "no work" else 1


def register(sub: Any) -> None:
    """Add `simulate` to `qbwc-server`'s commands."""
    p = sub.add_parser("simulate", help="run one simulated Web Connector session against a server")
    p.add_argument("--url", required=True, help="the server's AppURL, e.g. http://127.0.0.1:8000/qbwc")
    p.add_argument("--user", required=True, help="Web Connector username")
    p.add_argument("--password", help="password (prompted for when omitted)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--canned-dir", help="directory of canned XxxRs.xml answers (default: built-in)")
    p.add_argument("--quickbooks-down", action="store_true", help="simulate 'Could not start QuickBooks'")
    p.add_argument(
        "--company",
        action="store_true",
        help="answer from a generated QuickBooks company (customers, items, orders, invoices…) instead of"
        " canned responses",
    )
    p.add_argument("--seed", type=int, default=0, help="the generated company (same seed, same company)")
    p.add_argument("--customers", type=int, default=200, help="size of the generated company (default 200)")
    p.add_argument("--noop-delay", type=float, default=5.0, help="seconds to wait on NoOp (default 5)")
    p.set_defaults(func=cmd_simulate)
