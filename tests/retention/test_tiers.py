"""Tiers and lifecycle stages: exact thresholds, NULL handling, YAML checks that name the key."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from tenure.core.errors import ConfigurationError, ValidationError
from tenure.retention.tiers import (
    LIFECYCLE_STAGES,
    assign_tiers,
    load_tier_rules,
    parse_tier_rules,
)

_STEADY = {
    "tenure_days": 1000.0,
    "days_since_last_tx": 3.0,
    "balance_ratio_90d": 1.0,
    "tx_count_trend_30_90": 1.0,
    "salary_stopped": 0,
    "products_net_change_90d": 0,
    "logins_30d": 2,
    "tx_count_30d": 3,
    "logins_90d": 6,
    "tx_count_90d": 9,
}


def _frame(*rows: dict[str, float]) -> pd.DataFrame:
    """One customer per row: a steady, occasional customer unless a row says otherwise."""
    records = [{"customer_id": f"c{i}", **_STEADY, **row} for i, row in enumerate(rows)]
    return pd.DataFrame.from_records(records)


def _document() -> dict[str, Any]:
    text = resources.files("tenure.retention").joinpath("tiers.yaml").read_text("utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def _stages(frame: pd.DataFrame) -> list[tuple[str, str]]:
    result = assign_tiers(frame)
    return list(zip(result["lifecycle_stage"], result["lifecycle_reason"], strict=True))


def test_packaged_rules_hold_every_stage_in_evaluation_order() -> None:
    rules = load_tier_rules()
    assert {stage.name for stage in rules.lifecycle} == set(LIFECYCLE_STAGES)
    assert [t.name for t in rules.activity] == ["active", "occasional", "inactive"]
    assert [t.name for t in rules.risk] == ["critical", "high", "medium", "low"]
    assert "days_since_last_tx" in rules.features


def test_lifecycle_stages_at_their_boundaries_with_reasons() -> None:
    frame = _frame(
        {"tenure_days": 179.9, "days_since_last_tx": np.nan},
        {"tenure_days": 180.0},
        {"days_since_last_tx": 90.0},
        {"days_since_last_tx": 89.9},
        {"days_since_last_tx": np.nan},
        {"balance_ratio_90d": 0.69},
        {"balance_ratio_90d": 0.7},
        {"products_net_change_90d": 1},
        {"balance_ratio_90d": np.nan, "tx_count_trend_30_90": np.nan},
    )
    assert _stages(frame) == [
        ("new", "customer for 180 days"),
        ("mature", "established and steady"),
        ("dormant", "no customer-initiated transaction for 90 days"),
        ("mature", "established and steady"),
        ("dormant", "no customer-initiated transaction on record"),
        ("declining", "deposit balance at 69% of its level 90 days ago"),
        ("mature", "established and steady"),
        ("growing", "net +1 product(s) over 90 days"),
        ("mature", "established and steady"),
    ]


def test_first_stage_in_order_wins_and_first_condition_gives_the_reason() -> None:
    frame = _frame(
        {"days_since_last_tx": 120.0, "balance_ratio_90d": 0.2},
        {"balance_ratio_90d": 0.5, "salary_stopped": 1, "products_net_change_90d": 2},
    )
    assert _stages(frame) == [
        ("dormant", "no customer-initiated transaction for 120 days"),
        ("declining", "deposit balance at 50% of its level 90 days ago"),
    ]


def test_match_all_joins_every_reason() -> None:
    document = _document()
    declining = next(s for s in document["lifecycle"]["stages"] if s["name"] == "declining")
    declining["match"] = "all"
    declining["conditions"] = declining["conditions"][:2]
    rules = parse_tier_rules(document)
    frame = _frame(
        {"balance_ratio_90d": 0.5}, {"balance_ratio_90d": 0.5, "tx_count_trend_30_90": 0.25}
    )
    result = assign_tiers(frame, rules=rules)
    assert result["lifecycle_stage"].tolist() == ["mature", "declining"]
    assert result["lifecycle_reason"].iloc[1] == (
        "deposit balance at 50% of its level 90 days ago and transactions in the last 30 days "
        "at 25% of the 90-day monthly average"
    )


def test_activity_tiers_at_their_boundaries() -> None:
    frame = _frame(
        {"logins_30d": 4, "tx_count_30d": 0},
        {"logins_30d": 0, "tx_count_30d": 8},
        {"logins_30d": 3, "tx_count_30d": 7},
        {"logins_30d": 0, "tx_count_30d": 0, "logins_90d": 0, "tx_count_90d": 1},
        {"logins_30d": 0, "tx_count_30d": 0, "logins_90d": 0, "tx_count_90d": 0},
    )
    result = assign_tiers(frame)
    assert result["activity_tier"].tolist() == [
        "active", "active", "occasional", "occasional", "inactive",
    ]  # fmt: skip


def test_value_tiers_by_percentile_rank() -> None:
    frame = _frame(*({} for _ in range(100)))
    value = pd.Series(np.arange(1, 101), index=frame["customer_id"])
    tiers = assign_tiers(frame, value=value)["value_tier"]
    assert tiers.value_counts().to_dict() == {"bronze": 60, "silver": 30, "gold": 9, "platinum": 1}
    assert tiers.iloc[99] == "platinum"
    assert tiers.iloc[98] == "gold"
    assert tiers.iloc[60] == "silver"
    assert tiers.iloc[59] == "bronze"


def test_tied_values_share_a_tier_and_absent_customers_have_none() -> None:
    frame = _frame(*({} for _ in range(11)))
    value = pd.Series([0] * 7 + [4, 5, 6], index=frame["customer_id"].iloc[:10])
    tiers = assign_tiers(frame, value=value)["value_tier"].tolist()
    assert tiers[:7] == ["bronze"] * 7  # 0 % of customers below them
    assert tiers[7:10] == ["silver", "silver", "gold"]  # 70 %, 80 %, 90 % below
    assert tiers[10] is None


def test_value_tiers_in_absolute_mode_use_minor_units() -> None:
    document = _document()
    document["value"]["mode"] = "absolute"
    frame = _frame({}, {}, {}, {})
    value = pd.Series([5_000_000, 4_999_999, 150_000, 149_999], index=frame["customer_id"])
    result = assign_tiers(frame, value=value, rules=parse_tier_rules(document))
    assert result["value_tier"].tolist() == ["platinum", "gold", "silver", "bronze"]


def test_risk_tiers_by_probability_and_none_without_a_score() -> None:
    frame = _frame(*({} for _ in range(6)))
    probability = pd.Series([0.5, 0.4999, 0.25, 0.1, 0.0999], index=frame["customer_id"][:5])
    result = assign_tiers(frame, churn_probability=probability)
    assert result["risk_tier"].tolist() == ["critical", "high", "high", "medium", "low", None]
    assert assign_tiers(frame)["risk_tier"].isna().all()
    assert assign_tiers(frame)["value_tier"].isna().all()


def test_refuses_probabilities_outside_zero_one() -> None:
    frame = _frame({})
    with pytest.raises(ValidationError, match="churn"):
        assign_tiers(frame, churn_probability=pd.Series([1.5], index=["c0"]))


def test_keeps_index_and_leaves_input_alone() -> None:
    frame = _frame({}, {"tenure_days": 10.0}).set_axis([7, 3])
    before = frame.copy()
    result = assign_tiers(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert result.index.tolist() == [7, 3]
    assert list(result.columns) == [
        "customer_id", "value_tier", "activity_tier", "risk_tier", "lifecycle_stage",
        "lifecycle_reason",
    ]  # fmt: skip


def test_missing_feature_column_is_named() -> None:
    frame = _frame({}).drop(columns=["salary_stopped"])
    with pytest.raises(ValidationError) as error:
        assign_tiers(frame)
    assert error.value.field == "salary_stopped"


def _edit(path: str, value: object) -> dict[str, Any]:
    document = _document()
    *parents, last = path.split("/")
    node: Any = document
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is None:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        ("value/tierz", [], "value.tierz"),
        ("risk/tiers/0/max_probability", 0.9, "risk.tiers[0].max_probability"),
        ("activity/tiers/0/min", {"logins_31d": 4}, "activity.tiers[0].min.logins_31d"),
        ("lifecycle/stages/1/conditions/0/feature", "days_since_tx",
         "lifecycle.stages[1].conditions[0].feature"),
        ("value/tiers/1/min_percentile", 99.5, "value.tiers[1].min_percentile"),
        ("value/tiers/2/min_minor", 2_000_000, "value.tiers[2].min_minor"),
        ("risk/tiers/2/min_probability", 0.25, "risk.tiers[2].min_probability"),
        ("risk/tiers/0/min_probability", 1.5, "risk.tiers[0].min_probability"),
        ("activity/tiers/1/min", {"logins_30d": 5}, "activity.tiers[1].min.logins_30d"),
        ("value/tiers/3/min_percentile", 0, "value.tiers[3].min_percentile"),
        ("value/tiers/1/min_percentile", None, "value.tiers[1].min_percentile"),
        ("risk", None, "risk"),
        ("lifecycle/stages/1/name", "sleeping", "lifecycle.stages[1].name"),
        ("lifecycle/stages/1", None, "lifecycle.stages"),
        ("lifecycle/stages/0/conditions/0/reason", "for {days} days",
         "lifecycle.stages[0].conditions[0].reason"),
        ("lifecycle/stages/0/conditions/0/below", None, "lifecycle.stages[0].conditions[0]"),
        ("value/mode", "relative", "value.mode"),
    ],
)  # fmt: skip
def test_yaml_mistakes_name_the_key(path: str, value: object, key: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        parse_tier_rules(_edit(path, value))
    assert error.value.field == key
    assert key in str(error.value)


def test_bank_edited_yaml_changes_the_result(tmp_path: Path) -> None:
    frame = _frame({"tenure_days": 200.0, "logins_30d": 1}, {"logins_30d": 2})
    assert assign_tiers(frame)["lifecycle_stage"].tolist() == ["mature", "mature"]
    edited = _edit("lifecycle/stages/0/conditions/0/below", 365)
    edited["activity"]["tiers"][0]["min"]["logins_30d"] = 2
    path = tmp_path / "tiers.yaml"
    path.write_text(yaml.safe_dump(edited), encoding="utf-8")
    result = assign_tiers(frame, rules=load_tier_rules(path))
    assert result["lifecycle_stage"].tolist() == ["new", "mature"]
    assert result["activity_tier"].tolist() == ["occasional", "active"]


def test_unreadable_or_invalid_yaml_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        load_tier_rules(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("value: [", encoding="utf-8")
    with pytest.raises(ConfigurationError):
        load_tier_rules(broken)
