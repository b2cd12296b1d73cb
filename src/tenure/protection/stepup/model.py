"""Step-up values: challenges, their results, TOTP enrolments, outbox messages and the policy.

No value here carries a one-time code or a TOTP secret except ``OutboxMessage.params["code"]``
(hidden from ``repr``) and ``TotpProvisioning`` (``SecretStr``), so that logging a value never
leaks one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from pydantic import SecretStr

from tenure.core.errors import ConfigurationError
from tenure.core.outcome import Outcome

__all__ = [
    "Challenge",
    "ChallengeMethod",
    "ChallengeResult",
    "ChallengeStatus",
    "OutboxMessage",
    "StepUpPolicy",
    "TotpEnrolment",
    "TotpProvisioning",
    "TotpStatus",
]

ChallengeMethod = Literal["totp", "sms"]
TotpStatus = Literal["pending", "active"]


class ChallengeStatus(StrEnum):
    """Where a challenge stands; every status but ``pending`` is final."""

    PENDING = "pending"
    VERIFIED = "verified"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """Whether the challenge can no longer change."""
        return self is not ChallengeStatus.PENDING


@dataclass(frozen=True, slots=True)
class StepUpPolicy:
    """How long a challenge lives, how many tries it allows, and what failing it means."""

    expiry: timedelta = timedelta(minutes=5)
    max_attempts: int = 3
    totp_window: int = 1
    max_challenges_per_decision: int = 3
    failed_outcome: Outcome = Outcome.DECLINE
    # a step-up decision whose first challenge has not started by then ends as a failed one
    start_within: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.expiry <= timedelta(0):
            raise ConfigurationError("step-up expiry must be positive", field="expiry")
        if self.start_within <= timedelta(0):
            raise ConfigurationError(
                "the time to start a step-up must be positive", field="start_within"
            )
        if self.max_attempts < 1:
            raise ConfigurationError("step-up needs at least one attempt", field="max_attempts")
        if not 0 <= self.totp_window <= 10:
            raise ConfigurationError("the TOTP window must be 0-10 steps", field="totp_window")
        if self.max_challenges_per_decision < 1:
            raise ConfigurationError(
                "a decision needs at least one challenge", field="max_challenges_per_decision"
            )


@dataclass(frozen=True, slots=True)
class Challenge:
    """One request to a customer to prove it is them before a held decision goes ahead."""

    id: str
    decision_id: str
    customer_id: str
    method: ChallengeMethod
    status: ChallengeStatus
    created_at: datetime
    expires_at: datetime
    attempts_left: int
    finished_at: datetime | None = None

    def is_expired(self, at: datetime) -> bool:
        """Whether a pending challenge has run out of time at ``at``."""
        return self.status is ChallengeStatus.PENDING and at >= self.expires_at


@dataclass(frozen=True, slots=True)
class ChallengeResult:
    """What a verification attempt did; ``outcome`` is what the held decision resumes as.

    ``outcome`` is ``allow`` once verified, the policy's failed outcome (``decline`` by default)
    once failed or expired, and ``None`` while the customer may still try again.
    """

    challenge: Challenge
    outcome: Outcome | None

    @property
    def status(self) -> ChallengeStatus:
        """The challenge's status after the attempt."""
        return self.challenge.status

    @property
    def verified(self) -> bool:
        """Whether the customer proved it is them."""
        return self.challenge.status is ChallengeStatus.VERIFIED


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """A customer's authenticator; the secret is stored beside it, never in it."""

    customer_id: str
    status: TotpStatus
    created_at: datetime
    confirmed_at: datetime | None = None
    last_used_counter: int | None = None

    @property
    def active(self) -> bool:
        """Whether the enrolment was confirmed and may answer challenges."""
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class TotpProvisioning:
    """What the customer scans once: the secret and the ``otpauth://`` URI that embeds it."""

    enrolment: TotpEnrolment
    secret: SecretStr
    provisioning_uri: SecretStr


def _frozen(params: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(params))


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A notification waiting for delivery; ``params`` may hold a code, so ``repr`` omits them."""

    id: str
    channel: Literal["sms"]
    customer_id: str
    template: str
    params: Mapping[str, str] = field(repr=False, hash=False)
    created_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen(self.params))
