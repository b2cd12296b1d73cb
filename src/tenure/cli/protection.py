"""``tenure protection ...``: train the fraud scorer, judge it on history, benchmark the engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from tenure.adapters.duckdb.decision_export import export_decisions
from tenure.adapters.sql import create_store_engine, upgrade_to_head
from tenure.bootstrap import load_settings, open_model_registry, open_warehouse
from tenure.cli import protection_bench, protection_corporate, protection_rules
from tenure.cli.common import cli_actor
from tenure.core.errors import TenureError
from tenure.data.simulator.churn import WEIGHT_FRICTION
from tenure.protection.configuration import config_document, load_protection_config
from tenure.protection.evaluation import compare_policies
from tenure.protection.history import HistoryWarehouse, count_events
from tenure.protection.replay import Progress as ReplayProgress
from tenure.protection.replay import ReplayFrame, replay_signals
from tenure.protection.service import load_customer_values
from tenure.protection.training import fit_scorer, register_scorer
from tenure.retention.book_value import value_as_of

__all__ = ["register"]

_TRAIN_EXAMPLES = """Examples:

  tenure protection train

  tenure protection train --sample 0.3 --seed 7
"""
_COMPARE_EXAMPLES = """Examples:

  tenure protection policy-compare

  tenure protection policy-compare --evaluate-months 3 --json
"""

_CONFIG_EXAMPLES = """Examples:

  tenure protection config > protection.yaml

  tenure protection config --file my-bank.yaml
