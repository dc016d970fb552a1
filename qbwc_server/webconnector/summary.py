"""The closing message the Web Connector shows after a session ("Done: 2 raw qbXML requests.")."""

from __future__ import annotations

import json
from collections.abc import Iterable

from qbwc_server.sync.registry import nouns_for


def counts_from_json(value: object) -> list[tuple[str, str, int]]:
    """(kind, status, n) rows from the JSON array the closing statements return."""
    rows = json.loads(value) if isinstance(value, str) else value
    return [(kind, status, int(n)) for kind, status, n in rows or []]  # type: ignore[union-attr]


def summarize(counts: Iterable[tuple[str, str, int]]) -> str:
    """'Done: 2 raw qbXML requests; 1 needs attention (see qbwc-server status).' from (kind, status, n)."""
    done: list[str] = []
    attention = retrying = 0
    for kind, status, n in counts:
        if status == "done":
            singular, plural = nouns_for(kind)
            done.append(f"{n} {singular if n == 1 else plural}")
        elif status in ("failed", "dead", "blocked"):
            attention += n
        else:
            retrying += n
    parts = [("Done: " + ", ".join(done)) if done else "Nothing was completed"]
    if attention:
        parts.append(
            f"{attention} {'needs' if attention == 1 else 'need'} attention (see qbwc-server status)"
        )
    if retrying:
        parts.append(f"{retrying} will be retried")
    return "; ".join(parts) + "."
