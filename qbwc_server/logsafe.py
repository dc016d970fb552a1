"""Text from outside (QuickBooks' messages, usernames, HRESULTs), made safe to log and to store.

A log line is one line: a newline in a QuickBooks message could otherwise forge a line of its
own ("[CRITICAL] …"), and a megabyte of it would land in the journal as one entry. `safe`
escapes every control character and cuts what is left with a marker saying how long it was.
Knows nothing of QBWC or the database.
"""

from __future__ import annotations

import re
import traceback

#: Longest text from outside in one log record.
LOG_LIMIT = 500
#: Longest message stored for an admin: getLastError's text, a job's last_message, a tenant's
#: connection_error. Ours are a few hundred characters; QuickBooks' part of one is cut first.
STORED_LIMIT = 1000

# C0 and C1 controls and DEL, plus what can break or reorder a line on a terminal or in a viewer:
# Unicode line and paragraph separators, and the bidirectional marks and overrides.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def safe(text: object, limit: int = LOG_LIMIT) -> str:
    """`text` on one line (control characters escaped), at most `limit` characters.

    Cut text ends with a marker giving the original length. Only the first `limit` characters
    are ever escaped, so a huge text costs no more than a short one.
    """
    if text is None:
        return ""
    raw = text if isinstance(text, str) else str(text)
    if len(raw) <= limit and raw.isprintable():  # the usual case: nothing to escape or cut
        return raw
    head = _CONTROL.sub(_escape, raw[:limit])
    if len(raw) <= limit and len(head) <= limit:
        return head
    marker = f"… [cut: {len(raw)} characters]"
    return head[: max(0, limit - len(marker))] + marker


def traceback_of(exc: BaseException) -> str:
    """An exception for the log: what it said, made safe, then where it was raised.

    The frames are our code's; the message may hold outside text (a value from QuickBooks), so
    it is never written raw, as `exc_info` would.
    """
    frames = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    return f"{type(exc).__name__}: {safe(exc)}\n{frames}"
