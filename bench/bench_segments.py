"""Tiers and segments benchmark: features, value, tiers, lifecycle stages and segments of a bank.

Simulates (``tenure synth``) and ingests (``tenure ingest``) a bank in child processes, so that
the peak RSS printed is this process's own, then computes one feature snapshot, the 12-month
margin value, tiers and stages (packaged ``tiers.yaml``) and k-means segments, and prints the
distributions, the silhouette per k, the stability ARI and the segment profiles. Not a test::

    .venv/bin/python bench/bench_segments.py --customers 50000 --months 12
    .venv/bin/python bench/bench_segments.py --warehouse path/to/warehouse.duckdb --threads 1

Under ``python -m bench segments`` the sizes come from ``TENURE_BENCH_SEGMENTS_CUSTOMERS`` and
``TENURE_BENCH_SEGMENTS_MONTHS`` (default 50,000 customers x 12 months).
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

import pandas as pd

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.retention.features import compute_features
from tenure.retention.margin import margin_value
from tenure.retention.segments import CustomerSegmenter
from tenure.retention.tiers import assign_tiers

_TENURE = str(Path(sys.executable).with_name("tenure"))
_ACCOUNTS = ("customer_id", "product", "balance_minor", "interest_rate", "status")


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
    _run([_TENURE, "synth", "--customers", str(args.customers), "--months",
          str(args.months), "--seed", "1", "--out", str(source)], dict(os.environ))  # fmt: skip
    env = dict(os.environ, TENURE_DATA_DIR=str(scratch / "data"))
    _run([_TENURE, "ingest", str(source)], env)
    return scratch / "data" / "warehouse.duckdb"


def _snapshot_time(warehouse: DuckDBWarehouse) -> datetime:
    """Midnight after the last transaction: the snapshot that sees the whole history."""
    ((last,),) = warehouse.fetch_all("SELECT max(occurred_at) FROM transactions")
    moment: datetime = last.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC) + timedelta(days=1)


def _inputs(warehouse: DuckDBWarehouse) -> tuple[pd.DataFrame, pd.Series, dict[str, float]]:
    """Features at the last snapshot and 12-month margin value (0 for customers with none)."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    features = compute_features(warehouse=warehouse, as_of=_snapshot_time(warehouse))
    timings["features"] = time.perf_counter() - started
    started = time.perf_counter()
    accounts = pd.DataFrame(
        warehouse.fetch_all(f"SELECT {', '.join(_ACCOUNTS)} FROM accounts"), columns=_ACCOUNTS
    )
    fees = pd.DataFrame(
        warehouse.fetch_all("SELECT customer_id, amount_minor FROM transactions "
                            "WHERE kind = 'fee' AND status = 'posted'"),
        columns=["customer_id", "amount_minor"],
    )  # fmt: skip
    value = margin_value(accounts=accounts, fees=fees)["total_value_minor"]
    timings["value"] = time.perf_counter() - started
    return features, value.reindex(features["customer_id"], fill_value=0), timings


def _distribution(title: str, column: pd.Series) -> None:
    counts = column.fillna("(none)").value_counts()
    shares = ", ".join(f"{name} {count:,} ({count / len(column):.1%})"
                       for name, count in counts.items())  # fmt: skip
    print(f"{title}: {shares}")


def _report_segments(model: CustomerSegmenter, features: pd.DataFrame) -> None:
    scores = ", ".join(f"k={k}: {score:.3f}" for k, score in model.scores_.items())
    print(f"chosen k = {model.k_}; silhouette per k: {scores}")
    print(f"stability (ARI between two bootstrap fits): {model.stability_:.3f}")
    for profile in model.profile(features):
        print(f"  segment {profile.segment} '{profile.name}': {profile.size:,} "
              f"({profile.share:.1%}): {profile.description}")  # fmt: skip


def _measure(path: Path, threads: int | None) -> None:
    with DuckDBWarehouse.open(path) as warehouse:
        features, value, timings = _inputs(warehouse)
    started = time.perf_counter()
    tiers = assign_tiers(features, value=value)
    timings["tiers"] = time.perf_counter() - started
    started = time.perf_counter()
    model = CustomerSegmenter(threads=threads).fit(features)
    timings["segments fit"] = time.perf_counter() - started
    started = time.perf_counter()
    model.profile(features)
    timings["profile"] = time.perf_counter() - started
    print(f"{len(features):,} customers at {features['snapshot_at'].iloc[0]:%Y-%m-%d}")
    for column in ("value_tier", "activity_tier", "risk_tier", "lifecycle_stage"):
        _distribution(column, tiers[column])
    top_reasons = tiers["lifecycle_reason"].value_counts().head(5)
    print("most frequent lifecycle reasons: "
          + "; ".join(f"{r} ({n:,})" for r, n in top_reasons.items()))  # fmt: skip
    _report_segments(model, features)
    print("seconds: " + ", ".join(f"{name} {secs:.2f}" for name, secs in timings.items()))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the benchmark process: {peak_mb:,.0f} MB")


def main(argv: list[str] | None = None) -> int:
    """Prepare the bank, compute tiers and segments, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--customers",
        type=int,
        default=int(os.environ.get("TENURE_BENCH_SEGMENTS_CUSTOMERS", 50_000)),
    )
    parser.add_argument(
        "--months", type=int, default=int(os.environ.get("TENURE_BENCH_SEGMENTS_MONTHS", 12))
    )
    parser.add_argument("--warehouse", type=Path, default=None, help="use this warehouse as is")
    parser.add_argument("--threads", type=int, default=None, help="cap k-means threads")
    args = parser.parse_args(argv if argv is not None else [])
    with tempfile.TemporaryDirectory(prefix="tenure-bench-segments-") as scratch:
        _measure(_prepare(args, Path(scratch)), args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
