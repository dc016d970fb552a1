"""receiveResponseXML in one statement for the commonest small job, a raw query.

A raw query's outcome needs nothing but QuickBooks' answer (sync/raw.py `answered`), so it can
be worked out before the job is read, and the look-up can finish the job as it finds it
(statements.RECEIVE_RAW_READ): one round trip where the usual path takes two. Which message a
ticket is waiting on is known to the process that sent it: `SentRawReads` remembers the tickets
whose last message was one raw query, as a hint only. The statement itself checks the job, and a
hint that is missing (the answer came to another process) or wrong costs only the usual path.
"""

from __future__ import annotations

import time

from qbwc_server import queue
from qbwc_server.db import Row, SingleStatements
from qbwc_server.models import JobStatus
from qbwc_server.qbxml.core import QbxmlError
from qbwc_server.sync import raw
from qbwc_server.webconnector import statements as sql
from qbwc_server.webconnector.answers import NOOP_WINDOW_SECONDS, bounded, settled

#: Tickets remembered at most; past it the hints start over (a lost hint costs a round trip).
HINTS_KEPT = 10_000


class SentRawReads:
    """The tickets this process last sent one raw query to. Thread-safe: each step is one
    dict operation, atomic under the GIL."""

    def __init__(self, limit: int = HINTS_KEPT) -> None:
        self._tickets: dict[str, None] = {}
        self._limit = limit

    def sent(self, ticket: str) -> None:
        if len(self._tickets) >= self._limit:
            self._tickets.clear()  # sessions that never answered; cheaper than an LRU
        self._tickets[ticket] = None

    def answered(self, ticket: str) -> bool:
        """Whether `ticket`'s last message was one raw query; forgets it either way."""
        return self._tickets.pop(ticket, False) is None

    def forget(self, ticket: str) -> None:
        self._tickets.pop(ticket, None)


def finish(
    pool: SingleStatements, ticket: str, response: str, *, idle: int, lifetime: int
) -> tuple[list[Row], int | None] | None:
    """Apply `response` as the answer to a raw query in one statement.

    Returns RECEIVE_LOOKUP's rows and the progress to show when the job was finished; rows and
    None when the message turned out to be something else (go on from the rows); None when the
    answer cannot be read as qbXML (the usual path fails the job with why).
    """
    if len(response) > raw.SMALL_ANSWER:  # a large answer is read as a stream, once, by the handler
        return None
    started = time.perf_counter()
    try:
        result = bounded(raw.answered(response))
    except QbxmlError:
        return None
    params = {
        **queue.completion_params(0, result),  # job_id unused: the statement finds the job itself
        "ticket": ticket,
        "idle": idle,
        "within": NOOP_WINDOW_SECONDS,
        "lifetime": lifetime,
    }
    rows = pool.all(sql.RECEIVE_RAW_READ, params)
    if not rows or not rows[0]["finished"]:
        return rows, None
    settled(queue.ClaimedJob.from_row(rows[0]), JobStatus.DONE, result, started)
    return rows, int(rows[0]["progress"])
