"""In-memory step-up store: public test doubles that keep the ports' contracts, transactions too.

``InMemoryStepUpUnitOfWork`` keeps what was committed across ``with`` blocks and throws away
everything else on exit, like the SQL one; reuse one instance as the ``uow`` of every call.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Self

from tenure.core.errors import Conflict, NotFound
from tenure.protection.stepup.model import Challenge, ChallengeStatus, OutboxMessage, TotpEnrolment

if TYPE_CHECKING:
    from tenure.protection.stepup.ports import StepUpUnitOfWork

__all__ = [
    "InMemoryChallengeRepository",
    "InMemoryNotificationOutbox",
    "InMemoryStepUpUnitOfWork",
    "InMemoryTotpSecretRepository",
]


class InMemoryTotpSecretRepository:
    """TOTP enrolments and secrets in two dicts."""

    def __init__(self) -> None:
        self._enrolments: dict[str, TotpEnrolment] = {}
        self._secrets: dict[str, str] = {}

    def add(self, enrolment: TotpEnrolment, *, secret: str) -> None:
        if enrolment.customer_id in self._enrolments:
            raise Conflict("the customer already has an authenticator", field="customer_id")
        self._enrolments[enrolment.customer_id] = enrolment
        self._secrets[enrolment.customer_id] = secret

    def get(self, customer_id: str) -> TotpEnrolment | None:
        return self._enrolments.get(customer_id)

    def secret(self, customer_id: str) -> str | None:
        return self._secrets.get(customer_id)

    def update(self, enrolment: TotpEnrolment, *, expected: TotpEnrolment) -> None:
        stored = self._enrolments.get(enrolment.customer_id)
        if stored is None:
            raise NotFound("the customer has no authenticator", field="customer_id")
        if stored != expected:
            raise Conflict("the authenticator changed meanwhile", field="customer_id")
        self._enrolments[enrolment.customer_id] = enrolment

    def remove(self, customer_id: str) -> None:
        self._enrolments.pop(customer_id, None)
        self._secrets.pop(customer_id, None)

    def snapshot(self) -> tuple[dict[str, TotpEnrolment], dict[str, str]]:
        """A copy of the state, for rollback (values are immutable)."""
        return dict(self._enrolments), dict(self._secrets)

    def restore(self, state: tuple[dict[str, TotpEnrolment], dict[str, str]]) -> None:
        """Go back to a snapshot."""
        self._enrolments, self._secrets = dict(state[0]), dict(state[1])


class InMemoryChallengeRepository:
    """Challenges and SMS code hashes in two dicts (insertion order is creation order)."""

    def __init__(self) -> None:
        self._challenges: dict[str, Challenge] = {}
        self._code_hashes: dict[str, str] = {}

    def add(self, challenge: Challenge, *, code_hash: str | None) -> None:
        if challenge.id in self._challenges:
            raise Conflict("a challenge with this id exists", field="challenge_id")
        self._challenges[challenge.id] = challenge
        if code_hash is not None:
            self._code_hashes[challenge.id] = code_hash

    def get(self, challenge_id: str) -> Challenge | None:
        return self._challenges.get(challenge_id)

    def code_hash(self, challenge_id: str) -> str | None:
        return self._code_hashes.get(challenge_id)

    def list_for_decision(self, decision_id: str) -> list[Challenge]:
        return [c for c in self._challenges.values() if c.decision_id == decision_id]

    def overdue(self, at: datetime, *, limit: int) -> list[Challenge]:
        found = [c for c in self._challenges.values() if c.is_expired(at)]
        return sorted(found, key=lambda c: (c.expires_at, c.id))[:limit]

    def update(self, challenge: Challenge, *, expected: Challenge) -> None:
        stored = self._challenges.get(challenge.id)
        if stored is None:
            raise NotFound("no challenge with this id", field="challenge_id")
        if stored != expected:
            raise Conflict("the challenge changed meanwhile", field="challenge_id")
        self._challenges[challenge.id] = challenge

    def last_verified_at(self, customer_id: str) -> datetime | None:
        times = [
            c.finished_at
            for c in self._challenges.values()
            if c.customer_id == customer_id
            and c.status is ChallengeStatus.VERIFIED
            and c.finished_at is not None
        ]
        return max(times, default=None)

    def snapshot(self) -> tuple[dict[str, Challenge], dict[str, str]]:
        """A copy of the state, for rollback (values are immutable)."""
        return dict(self._challenges), dict(self._code_hashes)

    def restore(self, state: tuple[dict[str, Challenge], dict[str, str]]) -> None:
        """Go back to a snapshot."""
        self._challenges, self._code_hashes = dict(state[0]), dict(state[1])


class InMemoryNotificationOutbox:
    """Messages in a list; ``pending()`` is every message (nothing delivers them here)."""

    def __init__(self) -> None:
        self._messages: list[OutboxMessage] = []

    def add(self, message: OutboxMessage) -> None:
        self._messages.append(message)

    def pending(self) -> list[OutboxMessage]:
        return list(self._messages)

    def snapshot(self) -> list[OutboxMessage]:
        """A copy of the state, for rollback (values are immutable)."""
        return list(self._messages)

    def restore(self, state: list[OutboxMessage]) -> None:
        """Go back to a snapshot."""
        self._messages = list(state)


class InMemoryStepUpUnitOfWork:
    """Rolls every repository back on exit unless ``commit()`` was called."""

    def __init__(self) -> None:
        self.totp_secrets = InMemoryTotpSecretRepository()
        self.challenges = InMemoryChallengeRepository()
        self.outbox = InMemoryNotificationOutbox()
        self.commits = 0
        self._open = False
        self._take_snapshot()

    def _take_snapshot(self) -> None:
        self._committed = (
            self.totp_secrets.snapshot(),
            self.challenges.snapshot(),
            self.outbox.snapshot(),
        )

    def __enter__(self) -> Self:
        if self._open:
            raise RuntimeError("a unit of work cannot be entered twice at once")
        self._open = True
        self._take_snapshot()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        self.rollback()

    def commit(self) -> None:
        """Keep every change so far."""
        self._take_snapshot()
        self.commits += 1

    def rollback(self) -> None:
        """Discard every change since the last commit."""
        totp, challenges, outbox = self._committed
        self.totp_secrets.restore(totp)
        self.challenges.restore(challenges)
        self.outbox.restore(outbox)


if TYPE_CHECKING:

    def _conforms(uow: InMemoryStepUpUnitOfWork) -> StepUpUnitOfWork:
        return uow
