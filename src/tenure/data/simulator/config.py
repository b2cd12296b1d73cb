"""What a simulation run is asked to produce: size, period, seed, churn definition, file format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

__all__ = ["CHURN_DEFINITIONS", "FORMATS", "ChurnDefinition", "FileFormat", "SimulationConfig"]

ChurnDefinition = Literal["closure", "dormancy_90d", "balance_flight_80"]
FileFormat = Literal["csv", "parquet"]
CHURN_DEFINITIONS: tuple[ChurnDefinition, ...] = ("closure", "dormancy_90d", "balance_flight_80")
FORMATS: tuple[FileFormat, ...] = ("csv", "parquet")


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """One simulation run; the same config always yields byte-identical files."""

    customers: int = 10_000
    months: int = 12
    seed: int = 0
    start: date = date(2025, 1, 1)
    churn_definition: ChurnDefinition = "closure"
    corporate_share: float = 0.05
    chunk_size: int = 50_000
    fmt: FileFormat = "csv"

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("customers must be at least 1")
        if not 1 <= self.months <= 120:
            raise ValueError("months must be between 1 and 120")
        if self.seed < 0:
            raise ValueError("seed must be non-negative")
        if not 0.0 <= self.corporate_share <= 1.0:
            raise ValueError("corporate_share must be between 0 and 1")
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        if self.churn_definition not in CHURN_DEFINITIONS:
            raise ValueError(f"churn_definition must be one of {CHURN_DEFINITIONS}")
        if self.fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {FORMATS}")

    @property
    def start_second(self) -> int:
        """Window start as seconds since the epoch (UTC midnight of ``start``)."""
        return int(
            datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC).timestamp()
        )

    @property
    def chunk_count(self) -> int:
        """How many customer chunks the run is split into."""
        return -(-self.customers // self.chunk_size)

    def month_bounds(self) -> list[int]:
        """Month boundaries of the window in epoch seconds (``months + 1`` values).

        Months run from the start day (capped at the 28th) of one calendar month to the next.
        """
        day = min(self.start.day, 28)
        bounds: list[int] = []
        for offset in range(self.months + 1):
            total = self.start.month - 1 + offset
            moment = datetime(self.start.year + total // 12, total % 12 + 1, day, tzinfo=UTC)
            bounds.append(int(moment.timestamp()))
        bounds[0] = self.start_second
        return bounds
