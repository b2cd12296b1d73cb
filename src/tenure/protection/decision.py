"""What the engine answers: the decision, its reasons and its costs, as one frozen value.

``Decision.to_json`` is both the API's response body and the payload the decision log keeps, so
a retried request (same idempotency key) gets back byte-for-byte what the first one got.
``Decision.stored`` is that payload and the event as JSON text (what the log writes, and what the
engine keeps of its recent answers), and :func:`decision_from_stored` reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from tenure.core.decision import ActionCost
from tenure.core.outcome import Outcome
from tenure.protection.events import Event, EventKind

__all__ = [
    "Decision",
    "Reason",
    "ShadowResult",
    "decision_from_json",
    "decision_from_stored",
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
    _stored: tuple[str, str] | None = field(default=None, init=False, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The decision as JSON values (the API response and the log payload); a fresh dict
        each call, so a caller may add to it."""
        return dict(self._cached_json())

    def _cached_json(self) -> dict[str, Any]:
        cached = self._json
        if cached is None:
            cached = self._build_json()
            object.__setattr__(self, "_json", cached)
        return cached

    def stored(self) -> tuple[str, str]:
        """``(payload, event)`` as JSON text: ``to_json`` and ``event_to_json`` serialised once,
        for the log's row and the engine's recent answers (plain strings, which Python's cycle
        collector never has to walk, unlike the objects of a kept decision)."""
        cached = self._stored
        if cached is None:
            cached = (
                orjson.dumps(self._cached_json()).decode(),
                orjson.dumps(event_to_json(self.event)).decode(),
            )
            object.__setattr__(self, "_stored", cached)
        return cached

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


def _cents(value: float) -> float:
    # round(value, 2) goes through a decimal string (about 0.4 us); this is exact to the cent
    # for any amount a bank holds, and rounding its own result again changes nothing
    return round(value * 100.0) / 100.0


def _cost_json(cost: ActionCost) -> dict[str, object]:
    # the total is the sum of the rounded parts, so a decision rebuilt from this JSON (whose
    # parts are these rounded ones) writes exactly the same JSON again
    fraud, friction = _cents(cost.fraud_minor), _cents(cost.friction_minor)
    handling = _cents(cost.handling_minor)
    return {
        "action": str(cost.action),
        "total_minor": _cents(fraud + friction + handling),
        "fraud_minor": fraud,
        "friction_minor": friction,
        "handling_minor": handling,
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


def decision_from_stored(payload: str, event: str) -> Decision:
    """The decision :meth:`Decision.stored` wrote."""
    return decision_from_json(orjson.loads(payload), event_from_json(orjson.loads(event)))


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
