"""How corporate steps are audited (the sink and its test double live in ``tenure.privacy.audit``).

Actions are named ``corporate.<noun>_<past tense>`` (``corporate.payment_approved``); a refused
request is recorded as ``corporate.<noun>_<verb>_refused`` with the error's code, field and
message. Details carry ids, amounts, statuses and plain-word reasons, never personal data (error
messages never contain any either). A hash-chained trail can stand behind the same Protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from tenure.core.errors import TenureError
from tenure.privacy.audit import AuditEntry, AuditSink, InMemoryAuditSink
from tenure.protection.corporate.model import Actor

__all__ = ["AuditEntry", "AuditSink", "InMemoryAuditSink", "refusals_recorded"]


@contextmanager
def refusals_recorded(
    audit: AuditSink, *, actor: Actor, action: str, subject: str, at: datetime
) -> Iterator[None]:
    """Record any ``TenureError`` raised inside as ``<action>_refused``, then let it propagate."""
    try:
        yield
    except TenureError as exc:
        details = {"error": exc.code, "field": exc.field, "message": exc.message}
        audit.record(
            actor=str(actor), action=f"{action}_refused", subject=subject, details=details, at=at
        )
        raise
