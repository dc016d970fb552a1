"""Web Connector passwords: generated secrets, admin-chosen passwords, and a fast re-verify.

The Web Connector sends the password on every poll (every tenant, about every minute), so
verification sits on the hot path. Generated passwords are random secrets of 192 bits stored as
a SHA-256 digest: brute force is hopeless and checking costs microseconds (the API-token
practice). Admin-chosen passwords get argon2id; after one successful slow check, a per-process
HMAC of the password lets later polls skip argon2 until it expires or the password changes.
That fast verifier lives only in memory, never in the database, so a leaked database holds no
fast hash of a human-chosen password.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from qbwc_server.errors import QbwcError
from qbwc_server.models import PasswordKind

#: Admin-chosen passwords shorter than this are refused.
MIN_ADMIN_PASSWORD_LENGTH = 12
#: Bytes of randomness in a generated password (192 bits).
GENERATED_PASSWORD_BYTES = 24

_argon2 = PasswordHasher()  # argon2id with the library's current recommended parameters


class WeakPasswordError(QbwcError, ValueError):
    """An admin-chosen password that does not meet the minimum."""

    code = "validation_failed"


def generate_password() -> str:
    """A new random password for a tenant, shown once to the admin."""
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


def hash_generated(password: str) -> str:
    return hashlib.sha256(password.encode("utf-8")).hexdigest()


def hash_admin_password(password: str) -> str:
    if len(password) < MIN_ADMIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"the password must have at least {MIN_ADMIN_PASSWORD_LENGTH} characters")
    return _argon2.hash(password)


class PasswordVerifier:
    """Checks a presented password against a tenant's stored verifier (thread-safe)."""

    def __init__(self, fast_seconds: int = 900, max_entries: int = 10_000) -> None:
        self._fast_seconds = fast_seconds
        self._max_entries = max_entries
        self._key = secrets.token_bytes(32)
        # stored argon2 hash -> (HMAC of the password, monotonic expiry). Keyed by the stored
        # hash, so changing the password (a new hash) orphans the old entry at once.
        self._fast: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, kind: str, stored: str, presented: str) -> bool:
        if kind == PasswordKind.TOKEN:
            return hmac.compare_digest(hash_generated(presented), stored)
        if kind == PasswordKind.ARGON2:
            return self._verify_argon2(stored, presented)
        return False

    def _verify_argon2(self, stored: str, presented: str) -> bool:
        digest = hmac.new(self._key, presented.encode("utf-8"), hashlib.sha256).digest()
        now = time.monotonic()
        with self._lock:
            cached = self._fast.get(stored)
        if cached is not None and cached[1] > now and hmac.compare_digest(cached[0], digest):
            return True
        try:
            _argon2.verify(stored, presented)
        except (VerificationError, InvalidHashError):
            return False
        if self._fast_seconds > 0:
            with self._lock:
                self._fast[stored] = (digest, now + self._fast_seconds)
                self._fast.move_to_end(stored)
                while len(self._fast) > self._max_entries:
                    self._fast.popitem(last=False)
        return True


def lockout_seconds(failed_logins: int, threshold: int, cap: int) -> int:
    """How long to refuse a username after `failed_logins` consecutive failures (0 = not locked)."""
    if failed_logins < threshold:
        return 0
    return int(min(cap, 2 ** min(failed_logins - threshold, 20)))
