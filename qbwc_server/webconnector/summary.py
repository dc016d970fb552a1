"""The closing message the Web Connector shows after a session ("Done: 2 raw qbXML requests.")."""

from __future__ import annotations

import json
from collections.abc import Iterable

from qbwc_server.sync.registry import is_pull, nouns_for


def counts_from_json(value: object) -> list[tuple[str, str, int, int]]:
    """(kind, status, jobs, records applied) rows from the JSON array the closing statements return."""
    rows = json.loads(value) if isinstance(value, str) else value
    return [
        (kind, status, int(n), int(records or 0))
        for kind, status, n, *rest in rows or []  # type: ignore[union-attr]
        for records in (rest[0] if rest else 0,)
    ]


def summarize(counts: Iterable[tuple[str, str, int, int]]) -> str:
    """'Done: 2 raw qbXML requests, pulled 120 customers; 1 needs attention (see qbwc-server status).'

    From (kind, status, jobs, records) rows: pulls count the records they read, other jobs count jobs.
    """
    counts_list = list(counts)
    done: list[str] = []
    pulled: dict[tuple[str, str], int] = {}  # kinds that share a noun (stock figures) add up
    attention = retrying = unconfirmed = 0
    for kind, status, n, records in counts_list:
        if status == "done" and is_pull(kind):
            if records:
                nouns = nouns_for(kind)
                pulled[nouns] = pulled.get(nouns, 0) + records
        elif status == "done":
            singular, plural = nouns_for(kind)
            done.append(f"{n} {singular if n == 1 else plural}")
        elif status in ("failed", "dead", "blocked"):
            attention += n
        elif status == "unconfirmed":
            unconfirmed += n
        else:
            retrying += n
    if pulled:
        counted = (f"{n} {one if n == 1 else many}" for (one, many), n in pulled.items())
        done.append("pulled " + ", ".join(counted))
    elif any(status == "done" and is_pull(kind) for kind, status, _, _ in counts_list):
        done.append("everything was already up to date")
    parts = [("Done: " + ", ".join(done)) if done else "Nothing was completed"]
    if attention:
        parts.append(
            f"{attention} {'needs' if attention == 1 else 'need'} attention (see qbwc-server status)"
        )
    if unconfirmed:
        parts.append(
            f"{unconfirmed} may have reached QuickBooks without an answer: nothing is sent again"
            " before it is checked (see qbwc-server jobs list --status unconfirmed)"
        )
    if retrying:
        parts.append(f"{retrying} will be retried")
    return "; ".join(parts) + "."
