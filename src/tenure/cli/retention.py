"""``tenure retention ...``: train the churn early-warning model, score customers with reasons."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table as RichTable

from tenure.adapters.duckdb.decision_export import export_decisions
from tenure.adapters.sql.identity import SqlVaultMembership
from tenure.bootstrap import (
    load_settings,
    open_model_registry,
    open_privacy_services,
    open_warehouse,
)
from tenure.cli import retention_report
from tenure.cli.common import cli_actor
from tenure.core.clock import SystemClock
from tenure.core.errors import TenureError
from tenure.privacy.consent import Purpose
from tenure.retention.churn import Progress as StepCallback
from tenure.retention.churn_scoring import REASONS_LIMIT
from tenure.retention.labels import CHURN_DEFINITIONS, data_window
from tenure.retention.metrics import METRIC_LABELS
from tenure.retention.reasons import money
from tenure.retention.registry import ModelRegistry
from tenure.retention.scoring import ScoringRun, score_customers
from tenure.retention.training import RetentionModels, train_retention_models

__all__ = ["register"]

_TRAIN_EXAMPLES = """Examples:

  tenure retention train

  tenure retention train --definition dormancy_90d --horizon-days 60

  tenure retention train --validation-from 2025-09-01 --seed 7
"""
_SCORE_EXAMPLES = """Examples:

  tenure retention score

  tenure retention score --as-of 2025-10-01
