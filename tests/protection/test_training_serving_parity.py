"""Training/serving parity: the features the model is trained on (``replay_signals``) are, event
by event, the features the live engine hands its scorer for the same history."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pytest
from bank import build_bank

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.core.rules import compile_ruleset
from tenure.protection.engine import Engine, RuleBook
from tenure.protection.history import LabelledEvent, count_events, history_events
from tenure.protection.live_replay import EventClock
from tenure.protection.memory import InMemoryDecisionLog, MappingCustomerValues
from tenure.protection.replay import ReplayFrame, replay_events, replay_signals
from tenure.protection.scorer import ModelScore
from tenure.protection.signals import MODEL_FEATURES, Signals, model_vector
from tenure.protection.state.memory import MemoryKeyedState

pytestmark = pytest.mark.slow

# window aggregates a rule may read beyond the model's features
RULE_FIELDS = (
    "device.transfer.count_24h",
    "ip.login.count_1h",
    "payee.transfer.sum_7d",
    "account.card_payment.count_30d",
    "customer.profile_change.count_24h",
)
RULES = compile_ruleset(
    {
        "name": "parity",
        "rules": [
            {
                "id": f"rule_{n}",
                "description": f"{name} is high",
                "when": {"field": name, "op": "gt", "value": 1_000_000_000},
                "score": 0.1,
            }
            for n, name in enumerate(RULE_FIELDS)
        ],
    }
)


@dataclass
class RecordingScorer:
    """Keeps the model row (and the rule fields) of every event it is asked to score."""

    version: str = "recording"
    rows: list[np.ndarray] = field(default_factory=list)
    extras: list[tuple[object, ...]] = field(default_factory=list)

    def score(self, signals: Mapping[str, object]) -> ModelScore:
        self.rows.append(model_vector(signals))
        self.extras.append(tuple(signals.get(name) for name in RULE_FIELDS))
        return ModelScore(0.001, 0.0, ())

    def at_stake(self, kind: str, amount_minor: int) -> int:
        return amount_minor


@dataclass(frozen=True)
class Served:
    """What the engine saw, in decision order."""

    event_ids: list[str]
    features: np.ndarray
    extras: list[tuple[object, ...]]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBWarehouse]:
    path = build_bank(tmp_path_factory.mktemp("parity"), customers=500, months=3, seed=5)
    with DuckDBWarehouse.open(path, read_only=True) as opened:
        yield opened


@pytest.fixture(scope="module")
def trained_on(warehouse: DuckDBWarehouse) -> ReplayFrame:
    return replay_signals(warehouse)


def _serve(warehouse: DuckDBWarehouse, state: MemoryKeyedState, rules: RuleBook) -> Served:
    scorer = RecordingScorer()
    clock = EventClock()
    engine = Engine(
        state=state,
        log=InMemoryDecisionLog(keep=False),
        values=MappingCustomerValues({}),
        scorer=scorer,  # type: ignore[arg-type]
        rules=rules,
        clock=clock,
    )
    ids = []
    for labelled in history_events(warehouse):
        clock.moment = labelled.event.occurred_at
        decision = engine.decide(labelled.event)
        assert not decision.replayed, labelled.event
        ids.append(labelled.event.event_id)
    return Served(ids, np.vstack(scorer.rows), scorer.extras)


@pytest.fixture(scope="module")
def served(warehouse: DuckDBWarehouse) -> Served:
    book = RuleBook(active=RULES, active_version=1)
    return _serve(warehouse, MemoryKeyedState(), book)


def _mismatched_rows(served: np.ndarray, trained: np.ndarray) -> np.ndarray:
    same = (served == trained) | (np.isnan(served) & np.isnan(trained))
    return np.flatnonzero(~same.all(axis=1))


def test_bank_is_big_enough_to_mean_something(trained_on: ReplayFrame) -> None:
    kinds = set(trained_on.events["kind"])

    assert len(trained_on.events) > 5_000
    assert kinds == {"login", "transfer", "card_payment", "payee_add", "profile_change"}
    assert trained_on.features["customer.is_new"].eq(0.0).mean() > 0.9


def test_engine_decides_the_history_in_the_replay_order(
    served: Served, trained_on: ReplayFrame
) -> None:
    assert served.event_ids == list(trained_on.events["event_id"])


def test_engine_scores_exactly_the_features_training_replayed(
    served: Served, trained_on: ReplayFrame
) -> None:
    trained = trained_on.features[list(MODEL_FEATURES)].to_numpy(dtype=np.float64)

    assert served.features.shape == trained.shape == (len(served.event_ids), len(MODEL_FEATURES))
    np.testing.assert_array_equal(served.features, trained)


def test_rule_fields_the_engine_reads_match_the_backtest_replay(
    warehouse: DuckDBWarehouse, served: Served
) -> None:
    replayed: list[tuple[object, ...]] = []

    def keep(labelled: LabelledEvent, signals: Signals) -> None:
        replayed.append(tuple(signals.get(name) for name in RULE_FIELDS))

    replay_events(warehouse, keep, extra_fields=RULES.fields)

    assert len(replayed) == len(served.extras)
    assert replayed == served.extras
    for column, name in enumerate(RULE_FIELDS):
        seen = [row[column] for row in served.extras if row[column] is not None]
        assert max(seen) > 0.0, name  # type: ignore[type-var]


def test_engine_with_its_default_state_scores_the_features_training_replayed(
    warehouse: DuckDBWarehouse, trained_on: ReplayFrame
) -> None:
    served = _serve(warehouse, MemoryKeyedState(), RuleBook())
    trained = trained_on.features[list(MODEL_FEATURES)].to_numpy(dtype=np.float64)

    mismatched = _mismatched_rows(served.features, trained)
    assert mismatched.size == 0, f"{mismatched.size} of {len(trained)} events differ"


def test_count_events_counts_what_history_events_yields(
    warehouse: DuckDBWarehouse, trained_on: ReplayFrame
) -> None:
    assert count_events(warehouse) == len(trained_on.events)
