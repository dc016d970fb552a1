"""Reading a request body at the edge: within the size limit, with or without Content-Length
(chunked), and in time. Knows HTTP and WSGI, nothing of SOAP.

The body comes back as a list of chunks, never joined here: the fast path feeds them to its
parser one at a time, and only Spyne needs them in one piece. Under gunicorn the socket is in the
environ, so a client that stops sending gets 408 after a pause of `timeout` seconds (a socket
timeout), and one that trickles bytes in slower than MIN_RATE is cut off by a watchdog thread: a
thread of gunicorn's small pool must not wait on a client for ever. A buffering proxy in front
(nginx's default) keeps slow clients away from the threads altogether.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from typing import Any

from qbwc_server.errors import QbwcError

#: Most bytes one read asks for (fewer when the timeout is short, see `_step`).
STEP = 256 * 1024
#: Slowest average rate a body may arrive at, in bytes per second, beyond its first `timeout`.
MIN_RATE = 16 * 1024
#: How often the watchdog looks for bodies past their budget.
WATCH_SECONDS = 0.25


class BodyError(QbwcError):
    """The request body cannot be taken; `status` is the HTTP status to answer with."""

    code = "bad_request"
    status = "400 Bad Request"


class BodyTooLarge(BodyError):
    code = "payload_too_large"
    status = "413 Content Too Large"


class BodyTimeout(BodyError):
    code = "request_timeout"
    status = "408 Request Timeout"


class LengthRequired(BodyError):
    code = "length_required"
    status = "411 Length Required"


def read_body(environ: dict[str, Any], limit: int, timeout: float) -> list[bytes]:
    """The body as chunks; [] when there is none. Raises a BodyError subclass when it is too
    large (before reading it, when Content-Length says so), too slow, malformed or cut short."""
    stream = environ["wsgi.input"]
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        if not environ.get("wsgi.input_terminated"):  # the server handed us the raw framing
            raise LengthRequired("this server cannot read chunked bodies: send a Content-Length")
        expected = None
    else:
        expected = _content_length(environ)
        if not expected:
            return []
        if expected > limit:
            raise BodyTooLarge(_too_large(limit))
    sock = environ.get("gunicorn.socket")
    step = _step(timeout) if sock is not None else STEP
    chunks: list[bytes] = []
    total = 0
    with _Budget(sock, timeout) as budget:
        while expected is None or total < expected:
            try:
                data = stream.read(step if expected is None else min(step, expected - total))
            except TimeoutError:
                raise BodyTimeout(_too_slow(timeout)) from None
            except Exception as exc:  # the server's reader: a malformed chunk, the client gone
                if budget.cut_off:
                    raise BodyTimeout(_too_slow(timeout)) from None
                raise BodyError(f"the request body could not be read ({type(exc).__name__})") from None
            if not data:
                break
            total += len(data)
            budget.received = total
            if total > limit:
                raise BodyTooLarge(_too_large(limit))
            chunks.append(data)
        if expected is not None and total < expected:
            if budget.cut_off:
                raise BodyTimeout(_too_slow(timeout))
            raise BodyError(f"the request body ended after {total} of {expected} bytes")
    return chunks


def _content_length(environ: dict[str, Any]) -> int:
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not raw:
        return 0
    if not raw.isascii() or not raw.isdigit():
        raise BodyError(f"Content-Length must be a number of bytes, got {raw[:40]!r}")
    return int(raw)


def _step(timeout: float) -> int:
    """Read size: small enough that a client at MIN_RATE completes a read within `timeout`, so the
    budget (which counts completed reads) never cuts off a client that keeps up."""
    return max(4096, min(STEP, int(timeout * MIN_RATE)))


def _too_large(limit: int) -> str:
    return f"the request body is larger than the server's limit of {limit // 2**20} MB (QBWC_MAX_BODY_MB)"


def _too_slow(timeout: float) -> str:
    return f"the request body did not arrive in time (QBWC_BODY_TIMEOUT: {timeout:g} s)"


class _Budget:
    """While a body is read: the socket's timeout set to `timeout`, and the read watched against
    its time budget, `timeout` plus what has arrived at MIN_RATE."""

    def __init__(self, sock: socket.socket | None, timeout: float) -> None:
        self.sock = sock
        self.timeout = timeout
        self.started = time.monotonic()
        self.received = 0
        self.cut_off = False
        self._previous: float | None = None

    def __enter__(self) -> _Budget:
        if self.sock is not None:
            self._previous = self.sock.gettimeout()
            self.sock.settimeout(self.timeout)
            _WATCHDOG.watch(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.sock is not None:
            _WATCHDOG.forget(self)
            with contextlib.suppress(OSError):
                self.sock.settimeout(self._previous)

    def overdue(self, now: float) -> bool:
        return now > self.started + self.timeout + self.received / MIN_RATE

    def cut(self) -> None:
        """End the read: the blocked recv() returns nothing; the reply can still be written."""
        self.cut_off = True
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RD)


class _Watchdog:
    """One daemon thread per process, started on first use (after gunicorn's fork)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budgets: set[_Budget] = set()
        self._pid = 0

    def watch(self, budget: _Budget) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="qbwc-body-watchdog", daemon=True).start()
            self._budgets.add(budget)

    def forget(self, budget: _Budget) -> None:
        with self._lock:
            self._budgets.discard(budget)

    def _run(self) -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            now = time.monotonic()
            with self._lock:  # a budget forgotten (its read done) is never cut
                for budget in [b for b in self._budgets if b.overdue(now)]:
                    self._budgets.discard(budget)
                    budget.cut()


_WATCHDOG = _Watchdog()
