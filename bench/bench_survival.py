"""Survival benchmark: time to churn on a simulated bank, Cox vs Weibull AFT vs log-normal AFT.

Simulates (``tenure synth``) and ingests (``tenure ingest``) a bank in child processes, takes
point-in-time features four months into the window, follows every customer open then until the
end of the data (churn = ``churn_labels`` under the ``closure`` definition), fits each model on
70 % of the customers and reports on the other 30 %: Harrell's concordance (against a one-feature
baseline, ``-login_weeks_last_12``), the calibration of P(churn within 90 days) against the
Kaplan-Meier estimate by decile of the prediction, and seconds and peak RSS. Not a test::

    .venv/bin/python bench/bench_survival.py --customers 30000 --months 12
    .venv/bin/python bench/bench_survival.py --warehouse path/to/warehouse.duckdb

Under ``python -m bench survival`` the sizes come from ``TENURE_BENCH_SURVIVAL_CUSTOMERS`` and
``TENURE_BENCH_SURVIVAL_MONTHS`` (default 30,000 customers x 12 months).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from lifelines.utils import concordance_index

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.retention.features import compute_features
from tenure.retention.survival import (
    Family,
    TimeToChurnModel,
    kaplan_meier_by_group,
    survival_frame,
)

_TENURE = str(Path(sys.executable).with_name("tenure"))
_SNAPSHOT_MONTHS = 4
_TRAIN_SHARE = 0.7
_HORIZON = 90
_FAMILIES: tuple[Family, ...] = ("weibull_aft", "cox", "lognormal_aft")


def _run(command: list[str], env: dict[str, str]) -> None:
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    print(f"{command[1]}: {time.perf_counter() - started:.1f} s", flush=True)


def _prepare(args: argparse.Namespace, scratch: Path) -> Path:
    """The warehouse to measure: given, or simulated and ingested in child processes."""
    if args.warehouse is not None:
        if not Path(args.warehouse).is_file():
            raise SystemExit(f"no warehouse at {args.warehouse}")
        return Path(args.warehouse)
    source = scratch / "bank"
    _run([_TENURE, "synth", "--customers", str(args.customers), "--months", str(args.months),
          "--seed", "1", "--out", str(source)], dict(os.environ))  # fmt: skip
    env = dict(os.environ, TENURE_DATA_DIR=str(scratch / "data"))
    _run([_TENURE, "ingest", str(source)], env)
    return scratch / "data" / "warehouse.duckdb"


def _window(warehouse: DuckDBWarehouse) -> tuple[datetime, datetime]:
    """Snapshot (the first month's start plus four months) and the end of observation."""
    ((first, last),) = warehouse.fetch_all(
        "SELECT min(occurred_at), max(occurred_at) FROM transactions"
    )
    first, last = first.astimezone(UTC), last.astimezone(UTC)
    total = first.month - 1 + _SNAPSHOT_MONTHS
    as_of = datetime(first.year + total // 12, total % 12 + 1, 1, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    return as_of, end


def _load(warehouse: DuckDBWarehouse) -> tuple[pd.DataFrame, datetime, datetime]:
    as_of, end = _window(warehouse)
    started = time.perf_counter()
    features = compute_features(warehouse=warehouse, as_of=as_of)
    rows = warehouse.fetch_all(
        "SELECT customer_id, churned_at FROM churn_labels WHERE definition = 'closure' AND churned"
    )
    churn = pd.DataFrame(rows, columns=["customer_id", "churned_at"])
    frame = survival_frame(features, churn, as_of=as_of, observation_end=end)
    print(f"snapshot {as_of:%Y-%m-%d}, observed to {end:%Y-%m-%d}: {len(frame):,} customers, "
          f"{int(frame['event'].sum()):,} churned ({frame['event'].mean():.1%}); "
          f"features {time.perf_counter() - started:.1f} s")  # fmt: skip
    return frame, as_of, end


def _split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(7).permutation(len(frame))
    cut = int(len(frame) * _TRAIN_SHARE)
    ordered = frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
    return ordered.iloc[order[:cut]], ordered.iloc[order[cut:]]


def _inputs(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["snapshot_at", "customer_id", "duration_days", "event"])


def _calibration(model: TimeToChurnModel, holdout: pd.DataFrame) -> None:
    """Mean predicted P(churn within 90 days) against 1 - Kaplan-Meier S(90), by decile."""
    predicted = model.predict_survival(_inputs(holdout), days=(_HORIZON,)).iloc[:, 0].to_numpy()
    deciles = pd.qcut(pd.Series(predicted).rank(method="first"), 10, labels=False).to_numpy()
    curves = kaplan_meier_by_group(holdout["duration_days"], holdout["event"], deciles)
    print(f"calibration of P(churn within {_HORIZON} d), {model.family}, holdout deciles:")
    print("  decile  customers  predicted  observed (KM)")
    for decile in range(10):
        curve = curves[(curves["group"] == decile) & (curves["timeline"] <= _HORIZON)]
        observed = 1.0 - float(curve["survival"].iloc[-1])
        chosen = predicted[deciles == decile]
        print(f"  {decile + 1:>6}  {len(chosen):>9,}  {chosen.mean():>9.3%}  {observed:>13.3%}")


def _best_single_feature(train: pd.DataFrame) -> tuple[str, float]:
    """The feature (and its sign) ranking the training customers best on its own."""
    best, sign, strength = "", 1.0, 0.0
    for name in _inputs(train).columns:
        values = train[name].fillna(train[name].median())
        if values.nunique() < 2:
            continue
        c_index = concordance_index(train["duration_days"], values, train["event"])
        if abs(c_index - 0.5) > strength:
            best, sign, strength = name, 1.0 if c_index >= 0.5 else -1.0, abs(c_index - 0.5)
    return best, sign


def _baselines(train: pd.DataFrame, holdout: pd.DataFrame) -> float:
    """Holdout concordance of -login_weeks_last_12 and of the best single training feature."""
    durations, events = holdout["duration_days"], holdout["event"]
    logins = concordance_index(durations, holdout["login_weeks_last_12"], events)
    print(f"baseline -login_weeks_last_12: holdout concordance {logins:.4f}")
    name, sign = _best_single_feature(train)
    values = sign * holdout[name].fillna(train[name].median())
    best = concordance_index(durations, values, events)
    print(f"baseline best single feature ({'-' if sign > 0 else '+'}{name}, chosen on train): "
          f"holdout concordance {best:.4f}")  # fmt: skip
    return float(max(logins, best))


def _compare(train: pd.DataFrame, holdout: pd.DataFrame) -> TimeToChurnModel:
    baseline = _baselines(train, holdout)
    fitted: dict[str, TimeToChurnModel] = {}
    for family in _FAMILIES:
        started = time.perf_counter()
        model = TimeToChurnModel(family=family).fit(
            _inputs(train), train["duration_days"], train["event"]
        )
        fit_s = time.perf_counter() - started
        started = time.perf_counter()
        months = model.expected_months_to_churn(_inputs(holdout))
        score_s = time.perf_counter() - started
        c_index = model.concordance(_inputs(holdout), holdout["duration_days"], holdout["event"])
        print(f"{family:>13}: holdout concordance {c_index:.4f} ({c_index - baseline:+.4f} vs "
              f"best baseline), penalizer {model.penalizer_:g}, {len(model.columns_)} columns, "
              f"fit {fit_s:.1f} s, expected months (median {months.median():.1f}) "
              f"{score_s:.1f} s")  # fmt: skip
        fitted[family] = model
    return fitted["weibull_aft"]


def _measure(path: Path) -> None:
    started = time.perf_counter()
    with DuckDBWarehouse.open(path) as warehouse:
        frame, _, _ = _load(warehouse)
    train, holdout = _split(frame)
    print(f"train {len(train):,} customers ({int(train['event'].sum()):,} churned), holdout "
          f"{len(holdout):,} ({int(holdout['event'].sum()):,} churned)")  # fmt: skip
    default = _compare(train, holdout)
    _calibration(default, holdout)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"survival process: {time.perf_counter() - started:.1f} s, peak RSS {peak_mb:,.0f} MB")


def main(argv: list[str] | None = None) -> int:
    """Prepare the bank, fit and compare the survival models, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--customers",
        type=int,
        default=int(os.environ.get("TENURE_BENCH_SURVIVAL_CUSTOMERS", 30_000)),
    )
    parser.add_argument(
        "--months", type=int, default=int(os.environ.get("TENURE_BENCH_SURVIVAL_MONTHS", 12))
    )
    parser.add_argument("--warehouse", type=Path, default=None, help="use this warehouse as is")
    args = parser.parse_args(argv if argv is not None else [])
    with tempfile.TemporaryDirectory(prefix="tenure-bench-survival-") as scratch:
        _measure(_prepare(args, Path(scratch)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
