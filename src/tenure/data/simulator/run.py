"""Run a whole simulation: chunks generated in order, written by a background writer."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from tenure.data.simulator.campaigns import draw_campaigns
from tenure.data.simulator.chunk import simulate_chunk
from tenure.data.simulator.config import SimulationConfig
from tenure.data.simulator.output import chunk_tables
from tenure.data.simulator.relationship_tables import campaign_tables
from tenure.data.simulator.writer import TableFiles, table_path

__all__ = ["SynthesisSummary", "synthesize"]


@dataclass(frozen=True, slots=True)
class SynthesisSummary:
    """What a run wrote: rows per table, the files, and how long it took."""

    rows: dict[str, int]
    files: dict[str, Path]
    elapsed_seconds: float

    @property
    def transactions(self) -> int:
        """Rows written to ``transactions``."""
        return self.rows.get("transactions", 0)


def _write_all(
    files: TableFiles,
    pending: queue.Queue[dict[str, pa.Table] | None],
    failures: list[BaseException],
) -> None:
    while (tables := pending.get()) is not None:
        if not failures:
            try:
                files.write(tables)
            except BaseException as error:  # handed to the caller's thread
                failures.append(error)


def synthesize(
    config: SimulationConfig, out: Path, *, progress: Callable[[int], None] | None = None
) -> SynthesisSummary:
    """Simulate the bank described by ``config`` and write every table under ``out``."""
    began = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    campaigns = draw_campaigns(config)
    pending: queue.Queue[dict[str, pa.Table] | None] = queue.Queue(maxsize=1)
    failures: list[BaseException] = []
    with TableFiles(out, config.fmt) as files:
        writer = threading.Thread(target=_write_all, args=(files, pending, failures), daemon=True)
        writer.start()
        try:
            pending.put(campaign_tables(campaigns))
            for chunk in range(config.chunk_count):
                result = simulate_chunk(config, chunk, campaigns)
                pending.put(chunk_tables(config, result))
                if failures:
                    break
                if progress is not None:
                    progress(result.people.size)
        finally:
            pending.put(None)
            writer.join()
    if failures:
        raise failures[0]
    files_written = {name: table_path(out, name, config.fmt) for name in files.rows}
    return SynthesisSummary(dict(files.rows), files_written, time.perf_counter() - began)
