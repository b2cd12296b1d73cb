"""``tenure privacy retention``: purge or anonymise data past its retention period.

Without ``--dry-run`` the schedule is applied table by table, each table in one transaction with
its audit entry; ``--dry-run`` only counts. ``--show`` prints the schedule itself.
Exit codes: 0 done, 2 could not run (a bad schedule file, a store that cannot be opened).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from tenure.cli.common import cli_actor
from tenure.core.clock import SystemClock
from tenure.core.errors import TenureError, ValidationError
from tenure.privacy.retention_schedule import (
    DEFAULT_SCHEDULE,
    NOT_SCHEDULED,
    RetentionAction,
    RetentionSchedule,
    RuleOutcome,
    parse_schedule,
    run_retention,
    schedule_document,
)

__all__ = ["register"]

_EXIT_ERROR = 2

# Paragraphs are single lines: Typer's help keeps line breaks, so the terminal wraps them instead.
_RETENTION_HELP = (
    "Purge or anonymise data past its retention period, table by table.\n\n"
    "Each table has a period (e.g. 3 years), the date column it is measured on, an action and "
    "its legal reason. Rows older than the cutoff (the as-of date minus the period) are deleted "
    "(purge) or have their free text and identifiers cleared (anonymise), the rest of the row "
    "kept for statistics. Every applied table is written to the audit trail (retention.purge / "
    "retention.anonymise, with the rows and the cutoff), in the same step as the change.\n\n"
    "Start with --show to read the schedule, then --dry-run to see what would go."
)

_RETENTION_EPILOG = (
    "The default schedule covers the warehouse (transactions 5 years for anti-money-laundering "
    "record keeping, logins 3 years, complaint texts anonymised after 3 years, quarantined raw "
    "rows 90 days, ...) and the operational store (decisions and alerts 5 years, step-up "
    "challenges, the message outbox, expired snoozes and list entries). Customers, accounts, "
    "consents and the audit trail are never purged by age.\n\n"
    "A schedule file (YAML or JSON) changes tables of the default:\n\n"
    "  tables:\n\n"
    "    digital_events: {keep: 2 years}\n\n"
    "    contacts: {keep: forever}\n\n"
    "    interactions: {keep: 5 years, action: anonymise, columns: {text: redact}}\n\n"
    "Examples:\n\n"
    "  tenure privacy retention --show\n\n"
    "  tenure privacy retention --dry-run\n\n"
    "  tenure privacy retention --dry-run --as-of 2025-12-31 --json\n\n"
    "  tenure privacy retention --schedule retention.yaml --actor dpo-monthly-run"
)


def _as_of(text: str | None) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO timestamp with an offset; now when absent."""
    if text is None:
        return SystemClock().now()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError("--as-of is a date, YYYY-MM-DD", field="as_of") from None
    if parsed.tzinfo is None:
        raise ValidationError("--as-of needs a UTC offset when it has a time", field="as_of")
    return parsed.astimezone(UTC)


def _schedule(path: Path | None) -> RetentionSchedule:
    if path is None:
        return DEFAULT_SCHEDULE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read the schedule file {path}", field="schedule") from exc
    return parse_schedule(text)


def _show(schedule: RetentionSchedule, console: Console, *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(schedule_document(schedule), indent=2, ensure_ascii=False))
        return
    table = RichTable(title="Retention schedule")
    table.add_column("table", no_wrap=True)
    for column in ("store", "keep", "measured on", "action"):
        table.add_column(column, overflow="fold")
    for rule in schedule.rules:
        cleared = ", ".join(f"{c}: {s.value}" for c, s in rule.columns.items())
        action = f"{rule.action.value} ({cleared})" if cleared else rule.action.value
        table.add_row(rule.table, rule.store.value, str(rule.period), rule.measured_on, action)
    console.print(table)
    console.print("Why each table is kept this long:")
    for rule in schedule.rules:
        console.print(f"  {rule.table}: {rule.basis}", highlight=False)
    console.print("Not scheduled, on purpose:")
    for name, why in NOT_SCHEDULED.items():
        console.print(f"  {name}: {why}", highlight=False)


