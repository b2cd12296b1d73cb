"""Feature benchmark: one point-in-time snapshot of every customer of a simulated bank.

Simulates (``tenure synth``) and ingests (``tenure ingest``) a bank in child processes, so that
the peak RSS printed is the feature computation's own, then times one snapshot two ways:
``compute_features`` (rows into a pandas frame) and ``write_features`` (into the warehouse table
``customer_features``, no rows through Python). Not a test; run it by hand::

    .venv/bin/python bench/bench_features.py --customers 100000 --months 12
    .venv/bin/python bench/bench_features.py --source /tmp/feat-100k      # synthesized already
    .venv/bin/python bench/bench_features.py --warehouse path/to/warehouse.duckdb

Under ``python -m bench features`` the sizes come from ``TENURE_BENCH_FEATURES_CUSTOMERS`` and
``TENURE_BENCH_FEATURES_MONTHS`` (default 100,000 customers x 12 months).
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

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.retention.features import FEATURES, compute_features, write_features

_TENURE = str(Path(sys.executable).with_name("tenure"))


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
    source = args.source
    if source is None:
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


def _measure(path: Path) -> None:
    with DuckDBWarehouse.open(path) as warehouse:
        as_of = _snapshot_time(warehouse)
        ((transactions,),) = warehouse.fetch_all("SELECT count(*) FROM transactions")
        started = time.perf_counter()
        frame = compute_features(warehouse=warehouse, as_of=as_of)
        to_frame = time.perf_counter() - started
        started = time.perf_counter()
        written = write_features(warehouse=warehouse, as_of=as_of)
        in_warehouse = time.perf_counter() - started
        warehouse.execute("DROP TABLE customer_features")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"snapshot {as_of:%Y-%m-%d}: {len(frame):,} customers, {transactions:,} transactions, "
          f"{len(FEATURES)} features")  # fmt: skip
    print(
        f"compute_features (to pandas): {to_frame:.2f} s, {len(frame) / to_frame:,.0f} customers/s"
    )
    print(f"write_features (in warehouse): {in_warehouse:.2f} s, "
          f"{written / in_warehouse:,.0f} customers/s")  # fmt: skip
    print(f"peak RSS of the feature process: {peak_mb:,.0f} MB")


def main(argv: list[str] | None = None) -> int:
    """Prepare the bank, time one snapshot, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--customers",
        type=int,
        default=int(os.environ.get("TENURE_BENCH_FEATURES_CUSTOMERS", 100_000)),
    )
    parser.add_argument(
        "--months", type=int, default=int(os.environ.get("TENURE_BENCH_FEATURES_MONTHS", 12))
    )
    parser.add_argument("--source", type=Path, default=None, help="ingest these files instead")
    parser.add_argument("--warehouse", type=Path, default=None, help="use this warehouse as is")
    args = parser.parse_args(argv if argv is not None else [])  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="tenure-bench-features-") as scratch:
        _measure(_prepare(args, Path(scratch)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
