"""``tenure protection backtest RULESET``: what a rule set would have done to the whole history.

Every scoreable event is replayed through fresh keyed state (the engine's own signals) and the
rule set is evaluated on it. An event with at least one hit is an alert; its action is the
strongest minimum outcome the hits ask for, or a step-up when they ask for none. Precision and
recall are counted against the fraud labels, and the actions are billed by the same ledger as
the policy comparison (fraud that got through, friction and the churn it causes, handling).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from tenure.core.outcome import Outcome
from tenure.core.rules import CompiledRuleSet, ListLookup
from tenure.protection.comparison import Ledger, PolicyResult, charge
from tenure.protection.history import HistoryWarehouse, LabelledEvent
from tenure.protection.replay import Progress, replay_events
from tenure.protection.signals import Signals

__all__ = ["Backtest", "RuleStats", "backtest"]


@dataclass(slots=True)
class RuleStats:
    """How often one rule fired, and on how many fraudulent events."""

    rule_id: str
    hits: int = 0
    fraud_hits: int = 0

    @property
    def precision(self) -> float:
        """Share of this rule's hits that were fraud."""
        return self.fraud_hits / self.hits if self.hits else float("nan")


@dataclass(slots=True)
class Backtest:
    """Alert volume, precision, recall and cost of a rule set over history."""

    events: int = 0
    fraud: int = 0
    alerts: int = 0
    true_alerts: int = 0
    rules: dict[str, RuleStats] = field(default_factory=dict)
    cost: PolicyResult | None = None

    @property
    def precision(self) -> float:
        """Share of alerts that were fraud."""
        return self.true_alerts / self.alerts if self.alerts else float("nan")

    @property
    def recall(self) -> float:
        """Share of fraudulent events that raised an alert."""
        return self.true_alerts / self.fraud if self.fraud else float("nan")

    def to_json(self) -> dict[str, object]:
        """The figures as JSON values (money in yuan)."""
        cost = self.cost
        return {
            "events": self.events,
            "fraud_events": self.fraud,
            "alerts": self.alerts,
            "alert_rate": round(self.alerts / self.events, 6) if self.events else None,
            "precision": round(self.precision, 4) if self.alerts else None,
            "recall": round(self.recall, 4) if self.fraud else None,
            "cost_total": None if cost is None else round(cost.total_minor / 100, 2),
            "fraud_loss": None if cost is None else round(cost.fraud_loss_minor / 100, 2),
            "good_customers_disturbed": None if cost is None else cost.good_disturbed,
            "rules": [
                {"rule_id": r.rule_id, "hits": r.hits, "fraud_hits": r.fraud_hits}
                for r in self.rules.values()
            ],
        }


def backtest(
    warehouse: HistoryWarehouse,
    ruleset: CompiledRuleSet,
    *,
    lists: ListLookup,
    at: datetime,
    values_minor: pd.Series,
    ledger: Ledger,
    progress: Progress | None = None,
) -> Backtest:
    """Replay the warehouse's history through ``ruleset``; lists are read as of ``at``."""
    result = Backtest(rules={rule.id: RuleStats(rule.id) for rule in ruleset.rules})
    codes: list[int] = []
    rows: list[tuple[str, str, int, bool]] = []

    def visit(labelled: LabelledEvent, signals: Signals) -> None:
        event = labelled.event
        found = ruleset.evaluate(signals, event_kind=event.kind.value, lists=lists, at=at)
        result.events += 1
        result.fraud += labelled.is_fraud
        action = Outcome.ALLOW
        if found.hits:
            result.alerts += 1
            result.true_alerts += labelled.is_fraud
            action = max(found.outcome, Outcome.STEP_UP)
            for hit in found.hits:
                stats = result.rules[hit.rule_id]
                stats.hits += 1
                stats.fraud_hits += labelled.is_fraud
        codes.append(action.rank)
        rows.append((event.kind.value, event.customer_id, event.amount_minor, labelled.is_fraud))

    replay_events(warehouse, visit, extra_fields=ruleset.fields, progress=progress)
    events = pd.DataFrame.from_records(
        rows, columns=["kind", "customer_id", "amount_minor", "is_fraud"]
    )
    values = events["customer_id"].map(values_minor).fillna(0).to_numpy(dtype=np.float64)
    result.cost = charge(ruleset.name, np.asarray(codes, dtype=np.int64), events, values, ledger)
    return result
