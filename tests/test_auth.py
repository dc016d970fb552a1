"""Web Connector passwords (webconnector/auth.py): generated secrets, argon2id, the fast re-verify, lockout.

Pure unit tests, no database. The fast verifier exists to spare argon2 on every poll, so a spy
counts real argon2 verifications (it still runs them) to show when they are skipped.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from argon2 import PasswordHasher

from qbwc_server.models import PasswordKind
from qbwc_server.webconnector import auth
from qbwc_server.webconnector.auth import (
    PasswordVerifier,
    WeakPasswordError,
    generate_password,
    hash_admin_password,
    hash_generated,
    lockout_seconds,
)

ADMIN_PASSWORD = "correct horse battery staple"


class CountingHasher:
    """The real argon2 hasher, counting how often a password is actually checked with it."""

    def __init__(self, real: PasswordHasher) -> None:
        self.real = real
        self.verifications = 0

    def verify(self, stored: str, presented: str) -> Any:
        self.verifications += 1
        return self.real.verify(stored, presented)

    def hash(self, password: str) -> str:
        return self.real.hash(password)


@pytest.fixture
def argon2_spy(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    spy = CountingHasher(auth._argon2)
    monkeypatch.setattr(auth, "_argon2", spy)
    return spy


@pytest.fixture(scope="module")
def admin_hash() -> str:
    return hash_admin_password(ADMIN_PASSWORD)


# -- generated passwords ----------------------------------------------------------------------


def test_generated_passwords_carry_at_least_128_bits() -> None:
    passwords = {generate_password() for _ in range(200)}

    assert len(passwords) == 200
    for password in passwords:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", password), "must be typeable: URL-safe base64 only"
        assert len(password) * 6 >= 128  # each URL-safe base64 character carries 6 random bits


def test_generated_password_is_stored_as_sha256_and_verifies() -> None:
    password = generate_password()
    stored = hash_generated(password)
    verifier = PasswordVerifier()

    assert re.fullmatch(r"[0-9a-f]{64}", stored) and password not in stored
    assert verifier.verify(PasswordKind.TOKEN, stored, password)
    assert verifier.verify("token", stored, password), "kinds read back from the database are plain str"
    assert not verifier.verify(PasswordKind.TOKEN, stored, password + " ")
    assert not verifier.verify(PasswordKind.TOKEN, stored, generate_password())
    assert not verifier.verify(PasswordKind.TOKEN, stored, "")


def test_unknown_or_mismatched_kind_never_verifies() -> None:
    password = generate_password()
    verifier = PasswordVerifier()

    assert not verifier.verify("plaintext", password, password)
    assert not verifier.verify(PasswordKind.ARGON2, hash_generated(password), password)


# -- admin-chosen passwords -------------------------------------------------------------------


def test_admin_password_is_stored_with_argon2id_and_verifies(admin_hash: str) -> None:
    verifier = PasswordVerifier()

    assert admin_hash.startswith("$argon2id$") and ADMIN_PASSWORD not in admin_hash
    assert verifier.verify(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD)
    assert not verifier.verify(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD.upper())
    assert not verifier.verify(PasswordKind.TOKEN, admin_hash, ADMIN_PASSWORD)


def test_admin_passwords_shorter_than_12_characters_are_refused() -> None:
    with pytest.raises(WeakPasswordError, match="at least 12"):
        hash_admin_password("x" * 11)
    assert hash_admin_password("x" * 12).startswith("$argon2id$")


# -- the fast verifier ------------------------------------------------------------------------


def test_a_verified_password_is_rechecked_without_argon2(admin_hash: str, argon2_spy: CountingHasher) -> None:
    verifier = PasswordVerifier(fast_seconds=900)

    assert verifier.verify(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD)
    assert verifier.verify(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD)
    assert verifier.verify(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD)

    assert argon2_spy.verifications == 1


def test_a_wrong_password_is_never_let_through_by_the_fast_path(
    admin_hash: str, argon2_spy: CountingHasher
) -> None:
    verifier = PasswordVerifier(fast_seconds=900)
    assert verifier.verify(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD)

    assert not verifier.verify(PasswordKind.ARGON2, admin_hash, "not the password at all")
    assert argon2_spy.verifications == 2, "a mismatch must fall back to the full argon2 check"
    assert verifier.verify(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD)
    assert argon2_spy.verifications == 2, "a failed attempt must not evict the good entry"


def test_failed_attempts_are_not_cached(admin_hash: str, argon2_spy: CountingHasher) -> None:
    verifier = PasswordVerifier(fast_seconds=900)

    for _ in range(3):
        assert not verifier.verify(PasswordKind.ARGON2, admin_hash, "guess-guess-guess")

    assert argon2_spy.verifications == 3


def test_fast_seconds_zero_always_runs_argon2(admin_hash: str, argon2_spy: CountingHasher) -> None:
    verifier = PasswordVerifier(fast_seconds=0)

    assert verifier.verify(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD)
    assert verifier.verify(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD)

    assert argon2_spy.verifications == 2


def test_changing_the_password_ends_the_old_ones_fast_path(admin_hash: str) -> None:
    verifier = PasswordVerifier(fast_seconds=900)
    assert verifier.verify(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD)  # now cached
    new_password = "a brand new passphrase"
    new_hash = hash_admin_password(new_password)

    assert not verifier.verify(PasswordKind.ARGON2, new_hash, ADMIN_PASSWORD)
    assert verifier.verify(PasswordKind.ARGON2, new_hash, new_password)
    assert not verifier.verify(PasswordKind.ARGON2, new_hash, ADMIN_PASSWORD)


def test_the_fast_path_is_bounded_by_max_entries(argon2_spy: CountingHasher) -> None:
    verifier = PasswordVerifier(fast_seconds=900, max_entries=1)
    first, second = ("first passphrase", "second passphrase")
    first_hash, second_hash = hash_admin_password(first), hash_admin_password(second)

    assert verifier.verify(PasswordKind.ARGON2, first_hash, first)
    assert verifier.verify(PasswordKind.ARGON2, second_hash, second)  # evicts the first
    assert verifier.verify(PasswordKind.ARGON2, second_hash, second)
    assert verifier.verify(PasswordKind.ARGON2, first_hash, first)

    assert argon2_spy.verifications == 3


def test_fast_entries_belong_to_one_verifier(admin_hash: str, argon2_spy: CountingHasher) -> None:
    PasswordVerifier().verify(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD)

    assert PasswordVerifier().verify(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD)
    assert argon2_spy.verifications == 2, "each process (verifier) proves the password once itself"


# -- the same work for every wrong attempt ----------------------------------------------------


def test_verify_slowly_runs_one_argon2_verify_whatever_the_kind(
    admin_hash: str, argon2_spy: CountingHasher
) -> None:
    """Unknown usernames (no kind) and generated passwords are checked against a dummy argon2
    hash, so a wrong attempt costs the same whether the username exists and whatever it has."""
    verifier = PasswordVerifier()
    password = generate_password()

    assert not verifier.verify_slowly(None, None, "anything at all")
    assert not verifier.verify_slowly(PasswordKind.TOKEN, hash_generated(password), password)
    assert not verifier.verify_slowly(PasswordKind.ARGON2, admin_hash, "not the password at all")
    assert argon2_spy.verifications == 3
    assert verifier.verify_slowly(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD)
    assert argon2_spy.verifications == 4


def test_verify_cheaply_never_runs_argon2(admin_hash: str, argon2_spy: CountingHasher) -> None:
    verifier = PasswordVerifier(fast_seconds=900)
    password = generate_password()

    assert verifier.verify_cheaply(PasswordKind.TOKEN, hash_generated(password), password)
    assert not verifier.verify_cheaply(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD), "not proved yet"
    assert not verifier.verify_cheaply(None, None, ADMIN_PASSWORD)
    assert argon2_spy.verifications == 0
    assert verifier.verify(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD)
    assert verifier.verify_cheaply(PasswordKind.ARGON2, admin_hash, ADMIN_PASSWORD), "proved once: cheap"
    assert argon2_spy.verifications == 1


# -- lockout ----------------------------------------------------------------------------------


def test_lockout_starts_at_the_threshold_doubles_and_is_capped() -> None:
    schedule = [lockout_seconds(failures, threshold=5, cap=300) for failures in range(16)]

    assert schedule == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert lockout_seconds(10**9, threshold=5, cap=300) == 300


def test_lockout_cap_zero_disables_lockout() -> None:
    assert lockout_seconds(50, threshold=5, cap=0) == 0
