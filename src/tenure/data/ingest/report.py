"""What an ingest did: per table, rows in, rows loaded, rows quarantined, and example reasons."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tenure.data.ingest.quarantine import quarantine_query

__all__ = ["IngestProgress", "IngestReport", "TableReport", "TableStatus"]


class TableStatus(StrEnum):
    """What happened to a declared table in one batch."""

    LOADED = "loaded"
    NOT_PRESENT = "not_present"
    ALREADY_LOADED = "already_loaded"


@dataclass(frozen=True, slots=True)
class TableReport:
    """One table's outcome; ``rows_in == loaded + quarantined`` always holds."""

    table: str
    status: TableStatus
    source_file: str | None = None
    rows_in: int = 0
    loaded: int = 0
    quarantined: int = 0
    examples: tuple[str, ...] = ()
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.rows_in != self.loaded + self.quarantined:
            raise AssertionError(
                f"{self.table}: rows_in {self.rows_in} != loaded {self.loaded} "
                f"+ quarantined {self.quarantined}"
            )

    def to_json(self) -> dict[str, Any]:
        """The JSON form printed by ``tenure ingest --json``."""
        return {
            "rows_in": self.rows_in,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "status": self.status.value,
            "file": self.source_file,
        }


@dataclass(frozen=True, slots=True)
class IngestReport:
    """One batch: its id, every declared table's outcome, and files that matched no table."""

    batch_id: str
    source_dir: str
    tables: tuple[TableReport, ...]
    unknown_files: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def rows_in(self) -> int:
        """Rows read across every file."""
        return sum(t.rows_in for t in self.tables)

    @property
    def loaded(self) -> int:
        """Rows accepted into the warehouse."""
        return sum(t.loaded for t in self.tables)

    @property
    def quarantined(self) -> int:
        """Rows refused and kept in the quarantine table."""
        return sum(t.quarantined for t in self.tables)

    @property
    def quarantine_sql(self) -> str:
        """The query that lists this batch's refused rows."""
        return quarantine_query(self.batch_id)

    def table(self, name: str) -> TableReport:
        """The outcome of one table."""
        for report in self.tables:
            if report.table == name:
                return report
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """``{"batch_id": ..., "tables": {name: {"rows_in", "loaded", "quarantined", ...}}}``."""
        return {
            "batch_id": self.batch_id,
            "tables": {t.table: t.to_json() for t in self.tables},
            "totals": {
                "rows_in": self.rows_in,
                "loaded": self.loaded,
                "quarantined": self.quarantined,
            },
            "unknown_files": list(self.unknown_files),
            "quarantine_sql": self.quarantine_sql,
        }


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """A step of a long load, for progress bars: ``completed`` of ``total`` steps of one file."""

    table: str
    source_file: str
    step: str
    completed: int
    total: int
