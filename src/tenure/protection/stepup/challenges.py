"""The challenge lifecycle: start, verify, cancel; and whether a customer stepped up recently.

A challenge starts ``pending`` and ends exactly once: ``verified`` (the held decision resumes as
``allow``), ``failed`` after the last wrong code or ``expired`` (it resumes as the policy's failed
outcome, ``decline`` by default), or ``cancelled``. Acting on a finished challenge is a
``Conflict``. Each function takes an unopened unit of work and commits its own change; a wrong
code is committed too, so attempts cannot be reset by an error.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from pydantic import SecretStr

from tenure.core.clock import Clock, SystemClock
from tenure.core.errors import Conflict, NotFound, ValidationError
from tenure.core.outcome import Outcome
from tenure.protection.stepup import codes
from tenure.protection.stepup.model import (
    Challenge,
    ChallengeMethod,
    ChallengeResult,
    ChallengeStatus,
    OutboxMessage,
    StepUpPolicy,
)
from tenure.protection.stepup.ports import StepUpUnitOfWork

__all__ = [
    "SMS_TEMPLATE",
    "cancel_challenge",
    "expire_overdue",
    "get_challenge",
    "last_step_up_at",
    "recent_step_up",
    "start_challenge",
    "verify_challenge",
]

SMS_TEMPLATE = "step_up_code"
_METHODS: frozenset[str] = frozenset({"totp", "sms"})
_SYSTEM_CLOCK = SystemClock()
_DEFAULT_POLICY = StepUpPolicy()


def _new_id() -> str:
    return uuid.uuid4().hex


def _check_start(
    uow: StepUpUnitOfWork,
    challenge: Challenge,
    policy: StepUpPolicy,
    decided_at: datetime | None,
) -> None:
    """Refuse a challenge the decision cannot take; cancel the decision's pending one."""
    earlier = uow.challenges.list_for_decision(challenge.decision_id)
    if any(other.customer_id != challenge.customer_id for other in earlier):
        raise Conflict("the decision belongs to another customer", field="decision_id")
    if (
        not earlier
        and decided_at is not None
        and (challenge.created_at - decided_at > policy.start_within)
    ):
        minutes = policy.start_within.total_seconds() / 60
        raise Conflict(
            f"a step-up must start within {minutes:g} minutes of its decision; send the event "
            "again for a new decision",
            field="decision_id",
        )
    if any(other.status is ChallengeStatus.VERIFIED for other in earlier):
        raise Conflict("the decision was already stepped up", field="decision_id")
    if len(earlier) >= policy.max_challenges_per_decision:
        raise Conflict("too many challenges for this decision", field="decision_id")
    if challenge.method == "totp":
        enrolment = uow.totp_secrets.get(challenge.customer_id)
        if enrolment is None or not enrolment.active:
            raise Conflict("the customer has no confirmed authenticator", field="method")
    for other in earlier:
        if other.status is ChallengeStatus.PENDING:
            cancelled = _finished(other, ChallengeStatus.CANCELLED, challenge.created_at)
            uow.challenges.update(cancelled, expected=other)


