"""``tenure privacy consents``: load the bank's consent records, show a customer's, check one.

``import`` copies the warehouse's ``consents`` table (loaded by ``tenure ingest``) into the consent
ledger of the operational store; rows are keyed on ``consent_id``, so running it after every
ingest adds only what is new. ``check`` answers the question every campaign asks before contact.
Exit codes: 0 done (``check``: contact allowed), 1 ``check``: not allowed, 2 could not run.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.adapters.sql.consent import ConsentImportReport, import_warehouse_consents
from tenure.bootstrap import PrivacyServices, load_settings, open_privacy_services
from tenure.cli.common import cli_actor
from tenure.core.clock import SystemClock
from tenure.core.errors import NotFound, TenureError, ValidationError
from tenure.privacy.consent import Channel, Purpose
from tenure.privacy.subject_requests import consent_json

__all__ = ["fail", "register"]

_EXIT_DENIED = 1
_EXIT_ERROR = 2

_HELP = (
    "Customers' consents per purpose and channel, with their full history.\n\n"
    "Purposes: marketing, profiling, third_party_sharing. Channels: sms, email, phone, app_push. "
    "A customer may be contacted for a purpose on a channel only while their latest consent "
    "for it is 'given'; no record means no contact. Changes are appended, never overwritten, and "
    "each is recorded in the audit trail. See docs/privacy.md."
)

_IMPORT_EPILOG = (
    "Reads the warehouse's consents table (run `tenure ingest` first) and appends each row not "
    "imported before to the consent ledger. Safe to run again: rows already imported (same "
    "consent_id) are skipped, so the count of new events is 0 on a second run.\n\n"
    "Examples:\n\n"
    "  tenure privacy consents import\n\n"
    "  tenure privacy consents import --actor etl-nightly"
)

_SHOW_EPILOG = (
    "Shows, for the customer, every purpose x channel as it stands now (given or not) and the "
    "history of changes, oldest first, with where each came from (ingest, api, agent, erasure) "
    "and who recorded it.\n\n"
    "Examples:\n\n"
    "  tenure privacy consents show C000123\n\n"
    "  tenure privacy consents show C000123 --json"
)

_CHECK_EPILOG = (
    "Prints ALLOWED or DENIED and the event that decided (or that no consent was recorded). "
    "Exit code 0 when allowed, 1 when denied, so scripts can gate a contact on it.\n\n"
    "Examples:\n\n"
    "  tenure privacy consents check C000123 --purpose marketing --channel sms\n\n"
    "  tenure privacy consents check C000123 --purpose marketing --channel email "
    "--at 2025-03-01T09:00:00+08:00"
)


def fail(console: Console, error: TenureError) -> typer.Exit:
    """Print a Tenure error (no personal data in it) and exit 2."""
    where = f" ({error.field})" if error.field else ""
    console.print(f"[red]error[/red]{where}: {error.message}", highlight=False)
    return typer.Exit(code=_EXIT_ERROR)


def _import(services: PrivacyServices, actor: str, console: Console) -> ConsentImportReport:
    path = services.settings.warehouse_path
    if not path.exists():
        raise NotFound(f"no warehouse at {path}; run `tenure ingest` first", field="warehouse")
    bar = Progress(
        TextColumn("importing consents"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with DuckDBWarehouse.open(path, read_only=True) as warehouse, bar:
        task = bar.add_task("import", total=None)
        return import_warehouse_consents(
            services.ledger,
            warehouse,
            actor=actor,
            clock=services.consents.clock,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def import_command(
    actor: Annotated[
        str | None,
        typer.Option(help="Name recorded in the audit trail (default `cli:` and your user name)."),
    ] = None,
) -> None:
    """Append the warehouse's consent records to the consent ledger (new rows only)."""
    console = Console()
    who = cli_actor(actor)
    try:
        with open_privacy_services(load_settings(), clock=SystemClock()) as services:
            report = _import(services, who, console)
            services.audit.record(
                actor=who,
                action="consent.imported",
                subject="consents",
                details={"read": report.read, "added": report.added},
                at=services.consents.clock.now(),
            )
    except TenureError as error:
        raise fail(console, error) from None
    console.print(
        f"read {report.read:,} consent record(s) from the warehouse: {report.added:,} new, "
        f"{report.already_held:,} already in the ledger"
    )


def show_command(
    customer_id: Annotated[str, typer.Argument(help="The customer's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a customer's consents now and their full history."""
    console = Console(stderr=as_json)
    try:
        with open_privacy_services(load_settings(), clock=SystemClock()) as services:
            current = services.consents.current(customer_id)
            history = services.consents.history(customer_id)
    except TenureError as error:
        raise fail(console, error) from None
    if as_json:
        document = {
            "customer_id": customer_id,
            "current": [
                {"purpose": s.purpose.value, "channel": s.channel.value, "allowed": s.granted}
                for s in current
            ],
            "history": [consent_json(event) for event in history],
        }
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    table = RichTable(title=f"consents of {customer_id} now")
    for name in ("purpose", "sms", "email", "phone", "app_push"):
        table.add_column(name)
    for purpose in Purpose:
        marks = {s.channel: s.granted for s in current if s.purpose is purpose}
        table.add_row(purpose.value, *("given" if marks[c] else "-" for c in Channel))
    console.print(table)
    console.print(f"{len(history)} change(s), oldest first:")
    for event in history:
        console.print(
            f"  {event.at.isoformat()}  {event.action:<9} {event.purpose.value}/"
            f"{event.channel.value}  via {event.source.value} by {event.actor}",
            highlight=False,
        )


def check_command(
    customer_id: Annotated[str, typer.Argument(help="The customer's id.")],
    purpose: Annotated[Purpose, typer.Option(help="What the contact is for.")],
    channel: Annotated[Channel, typer.Option(help="How the customer would be contacted.")],
    at: Annotated[
        str | None, typer.Option(help="ISO time with a zone (default now).", metavar="WHEN")
    ] = None,
) -> None:
    """Say whether a customer may be contacted for a purpose on a channel."""
    console = Console()
    try:
        moment = None if at is None else datetime.fromisoformat(at)
        if moment is not None and moment.tzinfo is None:
            raise ValidationError("--at needs a time zone, e.g. +08:00", field="at")
        with open_privacy_services(load_settings(), clock=SystemClock()) as services:
            decision = services.consents.may_contact(customer_id, purpose, channel, moment)
    except ValueError:
        raise fail(console, ValidationError("--at is not an ISO time", field="at")) from None
    except TenureError as error:
        raise fail(console, error) from None
    verdict = "ALLOWED" if decision.allowed else "DENIED"
    console.print(f"{verdict}: {decision.reason}", highlight=False)
    if not decision.allowed:
        raise typer.Exit(code=_EXIT_DENIED)


def register(group: typer.Typer) -> None:
    """Add ``consents`` (``import``, ``show``, ``check``) to ``tenure privacy``."""
    consents = typer.Typer(help=_HELP, no_args_is_help=True)
    consents.command("import", epilog=_IMPORT_EPILOG)(import_command)
    consents.command("show", epilog=_SHOW_EPILOG)(show_command)
    consents.command("check", epilog=_CHECK_EPILOG)(check_command)
    group.add_typer(consents, name="consents")
