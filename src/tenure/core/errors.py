"""Tenure's exception tree; every error a caller can act on is one of these.

::

    TenureError
    ├── ValidationError        input broke a rule; names the field and the reason
    ├── NotFound               the thing asked for does not exist
    ├── Conflict               the request clashes with current state (duplicate, stale version)
    ├── AuthenticationFailed   no or bad credentials
    ├── PermissionDenied       authenticated, but the role does not allow it
    ├── ConfigurationError     settings or a mapping file are wrong
    └── StoreUnavailable       a database or service could not be reached

Driver errors are translated once, at the adapter boundary
(``raise StoreUnavailable(...) from exc``).
Messages never contain personal data.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "ConfigurationError",
    "Conflict",
    "NotFound",
    "PermissionDenied",
    "StoreUnavailable",
    "TenureError",
    "ValidationError",
]


class TenureError(Exception):
    """Root of every error Tenure raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(TenureError):
    """Input broke a rule; ``field`` names the offending field."""

    code = "validation_error"


class NotFound(TenureError):
    """The thing asked for does not exist."""

    code = "not_found"


class Conflict(TenureError):
    """The request clashes with current state."""

    code = "conflict"


class AuthenticationFailed(TenureError):
    """No credentials, or credentials that do not check out."""

    code = "authentication_failed"


class PermissionDenied(TenureError):
    """Authenticated, but not allowed."""

    code = "permission_denied"


class ConfigurationError(TenureError):
    """Settings or a mapping file are wrong."""

    code = "configuration_error"


class StoreUnavailable(TenureError):
    """A database or service could not be reached."""

    code = "store_unavailable"
