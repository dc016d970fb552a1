"""PL/pgSQL functions on the hot path, built from the statements' own SQL and named by its digest.

A function lets one round trip take a cheap way when it can and the full statement otherwise,
each with its plan cached on the server session; one SQL statement holding both ways would set
up the full one's plan on every call. The text is built from the same fragments as the prepared
statements, so it is installed after the migrations (migrations/env.py), not frozen in one: a
changed fragment is a new name, installed beside the old one, which the previous release's
nodes keep calling during a rolling upgrade (as with `Prepared`'s names behind a pooler).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from qbwc_server.prepared import Prepared


class ServerFunction:
    """A set-returning PL/pgSQL function `qbwc_<name>_<digest>`.

    `body` is the function's DECLARE/BEGIN…END block, written with psycopg2 placeholders for
    `arguments` (name -> type, in order); they become $1, $2 … `columns` (name -> type) are the
    rows it returns. Inside, a bare name is the table's column, never the output column.
    """

    _PLACEHOLDER = re.compile(r"%\((\w+)\)s")

    def __init__(self, name: str, arguments: dict[str, str], columns: dict[str, str], body: str) -> None:
        self.arguments = arguments
        order = list(arguments)

        def positional(match: re.Match[str]) -> str:
            return f"${order.index(match[1]) + 1}"

        signature = ", ".join(f"{argument} {kind}" for argument, kind in arguments.items())
        returns = ", ".join(f"{column} {kind}" for column, kind in columns.items())
        definition = (
            f"({signature}) RETURNS TABLE ({returns}) LANGUAGE plpgsql AS $function$\n"
            f"#variable_conflict use_column\n{self._PLACEHOLDER.sub(positional, body).strip()}\n$function$"
        )
        self.server_name = f"qbwc_{name}_{hashlib.sha1(definition.encode()).hexdigest()[:12]}"
        self.create_sql = f"CREATE OR REPLACE FUNCTION {self.server_name}{definition}"

    def call(self, name: str, *, retry_safe: bool = False) -> Prepared:
        """The prepared statement that calls it with `arguments` by name."""
        values = ", ".join(f"%({argument})s::{kind}" for argument, kind in self.arguments.items())
        return Prepared(name, f"SELECT * FROM {self.server_name}({values})", retry_safe=retry_safe)


def install(dbapi_connection: Any, functions: Iterable[ServerFunction]) -> None:
    """Create each function (the same text under the same name: replacing it changes nothing)."""
    with dbapi_connection.cursor() as cursor:
        for function in functions:
            cursor.execute(function.create_sql)
