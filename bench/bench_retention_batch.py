"""Batch retention scoring benchmark: one ``as_of`` over a whole simulated bank, time and memory.

Simulates a bank (default 1,000,000 customers x 12 months, the target size;
``TENURE_BENCH_RETENTION_CUSTOMERS`` / ``TENURE_BENCH_RETENTION_MONTHS`` or the flags) and
ingests it into a temporary DuckDB warehouse, or reads ``--warehouse`` (scoring writes its tables
into that file). Trains the retention models (churn, segments, survival; timed separately) or
reuses the registry given by ``--models``, then scores every open customer at ``--as-of``
(default: the end of the data) and prints seconds and customers per second of each step
(features, churn scores with reasons and drift, value, tiers, segments, survival, forecasts,
write), the total, peak RSS, and whether the targets hold: <= 5 minutes and <= 8 GB.

Run: ``.venv/bin/python bench/bench_retention_batch.py --customers 100000``, or
``--warehouse path/to/warehouse.duckdb --models path/to/models`` to reuse both.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.data.ingest import ephemeral_protector, ingest_directory
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.retention.labels import data_window
from tenure.retention.registry import ModelRegistry
from tenure.retention.scoring import score_customers
from tenure.retention.training import train_retention_models

TARGET_SECONDS = 300.0
TARGET_PEAK_MB = 8 * 1024.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env = os.environ.get
    parser.add_argument(
        "--customers", type=int, default=int(env("TENURE_BENCH_RETENTION_CUSTOMERS", "1000000"))
    )
    parser.add_argument("--months", type=int,
                        default=int(env("TENURE_BENCH_RETENTION_MONTHS", "12")))  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warehouse", type=Path, default=None, help="Use this warehouse file.")
    parser.add_argument("--models", type=Path, default=None,
                        help="Use (or train into, if empty) this model registry.")  # fmt: skip
    parser.add_argument("--as-of", default=None, help="Score as of YYYY-MM-DD (default: data end).")
    return parser.parse_args(argv)


def _simulate(args: argparse.Namespace, root: Path) -> Path:
    started = time.perf_counter()
    config = SimulationConfig(customers=args.customers, months=args.months, seed=args.seed)
    synthesize(config, root / "bank")
    path = root / "warehouse.duckdb"
    with DuckDBWarehouse.open(path) as warehouse:
        ingest_directory(
            warehouse=warehouse, source_dir=root / "bank", protector=ephemeral_protector()
        )
    print(f"simulate + ingest {args.customers:,} x {args.months}: "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    return path


def _train(warehouse: DuckDBWarehouse, registry: ModelRegistry, seed: int) -> None:
    if registry.list_versions("churn"):
        print(f"models: reusing churn {registry.list_versions('churn')[-1]} in {registry.root}")
        return
    started = time.perf_counter()
    models = train_retention_models(warehouse=warehouse, registry=registry, seed=seed)
    print(f"train (separate from scoring): {time.perf_counter() - started:.1f} s, "
          f"peak RSS {_peak_rss_mb():,.0f} MB; ROC-AUC {models.churn.metrics['roc_auc']:.3f}, "
          f"{models.segment_count} segments (silhouette {models.silhouette:.3f}), survival "
          f"holdout concordance {models.concordance:.3f}", flush=True)  # fmt: skip


def _score(warehouse: DuckDBWarehouse, registry: ModelRegistry, as_of: str | None) -> None:
    moment = (
        datetime.strptime(as_of, "%Y-%m-%d").replace(tzinfo=UTC)
        if as_of
        else data_window(warehouse).end
    )
    started = time.perf_counter()
    run = score_customers(warehouse=warehouse, registry=registry, as_of=moment)
    total = time.perf_counter() - started
    peak = _peak_rss_mb()
    print(f"scored {run.customers:,} customers as of {moment:%Y-%m-%d}")
    print(f"{'step':<12}{'seconds':>10}{'customers/s':>14}")
    for step, seconds in run.seconds.items():
        print(f"{step:<12}{seconds:>10.1f}{run.customers / max(seconds, 1e-9):>14,.0f}")
    other = total - sum(run.seconds.values())
    print(f"{'(loading)':<12}{other:>10.1f}")
    print(f"{'total':<12}{total:>10.1f}{run.customers / total:>14,.0f}")
    print(f"peak RSS {peak:,.0f} MB")
    print(f"target <= {TARGET_SECONDS:.0f} s: {'met' if total <= TARGET_SECONDS else 'MISSED'}; "
          f"target <= 8 GB: {'met' if peak <= TARGET_PEAK_MB else 'MISSED'}")  # fmt: skip


def main() -> None:
    """Simulate (or open) a bank, train (or reuse) the models, score one as_of, print figures."""
    args = _arguments(sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="tenure-bench-retention-") as tmp:
        root = Path(tmp)
        path = args.warehouse or _simulate(args, root)
        registry = ModelRegistry(args.models or root / "models")
        with DuckDBWarehouse.open(path) as warehouse:
            _train(warehouse, registry, args.seed)
            _score(warehouse, registry, args.as_of)


if __name__ == "__main__":
    main()
