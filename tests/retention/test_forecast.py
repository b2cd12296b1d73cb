"""Monthly flows, the exponential-smoothing forecaster and the salary / flow deviation alerts."""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.core.errors import ValidationError
from tenure.data.ingest import ephemeral_protector, ingest_directory
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.retention.alerts import flow_alerts, format_money, ordinal, salary_alerts
from tenure.retention.forecast import FlowForecaster, monthly_flows, monthly_flows_sql

_ids = itertools.count()


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[DuckDBWarehouse]:
    with DuckDBWarehouse.open(tmp_path / "w.duckdb") as opened:
        yield opened


def add_customer(warehouse: DuckDBWarehouse, customer_id: str) -> None:
    warehouse.execute(
        "INSERT INTO customers (customer_id, customer_type, full_name, region, kyc_risk, "
        "channel_preference, opened_at) VALUES (?, 'retail', 'name', 'Shanghai', 'low', 'mobile', "
        "TIMESTAMPTZ '2020-01-01 00:00:00+00')",
        [customer_id],
    )


def add_tx(
    warehouse: DuckDBWarehouse,
    customer_id: str,
    at: datetime,
    amount_minor: int,
    *,
    kind: str = "salary",
    direction: str = "credit",
    status: str = "posted",
    currency: str = "CNY",
) -> None:
    coded = (currency, direction, kind, status)
    warehouse.execute(
        "INSERT INTO transactions (transaction_id, account_id, customer_id, occurred_at, "
        "amount_minor, currency, direction, channel, kind, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'batch', ?, ?)",
        [f"T{next(_ids)}", f"A-{customer_id}", customer_id, at, amount_minor, *coded],
    )


def utc(year: int, month: int, day: int, hour: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, 0, second, tzinfo=UTC)


def series_frame(values: dict[str, list[int]], spend: list[int] | None = None) -> pd.DataFrame:
    """Flows of customers whose histories all end in the same month (inflow given, spend 100)."""
    longest = max(len(v) for v in values.values())
    months = pd.date_range("2024-01-01", periods=longest, freq="MS", tz="UTC")
    rows = [
        (customer, month, value, (spend or [100] * longest)[-len(series) + i])
        for customer, series in values.items()
        for i, (month, value) in enumerate(zip(months[-len(series) :], series, strict=True))
    ]
    return pd.DataFrame(rows, columns=["customer_id", "month", "inflow_minor", "spend_minor"])


def test_months_are_utc_buckets_and_stop_before_the_month_of_as_of(
    warehouse: DuckDBWarehouse,
) -> None:
    add_customer(warehouse, "C1")
    add_tx(warehouse, "C1", utc(2025, 3, 31, 23, 59), 100)
    # 20:00 on 31 March in New York is 1 April in UTC
    add_tx(warehouse, "C1", datetime(2025, 3, 31, 20, tzinfo=timezone(timedelta(hours=-4))), 7)
    add_tx(warehouse, "C1", utc(2025, 5, 2), 1_000)
    as_of = utc(2025, 5, 10, 12)
    add_tx(warehouse, "C1", as_of, 5_000)
    flows = monthly_flows(warehouse=warehouse, as_of=as_of, months=3)
    assert flows["month"].tolist() == [
        pd.Timestamp("2025-03-01", tz="UTC"),
        pd.Timestamp("2025-04-01", tz="UTC"),
    ]
    assert flows["inflow_minor"].tolist() == [100, 7]


def test_transaction_exactly_at_as_of_is_excluded(warehouse: DuckDBWarehouse) -> None:
    add_tx(warehouse, "C1", utc(2025, 4, 30, 23, 59), 100)
    add_tx(warehouse, "C1", utc(2025, 5, 1), 999)
    flows = monthly_flows(warehouse=warehouse, as_of=utc(2025, 5, 1), months=2)
    assert flows["inflow_minor"].tolist() == [100]


def test_months_without_activity_are_zero_from_the_first_month_on(
    warehouse: DuckDBWarehouse,
) -> None:
    add_tx(warehouse, "C1", utc(2025, 1, 5), 100)
    add_tx(warehouse, "C1", utc(2025, 4, 5), 300, kind="card_purchase", direction="debit")
    add_tx(warehouse, "C2", utc(2025, 3, 5), 50, kind="transfer_in")
    flows = monthly_flows(warehouse=warehouse, as_of=utc(2025, 5, 1), months=6)
    c1 = flows[flows["customer_id"] == "C1"]
    assert c1["inflow_minor"].tolist() == [100, 0, 0, 0]
    assert c1["spend_minor"].tolist() == [0, 0, 0, 300]
    assert flows.loc[flows["customer_id"] == "C2", "inflow_minor"].tolist() == [50, 0]
    assert flows["inflow_minor"].dtype == np.int64


