"""Benchmark the bank simulator: customers/s, transactions/s, elapsed time and peak memory.

Usage: ``python bench/bench_synth.py [customers] [months]`` (or ``TENURE_BENCH_CUSTOMERS`` /
``TENURE_BENCH_MONTHS``); the default is 1,000,000 customers over 12 months, written as CSV into a
temporary folder that is removed afterwards (``TENURE_BENCH_OUT`` keeps the files there instead).
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
from pathlib import Path

from tenure.data.simulator import SimulationConfig, SynthesisSummary, synthesize

DEFAULT_CUSTOMERS = 1_000_000
DEFAULT_MONTHS = 12


def _setting(position: int, name: str, default: int) -> int:
    if len(sys.argv) > position:
        return int(sys.argv[position])
    return int(os.environ.get(name, default))


def _report(config: SimulationConfig, summary: SynthesisSummary) -> None:
    elapsed = summary.elapsed_seconds
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"customers        {config.customers:>14,}  x {config.months} months ({config.fmt})")
    print(f"elapsed          {elapsed:>14.1f} s")
    print(f"customers/s      {config.customers / elapsed:>14,.0f}")
    print(f"transactions/s   {summary.transactions / elapsed:>14,.0f}")
    print(f"peak RSS         {peak_gb:>14.2f} GB")
    for name, rows in summary.rows.items():
        print(f"  {name:<16}{rows:>14,}")


def main() -> None:
    """Run the simulator at the configured size and print throughput, memory and rows per table."""
    config = SimulationConfig(
        customers=_setting(1, "TENURE_BENCH_CUSTOMERS", DEFAULT_CUSTOMERS),
        months=_setting(2, "TENURE_BENCH_MONTHS", DEFAULT_MONTHS),
        seed=int(os.environ.get("TENURE_BENCH_SEED", "0")),
        fmt="parquet" if os.environ.get("TENURE_BENCH_FORMAT") == "parquet" else "csv",
    )
    kept = os.environ.get("TENURE_BENCH_OUT")
    if kept:
        _report(config, synthesize(config, Path(kept)))
        return
    with tempfile.TemporaryDirectory(prefix="tenure-bench-") as folder:
        _report(config, synthesize(config, Path(folder)))


if __name__ == "__main__":
    main()
