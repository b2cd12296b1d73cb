"""Reasons: the features pushing risk up, largest first, said as plain sentences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tenure.retention.classifier import BIAS_COLUMN
from tenure.retention.features import FEATURES
from tenure.retention.reasons import (
    ROW_INPUTS,
    TEMPLATES,
    describe,
    money,
    reasons_frame,
    top_reasons,
)


@pytest.mark.parametrize(
    ("name", "value", "sentence"),
    [
        ("balance_ratio_90d", 0.37, "balance down 63 % in 90 days"),
        ("balance_ratio_30d", 1.2, "balance up 20 % in 30 days"),
        ("complaints_unresolved_over_14d", 2, "2 complaints unresolved for over 14 days"),
        ("complaints_unresolved_over_14d", 1, "1 complaint unresolved for over 14 days"),
        ("days_since_last_login", 45.4, "no login for 45 days"),
        ("outflow_other_banks_30d", 2_612_345, "26,123 CNY sent to other banks in 30 days"),
        ("salary_months_last_6", 2, "salary in only 2 of the last 6 months"),
        ("has_savings", 0, "no savings account"),
        ("tenure_days", 120, "customer for only 4 months"),
    ],
)
def test_templates_say_what_the_value_means(name: str, value: float, sentence: str) -> None:
    assert describe(name, value, {}) == sentence


def test_inflow_sentence_compares_with_the_monthly_average() -> None:
    row = {"inflow_sum_90d": 2_730_000.0}
    assert describe("inflow_sum_30d", 320_000, row) == (
        "inflow of 3,200 CNY in 30 days, down from 9,100 CNY a month over 90 days"
    )


def test_features_without_a_template_fall_back_to_their_description() -> None:
    untemplated = [f for f in FEATURES if f.name not in TEMPLATES]
    assert untemplated, "every feature has a template; pick another fallback case"
    first = untemplated[0]
    assert describe(first.name, 3, {}).startswith(first.description.split(";")[0].rstrip("."))
    assert describe("balance_ratio_90d", math.nan, {}).endswith("none on record")


def test_money_uses_whole_units_without_floats() -> None:
    assert money(320_049) == "3,200 CNY"
    assert money(320_050) == "3,201 CNY"


def test_only_features_pushing_risk_up_are_reasons_largest_first() -> None:
    contributions = pd.DataFrame(
        {
            "balance_ratio_90d": [0.9, -0.5],
            "complaints_unresolved_over_14d": [1.4, -0.1],
            "days_since_last_login": [-0.3, 0.2],
            BIAS_COLUMN: [-3.0, -3.0],
        }
    )
    features = pd.DataFrame(
        {
            "balance_ratio_90d": [0.37, 1.0],
            "complaints_unresolved_over_14d": [2, 0],
            "days_since_last_login": [3.0, 45.0],
        }
    )
    picked = top_reasons(contributions, features, k=3)
    assert [r.feature for r in picked[0]] == ["complaints_unresolved_over_14d", "balance_ratio_90d"]
    assert [r.sentence for r in picked[1]] == ["no login for 45 days"]
    frame = reasons_frame(contributions, features, k=3)
    assert frame.loc[0, "reason_1"] == "2 complaints unresolved for over 14 days"
    assert frame.loc[0, "reason_2"] == "balance down 63 % in 90 days"
    assert frame.loc[0, "reason_3"] is None
    assert frame.loc[1, "reason_1_feature"] == "days_since_last_login"


def test_a_sliver_of_contribution_is_not_a_reason() -> None:
    contributions = pd.DataFrame(
        {"has_loan": [0.04, 0.3], "days_since_last_login": [0.5, 0.0], BIAS_COLUMN: [-3.0, -3.0]}
    )
    features = pd.DataFrame({"has_loan": [0, 0], "days_since_last_login": [45.0, 2.0]})
    picked = top_reasons(contributions, features, k=3)
    assert [r.feature for r in picked[0]] == ["days_since_last_login"]
    assert [r.feature for r in picked[1]] == ["has_loan"]


def test_vectorised_reasons_match_the_row_by_row_reasons() -> None:
    rng = np.random.default_rng(5)
    names = ["inflow_sum_30d", "inflow_sum_90d", "nps_detractor_last", "nps_last",
             "days_since_last_login", "balance_last", "complaints_open"]  # fmt: skip
    rows = 400
    features = pd.DataFrame(
        {name: rng.choice([0.0, 1.0, 3.0, 25_000.0, 900_000.0, np.nan], rows) for name in names}
    )
    contributions = pd.DataFrame(rng.normal(0.0, 0.5, (rows, len(names))), columns=names)
    contributions[BIAS_COLUMN] = -3.0
    frame = reasons_frame(contributions, features, k=3)
    for i, picked in enumerate(top_reasons(contributions, features, k=3)):
        padded = [*picked, None, None, None][:3]
        for slot, reason in enumerate(padded, start=1):
            assert frame.loc[i, f"reason_{slot}"] == (reason.sentence if reason else None)
            assert frame.loc[i, f"reason_{slot}_feature"] == (reason.feature if reason else None)


def test_only_the_declared_templates_read_other_features() -> None:
    rng = np.random.default_rng(3)
    row = {f.name: float(rng.uniform(1, 9)) for f in FEATURES}
    for name in TEMPLATES:
        if name in ROW_INPUTS:
            continue
        for value in (0.0, 1.0, 2.5, 120_000.0):
            assert describe(name, value, {}) == describe(name, value, row), name