def test_only_posted_external_money_in_the_currency_counts(warehouse: DuckDBWarehouse) -> None:
    add_tx(warehouse, "C1", utc(2025, 1, 5), 100)
    add_tx(warehouse, "C1", utc(2025, 1, 6), 1, status="declined")
    add_tx(warehouse, "C1", utc(2025, 1, 7), 20, currency="USD")
    add_tx(warehouse, "C1", utc(2025, 1, 8), 4_000, kind="deposit_maturity")
    add_tx(warehouse, "C1", utc(2025, 1, 9), 3, kind="fee", direction="debit")
    add_tx(warehouse, "C1", utc(2025, 1, 9), 40, kind="bill_payment", direction="debit")
    flows = monthly_flows(warehouse=warehouse, as_of=utc(2025, 2, 1), months=1)
    assert flows[["inflow_minor", "spend_minor"]].values.tolist() == [[100, 40]]


def test_flows_sql_is_plain_and_refuses_naive_times() -> None:
    sql = monthly_flows_sql(utc(2025, 5, 1))
    assert "date_trunc" not in sql
    assert "TIMESTAMP '2025-05-01 00:00:00.000000'" in sql
    with pytest.raises(ValidationError) as raised:
        monthly_flows_sql(datetime(2025, 5, 1))
    assert raised.value.field == "as_of"
    with pytest.raises(ValidationError):
        monthly_flows_sql(utc(2025, 5, 1), currency="CNY'; DROP TABLE x; --")


def test_constant_series_forecasts_the_constant() -> None:
    flows = series_frame({"C1": [12_345] * 8})
    row = FlowForecaster().fit(flows).predict(flows).iloc[0]
    assert row["inflow_expected_minor"] == 12_345
    assert row["inflow_lower_minor"] == row["inflow_upper_minor"] == 12_345
    assert row["method"] == "holt_damped"
    assert row["month"] == pd.Timestamp("2024-09-01", tz="UTC")


def test_linear_trend_is_captured() -> None:
    flows = series_frame({"C1": [100_000 + 10_000 * t for t in range(12)]})
    model = FlowForecaster().fit(flows)
    expected = model.predict(flows).iloc[0]["inflow_expected_minor"]
    assert model.params_["inflow"][1] > 0
    assert abs(expected - 220_000) <= 1_000


def test_short_histories_fall_back_to_the_mean_or_give_a_reason() -> None:
    flows = series_frame({"LONG": [500] * 6, "TWO": [100, 300], "ONE": [700]})
    result = FlowForecaster().fit(flows).predict(flows).set_index("customer_id")
    assert result.loc["TWO", "method"] == "mean"
    assert result.loc["TWO", "inflow_expected_minor"] == 200
    assert result.loc["ONE", "method"] == "none"
    assert pd.isna(result.loc["ONE", "inflow_expected_minor"])
    assert result.loc["ONE", "reason"] == "fewer than 2 months of history"
    assert result.loc["LONG", "reason"] is None


def test_money_outputs_are_integers_and_runs_are_deterministic() -> None:
    rng = np.random.default_rng(3)
    flows = series_frame({f"C{i}": list(rng.integers(1, 10**7, 10)) for i in range(50)})
    first = FlowForecaster().fit(flows).predict(flows)
    second = FlowForecaster().fit(flows).predict(flows)
    pd.testing.assert_frame_equal(first, second)
    money = [c for c in first.columns if c.endswith("_minor")]
    assert len(money) == 6
    for column in money:
        assert str(first[column].dtype) == "Int64"
    assert (first["inflow_lower_minor"] <= first["inflow_expected_minor"]).all()
    assert (first["inflow_expected_minor"] <= first["inflow_upper_minor"]).all()


def test_pickle_round_trip_keeps_the_forecast() -> None:
    flows = series_frame({"C1": [1, 5, 9, 4, 8], "C2": [100, 90, 95, 80]})
    for selection in ("global", "per_customer"):
        model = FlowForecaster(selection=selection).fit(flows)
        again = pickle.loads(pickle.dumps(model))
        pd.testing.assert_frame_equal(model.predict(flows), again.predict(flows))


def test_refuses_bad_input() -> None:
    flows = series_frame({"C1": [1, 2, 3]})
    with pytest.raises(ValidationError) as raised:
        FlowForecaster().predict(flows)
    assert raised.value.field == "fit"
    with pytest.raises(ValidationError) as raised:
        FlowForecaster().fit(flows.drop(columns="spend_minor"))
    assert raised.value.field == "spend_minor"
    with pytest.raises(ValidationError) as raised:
        FlowForecaster(alphas=(0.0,)).fit(flows)
    assert raised.value.field == "alphas"


def pay_salaries(warehouse: DuckDBWarehouse, months: list[int], day: int = 25) -> None:
    for month in months:
        add_tx(warehouse, "C1", utc(2025, month, day, 2), 1_141_200)


def test_salary_alert_fires_when_the_salary_stops(warehouse: DuckDBWarehouse) -> None:
    pay_salaries(warehouse, [3, 4, 5, 6])
    alerts = salary_alerts(warehouse=warehouse, as_of=utc(2025, 7, 28, 9))
    assert len(alerts) == 1
    row = alerts.iloc[0]
    assert row["customer_id"] == "C1"
    assert row["expected_at"] == pd.Timestamp("2025-07-25", tz="UTC")
    assert row["days_late"] == 3
    assert row["last_salary_at"] == pd.Timestamp("2025-06-25 02:00", tz="UTC")
    assert row["usual_amount_minor"] == 1_141_200
    assert row["message"] == (
        "salary expected 3 days ago has not arrived (usually about 11,412 CNY on the 25th)"
    )


