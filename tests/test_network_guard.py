"""The suite's own guard (tests/conftest.py): no test connects beyond loopback."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import NetworkAccessDenied, is_loopback

OUTSIDE = ("192.0.2.1", 9)  # TEST-NET-1: never routed, so nothing is reached even if the guard failed


@pytest.mark.parametrize(
    "address",
    [
        ("127.0.0.1", 80),
        ("127.8.9.10", 80),
        ("::1", 80, 0, 0),
        ("localhost", 80),
        ("::ffff:127.0.0.1", 80),
        "/run/postgresql/.s.PGSQL.5432",
        b"\0abstract",
    ],
)
def test_loopback_and_unix_sockets_are_allowed(address: object) -> None:
    assert is_loopback(address)


@pytest.mark.parametrize(
    "address", [OUTSIDE, ("10.0.0.1", 80), ("0.0.0.0", 80), ("2001:db8::1", 80, 0, 0), ("example.com", 80)]
)
def test_everything_else_is_not(address: object) -> None:
    assert not is_loopback(address)


def test_a_connection_beyond_loopback_is_refused_and_recorded(network_guard: list[str]) -> None:
    with socket.socket() as sock, pytest.raises(NetworkAccessDenied):
        sock.connect(OUTSIDE)
    with socket.socket() as sock, pytest.raises(NetworkAccessDenied):
        sock.connect_ex(OUTSIDE)
    with pytest.raises(NetworkAccessDenied):
        socket.create_connection(OUTSIDE, timeout=0.1)
    assert network_guard[-3:] == [repr(OUTSIDE)] * 3  # each would fail the test, caught or not
    del network_guard[-3:]  # this test made them on purpose


def test_loopback_connections_go_through() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            accepted, _ = server.accept()
            accepted.close()
