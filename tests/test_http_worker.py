"""The gunicorn worker (qbwc_server/http_worker.py) under real gunicorn, with one thread.

It serves a connection's back-to-back requests on the thread that answered the previous one.
What a user would notice if that went wrong: a busy Web Connector keeping every other company
waiting, or a connection that pauses between calls (any far client does) no longer answered.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
from gunicorn import util
from gunicorn.config import Config
from gunicorn.http import message, wsgi
from gunicorn.http.parser import RequestParser
from gunicorn.workers.gthread import ThreadWorker

from qbwc_server import http_worker
from qbwc_server.http_worker import LingeringThreadWorker, OneSendResponse
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


def test_one_keep_alive_connection_serves_head_get_and_post_in_turn(one_thread: tuple[str, int]) -> None:
    """The replies' framing through real gunicorn: a HEAD's headers alone (with the length the GET
    gets), then the GET's body, then a SOAP reply, on one connection, nothing left over between."""
    host, port = one_thread
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(f"HEAD /qbwc HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, rest = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert rest == b"", "a HEAD reply carried a body"
        length = int(dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])["Content-Length"])
        sock.sendall(f"GET /qbwc HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        status, headers, wsdl = read_reply(sock)
        assert (status, len(wsdl), int(headers["content-length"])) == (200, length, length)
        assert wsdl.rstrip().endswith(b"definitions>"), wsdl[-200:]
        assert ask(sock, f"{host}:{port}") == 200


def _sends(
    response_class: type[wsgi.Response],
    method: str,
    status: str,
    headers: list[tuple[str, str]],
    pieces: list[bytes],
) -> list[bytes]:
    """What a response of `response_class` hands its socket, one item per send, for one request."""
    cfg = Config()
    request = next(
        RequestParser(cfg, iter([f"{method} /qbwc HTTP/1.1\r\nHost: h\r\n\r\n".encode()]), ("h", 1))
    )
    sent: list[bytes] = []
    response = response_class(request, SimpleNamespace(sendall=sent.append), cfg)
    response.start_response(status, headers)
    for piece in pieces:
        response.write(piece)
    response.close()
    return sent


REPLY = b"<soap:Envelope>" + b"x" * 500 + b"</soap:Envelope>"
LARGE = b"y" * (http_worker.ONE_SEND_MAX_BYTES + 1)
CASES = {
    "a whole reply": ("POST", "200 OK", [("Content-Length", str(len(REPLY)))], [REPLY]),
    "a HEAD": ("HEAD", "200 OK", [("Content-Length", "1234")], [b"ignored"]),
    "a reply past the one-send size": ("GET", "200 OK", [("Content-Length", str(len(LARGE)))], [LARGE]),
    "a reply in pieces": ("GET", "200 OK", [("Content-Length", "6")], [b"ab", b"cd", b"ef"]),
    "a reply of unknown length (chunked)": ("GET", "200 OK", [], [b"ab", b"cd"]),
    "a reply shorter than announced": (
        "POST",
        "500 Internal Server Error",
        [("Content-Length", "3")],
        [b"abcdef"],
    ),
    "no content": ("POST", "204 No Content", [], [b""]),
}


@pytest.mark.parametrize("case", CASES)
def test_a_response_puts_the_same_bytes_on_the_wire_as_gunicorns_own(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(util, "http_date", lambda timestamp=None: "Mon, 30 Nov 2026 12:00:00 GMT")
    ours = _sends(OneSendResponse, *CASES[case])
    theirs = _sends(wsgi.Response, *CASES[case])
    assert b"".join(ours) == b"".join(theirs)


def test_a_whole_reply_leaves_in_one_send_with_its_headers_and_a_large_one_is_not_copied() -> None:
    """Two sends would be two TCP segments (gunicorn turns Nagle off): the Web Connector, or the
    proxy in front, would wake twice per reply."""
    (sent,) = _sends(OneSendResponse, *CASES["a whole reply"])
    assert sent.startswith(b"HTTP/1.1 200 OK\r\n") and sent.endswith(b"\r\n\r\n" + REPLY)
    head, body = _sends(OneSendResponse, *CASES["a reply past the one-send size"])
    assert head.endswith(b"\r\n\r\n") and body is LARGE


def test_the_date_header_is_gunicorns_formatting_of_the_current_second() -> None:
    before = util.http_date()  # gunicorn's own (the worker replaces it only in its processes)
    ours = http_worker.http_date()
    assert ours in (before, util.http_date()), (ours, before)
    assert http_worker.http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"


def _parsed(cfg: Config, peer: tuple[str, int], headers: str = "") -> Any:
    wire = f"GET /qbwc HTTP/1.1\r\nHost: h\r\n{headers}\r\n".encode()
    return next(RequestParser(cfg, iter([wire]), peer))


def test_a_peer_may_set_forwarded_headers_exactly_when_gunicorn_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only a proxy in `forwarded_allow_ips` may say the client came over HTTPS: the same answer
    as gunicorn's for each peer, asked again and again (the worker remembers it per address)."""
    policy = message.HeaderPolicy
    asked: list[str] = []
    original = policy._peer_is_trusted_proxy

    def counted(request: Any) -> bool:
        asked.append(request.peer_addr[0])
        return bool(original(request))

    monkeypatch.setattr(policy, "_peer_is_trusted_proxy", http_worker.remembering(counted))
    cfg = Config()
    cfg.set("forwarded_allow_ips", "10.0.0.1, 192.168.0.0/24")
    forwarded = "X-Forwarded-Proto: https\r\n"
    for _ in range(3):
        assert _parsed(cfg, ("10.0.0.1", 1), forwarded).scheme == "https"
        assert _parsed(cfg, ("192.168.0.7", 2), forwarded).scheme == "https"
        assert _parsed(cfg, ("10.0.0.2", 3), forwarded).scheme == "http"  # spoofed: ignored
    assert asked == ["10.0.0.1", "192.168.0.7", "10.0.0.2"]


def test_wsgi_errors_reach_gunicorns_error_log_as_its_own_wrapper_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = logging.getLogger("gunicorn.error")
    stream = io.StringIO()
    monkeypatch.setattr(log, "handlers", [logging.StreamHandler(stream)])
    cfg = Config()
    cfg.set("errorlog", "qbwc-test-errors.log")  # not "-": only the handlers' streams
    http_worker.ErrorsOnWrite(cfg).write("from the app\n")
    wsgi.WSGIErrorsWrapper(cfg).write("from gunicorn's\n")
    assert stream.getvalue() == "from the app\nfrom gunicorn's\n"
