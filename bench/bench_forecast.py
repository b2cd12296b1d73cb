"""Forecast benchmark: next-month inflow and spend error against naive baselines, salary alerts.

Simulates a bank (default 50,000 customers x 12 months; ``TENURE_BENCH_FORECAST_CUSTOMERS`` /
``TENURE_BENCH_FORECAST_MONTHS`` or the flags), ingests it into a temporary DuckDB warehouse (or
ingests ``--dir``, or reads ``--warehouse``), fits ``FlowForecaster`` on the complete months before
the last one and scores that held-out month for every customer with at least 2 months of history:

- MAE in CNY, MAE relative to the naive last-value forecast, and MASE (Hyndman & Koehler 2006:
  each customer's absolute error over their in-sample mean absolute month-to-month change, averaged
  over customers whose history moved; MdASE takes the median instead), for the forecaster, two
  variants of it, the naive forecast and a 3-month moving average; and how often the 80 %
  interval held the actual month.
- Salary alerts at the last transaction time (and, on simulated data, the share of alerted
  customers the simulator marks as churners), flow alerts, seconds per step and peak RSS.

Run: ``.venv/bin/python bench/bench_forecast.py --customers 50000`` or ``python -m bench forecast``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.data.ingest import ephemeral_protector, ingest_directory
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.retention.alerts import flow_alerts, salary_alerts
from tenure.retention.forecast import FlowForecaster, month_index, month_start, monthly_flows

T = TypeVar("T")
FLOWS = ("inflow", "spend")


def _timed(label: str, step: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = step()
    print(f"{label:<34}{time.perf_counter() - started:>9.2f} s", flush=True)
    return result


@contextmanager
def _warehouse(args: argparse.Namespace) -> Iterator[DuckDBWarehouse]:
    """The warehouse to score: given, or ingested from files given or simulated here."""
    if args.warehouse is not None:
        with DuckDBWarehouse.open(args.warehouse) as given:
            yield given
        return
    with tempfile.TemporaryDirectory(prefix="tenure-bench-forecast-") as tmp:
        source = args.dir
        if source is None:
            source = Path(tmp) / "files"
            config = SimulationConfig(customers=args.customers, months=args.months, seed=args.seed)
            _timed(
                f"synthesize {args.customers:,} x {args.months}", lambda: synthesize(config, source)
            )
        with DuckDBWarehouse.open(Path(tmp) / "w.duckdb") as built:
            _timed(
                "ingest",
                lambda: ingest_directory(
                    warehouse=built, source_dir=source, protector=ephemeral_protector()
                ),
            )
            yield built


def _baselines(history: pd.DataFrame, flow: str) -> dict[str, pd.Series]:
    """Naive last value and 3-month moving average per customer, and the MASE scale."""
    wide = history.pivot(index="customer_id", columns="month", values=f"{flow}_minor")
    steps = wide.diff(axis=1).abs()
    return {
        "naive": wide.ffill(axis=1).iloc[:, -1],
        "ma3": wide.iloc[:, -3:].mean(axis=1),
        "scale": steps.mean(axis=1),
    }


def _score(name: str, forecast: pd.Series, actual: pd.Series, base: dict[str, pd.Series]) -> str:
    error = (forecast - actual).abs()
    naive_mae = (base["naive"].loc[actual.index] - actual).abs().mean()
    scale = base["scale"].loc[actual.index]
    moved = scale > 0
    scaled = error[moved] / scale[moved]
    relative = error.mean() / naive_mae
    return (
        f"  {name:<32}{error.mean() / 100:>12,.0f}{relative:>11.3f}"
        f"{scaled.mean():>9.3f}{scaled.median():>9.3f}"
    )


def _variants(history: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Forecasts of the default forecaster and of the variants measured against it."""
    settings: dict[str, FlowForecaster] = {
        "holt, global, clip 2 (default)": FlowForecaster(),
        "holt, per customer, clip 2": FlowForecaster(selection="per_customer"),
        "holt, global, no clip": FlowForecaster(clip=None),
    }
    out = {}
    for label, model in settings.items():
        fitted = _timed(f"fit {label}", partial(model.fit, history))
        out[label] = fitted.predict(history).set_index("customer_id")
        print(f"    parameters (alpha, beta, phi): {fitted.params_}")
    return out


