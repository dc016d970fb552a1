"""`qbwc-server serve`: the Web Connector endpoint under gunicorn, with config.py's settings
(the same ones deploy/gunicorn.conf.py gives gunicorn when ops start it themselves).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

from qbwc_server.cli.common import open_engine
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
    print(f"Web Connector endpoint: http://{overrides.get('bind', settings.gunicorn.bind)}/qbwc", flush=True)
    run_gunicorn(settings.gunicorn, **overrides)
    return 0


def register(sub: Any) -> None:
    """Add `serve` to `qbwc-server`'s commands."""
    p = sub.add_parser("serve", help="serve the Web Connector endpoint with gunicorn")
    p.add_argument("--host", help="address to listen on (default: QBWC_BIND, else 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: QBWC_BIND, else 8000)")
    p.add_argument("--workers", type=int, help="gunicorn workers (default: cores + 1)")
    p.set_defaults(func=cmd_serve)
