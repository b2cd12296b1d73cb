"""``tenure ingest DIR``: validate and load a directory of bank extracts into the warehouse.

Personal data is pseudonymised on the way in and customers' identity sealed into the vault of
the operational store, under the key ring (``TENURE_KEYS`` or the key file, created on first use).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from tenure.bootstrap import (
    LoadedKeyRing,
    load_key_ring,
    load_settings,
    open_pii_protector,
    open_warehouse,
)
from tenure.core.errors import TenureError
from tenure.data.catalog import canonical_catalog
from tenure.data.ingest import IngestProgress, IngestReport, ingest_directory, load_mapping

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``ingest`` command to a Typer app."""
    app.command("ingest")(ingest)


def ingest(
    directory: Annotated[
        Path, typer.Argument(help="Directory of canonical CSV or Parquet files (and truth/).")
    ],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="YAML mapping of your own extract layout.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Validate and load every file in DIR as one batch; refused rows go to quarantine."""
    settings = load_settings()
    console = Console(stderr=as_json)
    try:
        parsed = load_mapping(mapping, catalog=canonical_catalog()) if mapping else None
        keys = load_key_ring(settings, create=True)
        if keys.created:
            _announce_key_file(console, keys)
        with (
            open_pii_protector(settings, keys.ring) as protector,
            open_warehouse(settings) as warehouse,
            _ProgressView(console, quiet=as_json) as view,
        ):
            report = ingest_directory(
                warehouse=warehouse,
                source_dir=directory,
                protector=protector,
                mapping=parsed,
                progress=view,
            )
    except TenureError as exc:
        console.print(f"[red]ingest failed[/red]: {exc.message}")
        raise typer.Exit(code=2) from exc
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        _render(console, report, settings.warehouse_path)


def _announce_key_file(console: Console, keys: LoadedKeyRing) -> None:
    console.print(
        f"[yellow]created the key ring[/yellow] {keys.source} (mode 0600): it protects customers' "
        "personal data. Back it up somewhere safe and apart from the data; without it the "
        "identity vault cannot be read. See `tenure keys --help`.",
        highlight=False,
    )


class _ProgressView:
    """Rich progress: one bar per file, advancing through hashing, validating, loading."""

    def __init__(self, console: Console, *, quiet: bool) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            TextColumn("{task.fields[step]:<13}"),
            TimeElapsedColumn(),
            console=console,
            disable=quiet,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> _ProgressView:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, event: IngestProgress) -> None:
        task = self._tasks.get(event.source_file)
        if task is None:
            task = self._progress.add_task(event.table, total=event.total, step=event.step)
            self._tasks[event.source_file] = task
        self._progress.update(task, completed=event.completed, step=event.step)


def _render(console: Console, report: IngestReport, warehouse: Path) -> None:
    table = RichTable(title=f"ingest batch {report.batch_id}")
    for name, justify in (("table", "left"), ("file", "left"), ("rows in", "right"),
                          ("loaded", "right"), ("quarantined", "right")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in report.tables:
        if row.status.value == "not_present":
            continue
        file = row.source_file or ""
        if row.status.value == "already_loaded":
            file += " (already loaded, skipped)"
        table.add_row(
            row.table, file, f"{row.rows_in:,}", f"{row.loaded:,}", f"{row.quarantined:,}"
        )
    table.add_row(
        "total", "", f"{report.rows_in:,}", f"{report.loaded:,}", f"{report.quarantined:,}"
    )
    console.print(table)
    absent = [t.table for t in report.tables if t.status.value == "not_present"]
    if absent:
        console.print(f"not present: {', '.join(absent)}")
    if report.unknown_files:
        console.print(
            f"[yellow]not loaded (no such table)[/yellow]: {', '.join(report.unknown_files)}"
        )
    for row in report.tables:
        for example in row.examples:
            console.print(
                f"  [yellow]{row.table}[/yellow] {row.source_file} {example}", markup=True
            )
    if report.quarantined:
        console.print(f"Refused rows are in the quarantine table of {warehouse}:")
        console.print(f"  {report.quarantine_sql}", markup=False, highlight=False, soft_wrap=True)
