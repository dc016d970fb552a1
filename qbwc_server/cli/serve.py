"""`qbwc-server serve`: the Web Connector endpoint under gunicorn, with config.py's settings
(the same ones deploy/gunicorn.conf.py gives gunicorn when ops start it themselves).
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

from qbwc_server import logs
from qbwc_server.cli.common import CommandFailed, UsageError, bounded_int, open_engine
from qbwc_server.config import GunicornSettings, Settings
from qbwc_server.db import resolve_database_url, upgrade_to_head


class Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn serving `qbwc_server.wsgi:application` with exactly the options given (no config
    file, no GUNICORN_CMD_ARGS: what `serve` runs is what config.py says)."""

    def __init__(self, options: Mapping[str, object]) -> None:
        self._options = dict(options)
        super().__init__(prog="qbwc-server serve")

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        from qbwc_server.wsgi import application  # in each worker, after the fork

        return application


def run_gunicorn(settings: GunicornSettings, **overrides: object) -> None:
    """Serve the app with gunicorn in this process until it is stopped; `overrides` are gunicorn
    settings by gunicorn's names (e.g. bind="127.0.0.1:8001", workers=2)."""
    Gunicorn({**settings.options(), **overrides}).run()


def check_bind(bind: str) -> None:
    """Fail now, in one line, if gunicorn could not listen on `bind` ("host:port"): gunicorn
    itself would print its endpoint, retry for five seconds and log a dozen lines first."""
    if bind.startswith(("unix:", "fd://")):
        return
    host, sep, port_text = bind.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"cannot listen on {bind!r}: expected HOST:PORT, e.g. 127.0.0.1:8000")
    host = host.strip("[]") or "0.0.0.0"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, int(port_text), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise UsageError(
            f"cannot listen on {bind}: the host {host!r} does not resolve ({exc.strerror})"
        ) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn does
        try:
            probe.bind(address)
        except OSError as exc:
            reason = {
                errno.EADDRINUSE: "the address is already in use (another server? choose another --port)",
                errno.EACCES: "permission denied (ports below 1024 need privileges)",
                errno.EADDRNOTAVAIL: "this machine has no such address",
            }.get(exc.errno or 0, exc.strerror or str(exc))
            raise CommandFailed(f"cannot listen on {bind}: {reason}") from None


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url is None:
        url = resolve_database_url(settings)
        upgrade_to_head(url)
        os.environ["DATABASE_URL"] = url  # the workers read the same settings
        print(f"Using the embedded PostgreSQL in {settings.data_dir} (set DATABASE_URL to use your own).")
    else:
        open_engine(settings).dispose()  # fail now, clearly, if the schema is behind
    overrides: dict[str, object] = {}
    if args.host or args.port:
        overrides["bind"] = f"{args.host or '127.0.0.1'}:{args.port or 8000}"
    if args.workers:
        overrides["workers"] = args.workers
    bind = str(overrides.get("bind", settings.gunicorn.bind))
    check_bind(bind)
    print(f"Web Connector endpoint: http://{bind}/qbwc", flush=True)
    # From here the server's logging (JSON unless QBWC_LOG_FORMAT says text); gunicorn's
    # logger_class (config.py) sets the same in its master, and its workers inherit it.
    logs.configure(settings.gunicorn.log_format or "json", settings.gunicorn.log_level or "info")
    try:
        run_gunicorn(settings.gunicorn, **overrides)
    except SystemExit as exc:  # gunicorn exits so when it cannot start (e.g. the port was taken since)
        if exc.code not in (None, 0):
            raise CommandFailed(f"gunicorn stopped with status {exc.code}; its log above says why") from None
    return 0


def register(sub: Any) -> None:
    """Add `serve` to `qbwc-server`'s commands."""
    p = sub.add_parser("serve", help="serve the Web Connector endpoint with gunicorn")
    p.add_argument("--host", help="address to listen on (default: QBWC_BIND, else 127.0.0.1)")
    p.add_argument(
        "--port", type=bounded_int(1, 65535), help="port, 1 to 65535 (default: QBWC_BIND, else 8000)"
    )
    p.add_argument(
        "--workers",
        type=bounded_int(1, 1024),
        help="gunicorn worker processes (default: QBWC_WORKERS, else 2 per core)",
    )
    p.set_defaults(func=cmd_serve)
