"""``tenure protection backtest`` and ``tenure protection replay``: rules and engine on history."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
import yaml
from rich.console import Console
from rich.table import Table as RichTable

from tenure.adapters.sql import create_store_engine
from tenure.adapters.sql.rulesets import SqlListRepository, SqlRuleSetRepository
from tenure.bootstrap import load_settings, open_warehouse
from tenure.core.clock import SystemClock
from tenure.core.errors import TenureError, ValidationError
from tenure.core.rules import NO_LISTS, CompiledRuleSet, ListLookup, compile_ruleset
from tenure.data.simulator.churn import WEIGHT_FRICTION
from tenure.protection.backtest import backtest
from tenure.protection.comparison import Ledger, charge, codes_of
from tenure.protection.configuration import ProtectionConfig, load_protection_config
from tenure.protection.evaluation import detection_metrics, split_replay
from tenure.protection.history import count_events
from tenure.protection.live_replay import run_live
from tenure.protection.service import CachedLists
from tenure.protection.training import fit_scorer
from tenure.retention.book_value import value_as_of

__all__ = ["register"]

_BACKTEST_EXAMPLES = """Examples:

  tenure protection backtest examples/rules/default.yaml

  tenure protection backtest default@3 --json
"""


def register(group: typer.Typer) -> None:
    """Add ``backtest`` and ``replay`` to the protection group."""
    group.command("backtest", epilog=_BACKTEST_EXAMPLES)(backtest_command)
    group.command("replay")(replay_command)


def _load_ruleset(spec: str) -> tuple[CompiledRuleSet, ListLookup]:
    """A rule set file (YAML or JSON), or ``name@version`` from the store with its lists."""
    path = Path(spec)
    if path.exists():
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            raise ValidationError("a rule set file holds one mapping", field="ruleset")
        return compile_ruleset(document), NO_LISTS
    name, _, version = spec.partition("@")
    if not version.isdigit():
        raise ValidationError(
            f"{spec!r} is neither a file nor name@version (e.g. default@2)", field="ruleset"
        )
    settings = load_settings()
    store = create_store_engine(settings.operational_url)
    stored = SqlRuleSetRepository(store).get(name, int(version))
    if stored is None:
        raise ValidationError(f"no rule set {name} version {version} in the store", field="ruleset")
    ruleset = compile_ruleset(stored.document)
    lists = CachedLists(SqlListRepository(store), ruleset.lists, clock=SystemClock())
    return ruleset, lists


def backtest_command(
    ruleset: Annotated[
        str, typer.Argument(help="A rule set file (YAML/JSON) or name@version from the store.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Replay the warehouse's history through a rule set: alerts, precision, recall and cost.

    Nothing acts on live traffic: use this before approving a draft, then run it in shadow mode.
    The cost is billed with the action costs and exposures in force (`tenure protection config`).
    """
    from tenure.cli.protection import replay_progress

    console = Console(stderr=as_json)
    settings = load_settings()
    try:
        compiled, lists = _load_ruleset(ruleset)
        config = load_protection_config(settings.protection_config_path)
        ledger = Ledger(config.costs, WEIGHT_FRICTION, config.exposure_minor)
        with open_warehouse(settings) as warehouse:
            end = pd.Timestamp.now(tz="UTC").to_pydatetime()
            values = value_as_of(warehouse=warehouse, as_of=end)
            total = count_events(warehouse)
            with replay_progress(console, total) as advance:
                result = backtest(
                    warehouse, compiled, lists=lists, at=end, values_minor=values,
                    ledger=ledger, progress=advance,
                )  # fmt: skip
    except TenureError as exc:
        console.print(f"[red]backtest failed:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    figures = result.to_json()
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
        return
    table = RichTable(title=f"rule set {compiled.name}: {result.alerts:,} alerts in "
                      f"{result.events:,} events")  # fmt: skip
    for column in ("rule", "hits", "fraud hits", "precision"):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for stats in result.rules.values():
        precision = f"{stats.precision:.3f}" if stats.hits else "-"
        table.add_row(stats.rule_id, f"{stats.hits:,}", f"{stats.fraud_hits:,}", precision)
    console.print(table)
    console.print(
        f"precision {figures['precision']}, recall {figures['recall']} over "
        f"{result.fraud:,} fraudulent events; cost {figures['cost_total']:,} CNY "
        f"(fraud loss {figures['fraud_loss']:,}, good customers disturbed "
        f"{figures['good_customers_disturbed']:,})"
    )


def replay_command(
    evaluate_months: Annotated[
        int, typer.Option(min=1, max=12, help="Run the live engine over the last N months.")
    ] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Run the simulator's history through the live engine and report how it did.

    A fraud scorer is trained on the months before; the engine (keyed state warmed with those
    months, expected-cost policy, no rules) then decides every later event one at a time, as it
    would live. Reported: AUPRC, recall at 1 % false positives, fraud loss, good customers
    disturbed, and the engine's decisions per second. The policy decides, and the bill is
    drawn up, with the action costs and exposures in force (`tenure protection config`).
    """
    from tenure.cli.protection import replay_with_progress

    console = Console(stderr=as_json)
    settings = load_settings()
    try:
        config = load_protection_config(settings.protection_config_path)
        with open_warehouse(settings) as warehouse:
            replay = replay_with_progress(warehouse, console)
            train, _, cut = split_replay(replay, evaluate_months)
            scorer = fit_scorer(train)
            values = value_as_of(warehouse=warehouse, as_of=cut)
            started = time.perf_counter()
            decisions = run_live(
                warehouse, scorer=scorer, cut=cut, values_minor=values, config=config
            )
            seconds = time.perf_counter() - started
    except TenureError as exc:
        console.print(f"[red]replay failed:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    figures = _replay_figures(decisions, values, seconds, config)
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        console.print(f"{key.replace('_', ' ')}: {value:,}" if isinstance(value, int | float)
                      else f"{key}: {value}")  # fmt: skip


def _replay_figures(
    decisions: pd.DataFrame, values: pd.Series, seconds: float, config: ProtectionConfig
) -> dict[str, Any]:
    labels = decisions["is_fraud"].to_numpy(dtype=bool)
    detection = detection_metrics(labels, decisions["risk"].to_numpy(dtype=np.float64))
    ledger = Ledger(config.costs, WEIGHT_FRICTION, config.exposure_minor)
    worth = decisions["customer_id"].map(values).fillna(0).to_numpy(dtype=np.float64)
    bill = charge("live", codes_of(list(decisions["outcome"])), decisions, worth, ledger)
    return {
        "events": detection.events,
        "fraud_events": detection.fraud,
        "auprc": round(detection.auprc, 4),
        "recall_at_1pct_fpr": round(detection.recall_at_1pct_fpr, 4),
        "fraud_loss": round(bill.fraud_loss_minor / 100, 2),
        "good_customers_disturbed": bill.good_disturbed,
        "fraud_stopped": bill.fraud_stopped,
        "total_cost": round(bill.total_minor / 100, 2),
        "decisions_per_second": round(len(decisions) / max(seconds, 1e-9), 1),
        "outcomes": bill.outcomes,
    }
