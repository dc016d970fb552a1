"""The job kinds the Web Connector session can run; it knows only this lookup."""

from __future__ import annotations

import functools
import json

from qbwc_server.sync.base import JobHandler
from qbwc_server.sync.customer_push import CustomerPushHandler
from qbwc_server.sync.list_push import ListPushHandler
from qbwc_server.sync.order_push import OrderPushHandler
from qbwc_server.sync.payment_push import PaymentPushHandler
from qbwc_server.sync.pull import PullHandler
from qbwc_server.sync.pulls import PULLS
from qbwc_server.sync.raw import RawQbxmlHandler

_HANDLERS: dict[str, JobHandler] = {RawQbxmlHandler.kind: RawQbxmlHandler()}
_HANDLERS.update((spec.kind, PullHandler(spec)) for spec in PULLS)
_HANDLERS.update(
    (h.kind, h) for h in (CustomerPushHandler(), ListPushHandler(), OrderPushHandler(), PaymentPushHandler())
)


def register(handler: JobHandler) -> None:
    """Add a job kind (or replace the handler of one)."""
    _HANDLERS[handler.kind] = handler
    batch_sizes_json.cache_clear()
    nouns_json.cache_clear()


def unregister(kind: str) -> None:
    """Remove a job kind (tests that add one of their own)."""
    _HANDLERS.pop(kind, None)
    batch_sizes_json.cache_clear()
    nouns_json.cache_clear()


@functools.cache
def batch_sizes_json() -> str:
    """{kind: most jobs one message may carry} as the claim reads it (kinds absent go one at a time)."""
    return json.dumps({kind: h.batch_size for kind, h in _HANDLERS.items() if h.batch_size > 1})


@functools.cache
def nouns_json() -> str:
    """[{kind, one, many, pull, place}] for the closing message's SQL (webconnector/summary.py);
    `place` orders its parts as the kinds were registered (pulls in the order a session runs them)."""
    return json.dumps(
        [
            {"kind": kind, "one": h.nouns[0], "many": h.nouns[1], "pull": h.counts_records, "place": place}
            for place, (kind, h) in enumerate(_HANDLERS.items())
        ]
    )


def handler_for(kind: str) -> JobHandler | None:
    return _HANDLERS.get(kind)


def is_pull(kind: str) -> bool:
    """Whether jobs of `kind` count the records they pulled (the closing message)."""
    handler = _HANDLERS.get(kind)
    return handler is not None and handler.counts_records


def nouns_for(kind: str) -> tuple[str, str]:
    """How a closing message counts jobs of `kind` (records, for a pull)."""
    handler = _HANDLERS.get(kind)
    return handler.nouns if handler else (f"{kind} job", f"{kind} jobs")
