"""Transaction-style CLV (BG/NBD + Gamma-Gamma) and the bank margin view, on generated data only."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tenure.core.errors import ValidationError
from tenure.retention.clv import TransactionValueModel, rfm_summary
from tenure.retention.margin import MarginAssumptions, margin_value

BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "v": 1_500.0}


def simulate_bgnbd(customers: int, weeks: float, seed: int) -> pd.DataFrame:
    """Summaries drawn from BG/NBD: lambda ~ Gamma(r, alpha), p ~ Beta(a, b), ages up to weeks."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(BGNBD["r"], 1 / BGNBD["alpha"], customers)
    dropout = rng.beta(BGNBD["a"], BGNBD["b"], customers)
    age = rng.uniform(weeks / 2, weeks, customers)
    clock, last = np.zeros(customers), np.zeros(customers)
    repeats = np.zeros(customers, dtype=np.int64)
    active = np.ones(customers, dtype=bool)
    while active.any():
        who = np.flatnonzero(active)
        clock[who] += rng.exponential(1 / rate[who])
        bought = who[clock[who] <= age[who]]
        active[who[clock[who] > age[who]]] = False
        repeats[bought] += 1
        last[bought] = clock[bought]
        # after each repeat purchase the customer leaves for good with probability p
        active[bought[rng.random(bought.size) < dropout[bought]]] = False
    return pd.DataFrame({"frequency": repeats, "recency": last, "T": age})


