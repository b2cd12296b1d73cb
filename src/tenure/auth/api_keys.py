"""Machine keys: ``tnr_<prefix>_<secret>``; the prefix finds the record, a hash checks the secret.

The secret is 256 random bits, so a single SHA-256 stores it safely (a slow hash protects guessable
passwords, not random keys) and keeps every API call cheap. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from tenure.core.errors import AuthenticationFailed

__all__ = [
    "KEY_SCHEME",
    "GeneratedKey",
    "generate_key",
    "hash_secret",
    "parse_key",
    "secret_matches",
]

KEY_SCHEME = "tnr"
_PREFIX_BYTES = 6
_SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    """A new key: ``plaintext`` is shown once; only ``prefix`` and ``secret_hash`` are stored."""

    plaintext: str
    prefix: str
    secret_hash: str


def hash_secret(secret: str) -> str:
    """SHA-256 of a key's secret part, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def generate_key() -> GeneratedKey:
    """A fresh random key."""
    prefix = secrets.token_hex(_PREFIX_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return GeneratedKey(
        plaintext=f"{KEY_SCHEME}_{prefix}_{secret}", prefix=prefix, secret_hash=hash_secret(secret)
    )


def parse_key(plaintext: str) -> tuple[str, str]:
    """Split a presented key into ``(prefix, secret)`` or raise ``AuthenticationFailed``."""
    parts = plaintext.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or not parts[1] or not parts[2]:
        raise AuthenticationFailed("the API key is malformed")
    return parts[1], parts[2]


def secret_matches(secret: str, secret_hash: str) -> bool:
    """Constant-time check of a presented secret against the stored hash."""
    return hmac.compare_digest(hash_secret(secret), secret_hash)