"""


def register(app: typer.Typer) -> None:
    """Add the ``protection`` command group to a Typer app."""
    group = typer.Typer(
        help="Real-time account protection: train the fraud scorer, judge policies on history, "
        "test rule sets, benchmark the engine, move corporate payments on.",
        no_args_is_help=True,
    )
    group.command("train", epilog=_TRAIN_EXAMPLES)(train)
    group.command("policy-compare", epilog=_COMPARE_EXAMPLES)(policy_compare)
    group.command("config", epilog=_CONFIG_EXAMPLES)(show_config)
    group.command("export-decisions")(export_decisions_command)
    protection_rules.register(group)
    protection_bench.register(group)
    protection_corporate.register(group)
    app.add_typer(group, name="protection")


@contextmanager
def replay_progress(console: Console, total: int) -> Iterator[ReplayProgress]:
    """A Rich bar over the events being replayed."""
    bars = Progress(
        TextColumn("replaying events"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with bars:
        task = bars.add_task("replay", total=total)
        yield lambda done: bars.advance(task, done)


def replay_with_progress(
    warehouse: HistoryWarehouse, console: Console, *, sample: float | None = None
) -> ReplayFrame:
    """Every scoreable event of the warehouse replayed through fresh state, with a progress bar."""
    total = count_events(warehouse, customer_sample=sample)
    if total == 0:
        raise TenureError(
            "the warehouse holds no events; run `tenure demo` or `tenure synth` and "
            "`tenure ingest` first"
        )
    with replay_progress(console, total) as advance:
        return replay_signals(warehouse, customer_sample=sample, progress=advance)


def train(
    sample: Annotated[
        float | None,
        typer.Option(min=0.01, max=1.0, help="Train on this share of customers (all by default)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the model (same seed, same model).")] = 0,
) -> None:
    """Train the fraud scorer on the warehouse's labelled history and register it.

    Every login, transfer, card payment, new payee and profile change is replayed in time order
    through the same keyed state and features the live engine uses; the latest quarter of events
    calibrates and validates the model. The engine picks the new version up when it next starts.
    """
    console = Console()
    settings = load_settings()
    try:
        with open_warehouse(settings) as warehouse:
            replay = replay_with_progress(warehouse, console, sample=sample)
        scorer = fit_scorer(replay, seed=seed)
        with open_model_registry(settings, actor=cli_actor()) as registry:
            trained = register_scorer(registry=registry, scorer=scorer, replay=replay, seed=seed)
    except TenureError as exc:
        console.print(f"[red]training failed:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    table = RichTable(title=f"fraud scorer {trained.manifest.version} (validation: latest quarter)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in trained.manifest.metrics.items():
        table.add_row(name, f"{value:,.4f}" if value < 1000 else f"{value:,.0f}")
    console.print(table)
    console.print(f"registered fraud {trained.manifest.version} in {settings.models_dir}")


def _retention_inputs(
    warehouse: HistoryWarehouse, cut: pd.Timestamp
) -> tuple[pd.Series, pd.Series | None]:
    values = value_as_of(warehouse=warehouse, as_of=cut.to_pydatetime())  # type: ignore[arg-type]
    known = load_customer_values(warehouse)
    churn = pd.Series({c: v.p_churn for c, v in known.items()}) if known else None
    return values, churn


def policy_compare(
    evaluate_months: Annotated[
        int, typer.Option(min=1, max=12, help="Judge the policies on the last N months.")
    ] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the model trained for the comparison.")] = 0,
) -> None:
    """Compare the expected-cost policy with the best fixed threshold on the simulator's truth.

    A fraud model is trained on the months before the judged ones; both policies then decide
    every judged event with the same fraud probabilities and are billed for fraud that got
    through, friction on good customers (and the churn it causes, valued at each customer's
    12-month value), and handling. The threshold pair is the best one found on the judged months
    themselves, so the comparison flatters the threshold policy, never the expected-cost one.
    Both decide and are billed with the action costs and exposures in force
    (`tenure protection config`).
    """
    console = Console(stderr=as_json)
    settings = load_settings()
    try:
        config = load_protection_config(settings.protection_config_path)
        with open_warehouse(settings) as warehouse:
            replay = replay_with_progress(warehouse, console)
            moments = pd.to_datetime(replay.events["occurred_at"], utc=True)
            last = moments.max()
            cut = pd.Timestamp(year=last.year, month=last.month, day=1, tz="UTC")
            cut = cut - pd.DateOffset(months=evaluate_months - 1)
            values, churn = _retention_inputs(warehouse, cut)
        result = compare_policies(
            replay=replay, values_minor=values, churn=churn, evaluate_months=evaluate_months,
            churn_per_incident=WEIGHT_FRICTION, seed=seed, params=config.costs,
            exposure_minor=config.exposure_minor,
        )  # fmt: skip
    except TenureError as exc:
        console.print(f"[red]comparison failed:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    figures = result.to_json()
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
        return
    _print_comparison(console, figures)


def _print_comparison(console: Console, figures: dict[str, Any]) -> None:
    table = RichTable(title=f"policies on events from {str(figures['judged_from'])[:10]} (CNY)")
    table.add_column("")
    table.add_column("expected cost", justify="right")
    table.add_column("best fixed threshold", justify="right")
    ec, th = figures["expected_cost"], figures["threshold"]
    for key in ("fraud_loss", "friction", "churn_caused", "handling", "total",
                "good_customers_disturbed", "fraud_stopped"):  # fmt: skip
        table.add_row(key.replace("_", " "), f"{ec[key]:,}", f"{th[key]:,}")
    console.print(table)
    console.print(
        f"expected cost / threshold = {figures['ratio']}; AUPRC {figures['auprc']}, recall at "
        f"1 % FPR {figures['recall_at_1pct_fpr']} on {figures['events']:,} events "
        f"({figures['fraud_events']} fraud); threshold: step up at "
        f"{figures['threshold_step_up_at']:.4f}, decline at {figures['threshold_decline_at']:.4f}"
    )


def show_config(
    file: Annotated[
        Path | None,
        typer.Option(
            help="Check this file instead of the one in force (TENURE_PROTECTION_CONFIG_FILE, "
            "or protection.yaml in the data directory)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of YAML.")] = False,
) -> None:
    """Print the protection numbers in force: costs of each action, what a login or new payee
    exposes, limit products and step-up rules.

    These are the defaults with the bank's file applied. Save the output as protection.yaml in
    the data directory, change what differs for your bank (keep only those lines if you like) and
    restart the API; a refused file names the field and the reason.
    """
    path = file if file is not None else load_settings().protection_config_path
    try:
        config = load_protection_config(path)
    except TenureError as error:
        Console(stderr=True).print(f"[red]{error}[/red]")
        raise typer.Exit(code=1) from error
    document = config_document(config)
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    else:
        source = str(path) if path is not None else "the defaults"
        typer.echo(f"# protection config in force: {source}")
        typer.echo(yaml.safe_dump(document, sort_keys=False).rstrip())


def export_decisions_command() -> None:
    """Copy new protection decisions from the operational store into the warehouse.

    Retention counts the friction each customer met there (step-ups, holds and declines in the
    last 30 and 90 days are churn features), so a customer pestered by one-time passwords shows it
    in their churn risk. `tenure retention score` runs this first; run it on its own before other
    warehouse work. Re-running copies nothing twice.
    """
    console = Console()
    settings = load_settings()
    try:
        upgrade_to_head(settings.operational_url)
        store = create_store_engine(settings.operational_url)
        try:
            with open_warehouse(settings) as warehouse:
                done = export_decisions(store, warehouse)
        finally:
            store.dispose()
    except TenureError as exc:
        console.print(f"[red]export failed:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    newest = "none yet" if done.newest is None else f"{done.newest:%Y-%m-%d %H:%M:%S %Z}"
    console.print(f"copied {done.copied:,} decisions; newest in the warehouse: {newest}")
