"""Logging for the server and the CLI: one line per event, as JSON (a log pipeline's default) or
plain text, with the tenant and session of the Web Connector call in progress.

The session layer names the tenant and the ticket once per call (`bind`: a contextvar, about a
tenth of a microsecond); a filter copies them onto every record of that call, so no log call
has to pass them. Fields a caller knows (job, kind, outcome, status code, duration) go in
`extra=`. Knows nothing of SOAP, qbXML or the database; what a message may say is the caller's
rule (never a password, a token, a full ticket or a qbXML body at info level).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from typing import Any, TextIO

from qbwc_server.logsafe import safe

#: Record attributes written after the message when present, in this order.
FIELDS = ("event", "tenant", "session", "job", "kind", "outcome", "status_code", "duration_ms", "operation")
#: How long a ticket may be in a log line: enough to find the session, useless to take it over.
TICKET_PREFIX = 8


#: The tenant (id) and session (ticket prefix) of the call this thread is answering; a plain
#: tuple, the cheapest thing to make on every call.
CallContext = tuple[int | None, str | None]
NO_CALL: CallContext = (None, None)
#: Set per Web Connector call (app.py: `CALL.set(NO_CALL)`, then `CALL.reset(token)`), so a
#: thread's previous call never leaks into the next request it serves.
CALL: contextvars.ContextVar[CallContext] = contextvars.ContextVar("qbwc_call", default=NO_CALL)


def bind(*, tenant: int | None = None, ticket: str | None = None) -> None:
    """Name the tenant and/or the session (by its ticket, cut here) of the call in progress. The
    ticket is the client's string until it is looked up: a control character in it is escaped."""
    now_tenant, now_session = CALL.get()
    session = now_session if not ticket else ticket[:TICKET_PREFIX]
    if session is not None and not session.isprintable():
        session = safe(session)
    CALL.set((now_tenant if tenant is None else tenant, session))


class ContextFilter(logging.Filter):
    """Copies the call's tenant and session onto each record (unless the record names its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        tenant, session = CALL.get()
        if tenant is not None and getattr(record, "tenant", None) is None:
            record.tenant = tenant
        if session is not None and getattr(record, "session", None) is None:
            record.session = session
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {name: value for name in FIELDS if (value := getattr(record, name, None)) is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, message, then FIELDS."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`2026-11-30 12:00:00,123 INFO logger: message key=value …` for a person at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{name}={value}" for name, value in _fields(record).items() if name != "event")
        return f"{text} [{extra}]" if extra else text


def formatter(format: str = "json") -> logging.Formatter:
    """The formatter for QBWC_LOG_FORMAT `format` ("json" or "text")."""
    return JsonFormatter() if format == "json" else TextFormatter()


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record comes (tests and the CLI swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure(format: str, level: str, stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's records (gunicorn's and ours) to one handler on the root logger, in
    `format` at `level`; replaces the handler a previous call installed. Returns the handler."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "qbwc", False)]:
        root.removeHandler(old)
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.qbwc = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter(format))
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler


def configure_command(format: str | None, level: str | None) -> logging.Handler:
    """An interactive command's logging: text at warning unless QBWC_LOG_FORMAT/LEVEL say otherwise
    (a person reads its output; a line per job settled would bury it)."""
    return configure(format or "text", level or "warning")


def gunicorn_logger(format: str) -> type:
    """gunicorn's `logger_class`: its error log and our records through one handler on stderr,
    in `format`, at gunicorn's log level (QBWC_LOG_LEVEL, or its own --log-level), from the master
    and every worker (they inherit it). The access log (QBWC_ACCESS_LOG) keeps gunicorn's format."""
    from gunicorn.glogging import Logger

    class GunicornLogger(Logger):  # type: ignore[misc]
        def setup(self, cfg: Any) -> None:
            super().setup(cfg)  # again on a reload (SIGHUP): `configure` replaces its handler
            configure(format, cfg.loglevel)
            if cfg.errorlog == "-":  # gunicorn's own lines through ours (a file it keeps to itself)
                for handler in [h for h in self.error_log.handlers if getattr(h, "_gunicorn", False)]:
                    self.error_log.removeHandler(handler)
                self.error_log.propagate = True

    GunicornLogger.__qualname__ = GunicornLogger.__name__ = f"GunicornLogger[{format}]"
    return GunicornLogger
