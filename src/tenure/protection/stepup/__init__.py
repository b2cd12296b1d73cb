"""Risk-based step-up: a held payment waits until the customer proves it is them.

Two methods: TOTP from an authenticator app (``enrolment``) and a 6-digit SMS code, queued in the
notification outbox and kept only as an HMAC. ``challenges`` runs the lifecycle
(pending -> verified | failed | expired | cancelled); ``ports`` lists what a store must provide and
``memory`` holds in-memory fakes.

Errors (all from ``tenure.core.errors``): ``ValidationError`` for a malformed code or method,
``NotFound`` for an unknown challenge or enrolment, ``Conflict`` for a finished challenge, a
decision that cannot take another challenge, or a concurrent change.
"""

from __future__ import annotations

from tenure.protection.stepup.challenges import (
    SMS_TEMPLATE,
    cancel_challenge,
    expire_overdue,
    get_challenge,
    last_step_up_at,
    recent_step_up,
    start_challenge,
    verify_challenge,
)
from tenure.protection.stepup.enrolment import confirm_totp_enrolment, enroll_totp, remove_totp
from tenure.protection.stepup.model import (
    Challenge,
    ChallengeMethod,
    ChallengeResult,
    ChallengeStatus,
    OutboxMessage,
    StepUpPolicy,
    TotpEnrolment,
    TotpProvisioning,
)
from tenure.protection.stepup.ports import (
    ChallengeRepository,
    NotificationOutbox,
    StepUpUnitOfWork,
    TotpSecretRepository,
)

__all__ = [
    "SMS_TEMPLATE",
    "Challenge",
    "ChallengeMethod",
    "ChallengeRepository",
    "ChallengeResult",
    "ChallengeStatus",
    "NotificationOutbox",
    "OutboxMessage",
    "StepUpPolicy",
    "StepUpUnitOfWork",
    "TotpEnrolment",
    "TotpProvisioning",
    "TotpSecretRepository",
    "cancel_challenge",
    "confirm_totp_enrolment",
    "enroll_totp",
    "expire_overdue",
    "get_challenge",
    "last_step_up_at",
    "recent_step_up",
    "remove_totp",
    "start_challenge",
    "verify_challenge",
]
