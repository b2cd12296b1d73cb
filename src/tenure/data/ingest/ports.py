"""What ingest needs from a warehouse, as a port; the DuckDB adapter implements it.

The SQL ingest writes is DuckDB's dialect (``read_csv``, ``TRY_CAST``, ``try_strptime``); the port
keeps the service free of driver imports and lets tests wrap the real warehouse to inject faults.
Ingest registers text functions (:data:`TextFunction`) for the length of a load, so that personal
data is pseudonymised inside the validating query, before any row is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from tenure.core.errors import TenureError
from tenure.data.schema import Catalog

__all__ = ["QueryFailed", "TextFunction", "Warehouse"]

TextFunction = Callable[[Sequence[str | None]], Sequence[str | None]]
"""A SQL function ``name(VARCHAR) -> VARCHAR`` in Python, called with a batch of values.

The warehouse may call it with each distinct value of a batch once and spread the results, so
it must give one output per input and the same output for the same input within a call.
"""


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

    def stream(
        self, sql: str, params: Sequence[object] = (), *, batch_rows: int = ...
    ) -> Iterator[list[tuple[Any, ...]]]: ...

    def register_text_function(self, name: str, function: TextFunction) -> None: ...

    def remove_function(self, name: str) -> None: ...
