"""Memory a large call took, given back: trimmed from the allocator once the reply is sent, and a
worker still grown past its bound replaced by gunicorn after that call.

glibc keeps what a process frees in its arenas (one per thread under gthread) rather than
returning it, so one 200 MB receiveResponseXML used to leave a worker holding gigabytes for
good. `malloc_trim(0)` gives back what is free; what it cannot (fragmented heaps, caches) the
recycling does. Knows nothing of SOAP.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections.abc import Iterable, Iterator
from typing import Any

log = logging.getLogger(__name__)

#: A call whose body reached this size is followed by a trim and a look at the worker's size.
LARGE_BODY = 8 * 2**20
#: The environ key by which the app asks gunicorn's post_request hook to replace the worker.
RECYCLE = "qbwc.recycle_worker"

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc; musl and macOS have none
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


def trim() -> None:
    """Return the allocator's free memory to the system (every arena), where the libc can."""
    if _TRIM is not None:
        _TRIM(0)


def resident_mb() -> float:
    """This process's resident set size in MB; 0 where /proc is not available."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


class AfterLargeCall:
    """Wraps the reply of a call that read a large body. The server calls `close()` once the
    reply is sent and the call's objects are gone (WSGI): only then is there memory to give back."""

    def __init__(self, reply: Iterable[bytes], environ: dict[str, Any], max_rss_mb: int) -> None:
        self._reply = reply
        self._environ = environ
        self._max_rss_mb = max_rss_mb

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._reply)

    def close(self) -> None:
        close = getattr(self._reply, "close", None)
        if close is not None:
            close()
        self._reply = ()
        trim()
        rss = resident_mb()
        if self._max_rss_mb and rss > self._max_rss_mb:
            self._environ[RECYCLE] = rss


def recycle_grown_worker(worker: Any, req: Any, environ: dict[str, Any], resp: Any) -> None:
    """gunicorn's post_request hook: a worker the app found grown past QBWC_WORKER_MAX_RSS_MB
    stops taking requests and exits once those in flight are answered; the arbiter starts a
    fresh one. Chosen over max_requests, which recycles by count and misses a single huge call.
    """
    rss = environ.get(RECYCLE)
    if rss and worker.alive:
        log.warning(
            "worker %s holds %.0f MB after a large call (above QBWC_WORKER_MAX_RSS_MB): replacing it",
            os.getpid(),
            rss,
        )
        worker.alive = False
