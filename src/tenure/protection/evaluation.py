"""Honest evaluation of the engine on history: train on the past, judge on the months after.

:func:`split_replay` cuts a replay in time (the last ``evaluate_months`` calendar months are judged,
everything before trains the scorer); :func:`compare_policies` charges the expected-cost policy
and the best fixed threshold on the judged months (see ``comparison``); :func:`detection_metrics`
gives AUPRC and recall at a 1 % false-positive rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_curve

from tenure.core.decision import CostParameters, CustomerValue
from tenure.core.errors import ValidationError
from tenure.protection.comparison import (
    Ledger,
    PolicyResult,
    best_threshold,
    expected_cost_result,
)
from tenure.protection.events import EventKind
from tenure.protection.policy import DEFAULT_EXPOSURE_MINOR
from tenure.protection.replay import ReplayFrame
from tenure.protection.scorer import EventScorer
from tenure.protection.training import fit_scorer, scorer_frame

__all__ = [
    "Comparison",
    "Detection",
    "compare_policies",
    "detection_metrics",
    "split_replay",
]

DEFAULT_P_CHURN = 0.1


@dataclass(frozen=True, slots=True)
class Detection:
    """How well the scores rank fraud on the judged events."""

    events: int
    fraud: int
    auprc: float
    recall_at_1pct_fpr: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """Both policies' bills on the judged months, and the model behind them."""

    cut: datetime
    detection: Detection
    expected_cost: PolicyResult
    threshold: PolicyResult
    step_up_at: float
    decline_at: float

    def to_json(self) -> dict[str, object]:
        """Figures as JSON (money in yuan, rounded); keys the issue's checks read included."""

        def bill(result: PolicyResult) -> dict[str, object]:
            return {
                "total": round(result.total_minor / 100, 2),
                "fraud_loss": round(result.fraud_loss_minor / 100, 2),
                "friction": round(result.friction_minor / 100, 2),
                "churn_caused": round(result.churn_caused_minor / 100, 2),
                "churn_caused_customers": round(result.churn_caused_customers, 3),
                "handling": round(result.handling_minor / 100, 2),
                "good_customers_disturbed": result.good_disturbed,
                "fraud_stopped": result.fraud_stopped,
                "outcomes": result.outcomes,
            }

        return {
            "expected_cost_total": round(self.expected_cost.total_minor / 100, 2),
            "threshold_total": round(self.threshold.total_minor / 100, 2),
            "ratio": round(self.expected_cost.total_minor / max(self.threshold.total_minor, 1), 4),
            "currency": "CNY",
            "judged_from": self.cut.isoformat(),
            "events": self.detection.events,
            "fraud_events": self.detection.fraud,
            "auprc": round(self.detection.auprc, 4),
            "recall_at_1pct_fpr": round(self.detection.recall_at_1pct_fpr, 4),
            "threshold_step_up_at": self.step_up_at,
            "threshold_decline_at": self.decline_at,
            "expected_cost": bill(self.expected_cost),
            "threshold": bill(self.threshold),
        }


def _month_start(moment: pd.Timestamp, back: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 - back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def split_replay(
    replay: ReplayFrame, evaluate_months: int
) -> tuple[ReplayFrame, ReplayFrame, datetime]:
    """(train, judged, cut): judged = events in the last ``evaluate_months`` calendar months."""
    if evaluate_months < 1:
        raise ValidationError("must be at least 1", field="evaluate_months")
    moments = pd.to_datetime(replay.events["occurred_at"], utc=True)
    if moments.empty:
        raise ValidationError("the warehouse holds no events to evaluate", field="warehouse")
    cut = _month_start(moments.max(), evaluate_months - 1)
    early = (moments < cut).to_numpy()
    if early.all() or not early.any():
        raise ValidationError(
            f"need history before and after {cut:%Y-%m-%d}; load more months",
            field="evaluate_months",
        )

    def part(mask: np.ndarray) -> ReplayFrame:
        return ReplayFrame(
            replay.features[mask].reset_index(drop=True),
            replay.events[mask].reset_index(drop=True),
        )

    return part(early), part(~early), cut


def detection_metrics(labels: np.ndarray, scores: np.ndarray) -> Detection:
    """AUPRC and the recall reached while flagging at most 1 % of good events."""
    fraud = int(labels.sum())
    if fraud == 0 or fraud == len(labels):
        return Detection(len(labels), fraud, float("nan"), float("nan"))
    fpr, tpr, _ = roc_curve(labels, scores)
    recall = float(np.max(tpr[fpr <= 0.01])) if np.any(fpr <= 0.01) else 0.0
    return Detection(len(labels), fraud, float(average_precision_score(labels, scores)), recall)


def compare_policies(
    *,
    replay: ReplayFrame,
    values_minor: pd.Series,
    churn: pd.Series | None = None,
    evaluate_months: int = 2,
    churn_per_incident: float,
    params: CostParameters | None = None,
    exposure_minor: Mapping[EventKind, int] | None = None,
    seed: int = 0,
    scorer: EventScorer | None = None,
) -> Comparison:
    """Train on the months before the judged ones, then bill both policies on the judged ones.

    ``values_minor`` and ``churn`` (indexed by customer id) are what retention knew at the cut;
    customers missing from them are valued at 0 and given P(churn) 0.1. ``params`` and
    ``exposure_minor`` (what a login, new payee or profile change puts at stake) default to
    the built-in numbers; both policies decide, and are billed, with the same ones.
    """
    train, judged, cut = split_replay(replay, evaluate_months)
    model = scorer or fit_scorer(train, seed=seed)
    p = model.model.predict_proba(scorer_frame(judged, model.anomaly))
    ids = judged.events["customer_id"]
    values = ids.map(values_minor).fillna(0).to_numpy(dtype=np.float64)
    risks = (
        ids.map(churn).fillna(DEFAULT_P_CHURN).to_numpy(dtype=np.float64)
        if churn is not None
        else np.full(len(ids), DEFAULT_P_CHURN)
    )
    customers = [CustomerValue(int(v), float(r)) for v, r in zip(values, risks, strict=True)]
    ledger = Ledger(
        params or CostParameters.default(),
        churn_per_incident,
        DEFAULT_EXPOSURE_MINOR if exposure_minor is None else exposure_minor,
    )
    threshold_policy, threshold = best_threshold(judged.events, p, values, ledger)
    # the policy weighs what the scorer says is at stake, as the engine does; the ledger charges
    # the whole amount of every fraud let through
    weighed = judged.events.assign(
        amount_minor=[
            model.at_stake(str(kind), int(amount))
            for kind, amount in zip(
                judged.events["kind"], judged.events["amount_minor"], strict=True
            )
        ]
    )
    expected = expected_cost_result(judged.events, p, customers, values, ledger, weighed=weighed)
    return Comparison(
        cut=cut,
        detection=detection_metrics(judged.labels, p),
        expected_cost=expected,
        threshold=threshold,
        step_up_at=threshold_policy.step_up_at,
        decline_at=threshold_policy.decline_at,
    )
