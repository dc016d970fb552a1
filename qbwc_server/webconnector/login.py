"""Who may come in: the password check and the throttle on wrong passwords (README, Passwords).

The rule, chosen so that a stranger who knows a username cannot lock its company out:

- A generated password (192 random bits, checked by its SHA-256) is never locked out: guessing
  it is hopeless, so the right one gets in whatever came before it.
- Wrong passwords are counted per username and client address (client.py), *before* the
  password is checked, by one atomic upsert: parallel attempts cannot slip past the threshold.
  After `auth_failures_before_lockout` in a row, that address (an IPv6 client's /64) and no
  other is refused for 1 s, doubling up to `auth_max_lockout_seconds`, without any check: even
  the right admin-chosen password, whose guesses the lockout exists to slow down.
- Every wrong attempt costs the same work whatever the username: the same statements and one
  argon2 verify, against a dummy hash for unknown usernames and generated passwords. A refused
  (locked) one costs none. Neither answers nor timing tell which usernames exist.

Knows the tenants' verifiers and `auth_failures`; nothing of sessions or jobs.
"""

from __future__ import annotations

import logging
from typing import Any

from qbwc_server.config import Settings
from qbwc_server.db import Prepared, Row, SingleStatements
from qbwc_server.logsafe import safe
from qbwc_server.models import PasswordKind
from qbwc_server.webconnector.auth import PasswordVerifier, lockout_seconds
from qbwc_server.webconnector.client import request_source, source_key

log = logging.getLogger(__name__)

_TOKEN = PasswordKind.TOKEN.value

#: Lockouts the schedule spells out, from the threshold on; later failures get the last one.
_SCHEDULE_STEPS = 24


#: The username as `auth_failures` keys it: itself, or a digest of one too long to index (an
#: index entry must stay small, and no statement may fail on what a stranger sends).
USERNAME_KEY = """(CASE WHEN length(%(username)s::text) <= 200 THEN %(username)s::text
    ELSE 'sha256:' || encode(sha256(convert_to(%(username)s::text, 'UTF8')), 'hex') END)"""

#: The failures counted against the current verifier: a new password starts the count over, so
#: does a day without failures. Shared by the look-up (AUTH_LOOKUP) and the count.
VERIFIER = "sha256(convert_to(coalesce({hash}, ''), 'UTF8'))"

_TENANT_HASH = "(SELECT password_hash FROM tenants WHERE username = %(username)s::text)"
_FAILURES = (
    "CASE WHEN f.verifier = EXCLUDED.verifier AND f.last_failed_at > now() - interval '1 day'"
    " THEN f.failures + 1 ELSE 1 END"
)


def _lock_after(failures: str) -> str:
    """SQL: when an address that has now failed `failures` times in a row is locked out until.
    `schedule` holds the lockouts from the threshold-th failure on (`Gate.schedule`)."""
    step = f"least({failures} - %(threshold)s::int + 1, cardinality(%(schedule)s::int[]))"
    seconds = f"(%(schedule)s::int[])[{step}]"
    return (
        f"CASE WHEN {failures} >= %(threshold)s::int AND {seconds} > 0"
        f" THEN now() + make_interval(secs => {seconds}) END"
    )


#: Count an attempt before its password is checked; no row when the address is locked out (the
#: attempt is then refused unchecked). The row lock of the upsert orders parallel attempts.
COUNT_ATTEMPT = Prepared(
    "qbwc_login_count",
    f"""
    WITH counted AS (
        INSERT INTO auth_failures AS f (username, source, verifier, failures, locked_until, last_failed_at)
        SELECT {USERNAME_KEY}, %(source)s::text, {VERIFIER.format(hash=_TENANT_HASH)},
               1, {_lock_after("1")}, now()
        ON CONFLICT (username, source) DO UPDATE
        SET failures = {_FAILURES}, locked_until = {_lock_after(_FAILURES)},
            verifier = EXCLUDED.verifier, last_failed_at = now()
        WHERE f.verifier <> EXCLUDED.verifier OR f.locked_until IS NULL OR f.locked_until <= now()
        RETURNING f.failures, f.locked_until
    ),
    summary AS (  -- what `tenant show` says: failures since the last good login, the latest lockout
        UPDATE tenants SET failed_logins = failed_logins + 1,
               locked_until = greatest(tenants.locked_until, counted.locked_until)
        FROM counted WHERE tenants.username = %(username)s::text
    ),
    stale AS (  -- addresses quiet for a day are forgotten, a few at a time, never waiting on a lock
        SELECT username, source FROM auth_failures
        WHERE last_failed_at < now() - interval '1 day' AND coalesce(locked_until < now(), true)
          AND NOT (username = {USERNAME_KEY} AND source = %(source)s::text)
        LIMIT 20 FOR UPDATE SKIP LOCKED
    ),
    purged AS (
        DELETE FROM auth_failures a USING stale WHERE a.username = stale.username AND a.source = stale.source
    )
    SELECT failures FROM counted
    """,
)

#: A good login from this address: its count starts over. Deleting twice is deleting once.
CLEAR_FAILURES = Prepared(
    "qbwc_login_clear",
    f"DELETE FROM auth_failures WHERE username = {USERNAME_KEY} AND source = %(source)s::text",
    retry_safe=True,
)


class Gate:
    """Decides whether an authenticate may come in; one per process, no state of its own."""

    def __init__(self, single: SingleStatements, verifier: PasswordVerifier, settings: Settings) -> None:
        self.single = single
        self.verifier = verifier
        threshold, cap = settings.auth_failures_before_lockout, settings.auth_max_lockout_seconds
        self.threshold = threshold
        self.trusted_proxies = settings.gunicorn.forwarded_allow_ips
        #: Lockout after the threshold-th failure in a row, the next, …: the SQL indexes it.
        self.schedule = [lockout_seconds(threshold + n, threshold, cap) for n in range(_SCHEDULE_STEPS)]

    def attempt(self, username: str | None, address: str | None) -> dict[str, Any]:
        """Who an authenticate claims to be and where it comes from (`address`, else the request's
        client): AUTH_LOOKUP's parameters, and the throttle's."""
        source = source_key(address) if address is not None else request_source(self.trusted_proxies)
        return {"username": username or "", "source": source}

    def admit(self, row: Row, attempt: dict[str, Any], password: str) -> bool:
        """Whether `password` lets `attempt` (`Gate.attempt`) in, given AUTH_LOOKUP's `row`."""
        kind, stored = row["password_kind"], row["password_hash"]
        if self.verifier.verify_cheaply(kind, stored, password) and (
            kind == _TOKEN or not row["locked"]  # a generated password is never locked out
        ):
            if row["failures"]:
                self.single.one(CLEAR_FAILURES, attempt)
            return True
        if row["locked"]:
            log.warning(
                "authenticate: %s is locked out for %s after repeated bad passwords",
                safe(attempt["username"], 100),
                safe(attempt["source"], 100) or "every address (the client's is unknown)",
            )
            return False
        params = {**attempt, "schedule": self.schedule, "threshold": self.threshold}
        counted = self.single.one(COUNT_ATTEMPT, params)
        if counted is None:  # a parallel attempt locked the address meanwhile
            return False
        if self.verifier.verify_slowly(kind, stored, password):
            self.single.one(CLEAR_FAILURES, params)
            return True
        log.log(
            logging.INFO if kind is None else logging.WARNING,
            "authenticate: %s %s from %s (%s in a row)",
            "unknown username" if kind is None else "bad password for",
            safe(attempt["username"], 100),
            safe(attempt["source"], 100) or "an unknown address",
            counted["failures"],
        )
        return False