"""


def register(app: typer.Typer) -> None:
    """Add the ``retention`` command group to a Typer app."""
    group = typer.Typer(
        help="Churn early warning: train a model on your warehouse, then list who may leave "
        "and why.",
        no_args_is_help=True,
    )
    group.command("train", epilog=_TRAIN_EXAMPLES)(train)
    group.command("score", epilog=_SCORE_EXAMPLES)(score)
    retention_report.register(group)
    app.add_typer(group, name="retention")


def _date(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{text!r} is not a date like 2025-10-01", param_hint=option
        ) from exc


@contextmanager
def _progress(console: Console) -> Iterator[StepCallback]:
    bars = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def advance(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bars.add_task(step, total=total)
        bars.update(tasks[step], completed=done, total=total)

    with bars:
        yield advance


def _fail(console: Console, what: str, exc: TenureError) -> typer.Exit:
    console.print(f"[red]{what} failed[/red]: {exc.message}", highlight=False)
    return typer.Exit(code=2)


def train(
    definition: Annotated[
        str,
        typer.Option(
            "--definition",
            help="What counts as churn: closure (relationship closed), dormancy_90d (90 days "
            "without a customer-initiated transaction) or balance_flight_80 (deposits fall 80 % "
            "below their 3-month average).",
        ),
    ] = "closure",
    horizon_days: Annotated[
        int,
        typer.Option("--horizon-days", min=7, max=365, help="Predict churn this many days ahead."),
    ] = 90,
    validation_from: Annotated[
        str | None,
        typer.Option(
            "--validation-from",
            help="First snapshot date (YYYY-MM-DD) kept for validation; earlier ones train. "
            "Default: the last one or two month starts.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the model.")] = 0,
) -> None:
    """Train the churn model on month-start snapshots, validate on later ones, and register it.

    Training snapshots only use outcomes that happened before validation starts, so the
    reported figures are what to expect on future months. The customer segments and the
    time-to-churn model are fitted on the latest training snapshot and registered with it.
    """
    console = Console()
    if definition not in CHURN_DEFINITIONS:
        raise typer.BadParameter(
            f"use one of {', '.join(CHURN_DEFINITIONS)}", param_hint="--definition"
        )
    settings = load_settings()
    try:
        with (
            open_model_registry(settings, actor=cli_actor()) as registry,
            open_warehouse(settings) as warehouse,
            _progress(console) as step,
        ):
            trained = train_retention_models(
                warehouse=warehouse,
                registry=registry,
                definition=definition,
                horizon_days=horizon_days,
                validation_from=_date(validation_from, "--validation-from"),
                seed=seed,
                progress=step,
            )
    except TenureError as exc:
        raise _fail(console, "training", exc) from exc
    _render_training(console, trained, registry)


def _render_training(console: Console, models: RetentionModels, registry: ModelRegistry) -> None:
    trained = models.churn
    manifest = trained.manifest
    table = RichTable(title=f"churn model {manifest.version} ({manifest.definition}, "
                      f"{manifest.horizon_days} days ahead), validation snapshots")  # fmt: skip
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label in METRIC_LABELS.items():
        table.add_row(label, f"{trained.metrics[key]:.4f}")
    console.print(table)
    record = manifest.training
    console.print(
        f"trained on {', '.join(s[:10] for s in record['training_snapshots'])} "
        f"({record['rows_train']:,} rows, {record['churners_train']:,} churners); validated on "
        f"{', '.join(s[:10] for s in record['validation_snapshots'])} "
        f"({record['rows_validation']:,} rows, {record['churners_validation']:,} churners)",
        highlight=False,
    )
    if record["dropped_snapshots"]:
        console.print(
            "left out (their outcome window overlaps validation): "
            + ", ".join(s[:10] for s in record["dropped_snapshots"]),
            highlight=False,
        )
    folder = registry.root / manifest.name / manifest.version
    console.print(f"registered {manifest.name} {manifest.version} in {folder}", highlight=False)
    segments, survival = models.segments, models.survival
    console.print(
        f"segments: {models.segment_count} (silhouette {models.silhouette:.3f}), registered "
        f"{segments.name} {segments.version}; time to churn ({survival.extra['family']}): "
        f"holdout concordance {models.concordance:.3f} on "
        f"{survival.training['rows_holdout']:,} customers, registered {survival.name} "
        f"{survival.version}",
        highlight=False,
    )


def score(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Score as of this date (YYYY-MM-DD), from data before it. Default: the day "
            "after the latest transaction in the warehouse.",
        ),
    ] = None,
    version: Annotated[
        str, typer.Option("--version", help="Model version to use, e.g. v0002.")
    ] = "latest",
    reasons_limit: Annotated[
        int,
        typer.Option(
            "--reasons-for",
            min=0,
            help="Explain this many customers, riskiest first (exact model contributions cost "
            "about 3.5 ms a customer); the others get no reasons.",
        ),
    ] = REASONS_LIMIT,
) -> None:
    """Score every open customer: churn probability, risk band, three reasons, drift check,
    tiers, segment, 12-month value and value at risk, time to churn and next month's flows.

    Results go to the warehouse tables customer_retention and churn_scores (one row per
    customer) and scoring_runs; scoring the same date again replaces its rows. Customers who
    withdrew their profiling consent (their last word on it, in the consent ledger, as of the
    scoring date) and customers whose identity was erased are left out. New protection decisions
    are copied into the warehouse first, so the friction each customer met counts.
    """
    console = Console()
    settings = load_settings()
    registry = ModelRegistry(settings.models_dir)
    try:
        with open_warehouse(settings) as warehouse, _progress(console) as step:
            moment = _date(as_of, "--as-of") or data_window(warehouse).end
            with open_privacy_services(settings, clock=SystemClock()) as privacy:
                refused = privacy.ledger.withdrawn(Purpose.PROFILING, moment)
                erased = SqlVaultMembership(privacy.engine).erased()
                # the friction features count the protection decisions the warehouse holds
                export_decisions(privacy.engine, warehouse)
            run = score_customers(
                warehouse=warehouse,
                registry=registry,
                as_of=moment,
                version=version,
                progress=step,
                reasons_limit=reasons_limit,
                exclude=refused | erased,
            )
    except TenureError as exc:
        raise _fail(console, "scoring", exc) from exc
    _render_scoring(console, run, str(settings.warehouse_path))


def _render_scoring(console: Console, run: ScoringRun, where: str) -> None:
    console.print(f"scored {run.customers:,} customers as of {run.as_of:%Y-%m-%d} with "
                  f"{run.model_name} {run.model_version}", highlight=False)  # fmt: skip
    if run.excluded:
        console.print(f"left out {run.excluded:,} customers who refused profiling or were erased",
                      highlight=False)  # fmt: skip
    bands = RichTable(title="customers by risk band")
    bands.add_column("band")
    bands.add_column("customers", justify="right")
    for band, count in run.bands.items():
        bands.add_row(band, f"{count:,}")
    console.print(bands)
    reasons = RichTable(title="most frequent first reason")
    reasons.add_column("feature")
    reasons.add_column("customers", justify="right")
    for feature, count in run.top_reasons:
        reasons.add_row(feature, f"{count:,}")
    console.print(reasons)
    counts = run.drift["status"].value_counts()
    console.print(
        f"drift (PSI against training): {int(counts.get('ok', 0))} ok, "
        f"{int(counts.get('watch', 0))} watch, {int(counts.get('drift', 0))} drift",
        highlight=False,
    )
    if run.drifting:
        console.print("features in drift: " + ", ".join(run.drifting), highlight=False)
    segments = ", ".join(f"{name} {count:,}" for name, count in run.segments.items())
    console.print(f"segments: {segments}", highlight=False)
    console.print(f"value at risk: {money(run.value_at_risk_minor)}", highlight=False)
    console.print(
        f"scores are in tables {run.retention_table} and {run.table} of {where}", highlight=False
    )
