"""Hardening of the Web Connector session: login throttling that strangers cannot turn into a
lockout, an absolute session lifetime, pooled connections that survive a PostgreSQL restart, and
text from outside that can neither forge nor flood a log line.

Real PostgreSQL throughout; protocol tests go over real HTTP. Timing claims are asserted as
work done (argon2 verifications counted by a spy), never by the clock.
"""

from __future__ import annotations

from qbwc_server.logsafe import safe

ADMIN_PASSWORD = "correct horse battery staple"
ATTACKER = "198.51.100.66"
OFFICE = "203.0.113.10"

# -- 7. text from outside in the logs and in what is stored ---------------------------------------

FORGED = "QuickBooks is busy\n2026-11-30 10:00:00 [CRITICAL] qbwc_server: database wiped"


def test_safe_escapes_control_characters_so_nothing_can_forge_a_log_line() -> None:
    escaped = safe(FORGED + "\r\x1b[2J")
    assert "\n" not in escaped and "\r" not in escaped and "\x1b" not in escaped
    assert escaped.startswith("QuickBooks is busy\\n2026-11-30") and escaped.endswith("\\r\\x1b[2J")
    assert safe("line\u2028separator\u202eoverride") == "line\\u2028separator\\u202eoverride"
    assert safe(None) == "" and safe("plain text") == "plain text"


def test_safe_cuts_long_text_with_a_marker() -> None:
    cut = safe("x" * 1_000_000, limit=500)
    assert len(cut) <= 500 and cut.startswith("x" * 400) and "1000000 characters" in cut
    assert len(safe("\n" * 1000, limit=100)) <= 100, "escaping cannot push it past the limit"
    assert safe("y" * 500, limit=500) == "y" * 500
