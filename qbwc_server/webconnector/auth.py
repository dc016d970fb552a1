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

import functools
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

    def verify(self, kind: str | None, stored: str | None, presented: str) -> bool:
        """Whether `presented` is the password; argon2 only when the cheap check cannot tell."""
        return self.verify_cheaply(kind, stored, presented) or (
            kind == PasswordKind.ARGON2 and self.verify_slowly(kind, stored, presented)
        )

    def verify_cheaply(self, kind: str | None, stored: str | None, presented: str) -> bool:
        """True when `presented` is right and proving it costs no argon2: a generated password's
        digest, or an admin-chosen password this process proved recently. False says nothing."""
        if stored is None:
            return False
        if kind == PasswordKind.TOKEN:
            return hmac.compare_digest(hash_generated(presented), stored)
        if kind == PasswordKind.ARGON2:
            with self._lock:
                cached = self._fast.get(stored)
            return (
                cached is not None
                and cached[1] > time.monotonic()
                and hmac.compare_digest(cached[0], self._digest(presented))
            )
        return False

    def verify_slowly(self, kind: str | None, stored: str | None, presented: str) -> bool:
        """One argon2 verify, whatever `kind`: against the stored hash for an admin-chosen password,
        against a dummy hash otherwise (always False), so that a wrong attempt costs the same
        whether the username exists, and whichever kind of password it has."""
        if kind != PasswordKind.ARGON2 or stored is None:
            _argon2_matches(_dummy_hash(), presented)
            return False
        if not _argon2_matches(stored, presented):
            return False
        if self._fast_seconds > 0:
            with self._lock:
                self._fast[stored] = (self._digest(presented), time.monotonic() + self._fast_seconds)
                self._fast.move_to_end(stored)
                while len(self._fast) > self._max_entries:
                    self._fast.popitem(last=False)
        return True

    def _digest(self, presented: str) -> bytes:
        return hmac.new(self._key, presented.encode("utf-8"), hashlib.sha256).digest()


def _argon2_matches(stored: str, presented: str) -> bool:
    try:
        _argon2.verify(stored, presented)
    except (VerificationError, InvalidHashError):
        return False
    return True


@functools.cache
def _dummy_hash() -> str:
    """An argon2id hash of a random secret, with the parameters real ones get (made once per process)."""
    return _argon2.hash(secrets.token_urlsafe(GENERATED_PASSWORD_BYTES))


def lockout_seconds(failed_logins: int, threshold: int, cap: int) -> int:
    """How long to refuse an address after `failed_logins` consecutive failures (0 = not locked)."""
    if failed_logins < threshold:
        return 0
    return int(min(cap, 2 ** min(failed_logins - threshold, 20)))
