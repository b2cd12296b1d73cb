"""Personal data in responses: masked by default, clear only for ``pii:read``, and every clear view
audited. The one mechanism API routes (and console pages) use to show a customer's PII.

A response that carries personal data passes the record through :func:`disclose` with the PII
kind of each column (``IDENTITY_COLUMNS`` for the identity vault's fields, or a table's
``pii`` declarations from the canonical catalogue)::

    shown = disclose(
        record, IDENTITY_COLUMNS, principal=principal, subject=f"customer:{customer_id}",
        audit=state.record_audit, reveal=query.reveal, reason=query.reason,
    )

- without ``reveal``, every PII column is masked (:func:`tenure.privacy.masking.mask`):
  ``138****1234``, ``1101**********1234``, the family name;
- with ``reveal``, the principal must hold ``pii:read`` (else :class:`PermissionDenied`, 403)
  and give a ``reason`` of at least :data:`REASON_MIN_LENGTH` characters (else
  :class:`ValidationError`, 422); the view is recorded first (action ``pii.view``, the names of
  the fields shown and the reason, never a value) and the clear record returned only once the
  audit sink has taken it.

Masking hides values from a screen; it is not access control over the record as a whole, which
the route's permission decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from tenure.auth.model import Principal
from tenure.auth.permissions import Permission, has_permission
from tenure.core.errors import PermissionDenied, ValidationError
from tenure.data.schema import PiiKind
from tenure.privacy.masking import mask_record

__all__ = [
    "IDENTITY_COLUMNS",
    "LOOKUP_ACTION",
    "REASON_MAX_LENGTH",
    "REASON_MIN_LENGTH",
    "VIEW_ACTION",
    "AuditRecorder",
    "Disclosure",
    "disclose",
    "may_see_clear",
]

VIEW_ACTION = "pii.view"
LOOKUP_ACTION = "pii.lookup"
REASON_MIN_LENGTH = 8
REASON_MAX_LENGTH = 500

IDENTITY_COLUMNS: Mapping[str, PiiKind] = MappingProxyType(
    {
        "full_name": PiiKind.NAME,
        "phone": PiiKind.PHONE,
        "email": PiiKind.EMAIL,
        "id_number": PiiKind.ID_NUMBER,
    }
)


class AuditRecorder(Protocol):
    """Where a clear view is recorded (``ApiState.record_audit``)."""

    def __call__(
        self, *, actor: str, action: str, subject: str, details: Mapping[str, object]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Disclosure:
    """A record as the caller may see it, and whether its PII columns are masked."""

    values: Mapping[str, object]
    masked: bool


def may_see_clear(principal: Principal) -> bool:
    """Whether ``principal`` may be shown personal data in clear (holds ``pii:read``)."""
    return has_permission(principal.roles, Permission.PII_READ)


def _checked_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) < REASON_MIN_LENGTH:
        raise ValidationError(
            f"say why the clear values are needed (at least {REASON_MIN_LENGTH} characters): "
            "every clear view is audited",
            field="reason",
        )
    return text


def disclose(
    record: Mapping[str, object],
    pii_columns: Mapping[str, PiiKind],
    *,
    principal: Principal,
    subject: str,
    audit: AuditRecorder,
    reveal: bool = False,
    reason: str | None = None,
) -> Disclosure:
    """``record`` masked, or in clear (audited first) when ``reveal`` is asked by a principal
    holding ``pii:read`` with a reason."""
    if not reveal:
        return Disclosure(MappingProxyType(mask_record(record, pii_columns)), masked=True)
    if not may_see_clear(principal):
        raise PermissionDenied(
            f"showing personal data in clear needs the {Permission.PII_READ.value} permission",
            field="reveal",
        )
    why = _checked_reason(reason)
    shown = [column for column in pii_columns if record.get(column) not in (None, "")]
    audit(
        actor=principal.subject,
        action=VIEW_ACTION,
        subject=subject,
        details={"fields": shown, "reason": why},
    )
    return Disclosure(MappingProxyType(dict(record)), masked=False)
