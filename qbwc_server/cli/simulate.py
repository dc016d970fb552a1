"""`qbwc-server simulate`: one session of the simulated Web Connector (simulator/) against a
server, answered from canned responses or a generated QuickBooks company.

It is how ops check a deployment from outside (TLS, proxy, password), so every way of not
reaching the server is one line naming the cause, never the simulator's traceback.
"""

from __future__ import annotations

import argparse
import getpass
import http.client
import socket
import ssl
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from qbwc_server.cli.common import CommandFailed, UsageError, bounded_float, bounded_int, read_password
from qbwc_server.config import Settings


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server.simulator import (
        CannedProcessor,
        SimulatedWebConnector,
        WebConnectorProtocolError,
        WebConnectorTransportError,
    )
    from qbwc_server.simulator.processor import RequestProcessor
    from qbwc_server.simulator.report import format_report

    check_url(args.url)
    if args.canned_dir and not Path(args.canned_dir).is_dir():
        raise UsageError(f"--canned-dir {args.canned_dir}: no such directory")
    context = _ssl_context(args.cafile)
    password = args.password if args.password is not None else _password(args.password_stdin)
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
    connector = SimulatedWebConnector(
        args.url, args.user, password, processor, noop_delay=args.noop_delay, ssl_context=context
    )
    try:
        report = connector.run_session()
    except WebConnectorTransportError as exc:
        raise CommandFailed(f"cannot reach {args.url}: {describe_transport_error(exc)}") from None
    except WebConnectorProtocolError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CommandFailed(f"the server at {args.url} broke the Web Connector protocol: {first}") from None
    print(format_report(report))
    if report.close_message:
        print(f"The Web Connector shows: {report.close_message}")
    return 0 if report.ok or report.outcome == "no work" else 1


def check_url(url: str) -> None:
    """An absolute http(s) URL with a host and a valid port, else a one-line UsageError."""
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # a port out of range or not a number raises here
    except ValueError:
        ok = False
    if not ok:
        raise UsageError(
            f"--url must be an http:// or https:// URL such as https://qbwc.example.com/qbwc, got {url!r}"
        )


def describe_transport_error(exc: BaseException) -> str:
    """Why the HTTP exchange failed, in the words an admin acts on."""
    cause = exc.__cause__ or exc
    if isinstance(cause, ssl.SSLCertVerificationError):
        return (
            f"the server's TLS certificate is not trusted ({cause.verify_message});"
            " for a private CA, give its certificate with --cafile"
        )
    if isinstance(cause, ssl.SSLError):
        reason = cause.reason or str(cause)
        return f"the TLS handshake failed ({reason}): does the server speak https on that port?"
    if isinstance(cause, socket.gaierror):
        return f"the host name does not resolve ({cause.strerror})"
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused: nothing listens on that address and port"
    if isinstance(cause, TimeoutError):
        return "no answer in time: a firewall, or a server too busy to answer"
    if isinstance(cause, OSError):
        return cause.strerror or str(cause)
    if isinstance(cause, http.client.HTTPException):
        return f"the answer is not HTTP ({type(cause).__name__})"
    return str(cause).splitlines()[0] if str(cause) else type(cause).__name__


def _ssl_context(cafile: str | None) -> ssl.SSLContext | None:
    """The default verification, trusting `cafile`'s certificates too when given."""
    if cafile is None:
        return None
    try:
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
        raise UsageError(f"--cafile {cafile}: cannot read certificates from it ({reason})") from None
    return context


def _password(from_stdin: bool) -> str:
    """From standard input with --password-stdin, else a prompt (only on a terminal)."""
    if from_stdin:
        password = read_password(True)
        assert password is not None
        return password
    if not sys.stdin.isatty():
        raise UsageError(
            "no password given and standard input is not a terminal to ask on:"
            " use --password-stdin and pipe the password in"
        )
    try:
        return getpass.getpass()
    except EOFError:
        raise UsageError("no password given (standard input closed at the prompt)") from None


def register(sub: Any) -> None:
    """Add `simulate` to `qbwc-server`'s commands."""
    p = sub.add_parser("simulate", help="run one simulated Web Connector session against a server")
    p.add_argument("--url", required=True, help="the server's AppURL, e.g. http://127.0.0.1:8000/qbwc")
    p.add_argument("--user", required=True, help="Web Connector username")
    p.add_argument("--password", help="password (prompted for when omitted; visible to other users in ps)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument(
        "--cafile", help="PEM file of CA certificates to trust as well, for a server with a private CA"
    )
    p.add_argument("--canned-dir", help="directory of canned XxxRs.xml answers (default: built-in)")
    p.add_argument("--quickbooks-down", action="store_true", help="simulate 'Could not start QuickBooks'")
    p.add_argument(
        "--company",
        action="store_true",
        help="answer from a generated QuickBooks company (customers, items, orders, invoices…) instead of"
        " canned responses",
    )
    p.add_argument(
        "--seed",
        type=bounded_int(0, 2**31 - 1),
        default=0,
        help="the generated company (same seed, same company)",
    )
    p.add_argument(
        "--customers",
        type=bounded_int(1, 100_000),
        default=200,
        help="size of the generated company, 1 to 100000 (default 200)",
    )
    p.add_argument(
        "--noop-delay",
        type=bounded_float(0, 60),
        default=5.0,
        help="seconds to wait on NoOp, 0 to 60 (default 5)",
    )
    p.set_defaults(func=cmd_simulate)
