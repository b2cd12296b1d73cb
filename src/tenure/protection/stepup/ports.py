"""What step-up needs from a store; a SQL adapter implements these, ``memory`` has fakes.

``update(new, *, expected=old)`` is a compare-and-set: it raises ``Conflict`` when the stored row
no longer equals ``expected``, so two concurrent verifications cannot both pass (SQL:
``UPDATE ... WHERE id = :id AND status = :old_status AND attempts_left = :old_attempts`` for a
challenge, ``... AND status = :old_status AND last_used_counter IS NOT DISTINCT FROM :old_counter``
for a TOTP enrolment, and ``Conflict`` when no row was updated).
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from tenure.protection.stepup.model import Challenge, OutboxMessage, TotpEnrolment

__all__ = [
    "ChallengeRepository",
    "NotificationOutbox",
    "StepUpUnitOfWork",
    "TotpSecretRepository",
]


class TotpSecretRepository(Protocol):
    """TOTP enrolments and their secrets (opaque strings; encrypted at rest by the adapter)."""

    def add(self, enrolment: TotpEnrolment, *, secret: str) -> None:
        """Store a new enrolment; ``Conflict`` if the customer already has one."""

    def get(self, customer_id: str) -> TotpEnrolment | None: ...

    def secret(self, customer_id: str) -> str | None: ...

    def update(self, enrolment: TotpEnrolment, *, expected: TotpEnrolment) -> None:
        """Replace the stored enrolment if it still equals ``expected``, else ``Conflict``."""

    def remove(self, customer_id: str) -> None:
        """Forget the enrolment and its secret (no error if there is none)."""


class ChallengeRepository(Protocol):
    """Challenges; an SMS challenge's code is stored only as an HMAC, beside the challenge."""

    def add(self, challenge: Challenge, *, code_hash: str | None) -> None: ...

    def get(self, challenge_id: str) -> Challenge | None: ...

    def code_hash(self, challenge_id: str) -> str | None: ...

    def list_for_decision(self, decision_id: str) -> list[Challenge]:
        """Every challenge started for one decision, oldest first."""

    def overdue(self, at: datetime, *, limit: int) -> list[Challenge]:
        """Pending challenges whose expiry is at or before ``at``, soonest expiry first (at most
        ``limit``)."""

    def update(self, challenge: Challenge, *, expected: Challenge) -> None:
        """Replace the stored challenge if it still equals ``expected``, else ``Conflict``."""

    def last_verified_at(self, customer_id: str) -> datetime | None:
        """When the customer last passed a challenge (``finished_at`` of a verified one)."""


class NotificationOutbox(Protocol):
    """Messages written in the same transaction as the change that caused them."""

    def add(self, message: OutboxMessage) -> None: ...

    def pending(self) -> list[OutboxMessage]:
        """Messages not yet handed to a delivery channel, oldest first."""


class StepUpUnitOfWork(Protocol):
    """One transaction: rolled back on exit unless ``commit()`` was called."""

    @property
    def totp_secrets(self) -> TotpSecretRepository: ...

    @property
    def challenges(self) -> ChallengeRepository: ...

    @property
    def outbox(self) -> NotificationOutbox: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