def _run(
    schedule: RetentionSchedule, *, as_of: datetime, actor: str, dry_run: bool
) -> list[RuleOutcome]:
    from tenure.bootstrap import load_settings, open_retention_stores

    console = Console(stderr=True)
    bar = Progress(
        TextColumn("counting" if dry_run else "applying"),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    clock = SystemClock()
    with open_retention_stores(load_settings(), dry_run=dry_run) as stores, bar:
        task = bar.add_task("", total=len(schedule.rules))

        def advance(outcome: RuleOutcome) -> None:
            bar.update(task, advance=1, description=outcome.rule.table)

        return run_retention(
            schedule, stores, as_of=as_of, actor=actor, dry_run=dry_run, at=clock.now,
            progress=advance,
        )  # fmt: skip


def _report(outcomes: list[RuleOutcome], console: Console, *, dry_run: bool) -> None:
    verb = "would be" if dry_run else "were"
    table = RichTable(title="Retention run" + (" (dry run: nothing changed)" if dry_run else ""))
    table.add_column("table", no_wrap=True)
    for column in ("period", "cutoff", "action"):
        table.add_column(column)
    table.add_column(f"rows that {verb} affected", justify="right")
    for outcome in outcomes:
        rows = "no warehouse" if outcome.store_missing else f"{outcome.rows:,}"
        table.add_row(
            outcome.rule.table, str(outcome.rule.period), outcome.cutoff.date().isoformat(),
            outcome.rule.action.value, rows,
        )  # fmt: skip
    console.print(table)
    purged = sum(o.rows for o in outcomes if o.rule.action is RetentionAction.PURGE)
    anonymised = sum(o.rows for o in outcomes if o.rule.action is RetentionAction.ANONYMISE)
    console.print(f"{purged:,} rows {verb} purged and {anonymised:,} anonymised.", highlight=False)
    if dry_run:
        console.print("Run again without --dry-run to apply.")
    else:
        console.print("Each table's run is in the audit trail (`tenure audit verify`).")


def retention_command(
    schedule_file: Annotated[
        Path | None,
        typer.Option(
            "--schedule",
            metavar="FILE",
            help="A YAML or JSON file that changes the default schedule, table by table.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; change nothing.")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="DATE",
            help="Measure periods back from this date (YYYY-MM-DD, UTC); default now.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    show: Annotated[
        bool, typer.Option("--show", help="Print the schedule (periods, actions, reasons).")
    ] = False,
    actor: Annotated[
        str | None,
        typer.Option(help="Who the audit trail names; default `cli:` and your user name."),
    ] = None,
) -> None:
    """Purge or anonymise data past its retention period (see --show, --dry-run)."""
    console = Console(stderr=as_json)
    try:
        schedule = _schedule(schedule_file)
        if show:
            _show(schedule, console, as_json=as_json)
            return
        moment = _as_of(as_of)
        outcomes = _run(schedule, as_of=moment, actor=cli_actor(actor), dry_run=dry_run)
    except TenureError as error:
        where = f" ({error.field})" if error.field else ""
        Console(stderr=True).print(f"[red]error[/red]{where}: {error.message}", highlight=False)
        raise typer.Exit(code=_EXIT_ERROR) from None
    if as_json:
        document = {
            "as_of": moment.isoformat(),
            "dry_run": dry_run,
            "tables": [outcome.to_json() for outcome in outcomes],
        }
        typer.echo(json.dumps(document, indent=2))
        return
    _report(outcomes, console, dry_run=dry_run)


def register(group: typer.Typer) -> None:
    """Add ``retention`` to ``tenure privacy``."""
    group.command("retention", help=_RETENTION_HELP, epilog=_RETENTION_EPILOG)(retention_command)
