"""Prepared statements, directly on PostgreSQL and behind a transaction pooler (PgBouncer).

Parsing and planning the Web Connector's statements costs several times their execution, and
they run on every call, so each is PREPAREd once and then only EXECUTEd. Directly, a connection
is one server session and remembers what it prepared. Behind a transaction pooler each
transaction may run on another server session, so the statement is EXECUTEd by a name that
holds a digest of its text and prepared wherever it turns out to be missing (`Prepared.run`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any

import psycopg2.errors
from sqlalchemy import Connection

log = logging.getLogger(__name__)

#: A row of a prepared statement, by column name.
Row = dict[str, Any]

#: A pooled connection's `info` behind a transaction pooler (db.make_engine, SingleStatements):
#: statements are EXECUTEd by their versioned name and prepared on the server session that
#: lacks them (`Prepared.run`); inside an explicit transaction the text goes instead.
POOLED: dict[str, Any] = {"qbwc_prepared": None, "qbwc_pooler": True}
#: The earlier name of POOLED.
UNPREPARED = POOLED

#: Tries at EXECUTE (or PREPARE and EXECUTE) behind a pooler before the text goes instead.
POOLED_TRIES = 3


class Prepared:
    """A named SQL statement, prepared on the server once per server session, then only executed.

    Written with psycopg2 `%(name)s` placeholders. The server-side name is `name`'s prefix
    `qbwc_` and the first 12 hex digits of the SHA-1 of the statement: two releases whose
    statements differ never run each other's behind a pooler, where server sessions outlive
    the nodes. `retry_safe`: the statement may run twice, because it only reads or because a
    repeat changes nothing, so SingleStatements asks it again when its connection died under it.
    """

    _PLACEHOLDER = re.compile(r"%\((\w+)\)s")

    def __init__(self, name: str, sql: str, *, retry_safe: bool = False) -> None:
        self.name = name
        self.retry_safe = retry_safe
        self.params: list[str] = []

        def positional(match: re.Match[str]) -> str:
            if match[1] not in self.params:
                self.params.append(match[1])
            return f"${self.params.index(match[1]) + 1}"

        body = self._PLACEHOLDER.sub(positional, sql)
        self.server_name = "qbwc_" + hashlib.sha1(body.encode()).hexdigest()[:12]
        self.prepare_sql = f"PREPARE {self.server_name} AS {body}"
        #: The statement as psycopg2 interpolates it (a literal % doubled), for the text path.
        self.sql = re.sub(r"%(?!\(\w+\)s)", "%%", sql)
        args = ", ".join(["%s"] * len(self.params))
        self.execute_sql = f"EXECUTE {self.server_name}({args})" if args else f"EXECUTE {self.server_name}"
        #: PREPARE and EXECUTE in one simple-query message: one implicit transaction, so a
        #: transaction pooler keeps both on the same server session.
        self.prepare_and_execute_sql = (
            f"{self.prepare_sql.replace('%', '%%') if args else self.prepare_sql}; {self.execute_sql}"
        )

    def run(self, dbapi_connection: Any, info: dict[str, Any], params: Mapping[str, object]) -> list[Row]:
        """Execute on a raw psycopg2 connection whose pool `info` remembers what it has prepared
        (`POOLED` behind a transaction pooler).

        Rows come back by column name, so a statement can gain a column without moving the others.
        """
        prepared: set[str] | None = info.setdefault("qbwc_prepared", set())
        with dbapi_connection.cursor() as cursor:
            if prepared is not None:  # directly on PostgreSQL: this connection is one server session
                if self.server_name not in prepared:  # by text: two names may share one
                    cursor.execute(self.prepare_sql)
                    prepared.add(self.server_name)
                cursor.execute(self.execute_sql, self._values(params))
            elif info.get("qbwc_pooler") and dbapi_connection.autocommit:
                self._run_pooled(cursor, params)
            else:  # inside a transaction behind a pooler: a miss would abort it
                cursor.execute(self.sql, params)
            if not cursor.description:
                return []
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def on(self, conn: Connection, params: Mapping[str, object]) -> list[Row]:
        """Execute inside an SQLAlchemy connection's transaction."""
        pooled = conn.connection
        return self.run(pooled.dbapi_connection, pooled.info, params)

    def _values(self, params: Mapping[str, object]) -> list[object] | None:
        return [params[name] for name in self.params] if self.params else None

    def _run_pooled(self, cursor: Any, params: Mapping[str, object]) -> None:
        """EXECUTE on whichever server session the pooler lends; where that session lacks the
        statement (26000: nothing ran), PREPARE and EXECUTE in one message; where another
        client's PREPARE got there first (42P05: nothing ran), EXECUTE again. Autocommit only:
        each failed try is its own transaction, so nothing of the caller's is aborted."""
        values = self._values(params)
        for _ in range(POOLED_TRIES):
            try:
                cursor.execute(self.execute_sql, values)
                return
            except psycopg2.errors.InvalidSqlStatementName:
                pass
            try:
                cursor.execute(self.prepare_and_execute_sql, values)
                return
            except psycopg2.errors.DuplicatePreparedStatement:
                pass
        log.info("%s missed behind the pooler %d times; sent as text", self.name, POOLED_TRIES)
        cursor.execute(self.sql, params)
