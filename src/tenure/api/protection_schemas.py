"""Bodies of the protection administration routes: rule sets, lists, snoozes, decisions, alerts,
the engine's status, step-up challenges and limits (corporate ones are in ``corporate_schemas``).

Requests refuse unknown fields and times without a zone; responses are built from the domain's
frozen values with ``of``. No response ever carries a one-time code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tenure.adapters.sql.decision_log import Alert
from tenure.adapters.sql.resolutions import Resolution
from tenure.api.event_schemas import DecisionOut
from tenure.protection.decision import Decision, event_to_json
from tenure.protection.limits import Limit, LimitChange
from tenure.protection.rulesets import ListEntry, RuleSetVersion, Snooze
from tenure.protection.stepup import Challenge, ChallengeResult, TotpEnrolment

__all__ = [
    "AlertOut",
    "ChallengeIn",
    "ChallengeOut",
    "CodeIn",
    "LimitChangeOut",
    "LimitIn",
    "LimitOut",
    "ListEntryIn",
    "ListEntryOut",
    "LoggedDecisionOut",
    "ProtectionStatusOut",
    "RuleSetDocumentIn",
    "RuleSetVersionOut",
    "ShadowIn",
    "SnoozeIn",
    "SnoozeOut",
    "TotpEnrolmentOut",
    "TotpProvisioningOut",
    "VerificationOut",
]

Identifier = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")
Reason = Field(min_length=1, max_length=500)
OutcomeName = Literal["allow", "step_up", "confirm", "dual_approval", "hold", "decline"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Rule sets ---------------------------------------------------------------------------------------


class RuleSetDocumentIn(_Strict):
    """A rule set as in docs/rules.md; each rule is checked by the rule compiler, which names the
    path of the first problem (``rules[2].when.all[1].op``)."""

    name: str = Field(min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=2_000)
    rules: list[dict[str, Any]] = Field(max_length=1_000)

    def document(self) -> dict[str, Any]:
        """The document as sent (an absent description stays absent)."""
        return self.model_dump(exclude_unset=True)


class ShadowIn(_Strict):
    enabled: bool


class RuleSetVersionOut(BaseModel):
    """One version of a rule set and who moved it through its lifecycle."""

    name: str
    version: int
    status: Literal["draft", "approved", "active", "retired"]
    shadow: bool
    content_hash: str
    author: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    activated_by: str | None
    activated_at: datetime | None
    retired_by: str | None
    retired_at: datetime | None
    document: dict[str, Any]

    @classmethod
    def of(cls, version: RuleSetVersion) -> RuleSetVersionOut:
        return cls(
            name=version.name,
            version=version.version,
            status=version.status.value,
            shadow=version.shadow,
            content_hash=version.content_hash,
            author=version.author,
            created_at=version.created_at,
            approved_by=version.approved_by,
            approved_at=version.approved_at,
            activated_by=version.activated_by,
            activated_at=version.activated_at,
            retired_by=version.retired_by,
            retired_at=version.retired_at,
            document=dict(version.document),
        )


# Lists and snoozes -------------------------------------------------------------------------------


class ListEntryIn(_Strict):
    kind: Literal["block", "allow"]
    reason: str = Reason
    expires_at: AwareDatetime | None = None


class ListEntryOut(BaseModel):
    list_name: str
    value: str
    kind: Literal["block", "allow"]
    reason: str
    added_by: str
    added_at: datetime
    expires_at: datetime | None

    @classmethod
    def of(cls, entry: ListEntry) -> ListEntryOut:
        return cls(
            list_name=entry.list_name,
            value=entry.value,
            kind=entry.kind,
            reason=entry.reason,
            added_by=entry.added_by,
            added_at=entry.added_at,
            expires_at=entry.expires_at,
        )


class SnoozeIn(_Strict):
    until: AwareDatetime = Field(description="At most 90 days ahead.")
    reason: str = Reason


class SnoozeOut(BaseModel):
    rule_id: str
    entity: str
    until: datetime
    reason: str
    added_by: str
    added_at: datetime

    @classmethod
    def of(cls, snooze: Snooze) -> SnoozeOut:
        return cls(
            rule_id=snooze.rule_id,
            entity=snooze.entity,
            until=snooze.until,
            reason=snooze.reason,
            added_by=snooze.added_by,
            added_at=snooze.added_at,
        )


# Decisions, alerts and status --------------------------------------------------------------------


class ResolutionOut(BaseModel):
    """How a decision that waited on someone ended (a step-up verified, failed or expired)."""

    outcome: OutcomeName
    reason: str = Field(description="step_up_verified, step_up_failed or step_up_expired.")
    resolved_at: datetime


class LoggedDecisionOut(DecisionOut):
    """A decision from the log with the event it answered (``replayed`` is always false here)
    and, once it ended, its final outcome."""

    event: dict[str, Any]
    resolution: ResolutionOut | None

    @staticmethod
    def payload(decision: Decision, resolution: Resolution | None = None) -> dict[str, Any]:
        """The JSON body (rendered by orjson, like the event endpoints)."""
        ended = None
        if resolution is not None:
            ended = {
                "outcome": resolution.outcome.value,
                "reason": resolution.reason,
                "resolved_at": resolution.resolved_at.isoformat(),
            }
        return {
            **decision.to_json(),
            "replayed": False,
            "event": event_to_json(decision.event),
            "resolution": ended,
        }


class AlertOut(BaseModel):
    """A held or declined decision waiting for an analyst."""

    alert_id: str
    decision_id: str
    customer_id: str
    created_at: datetime
    outcome: OutcomeName
    status: str
    risk: float

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls(
            alert_id=alert.alert_id,
            decision_id=alert.decision_id,
            customer_id=alert.customer_id,
            created_at=alert.created_at,
            outcome=alert.outcome.value,
            status=alert.status,
            risk=alert.risk,
        )


class ShadowRuleSetOut(BaseModel):
    name: str
    version: int


class ProtectionStatusOut(BaseModel):
    """What the running engine decides with."""

    model_version: str | None = Field(description="None before a fraud model is trained.")
    ruleset_name: str
    active_ruleset: str | None = Field(description="name@version of the active rule set.")
    shadow_rulesets: list[ShadowRuleSetOut]
    state_backend: Literal["memory", "redis"]
    rebuilt_events: int | None = Field(
        description="Logged events folded back into state at start-up (None with Redis)."
    )
    policy: str


# Step-up -----------------------------------------------------------------------------------------


class ChallengeIn(_Strict):
    decision_id: str = Identifier
    method: Literal["sms", "totp"]


class ChallengeOut(BaseModel):
    """A challenge as it stands (an SMS code goes to the customer's phone, never here)."""

    challenge_id: str
    decision_id: str
    customer_id: str
    method: Literal["sms", "totp"]
    status: Literal["pending", "verified", "failed", "expired", "cancelled"]
    expires_at: datetime
    attempts_left: int

    @classmethod
    def of(cls, challenge: Challenge) -> ChallengeOut:
        return cls(
            challenge_id=challenge.id,
            decision_id=challenge.decision_id,
            customer_id=challenge.customer_id,
            method=challenge.method,
            status=challenge.status.value,
            expires_at=challenge.expires_at,
            attempts_left=challenge.attempts_left,
        )


class CodeIn(_Strict):
    code: str = Field(min_length=1, max_length=16, description="The 6-digit code.")


class VerificationOut(BaseModel):
    """What a code did; ``outcome`` is what the held decision resumes as (None: try again)."""

    status: Literal["pending", "verified", "failed", "expired", "cancelled"]
    outcome: OutcomeName | None
    attempts_left: int

    @classmethod
    def of(cls, result: ChallengeResult) -> VerificationOut:
        return cls(
            status=result.status.value,
            outcome=None if result.outcome is None else result.outcome.value,
            attempts_left=result.challenge.attempts_left,
        )


class TotpProvisioningOut(BaseModel):
    """Shown once: the customer's authenticator app scans the URI (it embeds the secret)."""

    customer_id: str
    status: Literal["pending", "active"]
    provisioning_uri: str


class TotpEnrolmentOut(BaseModel):
    customer_id: str
    status: Literal["pending", "active"]
    confirmed_at: datetime | None

    @classmethod
    def of(cls, enrolment: TotpEnrolment) -> TotpEnrolmentOut:
        return cls(
            customer_id=enrolment.customer_id,
            status=enrolment.status,
            confirmed_at=enrolment.confirmed_at,
        )


# Limits ------------------------------------------------------------------------------------------


class LimitIn(_Strict):
    amount_minor: int = Field(ge=0, le=10**15)
    step_up_challenge_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="A challenge this customer passed; needed for a raise through the channel.",
    )


class LimitOut(BaseModel):
    customer_id: str
    product: str
    amount_minor: int
    currency: str
    is_default: bool
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def of(cls, limit: Limit) -> LimitOut:
        return cls(
            customer_id=limit.customer_id,
            product=limit.product,
            amount_minor=limit.amount_minor,
            currency=limit.currency,
            is_default=limit.is_default,
            updated_at=limit.updated_at,
            updated_by=limit.updated_by,
        )


class LimitChangeOut(BaseModel):
    customer_id: str
    product: str
    old_amount_minor: int
    new_amount_minor: int
    currency: str
    actor_kind: Literal["customer", "staff"]
    actor_id: str
    changed_at: datetime
    step_up_verified_at: datetime | None

    @classmethod
    def of(cls, change: LimitChange) -> LimitChangeOut:
        return cls(
            customer_id=change.customer_id,
            product=change.product,
            old_amount_minor=change.old_amount_minor,
            new_amount_minor=change.new_amount_minor,
            currency=change.currency,
            actor_kind=change.actor.kind,
            actor_id=change.actor.id,
            changed_at=change.changed_at,
            step_up_verified_at=change.step_up_verified_at,
        )
