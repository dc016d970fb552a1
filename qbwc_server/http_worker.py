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
"""

from __future__ import annotations

import gc
import select
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

#: How long a thread waits for the next request on its connection before handing it back.
LINGER_SECONDS = 0.002
#: Requests one thread serves in a row on one connection before giving the others their turn.
MAX_IN_A_ROW = 64


class LingeringThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gthread, serving a connection's next request on the same thread when it follows at once."""

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
