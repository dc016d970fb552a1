"""What every `qbwc-server` command shares: the one-line usage error, the database a command
works in, and how times are printed. Command modules import this, never `cli/__init__.py`
(run as `python -m qbwc_server.cli`, that would be a second copy of it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

from sqlalchemy import Connection, Engine

from qbwc_server.config import Settings


class UsageError(Exception):
    """Bad input: printed as one line, exit status 2."""


class CommandFailed(Exception):
    """The work itself failed (a server unreachable, a port taken): printed as one line, exit 1."""


class Parser(argparse.ArgumentParser):
    """argparse with our one-line usage error (argparse's own prints the usage first, and for a
    `choices=range(…)` every accepted value). Subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"qbwc-server: {message} (see `{self.prog} --help`)\n")


def bounded_int(low: int, high: int, unit: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`, else one line saying so."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {low} to {high}{unit}, got {raw!r}"
            )
        return value

    parse.__name__ = "whole number"
    return parse


def bounded_float(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a number from `low` to `high`."""

    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:  # NaN fails both comparisons
            raise argparse.ArgumentTypeError(f"expected a number from {low:g} to {high:g}, got {raw!r}")
        return value

    parse.__name__ = "number"
    return parse


#: Job ids are PostgreSQL bigints.
JOB_ID = bounded_int(1, 2**63 - 1)


@contextmanager
def reading(settings: Settings) -> Iterator[Connection]:
    """A connection to the configured database, for commands that only read."""
    engine = open_engine(settings)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@contextmanager
def transaction(settings: Settings) -> Iterator[Connection]:
    """A transaction on the configured database: committed if the command finishes, else rolled back."""
    engine = open_engine(settings)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


@functools.cache
def _head_revision() -> str | None:
    """The newest migration this release ships (read once: alembic compiles every script)."""
    from alembic.script import ScriptDirectory

    from qbwc_server.db import alembic_config

    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def open_engine(settings: Settings) -> Engine:
    """Engine for the configured database; the embedded one is created and migrated on demand."""
    from alembic.runtime.migration import MigrationContext

    from qbwc_server.db import database_error, make_engine, resolve_database_url, upgrade_to_head

    url = resolve_database_url(settings)
    if settings.database_url is None:
        upgrade_to_head(url)
    engine = make_engine(url, pool_size=1, pooled=settings.db_pooled)
    head = _head_revision()
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except Exception as exc:
        engine.dispose()
        raise database_error(exc) from None
    if current != head:
        engine.dispose()
        raise UsageError(
            f"the database schema is at {current or 'nothing'}, this release needs {head}:"
            " run `alembic upgrade head` first"
        )
    return engine


def read_password(enabled: bool) -> str | None:
    """The admin-chosen password from the first line of standard input, when `enabled`."""
    if not enabled:
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("--password-stdin given but no password arrived on standard input")
    return password


def when(value: dt.datetime | None) -> str:
    """A timestamp as the listings print it."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "never"
