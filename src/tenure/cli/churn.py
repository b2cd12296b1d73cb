"""``tenure churn ...``: churn model commands for retention analysts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from tenure.core.errors import TenureError
from tenure.retention.benchmark import METRICS, BenchmarkResult, benchmark_csv

__all__ = ["register"]

_LABELS = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC (average precision)",
    "f1": "F1 at the fold's best threshold",
    "accuracy": "accuracy at that threshold",
    "accuracy_at_half": "accuracy at 0.5",
}
_EXAMPLE = (
    "Example (IBM Telco churn file): "
    "tenure churn benchmark --csv telco.csv --target Churn --positive Yes --drop customerID"
)


def register(app: typer.Typer) -> None:
    """Add the ``churn`` command group to a Typer app."""
    churn_app = typer.Typer(
        help="Churn models: benchmark them on your own data.", no_args_is_help=True
    )
    churn_app.command("benchmark", epilog=_EXAMPLE)(benchmark)
    app.add_typer(churn_app, name="churn")


def benchmark(
    csv: Annotated[Path, typer.Option("--csv", help="CSV file with one row per customer.")],
    target: Annotated[str, typer.Option("--target", help="Column that says who churned.")],
    positive: Annotated[
        str | None,
        typer.Option(
            "--positive",
            help="Target value meaning 'churned' (e.g. Yes). Needed unless the target is 0/1 "
            "or True/False.",
        ),
    ] = None,
    drop: Annotated[
        str,
        typer.Option("--drop", help="Comma-separated columns to leave out (IDs, names, leaks)."),
    ] = "",
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the folds and the model.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Measure how well Tenure's churn model ranks the customers in a CSV file (k-fold CV).

    Each fold learns everything (categories, gaps, number of trees) from the other folds only.

    Reports ROC-AUC, PR-AUC, and F1 and accuracy at each fold's F1-best threshold (and at 0.5).
    """
    err = Console(stderr=True)
    out = Console(stderr=as_json)
    columns = tuple(name.strip() for name in drop.split(",") if name.strip())
    try:
        with _FoldProgress(out) as advance:
            result = benchmark_csv(
                path=csv,
                target=target.strip(),
                positive=positive,
                drop=columns,
                folds=folds,
                seed=seed,
                progress=advance,
            )
    except TenureError as exc:
        err.print(f"[red]churn benchmark failed[/red]: {exc.message}", highlight=False)
        raise typer.Exit(code=2) from exc
    for warning in result.warnings:
        err.print(f"[yellow]warning[/yellow]: {warning}", highlight=False)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        _render(out, result, csv)


class _FoldProgress:
    """A Rich progress bar over the folds; yields the callback ``benchmark_csv`` calls."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("cross-validating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("folds", total=None)

    def __enter__(self) -> _FoldProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, done: int, total: int) -> None:
        self._progress.update(self._task, completed=done, total=total)


def _render(console: Console, result: BenchmarkResult, csv: Path) -> None:
    table = RichTable(title=f"churn benchmark: {csv.name}, {len(result.per_fold)}-fold CV")
    table.add_column("metric")
    table.add_column("mean ± std", justify="right")
    for name in METRICS:
        table.add_row(_LABELS[name], f"{result.mean(name):.4f} ± {result.std(name):.4f}")
    console.print(table)
    console.print(
        f"rows {result.rows:,}; churners ({result.target} = {result.positive_label!r}) "
        f"{result.positives:,} ({result.positive_rate:.1%}); "
        f"features {len(result.features)}; elapsed {result.elapsed_s:.1f} s",
        highlight=False,
    )
    if result.dropped_missing_target:
        console.print(f"rows dropped for a missing target: {result.dropped_missing_target:,}")
