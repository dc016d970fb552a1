"""gunicorn's gthread worker, keeping a thread on a connection whose next request comes at once.

The Web Connector's calls come back to back on one connection: an idle poll is three
(serverVersion, clientVersion, authenticate) within a millisecond or two of each other when it
sits next to the server, and so is the traffic of a proxy on the same host keeping its upstream
connections alive. gthread hands every kept-alive connection back to its main thread after each
request: a hop through a pipe, two epoll registrations, a wake-up and a thread-pool hand-off, per
request, which on two cores cost as much as the app's own work for an idle poll
(bench/polls.py). This worker instead waits up to LINGER_SECONDS on the same thread for the
next request and serves it there. A connection that kept it waiting in vain lingers no more until
a request of its own again reaches a thread within the window of its previous answer (a far
client's never does, so its threads are not held for nothing); everything else is gthread's. On a gunicorn
whose gthread `handle` answers otherwise than keep-alive True/False (before 25) it never lingers.

Its responses also go out in fewer pieces: a reply the app gives whole (every SOAP reply is one
piece) leaves in one send with its headers, not two (OneSendResponse), and the Date header is
formatted once a second, not per response (`http_date`). Two more things gunicorn did per
request are done once: whether the peer may set X-Forwarded-* (`remembering`), and looking up
the error log's streams for `wsgi.errors`, now only when the app writes there (ErrorsOnWrite).
"""

from __future__ import annotations

import gc
import io
import select
import time
from collections.abc import Callable
from typing import Any

from gunicorn import util
from gunicorn.http import message, wsgi
from gunicorn.workers.gthread import ThreadWorker

#: How long a thread waits for the next request on its connection before handing it back.
LINGER_SECONDS = 0.002
#: Requests one thread serves in a row on one connection before giving the others their turn.
MAX_IN_A_ROW = 64
#: The largest first piece of a reply sent in one piece with its headers (it is copied once to
#: join them; a larger one goes after them as before, never copied).
ONE_SEND_MAX_BYTES = 64 * 1024


class LingeringThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gthread, serving a connection's next request on the same thread when it follows at once."""

    def init_process(self) -> None:
        # gunicorn builds every response from its module's Response and formats Date through
        # util.http_date; it has no setting for either. Only this worker's processes are changed.
        wsgi.Response = OneSendResponse
        util.http_date = http_date
        wsgi.WSGIErrorsWrapper = ErrorsOnWrite
        policy = getattr(message, "HeaderPolicy", None)  # gunicorn 27+
        if policy is not None and hasattr(policy, "_peer_is_trusted_proxy"):
            policy._peer_is_trusted_proxy = remembering(policy._peer_is_trusted_proxy)
        super().init_process()

    def load_wsgi(self) -> None:
        """Load the app, then move everything alive into the collector's permanent generation.

        The app's start-up objects (Spyne's service, the schema, SQLAlchemy, the statements)
        never become garbage, yet every full collection walked them again; frozen, they are
        skipped. Cycles already garbage are collected first, so freezing keeps none of them.
        Measured: gunicorn's CPU per idle poll and per small session ~10 % lower (bench/README.md).
        """
        super().load_wsgi()
        gc.collect()
        gc.freeze()

    def handle(self, conn: Any) -> Any:
        answered = getattr(conn, "qbwc_answered_at", None)
        # same window: 5 ms (allowing for the poller hop) lingered as often here and would hold
        # threads in vain for a client 2-5 ms away (bench/README.md, third stop)
        if answered is not None and time.monotonic() - answered <= LINGER_SECONDS:
            conn.qbwc_lingers = True  # it came through the poller, but soon enough: linger again
        keepalive = super().handle(conn)
        for _ in range(MAX_IN_A_ROW):
            # every answer's time, lingering or not: what tells a connection that has become
            # back to back again from one that stays far (it was only the lingered ones', so
            # one miss under load stopped a connection lingering for good)
            conn.qbwc_answered_at = time.monotonic()
            if keepalive is not True or not self.alive or not getattr(conn, "qbwc_lingers", True):
                break
            if not _next_request_within(conn, LINGER_SECONDS):
                conn.qbwc_lingers = False
                break
            keepalive = super().handle(conn)
        return keepalive