def add_gamma_gamma_spend(summary: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Mean repeat spend: each purchase ~ Gamma(p, rate nu), nu ~ Gamma(q, rate v) per customer."""
    rng = np.random.default_rng(seed)
    nu = rng.gamma(GAMMA_GAMMA["q"], 1 / GAMMA_GAMMA["v"], len(summary))
    count = summary["frequency"].to_numpy()
    # the sum of x Gamma(p, nu) purchases is Gamma(p x, nu)
    total = rng.gamma(GAMMA_GAMMA["p"] * np.maximum(count, 1), 1 / nu)
    return summary.assign(monetary_value=np.where(count > 0, total / np.maximum(count, 1), 0.0))


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return add_gamma_gamma_spend(simulate_bgnbd(5_000, weeks=52, seed=7), seed=11)


@pytest.fixture(scope="module")
def fitted(simulated: pd.DataFrame) -> TransactionValueModel:
    return TransactionValueModel(period="W").fit(simulated)


def _transactions() -> pd.DataFrame:
    rows = [
        ("a", "2024-01-01 09:00", 500),
        ("a", "2024-01-01 18:00", 250),
        ("a", "2024-01-04 12:00", 1_000),
        ("a", "2024-01-11 08:00", 2_000),
        ("a", "2024-02-01 10:00", 9_999),
        ("b", "2024-01-15 10:00", 300),
        ("c", "2024-01-05 10:00", 100),
        ("c", "2024-01-20 23:00", 400),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "occurred_at", "amount_minor"])
    return frame.assign(occurred_at=pd.to_datetime(frame["occurred_at"], utc=True))


def test_rfm_summary_daily_matches_hand_computed_values() -> None:
    summary = rfm_summary(_transactions(), observation_end="2024-01-20")
    assert summary.to_dict("index") == {
        "a": {"frequency": 2, "recency": 10.0, "T": 19.0, "monetary_value": 1_500.0},
        "b": {"frequency": 0, "recency": 0.0, "T": 5.0, "monetary_value": 0.0},
        "c": {"frequency": 1, "recency": 15.0, "T": 15.0, "monetary_value": 400.0},
    }
    assert summary.index.name == "customer_id"


def test_rfm_summary_weekly_counts_monday_weeks() -> None:
    summary = rfm_summary(_transactions(), observation_end="2024-01-20", period="W")
    assert summary.to_dict("index") == {
        "a": {"frequency": 1, "recency": 1.0, "T": 2.0, "monetary_value": 2_000.0},
        "b": {"frequency": 0, "recency": 0.0, "T": 0.0, "monetary_value": 0.0},
        "c": {"frequency": 1, "recency": 2.0, "T": 2.0, "monetary_value": 400.0},
    }


def test_rfm_summary_without_values_and_with_naive_times() -> None:
    naive = _transactions().assign(occurred_at=lambda f: f["occurred_at"].dt.tz_localize(None))
    summary = rfm_summary(
        naive, observation_end=pd.Timestamp("2024-01-20", tz="UTC"), value_col=None
    )
    assert list(summary.columns) == ["frequency", "recency", "T"]
    assert summary.loc["a", "frequency"] == 2


def test_rfm_summary_leaves_input_unchanged() -> None:
    transactions = _transactions()
    before = transactions.copy()
    rfm_summary(transactions, observation_end="2024-01-20")
    pd.testing.assert_frame_equal(transactions, before)


@pytest.mark.parametrize(
    ("drop", "field"), [("customer_id", "customer_id"), ("amount_minor", "amount_minor")]
)
def test_rfm_summary_names_missing_column(drop: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        rfm_summary(_transactions().drop(columns=drop), observation_end="2024-01-20")
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("column", "bad", "field"),
    [
        ("occurred_at", "not a time", "occurred_at"),
        ("amount_minor", "ten yuan", "amount_minor"),
        ("amount_minor", None, "amount_minor"),
    ],
)
def test_rfm_summary_names_unusable_values(column: str, bad: object, field: str) -> None:
    transactions = _transactions().astype({column: object})
    transactions.loc[0, column] = bad
    with pytest.raises(ValidationError) as caught:
        rfm_summary(transactions, observation_end="2024-01-20")
    assert caught.value.field == field


def test_rfm_summary_names_unusable_observation_end() -> None:
    with pytest.raises(ValidationError) as caught:
        rfm_summary(_transactions(), observation_end="someday")
    assert caught.value.field == "observation_end"


def test_rfm_summary_refuses_when_nothing_precedes_observation_end() -> None:
    with pytest.raises(ValidationError) as caught:
        rfm_summary(_transactions(), observation_end="2023-12-31")
    assert caught.value.field == "occurred_at"


def test_rfm_summary_refuses_unknown_period() -> None:
    with pytest.raises(ValidationError) as caught:
        rfm_summary(_transactions(), observation_end="2024-01-20", period="M")  # type: ignore[arg-type]
    assert caught.value.field == "period"


def test_fit_recovers_bgnbd_parameters(fitted: TransactionValueModel) -> None:
    for name, true in BGNBD.items():
        assert fitted.params_[name] == pytest.approx(true, rel=0.25), name
    # the mean purchase rate and mean dropout are what the data pin down best
    rate = fitted.params_["r"] / fitted.params_["alpha"]
    assert rate == pytest.approx(BGNBD["r"] / BGNBD["alpha"], rel=0.1)
    dropout = fitted.params_["a"] / (fitted.params_["a"] + fitted.params_["b"])
    assert dropout == pytest.approx(BGNBD["a"] / (BGNBD["a"] + BGNBD["b"]), rel=0.1)


def test_fit_recovers_gamma_gamma_parameters_on_repeat_customers(
    fitted: TransactionValueModel, simulated: pd.DataFrame
) -> None:
    mean_spend = fitted.gg_params_["p"] * fitted.gg_params_["v"] / (fitted.gg_params_["q"] - 1)
    true_mean = GAMMA_GAMMA["p"] * GAMMA_GAMMA["v"] / (GAMMA_GAMMA["q"] - 1)
    assert mean_spend == pytest.approx(true_mean, rel=0.1)
    for name, true in GAMMA_GAMMA.items():
        assert fitted.gg_params_[name] == pytest.approx(true, rel=0.35), name
    assert fitted.n_repeat_customers_ == int((simulated["frequency"] > 0).sum())
    assert abs(fitted.frequency_monetary_corr_) < 0.1


def test_probability_alive_is_a_probability_and_falls_with_inactivity(
    fitted: TransactionValueModel,
) -> None:
    customers = pd.DataFrame(
        {"frequency": [5, 5, 0], "recency": [50.0, 10.0, 0.0], "T": [52.0, 52.0, 52.0]},
        index=["recent", "lapsed", "one_off"],
    )
    alive = fitted.probability_alive(customers)
    assert ((alive >= 0) & (alive <= 1)).all()
    assert alive["lapsed"] < alive["recent"]
    assert alive["one_off"] == 1.0


def test_expected_purchases_grow_with_the_horizon(
    fitted: TransactionValueModel, simulated: pd.DataFrame
) -> None:
    short = fitted.expected_purchases(simulated, 4)
    long = fitted.expected_purchases(simulated, 52)
    assert (long >= short).all()
    assert (short >= 0).all()
    assert long.index.equals(simulated.index)


def test_expected_value_rises_with_expected_spend(fitted: TransactionValueModel) -> None:
    customers = pd.DataFrame(
        {
            "frequency": [4, 4, 4, 0],
            "recency": [40.0, 40.0, 40.0, 0.0],
            "T": [45.0, 45.0, 45.0, 45.0],
            "monetary_value": [1_000.0, 3_000.0, 9_000.0, 0.0],
        }
    )
    spend = fitted.expected_spend(customers)
    value = fitted.expected_value(customers, months=12)
    assert spend.iloc[0] < spend.iloc[1] < spend.iloc[2]
    assert value.iloc[0] < value.iloc[1] < value.iloc[2]
    assert value.dtype == np.int64
    assert value.iloc[3] > 0  # a one-off customer is worth the population's spend


def test_expected_value_falls_with_discount_rate_and_grows_with_months(
    fitted: TransactionValueModel, simulated: pd.DataFrame
) -> None:
    sample = simulated.head(200)
    base = fitted.expected_value(sample, months=12, discount_rate=0.01)
    assert (fitted.expected_value(sample, months=12, discount_rate=0.05) <= base).all()
    assert (fitted.expected_value(sample, months=24, discount_rate=0.01) >= base).all()


def test_model_survives_pickle_round_trip(
    fitted: TransactionValueModel, simulated: pd.DataFrame
) -> None:
    restored = pickle.loads(pickle.dumps(fitted))
    assert restored.params_ == fitted.params_
    assert restored.gg_params_ == fitted.gg_params_
    sample = simulated.head(50)
    pd.testing.assert_series_equal(restored.expected_value(sample), fitted.expected_value(sample))


def test_fit_leaves_summary_unchanged_and_is_deterministic(simulated: pd.DataFrame) -> None:
    sample = simulated.head(1_000)
    before = sample.copy()
    first = TransactionValueModel(period="W").fit(sample)
    pd.testing.assert_frame_equal(sample, before)
    assert TransactionValueModel(period="W").fit(sample).params_ == first.params_


def test_fit_without_spend_needs_no_monetary_value(simulated: pd.DataFrame) -> None:
    model = TransactionValueModel(period="W", fit_spend=False)
    model.fit(simulated.drop(columns="monetary_value").head(1_000))
    assert set(model.params_) == {"r", "alpha", "a", "b"}
    with pytest.raises(ValidationError) as caught:
        model.expected_value(simulated.head(5))
    assert caught.value.field == "monetary_value"


def test_predicting_before_fit_names_the_problem(simulated: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match="call fit first"):
        TransactionValueModel().probability_alive(simulated.head(5))


def test_too_few_repeat_customers_for_gamma_gamma_names_monetary_value(
    simulated: pd.DataFrame,
) -> None:
    sample = simulated.head(1_000).copy()
    spenders = sample.index[sample["frequency"] > 0]
    sample.loc[spenders[5:], "monetary_value"] = 0.0  # refunds netted to nothing: no spend to fit
    with pytest.raises(ValidationError) as caught:
        TransactionValueModel(period="W").fit(sample)
    assert caught.value.field == "monetary_value"
    assert "repeat customers" in caught.value.message


def test_no_repeat_purchases_names_frequency(simulated: pd.DataFrame) -> None:
    one_off = simulated[simulated["frequency"] == 0].head(100)
    with pytest.raises(ValidationError) as caught:
        TransactionValueModel(period="W").fit(one_off)
    assert caught.value.field == "frequency"


def test_too_few_customers_names_frequency(simulated: pd.DataFrame) -> None:
    with pytest.raises(ValidationError) as caught:
        TransactionValueModel(period="W").fit(simulated.head(5))
    assert caught.value.field == "frequency"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s.drop(columns="T"), "T"),
        (lambda s: s.assign(recency=s["T"] + 1), "recency"),
        (lambda s: s.assign(frequency=s["frequency"] + 0.5), "frequency"),
        (lambda s: s.assign(monetary_value=np.nan), "monetary_value"),
    ],
)
def test_malformed_summary_names_the_field(
    simulated: pd.DataFrame, change: object, field: str
) -> None:
    broken = change(simulated.head(200))  # type: ignore[operator]
    with pytest.raises(ValidationError) as caught:
        TransactionValueModel(period="W").fit(broken)
    assert caught.value.field == field


def test_importing_clv_keeps_future_warnings_visible() -> None:
    code = (
        "import warnings, tenure.retention.clv\n"
        "hidden = [f for f in warnings.filters if f[0] == 'ignore' and f[2] is FutureWarning]\n"
        "print(len(hidden))\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "0"


def _accounts() -> pd.DataFrame:
    rows = [
        ("c1", "savings", "active", 1_000_000, 0.005),
        ("c1", "current", "active", 200_000, None),
        ("c1", "loan", "active", 500_000, 0.05),
        ("c1", "savings", "closed", 999_999, 0.01),
        ("c2", "card", "active", -123_457, 0.18),
        ("c2", "current", "active", -5_000, 0.0),
        ("c4", "wealth", "active", 1_000_000, None),
    ]
    columns = ["customer_id", "product", "status", "balance_minor", "interest_rate"]
    return pd.DataFrame(rows, columns=columns)


def _fees() -> pd.DataFrame:
    rows = [
        ("c1", "fee", "posted", 100),
        ("c1", "fee", "posted", 200),
        ("c1", "fee", "posted", 300),
        ("c1", "fee", "reversed", 500),
        ("c1", "card_purchase", "posted", 10_000),
        ("c3", "fee", "posted", 1_000),
    ]
    return pd.DataFrame(rows, columns=["customer_id", "kind", "status", "amount_minor"])


def test_margin_value_matches_hand_computed_minor_units() -> None:
    value = margin_value(accounts=_accounts(), fees=_fees())
    # c1: 1,000,000 x (2 % - 0.5 %) + 200,000 x 2 %; 500,000 x (5 % - 2 %); fees 100 + 200 + 300
    # c2: card owed 123,457 x (18 % - 2 %) = 19,753.12; an overdrawn current account earns nothing
    expected = pd.DataFrame(
        {
            "deposit_margin_minor": [19_000, 0, 0, 0],
            "loan_margin_minor": [15_000, 19_753, 0, 0],
            "fee_income_minor": [600, 0, 1_000, 0],
            "total_value_minor": [34_600, 19_753, 1_000, 0],
        },
        index=pd.Index(["c1", "c2", "c3", "c4"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(value, expected)


def test_margin_value_scales_to_the_horizon_and_fee_window() -> None:
    assume = MarginAssumptions(horizon_months=6, fee_window_months=3)
    value = margin_value(accounts=_accounts(), fees=_fees(), assumptions=assume)
    assert value.loc["c1", "deposit_margin_minor"] == 9_500
    assert value.loc["c1", "loan_margin_minor"] == 7_500
    assert value.loc["c1", "fee_income_minor"] == 1_200


def test_margin_value_prices_loans_without_rate_at_ftp_and_counts_credit_loss() -> None:
    accounts = pd.DataFrame(
        {"customer_id": ["x", "y"], "product": ["loan", "loan"], "balance_minor": [100_000] * 2}
    ).assign(interest_rate=[None, 0.06])
    assume = MarginAssumptions(loan_loss_rate=0.01)
    value = margin_value(accounts=accounts, fees=_fees().head(0), assumptions=assume)
    assert value.loc["x", "loan_margin_minor"] == -1_000  # no spread, only the expected loss
    assert value.loc["y", "loan_margin_minor"] == 3_000


def test_margin_value_times_survival_gives_expected_value() -> None:
    survival = pd.Series({"c1": 0.5, "c2": 0.9, "c3": 1.0, "c4": 0.0})
    value = margin_value(accounts=_accounts(), fees=_fees(), survival=survival)
    assert value["expected_value_minor"].to_dict() == {
        "c1": 17_300,
        "c2": 17_778,
        "c3": 1_000,
        "c4": 0,
    }


@pytest.mark.parametrize(
    "survival", [pd.Series({"c1": 0.5}), pd.Series({"c1": 1.5, "c2": 1, "c3": 1, "c4": 1})]
)
def test_margin_value_refuses_incomplete_or_impossible_survival(survival: pd.Series) -> None:
    with pytest.raises(ValidationError) as caught:
        margin_value(accounts=_accounts(), fees=_fees(), survival=survival)
    assert caught.value.field == "survival"


def test_margin_value_names_missing_account_column() -> None:
    with pytest.raises(ValidationError) as caught:
        margin_value(accounts=_accounts().drop(columns="balance_minor"), fees=_fees())
    assert caught.value.field == "balance_minor"


def test_margin_assumptions_refuse_impossible_windows() -> None:
    with pytest.raises(ValidationError) as caught:
        MarginAssumptions(fee_window_months=0)
    assert caught.value.field == "fee_window_months"
