"""Helpers for the observability tests: scraping /metrics over HTTP into samples, and gunicorn
started as production starts it with its log in a file (a pipe nobody reads would fill up)."""

from __future__ import annotations

import os
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from qbwc_server.testing import spawn_gunicorn


@dataclass(frozen=True)
class Scrape:
    """One scrape's samples: (name, sorted labels) -> value."""

    text: str
    samples: Mapping[tuple[str, tuple[tuple[str, str], ...]], float]

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 when the scrape has none (a counter nothing counted yet)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def labelled(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for sample, labels in self.samples if sample == name]


def get(url: str, token: str | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, dict(reply.headers), reply.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read().decode()


def scrape(url: str, token: str | None = None) -> Scrape:
    """GET `url` (a /metrics); asserts 200 and reads the Prometheus text format."""
    status, headers, body = get(url, token)
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain"), headers
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
    return Scrape(body, samples)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn(database_url: str, log: Path, **environ: str) -> Iterator[str]:
    """gunicorn (deploy/gunicorn.conf.py) on `database_url` with `environ` added, its output in
    `log`; yields the base URL, stops it after and checks it never printed a traceback."""
    with log.open("ab") as sink:
        process, base = spawn_gunicorn(database_url, environ={**os.environ, **environ}, output=sink)
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")
