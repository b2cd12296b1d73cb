"""What ingest needs from a warehouse, as a port; the DuckDB adapter implements it.

The SQL ingest writes is DuckDB's dialect (``read_csv``, ``TRY_CAST``, ``try_strptime``); the port
keeps the service free of driver imports and lets tests wrap the real warehouse to inject faults.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from tenure.core.errors import TenureError
from tenure.data.schema import Catalog

__all__ = ["QueryFailed", "Warehouse"]


class QueryFailed(TenureError):
    """The warehouse refused a statement.

    The message is the driver's and may quote a value, so row-level failures are re-raised by the
    loader with a message of its own.
    """

    code = "query_failed"


class Warehouse(Protocol):
    """A SQL warehouse holding the catalogue's tables plus the ingest bookkeeping tables."""

    @property
    def catalog(self) -> Catalog: ...

    def execute(self, sql: str, params: Sequence[object] = ()) -> int: ...

    def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    def materialize(self, name: str, query: str) -> None: ...

    def drop_scratch(self, name: str) -> None: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def table_counts(self) -> dict[str, int]: ...
