"""Last contact, noted in batches: the idle poll's only write, taken off the poll.

Every company's Web Connector polls about once a minute, so with a 15-second resolution every
idle poll would update its tenant's row: a second statement, a commit and WAL per poll, at
100,000 companies ~1,670 a second. Instead each process gathers the tenants it saw and stamps
them once a second in one statement. A crash loses at most that second's stamps, which the next
poll writes again; what must show at once (a first contact, failures to clear) is not batched
(statements.AUTH_SEEN).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from qbwc_server.db import Prepared, SingleStatements

log = logging.getLogger(__name__)

#: Seconds between batches: last contact is shown to the minute, so a second is invisible.
FLUSH_SECONDS = 1.0

SEEN_MANY = Prepared(
    "qbwc_seen_many",
    """
    UPDATE tenants SET last_seen_at = now()
    WHERE id = ANY(%(ids)s::bigint[])
      AND (last_seen_at IS NULL OR last_seen_at < now() - interval '15 seconds')
    """,
    retry_safe=True,  # a repeat stamps the same rows again
)


class SeenStamps:
    """Tenants seen since the last batch; a daemon thread per process writes them (thread-safe)."""

    def __init__(self, bookkeeping: SingleStatements, interval: float = FLUSH_SECONDS) -> None:
        self._bookkeeping = bookkeeping
        self._interval = interval
        self._lock = threading.Lock()
        self._seen: set[int] = set()
        self._pid = 0  # the thread is started per process, after gunicorn's fork

    def note(self, tenant_id: int) -> None:
        with self._lock:
            self._seen.add(tenant_id)
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="qbwc-seen", daemon=True).start()
                atexit.register(self.flush)

    def flush(self) -> int:
        """Write what was noted; how many tenants. Never raises: a failed batch is noted again."""
        with self._lock:
            ids, self._seen = self._seen, set()
        if not ids:
            return 0
        try:
            self._bookkeeping.all(SEEN_MANY, {"ids": sorted(ids)})  # sorted: rows locked in one order
        except Exception as exc:  # the database away: keep them for the next batch
            log.warning("could not note %d tenants' last contact: %s", len(ids), type(exc).__name__)
            with self._lock:
                self._seen |= ids
            return 0
        return len(ids)

    def _run(self) -> None:
        while True:
            time.sleep(self._interval)
            self.flush()
