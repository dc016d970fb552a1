"""The calling client's address, for the login throttle (login.py).

The WSGI layer notes each request's `REMOTE_ADDR` and `X-Forwarded-For` (`remember_client_address`).
gunicorn leaves `REMOTE_ADDR` as the socket's peer: behind the TLS proxy, the proxy itself for
every client. When that peer is a trusted proxy (`QBWC_FORWARDED_ALLOW_IPS`, the list gunicorn
reads), the client is the right-most X-Forwarded-For entry that is not a trusted proxy: each
proxy appends the address it was called from, and entries left of the first untrusted one were
written by the client and prove nothing.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: This request's (REMOTE_ADDR, X-Forwarded-For), as the WSGI layer noted them.
_REQUEST: ContextVar[tuple[str | None, str | None]] = ContextVar("qbwc_client", default=(None, None))


def remember_client_address(environ: Mapping[str, Any]) -> None:
    """Note where this request comes from, for the throttle. Call it once per request, before
    the Web Connector's call is answered; without it, every client shares one count."""
    _REQUEST.set((environ.get("REMOTE_ADDR") or None, environ.get("HTTP_X_FORWARDED_FOR") or None))


def request_source(trusted_proxies: str) -> str:
    """The throttle's key (`source_key`) for the client of the request being answered; "" when
    the WSGI layer noted none."""
    remote, forwarded = _REQUEST.get()
    return _source(remote, forwarded, trusted_proxies) if remote or forwarded else ""


@functools.lru_cache(maxsize=4096)  # the same few Web Connectors poll again and again
def _source(remote: str | None, forwarded: str | None, trusted_proxies: str) -> str:
    return source_key(client_address(remote, forwarded, trusted_proxies))


def client_address(remote: str | None, forwarded: str | None, trusted_proxies: str) -> str | None:
    """`remote`, unless it is a trusted proxy: then the right-most X-Forwarded-For entry that is
    not one (with `*`, every peer is trusted for one hop: the right-most entry)."""
    if not forwarded:
        return remote
    proxies = _networks(trusted_proxies)
    peer = _parse(remote)
    if peer is not None and not _trusted(peer, proxies):
        return remote  # called directly: what it says it forwards proves nothing
    client = peer  # None: a Unix socket's peer, which gunicorn trusts like a proxy
    for entry in reversed(forwarded.split(",")):
        address = _parse(entry)
        if address is None:  # not an address: no trusted proxy wrote it
            break
        client = address
        if proxies is None or not _trusted(address, proxies):
            break
    return remote if client is None else str(client)


def source_key(address: str | None) -> str:
    """The throttle's key for a client address: the address, or its /64 for IPv6 (one customer's
    network: an attacker holds a whole /64 as easily as one address); "" when unknown."""
    parsed = _parse(address)
    if parsed is None:
        return (address or "").strip()[:100]
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def _parse(text: str | None) -> IPAddress | None:
    """An address as proxies write it: bare, `[v6]:port` or `v4:port`; IPv4-mapped IPv6 as IPv4."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@functools.cache
def _networks(trusted_proxies: str) -> tuple[IPNetwork, ...] | None:
    """The trusted proxies as networks; None for `*` (any peer)."""
    entries = [entry.strip() for entry in trusted_proxies.split(",") if entry.strip()]
    if "*" in entries:
        return None
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue  # gunicorn refuses such a list at start; never trust what cannot be read
    return tuple(networks)


def _trusted(address: IPAddress, proxies: tuple[IPNetwork, ...] | None) -> bool:
    return proxies is None or any(address in network for network in proxies)


def from_trusted_proxy(remote: str | None, trusted_proxies: str) -> bool:
    """Whether the peer `remote` is a trusted proxy (`*`: every peer; a Unix socket's peer, None,
    as gunicorn does), so that its X-Forwarded-* headers count (the status page's X-Forwarded-Proto)."""
    peer = _parse(remote)
    return peer is None or _trusted(peer, _networks(trusted_proxies))
