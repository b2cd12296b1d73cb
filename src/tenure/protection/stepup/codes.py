"""One-time codes: TOTP (RFC 6238, via pyotp) and the 6-digit SMS stand-in.

Every comparison is constant-time. A TOTP code is accepted within ``±window`` time steps and only
for a step later than the last one used, so a code seen over a shoulder cannot be replayed. An SMS
code is kept only as an HMAC-SHA256 under an injected key, bound to its challenge id.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime

import pyotp
from pydantic import SecretStr

from tenure.core.errors import ConfigurationError, ValidationError

__all__ = [
    "CODE_DIGITS",
    "TOTP_ISSUER",
    "TOTP_STEP_SECONDS",
    "RandomSource",
    "clean_code",
    "hash_sms_code",
    "matching_totp_counter",
    "new_sms_code",
    "new_totp_secret",
    "sms_code_matches",
    "totp_provisioning_uri",
]

CODE_DIGITS = 6
TOTP_ISSUER = "Tenure"
TOTP_STEP_SECONDS = 30

# ``randbelow(n)``: a uniform integer in ``[0, n)``; ``secrets.randbelow`` in production,
# ``random.Random(seed).randrange`` in tests.
RandomSource = Callable[[int], int]


def clean_code(code: str) -> str:
    """The code without spaces, or ``ValidationError(field="code")`` if it is not 6 digits."""
    cleaned = code.replace(" ", "").strip()
    if len(cleaned) != CODE_DIGITS or not (cleaned.isascii() and cleaned.isdigit()):
        raise ValidationError(f"the code must be {CODE_DIGITS} digits", field="code")
    return cleaned


def new_totp_secret() -> str:
    """A fresh base32 secret (160 bits from ``secrets``)."""
    return pyotp.random_base32()


def totp_provisioning_uri(secret: str, *, account_name: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans (issuer "Tenure")."""
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=TOTP_ISSUER)


def matching_totp_counter(
    secret: str, code: str, *, at: datetime, window: int, last_used: int | None
) -> int | None:
    """The time step ``code`` is valid for near ``at``, if any and later than ``last_used``."""
    totp = pyotp.TOTP(secret, digits=CODE_DIGITS, interval=TOTP_STEP_SECONDS)
    current = int(at.timestamp()) // TOTP_STEP_SECONDS
    matched: int | None = None
    # Every step in the window is compared, match or not, so timing does not reveal which matched.
    for counter in range(current - window, current + window + 1):
        equal = hmac.compare_digest(totp.generate_otp(counter).encode(), code.encode())
        fresh = last_used is None or counter > last_used
        if equal and fresh and matched is None:
            matched = counter
    return matched


def new_sms_code(random_source: RandomSource) -> str:
    """A 6-digit code, zero-padded."""
    value = random_source(10**CODE_DIGITS)
    if not 0 <= value < 10**CODE_DIGITS:
        raise ConfigurationError("the random source returned a number out of range")
    return f"{value:0{CODE_DIGITS}d}"


def hash_sms_code(code: str, *, challenge_id: str, key: SecretStr) -> str:
    """HMAC-SHA256 of the code bound to its challenge, hex."""
    message = f"{challenge_id}:{code}".encode()
    return hmac.new(key.get_secret_value().encode(), message, hashlib.sha256).hexdigest()


def sms_code_matches(code: str, *, challenge_id: str, key: SecretStr, code_hash: str) -> bool:
    """Constant-time check of a presented code against the stored HMAC."""
    presented = hash_sms_code(code, challenge_id=challenge_id, key=key)
    return hmac.compare_digest(presented.encode(), code_hash.encode())