def test_no_salary_alert_on_time_or_within_grace(warehouse: DuckDBWarehouse) -> None:
    pay_salaries(warehouse, [3, 4, 5, 6])
    assert salary_alerts(warehouse=warehouse, as_of=utc(2025, 7, 28)).empty
    assert salary_alerts(warehouse=warehouse, as_of=utc(2025, 7, 26), grace_days=0).shape[0] == 1
    pay_salaries(warehouse, [7], day=26)
    assert salary_alerts(warehouse=warehouse, as_of=utc(2025, 7, 30)).empty


def test_no_salary_alert_without_a_regular_salary(warehouse: DuckDBWarehouse) -> None:
    pay_salaries(warehouse, [5, 6])
    add_tx(warehouse, "C2", utc(2025, 4, 2), 500)
    add_tx(warehouse, "C2", utc(2025, 5, 20), 500)
    add_tx(warehouse, "C2", utc(2025, 6, 9), 500)
    assert salary_alerts(warehouse=warehouse, as_of=utc(2025, 7, 30)).empty


def test_expected_day_is_clipped_to_the_month_length(warehouse: DuckDBWarehouse) -> None:
    for month in (10, 11, 12):
        add_tx(warehouse, "C1", utc(2024, month, 31 if month != 11 else 30), 200_000)
    add_tx(warehouse, "C1", utc(2025, 1, 31), 200_000)
    row = salary_alerts(warehouse=warehouse, as_of=utc(2025, 3, 5)).iloc[0]
    assert row["expected_at"] == pd.Timestamp("2025-02-28", tz="UTC")
    assert row["message"].endswith("(usually about 2,000 CNY on the 31st)")


def test_flow_alert_when_inflow_falls_below_the_lower_bound(warehouse: DuckDBWarehouse) -> None:
    for month in range(1, 7):
        add_tx(warehouse, "C1", utc(2025, month, 10), 1_840_000)
        add_tx(
            warehouse, "C1", utc(2025, month, 12), 30_000, kind="card_purchase", direction="debit"
        )
    add_tx(warehouse, "C1", utc(2025, 7, 10), 699_200)
    add_tx(warehouse, "C1", utc(2025, 7, 12), 30_000, kind="card_purchase", direction="debit")
    alerts = flow_alerts(warehouse=warehouse, as_of=utc(2025, 8, 3))
    assert alerts["flow"].tolist() == ["inflow"]
    assert alerts.iloc[0]["message"] == "inflow down 62 % against the expected 18,400 CNY"


def test_money_and_day_formatting() -> None:
    assert format_money(1_141_200) == "11,412 CNY"
    assert format_money(1_840_049) == "18,400 CNY"
    assert format_money(150) == "2 CNY"
    assert [ordinal(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"
    ]  # fmt: skip


@pytest.fixture(scope="module")
def simulated_bank(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBWarehouse]:
    root = tmp_path_factory.mktemp("bank")
    synthesize(SimulationConfig(customers=500, months=8, seed=5), root / "files")
    with DuckDBWarehouse.open(root / "w.duckdb") as opened:
        ingest_directory(
            warehouse=opened, source_dir=root / "files", protector=ephemeral_protector()
        )
        yield opened


def test_simulated_bank_forecasts_everyone_and_beats_the_naive_forecast(
    simulated_bank: DuckDBWarehouse,
) -> None:
    flows = monthly_flows(warehouse=simulated_bank, as_of=utc(2025, 9, 1), months=12)
    held_out = pd.Timestamp("2025-08-01", tz="UTC")
    history = flows[flows["month"] < held_out]
    forecast = FlowForecaster().fit(history).predict(history).set_index("customer_id")
    active = history.groupby("customer_id").size()
    assert set(forecast.index) == set(active.index)
    assert forecast.loc[active[active >= 2].index, "inflow_expected_minor"].notna().all()
    actual = flows[flows["month"] == held_out].set_index("customer_id").loc[forecast.index]
    naive = history[history["month"] == history["month"].max()].set_index("customer_id")
    for flow in ("inflow", "spend"):
        scored = forecast[f"{flow}_expected_minor"].notna()
        truth = actual.loc[scored, f"{flow}_minor"]
        model_mae = (forecast.loc[scored, f"{flow}_expected_minor"] - truth).abs().mean()
        naive_mae = (naive.loc[truth.index, f"{flow}_minor"] - truth).abs().mean()
        assert model_mae < naive_mae, flow


def test_an_empty_warehouse_gives_empty_frames(warehouse: DuckDBWarehouse) -> None:
    as_of = utc(2025, 5, 1)
    assert monthly_flows(warehouse=warehouse, as_of=as_of).empty
    assert salary_alerts(warehouse=warehouse, as_of=as_of).empty
    assert flow_alerts(warehouse=warehouse, as_of=as_of).empty
