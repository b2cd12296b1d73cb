"""What the engine answers: the decision, its reasons and its costs, as one frozen value.

``Decision.to_json`` is both the API's response body and the payload the decision log keeps, so
a retried request (same idempotency key) gets back byte-for-byte what the first one got.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tenure.core.decision import ActionCost
from tenure.core.outcome import Outcome
from tenure.protection.events import Event, EventKind

__all__ = [
    "Decision",
    "Reason",
    "ShadowResult",
    "decision_from_json",
    "event_from_json",
    "event_to_json",
]


@dataclass(frozen=True, slots=True)
class Reason:
    """Why: ``source`` is rule, model, list, limit or mandate; ``code`` is machine-stable."""

    source: str
    code: str
    text: str


@dataclass(frozen=True, slots=True)
class ShadowResult:
    """What a shadow rule set would have done with the same event (logged, never acted on)."""

    ruleset: str
    version: int
    outcome: Outcome
    rule_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision of the engine, with everything needed to explain and replay it."""

    decision_id: str
    idempotency_key: str
    event: Event
    outcome: Outcome
    risk: float
    model_risk: float | None
    rule_score: float
    reasons: tuple[Reason, ...]
    costs: tuple[ActionCost, ...]
    decided_at: datetime
    policy: str
    ruleset: str | None = None
    model_version: str | None = None
    flags: frozenset[str] = frozenset()
    shadow: tuple[ShadowResult, ...] = ()
    replayed: bool = field(default=False, compare=False)
    # to_json's answer, kept: the log and the response both need it, once per decision
    _json: dict[str, Any] | None = field(default=None, init=False, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The decision as JSON values (the API response and the log payload); a fresh dict
        each call, so a caller may add to it."""
        cached = self._json
        if cached is None:
            cached = self._build_json()
            object.__setattr__(self, "_json", cached)
        return dict(cached)

    def _build_json(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "idempotency_key": self.idempotency_key,
            "event_kind": self.event.kind.value,
            "event_id": self.event.event_id,
            "customer_id": self.event.customer_id,
            "outcome": self.outcome.value,
            "risk": round(self.risk, 6),
            "model_risk": None if self.model_risk is None else round(self.model_risk, 6),
            "rule_score": round(self.rule_score, 6),
            "reasons": [{"source": r.source, "code": r.code, "text": r.text} for r in self.reasons],
            "costs": [_cost_json(c) for c in self.costs],
            "decided_at": self.decided_at.astimezone(UTC).isoformat(),
            "policy": self.policy,
            "ruleset": self.ruleset,
            "model_version": self.model_version,
            "flags": sorted(self.flags),
            "shadow": [
                {
                    "ruleset": s.ruleset,
                    "version": s.version,
                    "outcome": s.outcome.value,
                    "rule_ids": list(s.rule_ids),
                }
                for s in self.shadow
            ],
        }


def _cost_json(cost: ActionCost) -> dict[str, object]:
    # the total is the sum of the rounded parts, so a decision rebuilt from this JSON (whose
    # parts are these rounded ones) writes exactly the same JSON again
    parts = [round(v, 2) for v in (cost.fraud_minor, cost.friction_minor, cost.handling_minor)]
    return {
        "action": cost.action.value,
        "total_minor": round(sum(parts), 2),
        "fraud_minor": parts[0],
        "friction_minor": parts[1],
        "handling_minor": parts[2],
    }


def decision_from_json(data: dict[str, Any], event: Event) -> Decision:
    """The decision :meth:`Decision.to_json` wrote, around its ``event``."""
    return Decision(
        decision_id=str(data["decision_id"]),
        idempotency_key=str(data["idempotency_key"]),
        event=event,
        outcome=Outcome(data["outcome"]),
        risk=float(data["risk"]),
        model_risk=None if data["model_risk"] is None else float(data["model_risk"]),
        rule_score=float(data["rule_score"]),
        reasons=tuple(Reason(r["source"], r["code"], r["text"]) for r in data["reasons"]),
        costs=tuple(
            ActionCost(
                Outcome(c["action"]),
                float(c["fraud_minor"]),
                float(c["friction_minor"]),
                float(c["handling_minor"]),
            )
            for c in data["costs"]
        ),
        decided_at=datetime.fromisoformat(data["decided_at"]),
        policy=str(data["policy"]),
        ruleset=data["ruleset"],
        model_version=data["model_version"],
        flags=frozenset(data["flags"]),
        shadow=tuple(
            ShadowResult(
                s["ruleset"], int(s["version"]), Outcome(s["outcome"]), tuple(s["rule_ids"])
            )
            for s in data["shadow"]
        ),
    )


_EVENT_FIELDS = (
    "event_id",
    "customer_id",
    "channel",
    "device_id",
    "ip",
    "lat",
    "lon",
    "account_id",
    "amount_minor",
    "currency",
    "payee_id",
    "counterparty_bank",
    "merchant_category",
    "success",
    "auth_method",
    "changed_field",
    "operator_id",
)


def event_to_json(event: Event) -> dict[str, Any]:
    """An event as JSON values, enough to rebuild it exactly (for the log and for replays)."""
    data: dict[str, Any] = {name: getattr(event, name) for name in _EVENT_FIELDS}
    data["kind"] = event.kind.value
    data["occurred_at"] = event.occurred_at.astimezone(UTC).isoformat()
    return data


def event_from_json(data: dict[str, Any]) -> Event:
    """The event :func:`event_to_json` wrote."""
    values: dict[str, Any] = {name: data.get(name) for name in _EVENT_FIELDS}
    values["amount_minor"] = int(values["amount_minor"] or 0)
    values["currency"] = values["currency"] or "CNY"
    return Event(
        kind=EventKind(data["kind"]),
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        **values,
    )
