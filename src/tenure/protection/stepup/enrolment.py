"""TOTP enrolment: create a secret, confirm it with one code, remove it.

Like every step-up service, each function takes an unopened unit of work, opens it itself and
commits its own change.
"""

from __future__ import annotations

from dataclasses import replace

from pydantic import SecretStr

from tenure.core.clock import Clock, SystemClock
from tenure.core.errors import Conflict, NotFound, ValidationError
from tenure.protection.stepup import codes
from tenure.protection.stepup.model import StepUpPolicy, TotpEnrolment, TotpProvisioning
from tenure.protection.stepup.ports import StepUpUnitOfWork

__all__ = ["confirm_totp_enrolment", "enroll_totp", "remove_totp"]

_SYSTEM_CLOCK = SystemClock()
_DEFAULT_POLICY = StepUpPolicy()


def enroll_totp(
    *,
    uow: StepUpUnitOfWork,
    customer_id: str,
    account_name: str | None = None,
    clock: Clock = _SYSTEM_CLOCK,
) -> TotpProvisioning:
    """Start an enrolment with a fresh secret; an unconfirmed one is replaced, an active one kept.

    ``account_name`` labels the entry in the authenticator app (defaults to ``customer_id``).
    Raises ``Conflict`` if the customer already has an active enrolment (remove it first).
    """
    secret = codes.new_totp_secret()
    enrolment = TotpEnrolment(customer_id=customer_id, status="pending", created_at=clock.now())
    with uow:
        existing = uow.totp_secrets.get(customer_id)
        if existing is not None and existing.active:
            raise Conflict("the customer already has an active authenticator", field="customer_id")
        if existing is not None:
            uow.totp_secrets.remove(customer_id)
        uow.totp_secrets.add(enrolment, secret=secret)
        uow.commit()
    uri = codes.totp_provisioning_uri(secret, account_name=account_name or customer_id)
    return TotpProvisioning(
        enrolment=enrolment, secret=SecretStr(secret), provisioning_uri=SecretStr(uri)
    )


def confirm_totp_enrolment(
    *,
    uow: StepUpUnitOfWork,
    customer_id: str,
    code: str,
    clock: Clock = _SYSTEM_CLOCK,
    policy: StepUpPolicy = _DEFAULT_POLICY,
) -> TotpEnrolment:
    """Activate a pending enrolment once the customer proves one code from it.

    Raises ``NotFound`` without a pending enrolment, ``Conflict`` if it is already active and
    ``ValidationError(field="code")`` if the code does not match.
    """
    cleaned = codes.clean_code(code)
    now = clock.now()
    with uow:
        enrolment = uow.totp_secrets.get(customer_id)
        secret = uow.totp_secrets.secret(customer_id)
        if enrolment is None or secret is None:
            raise NotFound("the customer has no authenticator enrolment", field="customer_id")
        if enrolment.active:
            raise Conflict("the authenticator is already confirmed", field="customer_id")
        counter = codes.matching_totp_counter(
            secret, cleaned, at=now, window=policy.totp_window, last_used=None
        )
        if counter is None:
            raise ValidationError("the code does not match the authenticator", field="code")
        confirmed = replace(enrolment, status="active", confirmed_at=now, last_used_counter=counter)
        uow.totp_secrets.update(confirmed, expected=enrolment)
        uow.commit()
    return confirmed


def remove_totp(*, uow: StepUpUnitOfWork, customer_id: str) -> None:
    """Forget a customer's authenticator (the caller decides who may; no error if none)."""
    with uow:
        uow.totp_secrets.remove(customer_id)
        uow.commit()
