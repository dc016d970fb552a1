"""The job kinds the Web Connector session can run; it knows only this lookup."""

from __future__ import annotations

from qbwc_server.sync.base import JobHandler
from qbwc_server.sync.raw import RawQbxmlHandler

_HANDLERS: dict[str, JobHandler] = {handler.kind: handler for handler in (RawQbxmlHandler(),)}


def handler_for(kind: str) -> JobHandler | None:
    return _HANDLERS.get(kind)


def nouns_for(kind: str) -> tuple[str, str]:
    """How a closing message counts jobs of `kind`."""
    handler = _HANDLERS.get(kind)
    return handler.nouns if handler else (f"{kind} job", f"{kind} jobs")
