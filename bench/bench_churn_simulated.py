"""Churn early-warning benchmark on a simulated bank: validation figures, time and memory.

Simulates a bank (default 50,000 customers x 12 months; ``TENURE_BENCH_CHURN_CUSTOMERS`` /
``TENURE_BENCH_CHURN_MONTHS`` or the flags), ingests it into a temporary DuckDB warehouse (or
reads ``--warehouse``), trains the churn model with the time-based split (validation on the last
month starts whose outcome window is complete) and scores every open customer at the end of the
data. Reports ROC-AUC, PR-AUC, lift in the top decile, expected calibration error and Brier score
on the validation snapshots, and seconds and peak RSS for training and scoring.

Run: ``.venv/bin/python bench/bench_churn_simulated.py --customers 50000``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.data.ingest import ephemeral_protector, ingest_directory
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.retention.labels import data_window
from tenure.retention.metrics import METRIC_LABELS
from tenure.retention.registry import ModelRegistry
from tenure.retention.scoring import score_customers
from tenure.retention.training import train_retention_models


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env = os.environ.get
    parser.add_argument("--customers", type=int,
                        default=int(env("TENURE_BENCH_CHURN_CUSTOMERS", "50000")))  # fmt: skip
    parser.add_argument("--months", type=int, default=int(env("TENURE_BENCH_CHURN_MONTHS", "12")))
    parser.add_argument("--definition", default="closure")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warehouse", type=Path, default=None, help="Use this warehouse file.")
    return parser.parse_args(argv)


def _simulate(args: argparse.Namespace, root: Path) -> Path:
    started = time.perf_counter()
    config = SimulationConfig(
        customers=args.customers,
        months=args.months,
        seed=args.seed,
        churn_definition=args.definition,
    )
    synthesize(config, root / "bank")
    path = root / "warehouse.duckdb"
    with DuckDBWarehouse.open(path) as warehouse:
        ingest_directory(
            warehouse=warehouse, source_dir=root / "bank", protector=ephemeral_protector()
        )
    print(f"simulate + ingest {args.customers:,} x {args.months}: "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    return path


def _run(path: Path, models: Path, args: argparse.Namespace) -> None:
    registry = ModelRegistry(models)
    with DuckDBWarehouse.open(path) as warehouse:
        started = time.perf_counter()
        trained = train_retention_models(
            warehouse=warehouse, registry=registry, definition=args.definition, seed=args.seed
        ).churn
        train_s, train_rss = time.perf_counter() - started, _peak_rss_mb()
        started = time.perf_counter()
        run = score_customers(
            warehouse=warehouse, registry=registry, as_of=data_window(warehouse).end
        )
        score_s, score_rss = time.perf_counter() - started, _peak_rss_mb()
    record = trained.manifest.training
    print(f"definition {args.definition}; train snapshots {record['training_snapshots']}; "
          f"validation {record['validation_snapshots']}")  # fmt: skip
    rows = (record["rows_train"], record["churners_train"])
    held = (record["rows_validation"], record["churners_validation"])
    print(f"rows train {rows[0]:,} ({rows[1]:,} churners); validation {held[0]:,} ({held[1]:,})")
    for key, label in METRIC_LABELS.items():
        print(f"{label:<50}{trained.metrics[key]:>10.4f}")
    print(f"train: {train_s:.1f} s, peak RSS {train_rss:,.0f} MB")
    print(f"score {run.customers:,} customers: {score_s:.1f} s, peak RSS {score_rss:,.0f} MB")
    print(f"bands {run.bands}; features in drift {len(run.drifting)}")
    print(f"top first reasons {run.top_reasons[:8]}")


def main() -> None:
    """Simulate (or open) a bank, train and score, and print the figures."""
    args = _arguments(sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="tenure-bench-churn-") as tmp:
        root = Path(tmp)
        path = args.warehouse or _simulate(args, root)
        _run(path, root / "models", args)


if __name__ == "__main__":
    main()
