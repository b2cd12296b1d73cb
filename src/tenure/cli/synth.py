"""``tenure synth``: generate a realistic simulated bank (inputs, labels and truth) on disk."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tenure.data.simulator import SimulationConfig, SynthesisSummary, synthesize
from tenure.data.simulator.config import CHURN_DEFINITIONS, FORMATS

__all__ = ["register"]

HELP = """Generate a simulated bank: customers, accounts, payees, transactions, logins, profile
changes, service contacts, surveys, consents, campaigns, offers and contacts, one file per table in
OUT, plus the labels (fraud_labels, churn_labels) and simulator truth in OUT/truth.

The same options always produce byte-identical files, so a seed names a data set.

Example: 10,000 customers over one year, churn labelled as 90 days without activity:

    tenure synth --customers 10000 --months 12 --seed 7 --out ./bank --churn-definition dormancy_90d
"""


def _summary_table(summary: SynthesisSummary) -> Table:
    table = Table(
        title=f"Wrote {sum(summary.rows.values()):,} rows in {summary.elapsed_seconds:.1f} s"
    )
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("file")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}", str(summary.files[name]))
    return table


def synth(
    out: Annotated[Path, typer.Option(help="Folder to write the files into (created if missing).")],
    customers: Annotated[int, typer.Option(min=1, help="How many customers to simulate.")] = 10_000,
    months: Annotated[
        int, typer.Option(min=1, max=120, help="Length of the simulated window in months.")
    ] = 12,
    seed: Annotated[
        int, typer.Option(min=0, help="Random seed; the same seed gives the same files.")
    ] = 0,
    fmt: Annotated[str, typer.Option("--format", help="File format: csv or parquet.")] = "csv",
    start: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="First day of the window (UTC).")
    ] = datetime(2025, 1, 1),
    churn_definition: Annotated[
        str,
        typer.Option(
            help="How churn_labels count a customer as churned: closure (relationship closed), "
            "dormancy_90d (90 days without a customer-initiated transaction) or balance_flight_80 "
            "(deposits fall 80 % below their 3-month average)."
        ),
    ] = "closure",
    corporate_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of corporate clients.")
    ] = 0.05,
    chunk_size: Annotated[
        int, typer.Option(min=1, help="Customers simulated together (memory vs speed).")
    ] = 50_000,
) -> None:
    """Generate a simulated bank (see the description above)."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}", param_hint="--format")
    if churn_definition not in CHURN_DEFINITIONS:
        raise typer.BadParameter(
            f"must be one of {', '.join(CHURN_DEFINITIONS)}", param_hint="--churn-definition"
        )
    config = SimulationConfig(
        customers=customers,
        months=months,
        seed=seed,
        start=date(start.year, start.month, start.day),
        churn_definition=churn_definition,
        corporate_share=corporate_share,
        chunk_size=chunk_size,
        fmt=fmt,
    )
    console = Console()
    columns = (
        TextColumn("simulating customers"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("synth", total=customers)
        summary = synthesize(config, out, progress=lambda done: bar.advance(task, done))
    console.print(_summary_table(summary))


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command to ``app``."""
    app.command("synth", help=HELP)(synth)