def _sms_message(challenge: Challenge, code: str, policy: StepUpPolicy) -> OutboxMessage:
    minutes = max(1, int(policy.expiry.total_seconds()) // 60)
    return OutboxMessage(
        id=_new_id(),
        channel="sms",
        customer_id=challenge.customer_id,
        template=SMS_TEMPLATE,
        params={"code": code, "expires_in_minutes": str(minutes)},
        created_at=challenge.created_at,
    )


def start_challenge(
    *,
    uow: StepUpUnitOfWork,
    decision_id: str,
    customer_id: str,
    method: ChallengeMethod,
    code_key: SecretStr,
    clock: Clock = _SYSTEM_CLOCK,
    random_source: codes.RandomSource = secrets.randbelow,
    policy: StepUpPolicy = _DEFAULT_POLICY,
    decided_at: datetime | None = None,
) -> Challenge:
    """Start a challenge for a held decision; an SMS one queues its code in the outbox.

    A pending challenge for the same decision is cancelled (a resend); a decision gets at most
    ``policy.max_challenges_per_decision``, and its first must start within
    ``policy.start_within`` of ``decided_at`` (after that the sweep ends the decision as a
    failed step-up). ``code_key`` is the HMAC key for SMS codes.
    """
    if method not in _METHODS:
        raise ValidationError("method must be totp or sms", field="method")
    if not decision_id or not customer_id:
        raise ValidationError("decision_id and customer_id are required", field="decision_id")
    now = clock.now()
    challenge = Challenge(
        id=_new_id(),
        decision_id=decision_id,
        customer_id=customer_id,
        method=method,
        status=ChallengeStatus.PENDING,
        created_at=now,
        expires_at=now + policy.expiry,
        attempts_left=policy.max_attempts,
    )
    with uow:
        _check_start(uow, challenge, policy, decided_at)
        if method == "sms":
            code = codes.new_sms_code(random_source)
            code_hash = codes.hash_sms_code(code, challenge_id=challenge.id, key=code_key)
            uow.challenges.add(challenge, code_hash=code_hash)
            uow.outbox.add(_sms_message(challenge, code, policy))
        else:
            uow.challenges.add(challenge, code_hash=None)
        uow.commit()
    return challenge


def _finished(challenge: Challenge, status: ChallengeStatus, at: datetime) -> Challenge:
    return replace(challenge, status=status, finished_at=at)


def _load(uow: StepUpUnitOfWork, challenge_id: str, customer_id: str | None) -> Challenge:
    challenge = uow.challenges.get(challenge_id)
    # Another customer's challenge looks like a missing one, so ids cannot be probed.
    if challenge is None or (customer_id is not None and challenge.customer_id != customer_id):
        raise NotFound("no challenge with this id", field="challenge_id")
    return challenge


def _totp_matches(
    uow: StepUpUnitOfWork, challenge: Challenge, code: str, at: datetime, policy: StepUpPolicy
) -> bool:
    enrolment = uow.totp_secrets.get(challenge.customer_id)
    secret = uow.totp_secrets.secret(challenge.customer_id)
    if enrolment is None or secret is None or not enrolment.active:
        return False
    counter = codes.matching_totp_counter(
        secret, code, at=at, window=policy.totp_window, last_used=enrolment.last_used_counter
    )
    if counter is None:
        return False
    uow.totp_secrets.update(replace(enrolment, last_used_counter=counter), expected=enrolment)
    return True


def _code_matches(
    uow: StepUpUnitOfWork,
    challenge: Challenge,
    code: str,
    *,
    at: datetime,
    code_key: SecretStr,
    policy: StepUpPolicy,
) -> bool:
    if challenge.method == "totp":
        return _totp_matches(uow, challenge, code, at, policy)
    code_hash = uow.challenges.code_hash(challenge.id)
    if code_hash is None:
        return False
    return codes.sms_code_matches(
        code, challenge_id=challenge.id, key=code_key, code_hash=code_hash
    )


def _after_attempt(challenge: Challenge, *, matched: bool, at: datetime) -> Challenge:
    if matched:
        return _finished(challenge, ChallengeStatus.VERIFIED, at)
    left = max(0, challenge.attempts_left - 1)
    if left == 0:
        return replace(_finished(challenge, ChallengeStatus.FAILED, at), attempts_left=0)
    return replace(challenge, attempts_left=left)


def _result(challenge: Challenge, policy: StepUpPolicy) -> ChallengeResult:
    if challenge.status is ChallengeStatus.VERIFIED:
        return ChallengeResult(challenge=challenge, outcome=Outcome.ALLOW)
    if challenge.status is ChallengeStatus.PENDING:
        return ChallengeResult(challenge=challenge, outcome=None)
    return ChallengeResult(challenge=challenge, outcome=policy.failed_outcome)


def verify_challenge(
    *,
    uow: StepUpUnitOfWork,
    challenge_id: str,
    code: str,
    code_key: SecretStr,
    clock: Clock = _SYSTEM_CLOCK,
    customer_id: str | None = None,
    policy: StepUpPolicy = _DEFAULT_POLICY,
) -> ChallengeResult:
    """Check a code: verified, one attempt fewer, failed (none left) or expired.

    Raises ``NotFound`` for an unknown challenge (or one of another ``customer_id`` when given),
    ``Conflict`` for a finished one and ``ValidationError(field="code")`` for a code that is not
    6 digits (which uses no attempt).
    """
    now = clock.now()
    with uow:
        challenge = _load(uow, challenge_id, customer_id)
        if challenge.status.finished:
            raise Conflict(f"the challenge is already {challenge.status}", field="challenge_id")
        if challenge.is_expired(now):
            updated = _finished(challenge, ChallengeStatus.EXPIRED, now)
        else:
            cleaned = codes.clean_code(code)
            matched = _code_matches(
                uow, challenge, cleaned, at=now, code_key=code_key, policy=policy
            )
            updated = _after_attempt(challenge, matched=matched, at=now)
        uow.challenges.update(updated, expected=challenge)
        uow.commit()
    return _result(updated, policy)


def cancel_challenge(
    *,
    uow: StepUpUnitOfWork,
    challenge_id: str,
    clock: Clock = _SYSTEM_CLOCK,
    customer_id: str | None = None,
) -> Challenge:
    """Cancel a pending challenge (again is a no-op); ``Conflict`` if it already ended otherwise."""
    with uow:
        challenge = _load(uow, challenge_id, customer_id)
        if challenge.status is ChallengeStatus.CANCELLED:
            return challenge
        if challenge.status.finished:
            raise Conflict(f"the challenge is already {challenge.status}", field="challenge_id")
        cancelled = _finished(challenge, ChallengeStatus.CANCELLED, clock.now())
        uow.challenges.update(cancelled, expected=challenge)
        uow.commit()
    return cancelled


def get_challenge(
    *,
    uow: StepUpUnitOfWork,
    challenge_id: str,
    clock: Clock = _SYSTEM_CLOCK,
    customer_id: str | None = None,
) -> Challenge:
    """A challenge as it stands now; a pending one past its expiry is recorded as expired."""
    with uow:
        challenge = _load(uow, challenge_id, customer_id)
        now = clock.now()
        if not challenge.is_expired(now):
            return challenge
        expired = _finished(challenge, ChallengeStatus.EXPIRED, now)
        uow.challenges.update(expired, expected=challenge)
        uow.commit()
    return expired


def expire_overdue(
    *,
    uow: StepUpUnitOfWork,
    clock: Clock = _SYSTEM_CLOCK,
    policy: StepUpPolicy = _DEFAULT_POLICY,
    limit: int = 500,
) -> list[ChallengeResult]:
    """Record pending challenges past their expiry as expired (at most ``limit``, soonest
    expiry first); each result's ``outcome`` is what its held decision ends as.

    A challenge the customer answered meanwhile is left as they left it.
    """
    now = clock.now()
    results = []
    with uow:
        for challenge in uow.challenges.overdue(now, limit=limit):
            expired = _finished(challenge, ChallengeStatus.EXPIRED, now)
            try:
                uow.challenges.update(expired, expected=challenge)
            except Conflict:
                continue
            results.append(_result(expired, policy))
        uow.commit()
    return results


def last_step_up_at(*, uow: StepUpUnitOfWork, customer_id: str) -> datetime | None:
    """When the customer last passed a challenge, if ever (feed it to ``change_limit``)."""
    with uow:
        return uow.challenges.last_verified_at(customer_id)


def recent_step_up(
    *, uow: StepUpUnitOfWork, customer_id: str, within: timedelta, clock: Clock = _SYSTEM_CLOCK
) -> bool:
    """Whether the customer passed a challenge within the last ``within``."""
    verified_at = last_step_up_at(uow=uow, customer_id=customer_id)
    now = clock.now()
    return verified_at is not None and now - within <= verified_at <= now
