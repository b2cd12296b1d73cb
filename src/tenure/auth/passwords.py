"""Password hashing with Argon2id, the password policy and strong generated passwords."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tenure.core.errors import ValidationError

__all__ = [
    "COMMON_PASSWORDS",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "PasswordCheck",
    "check_password_policy",
    "generate_password",
    "hash_password",
    "verify_no_user",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 12
# Argon2 cost grows with input; a ceiling keeps a login request from becoming a denial of service.
MAX_PASSWORD_LENGTH = 1024


@cache
def _hasher() -> PasswordHasher:
    """Argon2id with the library's RFC 9106 low-memory profile (built on first use)."""
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


# Passwords of 12 or more characters that lead the breach corpora and cracking word lists; the
# length rule already refuses the shorter favourites. Compared without case, spaces or separators.
COMMON_PASSWORDS = frozenset(
    {
        "000000000000", "111111111111", "123123123123", "123456789012", "1234567890123",
        "123456123456", "123456654321", "1q2w3e4r5t6y", "1qaz2wsx3edc",
        "1qaz2wsx3edc4rfv", "abc123abc123", "abcd1234abcd", "administrator", "administrator1",
        "asdfghjkl123", "changeme1234", "correcthorsebatterystaple", "iloveyou1234",
        "letmein12345", "password1234", "password12345", "password123456", "passw0rd1234",
        "passwordpassword", "p@ssw0rd1234", "qazwsxedcrfv", "qwerty123456", "qwertyuiop12",
        "qwertyuiop123", "qwertyuiopasdf", "welcome12345", "welcome123456", "zaq12wsxcde3",
        "1234qwerasdf", "qwer1234asdf", "woaini1314520", "woaini520520",
        "abcdefghijkl", "abcdefg123456", "computer1234", "football1234", "baseball1234",
        "superman1234", "sunshine1234", "princess1234", "starwars1234", "trustno11234",
        "dragon123456", "monkey123456", "master123456", "tenure123456", "tenureadmin1",
    }
)  # fmt: skip
_SEPARATORS = str.maketrans("", "", " -_.")


def check_password_policy(
    password: str, *, field: str = "password", username: str | None = None
) -> None:
    """Raise ``ValidationError`` naming ``field`` when the password breaks the policy.

    Beyond length and variety: not a well-known password, and not containing the username.
    Messages state the rule, never the password.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters long", field=field
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(
            f"password must be at most {MAX_PASSWORD_LENGTH} characters long", field=field
        )
    if not password.strip():
        raise ValidationError("password must not be only whitespace", field=field)
    if len(set(password)) < 4:
        raise ValidationError("password must use at least 4 different characters", field=field)
    folded = password.casefold()
    if folded.translate(_SEPARATORS) in COMMON_PASSWORDS:
        raise ValidationError("password is too common; choose another", field=field)
    if username and _contains_username(folded, username.strip().casefold()):
        raise ValidationError("password must not contain the username", field=field)


def _contains_username(folded_password: str, folded_username: str) -> bool:
    # A 2-character username would match too many passwords by accident: refuse only equality.
    if len(folded_username) < 3:
        return folded_password == folded_username
    return folded_username in folded_password


def hash_password(password: str) -> str:
    """Hash a password with Argon2id (a fresh random salt every time)."""
    return _hasher().hash(password)


class PasswordCheck:
    """The outcome of a verification: whether it matched and, if so, a fresher hash to store."""

    __slots__ = ("new_hash", "ok")

    def __init__(self, *, ok: bool, new_hash: str | None = None) -> None:
        self.ok = ok
        self.new_hash = new_hash


def verify_password(password: str, password_hash: str) -> PasswordCheck:
    """Check a password against its hash, offering a rehash when the parameters have aged."""
    hasher = _hasher()
    try:
        hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return PasswordCheck(ok=False)
    if hasher.check_needs_rehash(password_hash):
        return PasswordCheck(ok=True, new_hash=hasher.hash(password))
    return PasswordCheck(ok=True)


def verify_no_user(password: str) -> None:
    """Spend the time a real verification would, so unknown usernames cannot be told by timing."""
    verify_password(password, _dummy_hash())


def generate_password(length: int = 24) -> str:
    """A random password that passes the policy (URL-safe characters, about 6 bits each)."""
    if length < MIN_PASSWORD_LENGTH:
        raise ValueError(f"generated passwords need at least {MIN_PASSWORD_LENGTH} characters")
    while True:
        candidate = secrets.token_urlsafe(length)[:length]
        if len(set(candidate)) >= 4:
            return candidate
