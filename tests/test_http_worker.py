"""The gunicorn worker (qbwc_server/http_worker.py) under real gunicorn, with one thread.

It serves a connection's back-to-back requests on the thread that answered the previous one.
What a user would notice if that went wrong: a busy Web Connector keeping every other company
waiting, or a connection that pauses between calls (any far client does) no longer answered.
"""

from __future__ import annotations

import io
import os
import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from gunicorn.workers.gthread import ThreadWorker

from qbwc_server import http_worker
from qbwc_server.http_worker import LingeringThreadWorker
from qbwc_server.testing import spawn_gunicorn
from tests.test_http_edge import post_head, read_reply
from tests.wire import envelope

pytestmark = pytest.mark.slow

BODY = envelope("serverVersion")


@pytest.fixture
def one_thread(database_url: str) -> Iterator[tuple[str, int]]:
    """gunicorn with one worker of one thread: whatever a connection holds, the others wait for."""
    environ = {**os.environ, "QBWC_WORKERS": "1", "QBWC_THREADS": "1"}
    process, base = spawn_gunicorn(database_url, environ=environ)
    try:
        parts = urlsplit(base)
        yield parts.hostname or "127.0.0.1", parts.port or 80
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode(errors="replace")
        assert "Traceback" not in output, output


def ask(sock: socket.socket, host: str) -> int:
    head = post_head("/qbwc", host, f"Content-Length: {len(BODY)}")
    sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + BODY)
    status, _, body = read_reply(sock)
    assert b"qbwc-server" in body, body[:200]
    return status


def test_a_busy_connection_does_not_keep_another_waiting(one_thread: tuple[str, int]) -> None:
    host, port = one_thread
    busy_total = 600
    answered_busy = 0
    other_answered_after: list[int] = []
    other_may_start = threading.Event()

    def busy() -> None:
        nonlocal answered_busy
        with socket.create_connection((host, port), timeout=60) as sock:
            for _ in range(busy_total):
                assert ask(sock, f"{host}:{port}") == 200
                answered_busy += 1
                if answered_busy == 10:
                    other_may_start.set()

    def other() -> None:
        other_may_start.wait(60)
        with socket.create_connection((host, port), timeout=60) as sock:
            assert ask(sock, f"{host}:{port}") == 200
            other_answered_after.append(answered_busy)

    threads = [threading.Thread(target=busy), threading.Thread(target=other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert answered_busy == busy_total
    assert other_answered_after and other_answered_after[0] < busy_total, (
        "the other connection was answered only once the busy one had finished"
    )


def test_a_connection_that_pauses_between_calls_is_still_answered(one_thread: tuple[str, int]) -> None:
    host, port = one_thread
    with socket.create_connection((host, port), timeout=30) as sock:
        for pause in (0.0, 0.0005, 0.01, 0.05, 0.2, 0.0):
            threading.Event().wait(pause)
            assert ask(sock, f"{host}:{port}") == 200


class _Served:
    """gthread's `handle` stand-in: serves one request (one byte) from the connection's socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.parser = SimpleNamespace(unreader=SimpleNamespace(buf=io.BytesIO()))
        self.served = 0


def test_a_connection_lingers_again_once_its_requests_come_back_to_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One late request (a loaded machine) must not stop a connection lingering for good: once a
    request again reaches a thread right after the previous answer, the thread waits on the
    connection again and serves what follows. A clock of the test's own: no timing."""

    def serve(self: object, conn: _Served) -> bool:
        conn.sock.recv(1)
        conn.served += 1
        return True

    clock = [100.0]
    monkeypatch.setattr(ThreadWorker, "handle", serve)
    monkeypatch.setattr(http_worker, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    worker = object.__new__(LingeringThreadWorker)
    worker.alive = True
    server, client = socket.socketpair()
    with server, client:
        conn = _Served(server)
        client.sendall(b"a")  # one request, nothing behind it: the thread waits in vain
        worker.handle(conn)
        assert (conn.served, conn.qbwc_lingers) == (1, False)
        clock[0] += 1.0  # a pause: the next comes through the poller, and is served alone
        client.sendall(b"b")
        worker.handle(conn)
        assert (conn.served, conn.qbwc_lingers) == (2, False)
        clock[0] += http_worker.LINGER_SECONDS / 2  # back to back again, right after its answer
        client.sendall(b"cd")
        worker.handle(conn)
        assert conn.served == 4, "a connection whose requests came back to back never lingered again"
