"""Whether this process can serve the Web Connector: /healthz (cheap and frequent: the database
answers, and Web Connector calls are not all failing) and /readyz (the database's schema is this
release's: a node whose schema is behind fails every call, so it must not get traffic).

Per process: under gunicorn each worker answers for itself, which is what a probe hitting one
of them can see.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

#: Consecutive Web Connector calls failing on our side (a Server fault) that make health degraded.
FAILED_CALLS_FOR_DEGRADED = 3
#: Failures older than this no longer count: a process nobody called for a minute is not degraded.
WINDOW_SECONDS = 60.0


class CallHealth:
    """Outcomes of this process's recent Web Connector calls (Client faults are not counted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._consecutive = 0
        self._failures: deque[float] = deque()

    def record(self, succeeded: bool) -> None:
        with self._lock:
            if succeeded:
                self._consecutive = 0
                return
            self._consecutive += 1
            self._failures.append(time.monotonic())
            self._prune()

    def degraded(self) -> dict[str, object] | None:
        """Why health is degraded, or None: the last calls all failed, the latest within the window."""
        with self._lock:
            self._prune()
            if self._consecutive < FAILED_CALLS_FOR_DEGRADED or not self._failures:
                return None
            return {
                "status": "degraded",
                "reason": f"the last {self._consecutive} Web Connector calls failed on the server"
                " (the log says why)",
                "failed_calls_last_minute": len(self._failures),
            }

    def _prune(self) -> None:
        horizon = time.monotonic() - WINDOW_SECONDS
        while self._failures and self._failures[0] < horizon:
            self._failures.popleft()


@dataclass(frozen=True)
class _Revisions:
    head: str
    known: frozenset[str]


class Readiness:
    """Compares the database's alembic revision with this release's head (read from the migrations
    once: alembic compiles every script to find it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._revisions: _Revisions | None = None

    def _ours(self) -> _Revisions:
        if self._revisions is None:
            from alembic.script import ScriptDirectory

            from qbwc_server.db import alembic_config

            script = ScriptDirectory.from_config(alembic_config(""))
            head = script.get_current_head() or ""
            known = frozenset(rev.revision for rev in script.walk_revisions())
            self._revisions = _Revisions(head, known)
        return self._revisions

    def check(self) -> tuple[bool, dict[str, object]]:
        """(ready, the body to answer with)."""
        ours = self._ours()
        try:
            with self.engine.connect() as conn:
                current = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
        except ProgrammingError:  # no alembic_version table
            return False, {
                "status": "not ready",
                "reason": "the database is not migrated: run alembic upgrade head",
            }
        except Exception as exc:  # the probe must answer, whatever broke
            return False, {"status": "not ready", "reason": f"database unreachable ({type(exc).__name__})"}
        if current == {ours.head}:
            return True, {"status": "ready", "schema": ours.head}
        if current and not current & ours.known:
            # A newer release migrated (rolling deploy): its migrations keep the previous release
            # working, so this node keeps serving until it is replaced.
            return True, {
                "status": "ready",
                "schema": ", ".join(sorted(current)),
                "note": "newer than this release",
            }
        at = ", ".join(sorted(current)) or "nothing"
        reason = f"the database schema is at {at}, this release needs {ours.head}: run alembic upgrade head"
        return False, {"status": "not ready", "reason": reason}
