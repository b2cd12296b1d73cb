"""Builder for the churn tests: a small simulated bank, synthesized and ingested (with truth/)."""

from __future__ import annotations

from pathlib import Path

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.data.ingest import ingest_directory
from tenure.data.simulator import SimulationConfig, synthesize

__all__ = ["CUSTOMERS", "MONTHS", "SEED", "build_bank"]

CUSTOMERS = 1_500
MONTHS = 9
SEED = 3


def build_bank(
    root: Path,
    *,
    definition: str = "closure",
    customers: int = CUSTOMERS,
    months: int = MONTHS,
    seed: int = SEED,
) -> Path:
    """Synthesize a bank under ``root`` and ingest it (with truth/) into a fresh warehouse file."""
    config = SimulationConfig(
        customers=customers,
        months=months,
        seed=seed,
        churn_definition=definition,  # type: ignore[arg-type]
    )
    synthesize(config, root / "bank")
    path = root / "warehouse.duckdb"
    with DuckDBWarehouse.open(path) as warehouse:
        ingest_directory(warehouse=warehouse, source_dir=root / "bank")
    return path