def _next_request_within(conn: Any, seconds: float) -> bool:
    """Whether the connection has bytes (or its end) to read within `seconds`."""
    if conn.parser.unreader.buf.getvalue():  # read ahead with the previous request
        return True
    poller = select.poll()  # not select(): a worker's descriptors may pass FD_SETSIZE
    try:
        poller.register(conn.sock, select.POLLIN)
        return bool(poller.poll(seconds * 1000))
    except (OSError, ValueError):  # closed under us: gthread's own path finds out
        return False


class OneSendResponse(wsgi.Response):  # type: ignore[misc]
    """gunicorn's response, sending the headers with the first piece of the body.

    gunicorn sends a response's headers, then its body, in two sends: two TCP segments on a
    connection with Nagle off, so the client (or a proxy in front) wakes twice for one reply.
    Here the first piece, up to ONE_SEND_MAX_BYTES, is gathered with the headers and sent once;
    gunicorn's own write still does all the framing and bookkeeping (Content-Length, HEAD).
    Measured: ~2 fewer context switches per idle poll of three calls (bench/README.md).
    """

    sock: Any  # gunicorn's (untyped): the client's socket, or _Gathered during a first write

    def write(self, arg: bytes) -> None:
        if self.headers_sent or self.chunked or type(arg) is not bytes or len(arg) > ONE_SEND_MAX_BYTES:
            super().write(arg)
            return
        sock = self.sock
        gathered = _Gathered()
        self.sock = gathered
        try:
            super().write(arg)  # the headers, then the body (or none: HEAD, 304), into `gathered`
        finally:
            self.sock = sock
        sock.sendall(b"".join(gathered.pieces))


class _Gathered:
    """Stands in for the socket while a response's first write is gathered (util.write's sendall)."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.pieces.append(data)


_formatted: tuple[int, str] = (0, "")
_format_date = util.http_date


def http_date(timestamp: float | None = None) -> str:
    """gunicorn's Date header value, formatted once per second (email.utils per response was
    ~3 % of a worker's time on idle polls)."""
    global _formatted
    if timestamp is not None:
        return _format_date(timestamp)  # type: ignore[no-any-return]
    second = int(time.time())
    formatted = _formatted  # one read: another thread may replace it meanwhile
    if formatted[0] != second:
        formatted = _formatted = (second, _format_date(second))
    return formatted[1]


#: Peer addresses whose verdict `remembering` keeps, before it starts over.
TRUSTED_PEERS_KEPT = 4096


def remembering(decide: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """gunicorn's "may this peer set X-Forwarded-*?" (`HeaderPolicy._peer_is_trusted_proxy`),
    decided once per peer address instead of per request.

    gunicorn parses the address with `ipaddress` and tests it against `forwarded_allow_ips` on
    every request (~6 % of a worker's time on idle polls). The answer depends only on the address
    and the configuration, which a worker never changes (a reload starts new workers).
    """
    decided: dict[str, bool] = {}

    def peer_is_trusted_proxy(request: Any) -> bool:
        peer = request.peer_addr
        if not isinstance(peer, tuple):  # a UNIX socket: gunicorn trusts it, without asking
            return bool(decide(request))
        known = decided.get(peer[0])
        if known is None:
            if len(decided) >= TRUSTED_PEERS_KEPT:
                decided.clear()
            known = decided[peer[0]] = bool(decide(request))
        return known

    return peer_is_trusted_proxy


class ErrorsOnWrite(io.RawIOBase):
    """`wsgi.errors`, finding the error log's streams when written to, not for every request.

    gunicorn builds its wrapper for each request's environ, looking up the logger and its handlers
    (~3 % of a worker's time on idle polls), although an app rarely writes there. Each write goes
    through gunicorn's own wrapper, built then: after a log reopen it finds the new streams.
    """

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> None:
        _GUNICORNS_ERRORS(self.cfg).write(data)


_GUNICORNS_ERRORS = wsgi.WSGIErrorsWrapper
