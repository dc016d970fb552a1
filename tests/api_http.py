"""Calling the served API over real HTTP from the tests: one request, its status, headers and
JSON body (http.client, so a test controls every header, Content-Length and Content-Type included).
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

_UNSET: Any = object()


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def error(self) -> dict[str, Any]:
        """The error body's inner object (API.md "Errors"), checked to have every key."""
        body = self.json
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message", "field", "quickbooks_code", "fix"}, body
        return body["error"]  # type: ignore[no-any-return]


def call(
    base_url: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = _UNSET,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """`method path` on the server at `base_url`; `body` is sent as JSON, `data` as it is."""
    url = urllib.parse.urlsplit(base_url)
    sent = dict(headers or {})
    if token is not None:
        sent.setdefault("Authorization", f"Bearer {token}")
    if body is not _UNSET:
        data = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        text = response.read().decode()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
    finally:
        connection.close()
