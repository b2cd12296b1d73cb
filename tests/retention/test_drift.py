"""PSI drift: identical distributions are stable, shifted ones drift, missing values count."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tenure.retention.drift import bins_from_json, bins_to_json, learn_bins, psi_table


def _train() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "balance": rng.lognormal(10, 1, 5_000),
            "flag": rng.integers(0, 2, 5_000),
            "days": np.where(rng.random(5_000) < 0.2, np.nan, rng.exponential(30, 5_000)),
        }
    )


def test_identical_distribution_has_psi_near_zero() -> None:
    train = _train()
    table = psi_table(learn_bins(train), train)
    assert table["psi"].max() < 1e-9
    assert set(table["status"]) == {"ok"}


def test_a_fresh_sample_of_the_same_distribution_stays_ok() -> None:
    rng = np.random.default_rng(1)
    now = pd.DataFrame({"balance": rng.lognormal(10, 1, 5_000)})
    table = psi_table(learn_bins(_train()[["balance"]]), now)
    assert table.loc[0, "psi"] < 0.02


def test_shifted_distribution_drifts_and_a_small_shift_is_watched() -> None:
    train = _train()
    bins = learn_bins(train)
    shifted = train.assign(balance=train["balance"] * 3, flag=1)
    table = psi_table(bins, shifted).set_index("feature")
    assert table.loc["balance", "status"] == "drift"
    assert table.loc["flag", "status"] == "drift"
    assert table.loc["days", "status"] == "ok"
    nudged = train.assign(balance=train["balance"] * 1.5)
    assert psi_table(bins, nudged).set_index("feature").loc["balance", "status"] == "watch"


def test_missing_values_have_their_own_bin() -> None:
    train = _train()
    bins = learn_bins(train)
    assert abs(bins["days"].missing - 0.2) < 0.02
    gone = train.assign(days=np.nan)
    row = psi_table(bins, gone).set_index("feature").loc["days"]
    assert row["status"] == "drift"
    assert row["missing_now"] == 1.0


def test_bins_survive_a_json_round_trip() -> None:
    bins = learn_bins(_train())
    assert bins_from_json(bins_to_json(bins)) == bins