def _report_errors(flows: pd.DataFrame, held_out: pd.Timestamp) -> None:
    history = flows[flows["month"] < held_out]
    actual = flows[flows["month"] == held_out].set_index("customer_id")
    forecasts = _variants(history)
    default = forecasts["holt, global, clip 2 (default)"]
    for flow in FLOWS:
        scored = default.index[default[f"{flow}_expected_minor"].notna()]
        truth = actual.loc[scored, f"{flow}_minor"].astype(float)
        base = _baselines(history, flow)
        print(f"{flow}: {len(scored):,} customers, held-out month {held_out:%Y-%m}")
        print(f"  {'method':<32}{'MAE (CNY)':>12}{'MAE/naive':>11}{'MASE':>9}{'MdASE':>9}")
        for label, frame in forecasts.items():
            values = frame.loc[scored, f"{flow}_expected_minor"].astype(float)
            print(_score(label, values, truth, base))
        print(_score("naive last value", base["naive"].loc[scored], truth, base))
        print(_score("3-month moving average", base["ma3"].loc[scored], truth, base))
        low = default.loc[scored, f"{flow}_lower_minor"].astype(float)
        high = default.loc[scored, f"{flow}_upper_minor"].astype(float)
        print(f"  80 % interval held the actual: {((truth >= low) & (truth <= high)).mean():.1%}")


def _report_alerts(warehouse: DuckDBWarehouse, now: datetime, as_of: datetime) -> None:
    alerts = _timed("salary alerts", lambda: salary_alerts(warehouse=warehouse, as_of=now))
    print(f"salary alerts at {now:%Y-%m-%d %H:%M} UTC: {len(alerts):,}")
    if len(alerts):
        print(f"  e.g. {alerts.iloc[len(alerts) // 2]['message']}")
    truth = warehouse.fetch_all("SELECT customer_id, churned_at IS NOT NULL FROM customer_truth")
    if truth:
        churned = dict(truth)
        share = (
            np.mean([churned.get(c, False) for c in alerts["customer_id"]]) if len(alerts) else 0
        )
        base = np.mean(list(churned.values()))
        print(f"  simulator churners among them: {share:.1%} (all customers: {base:.1%})")
    flagged = _timed("flow alerts", lambda: flow_alerts(warehouse=warehouse, as_of=as_of))
    counts = flagged["flow"].value_counts().to_dict() if len(flagged) else {}
    print(f"flow alerts for {month_start(month_index(as_of) - 1):%Y-%m}: {counts}")


def main(argv: list[str] | None = None) -> None:
    """Score the forecaster and the alerts on a simulated (or given) bank."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    env = os.environ.get
    parser.add_argument(
        "--customers", type=int, default=int(env("TENURE_BENCH_FORECAST_CUSTOMERS", "50000"))
    )
    parser.add_argument(
        "--months", type=int, default=int(env("TENURE_BENCH_FORECAST_MONTHS", "12"))
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="ingest these canonical files")
    parser.add_argument("--warehouse", type=Path, default=None, help="read this DuckDB warehouse")
    args = parser.parse_args(argv or [])
    started = time.perf_counter()
    with _warehouse(args) as warehouse:
        ((now,),) = warehouse.fetch_all("SELECT MAX(occurred_at) FROM transactions")
        as_of = month_start(month_index(now + timedelta(days=1)))
        flows = _timed(
            "monthly flows (SQL)", lambda: monthly_flows(warehouse=warehouse, as_of=as_of)
        )
        print(f"flow rows: {len(flows):,}, customers: {flows['customer_id'].nunique():,}")
        _report_errors(flows, pd.Timestamp(month_start(month_index(as_of) - 1)))
        _report_alerts(warehouse, now, as_of)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"total {time.perf_counter() - started:.1f} s, peak RSS {peak:.2f} GB")


if __name__ == "__main__":
    main(sys.argv[1:])
