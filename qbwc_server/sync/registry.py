"""The job kinds the Web Connector session can run; it knows only this lookup."""

from __future__ import annotations

from qbwc_server.sync.base import JobHandler
from qbwc_server.sync.pull import PullHandler
from qbwc_server.sync.pulls import PULLS
from qbwc_server.sync.raw import RawQbxmlHandler

_HANDLERS: dict[str, JobHandler | PullHandler] = {RawQbxmlHandler.kind: RawQbxmlHandler()}
_HANDLERS.update((spec.kind, PullHandler(spec)) for spec in PULLS)


def handler_for(kind: str) -> JobHandler | PullHandler | None:
    return _HANDLERS.get(kind)


def is_pull(kind: str) -> bool:
    return isinstance(_HANDLERS.get(kind), PullHandler)


def nouns_for(kind: str) -> tuple[str, str]:
    """How a closing message counts jobs of `kind` (records, for a pull)."""
    handler = _HANDLERS.get(kind)
    return handler.nouns if handler else (f"{kind} job", f"{kind} jobs")
