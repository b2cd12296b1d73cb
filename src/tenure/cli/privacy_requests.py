"""``tenure privacy requests``: data-subject requests from receipt to answer.

``open`` logs a request the day it arrives (it is due 15 days later unless ``--due-days`` says
otherwise), ``list`` shows what is open or overdue, ``fulfil`` runs it (export, correction or
erasure), ``reject`` closes it with a reason. Each step is recorded in the audit trail.
Exit codes: 0 done, 1 ``list --overdue`` found overdue requests, 2 could not run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table as RichTable

from tenure.bootstrap import PrivacyServices, load_settings, open_privacy_services
from tenure.cli.common import cli_actor
from tenure.cli.privacy_consents import fail
from tenure.core.clock import SystemClock
from tenure.core.errors import TenureError, ValidationError
from tenure.privacy.identity import IDENTITY_FIELDS
from tenure.privacy.subject_requests import (
    DEFAULT_DUE_DAYS,
    MAX_DUE_DAYS,
    RequestKind,
    RequestStatus,
    SubjectRequest,
    request_json,
)

__all__ = ["register"]

_EXIT_OVERDUE = 1

_HELP = (
    "Data-subject requests (PIPL art. 44-47): a customer asks for a copy of their data (export), "
    "to correct their identity (correction) or to be erased (erasure).\n\n"
    f"Log each request the day it arrives: it is due {DEFAULT_DUE_DAYS} days later. Check the "
    "requester's identity before fulfilling; reject with a reason when it cannot be verified. "
    "Erasure destroys the customer's identity key (crypto-shredding), deletes profiling scores, "
    "withdraws every consent and keeps what the law requires (anti-money-laundering records, the "
    "audit trail, consent history), listing each with its legal reason. See docs/privacy.md."
)

_OPEN_EPILOG = (
    "Examples:\n\n"
    "  tenure privacy requests open C000123 --kind export --note 'letter received at branch 12'\n\n"
    "  tenure privacy requests open C000123 --kind erasure --due-days 10"
)

_LIST_EPILOG = (
    "Soonest due first. With --overdue, only open requests past their due date, and the exit "
    "code is 1 when there are any (for a daily scheduled check).\n\n"
    "Examples:\n\n"
    "  tenure privacy requests list\n\n"
    "  tenure privacy requests list --overdue\n\n"
    "  tenure privacy requests list --customer C000123 --json"
)

_FULFIL_EPILOG = (
    "Export: writes the JSON document of everything Tenure holds about the customer to --out "
    "(created with mode 0600; it holds their clear identity: hand it only to them).\n\n"
    "Correction: give each corrected identity field as --set FIELD=VALUE (fields: "
    f"{', '.join(IDENTITY_FIELDS)}; an empty VALUE clears it). Only the field names are "
    "audited. Correct the bank's source system too, or the next extract restores the old value."
    "\n\nErasure: needs nothing more; prints what was erased, deleted and kept, and why.\n\n"
    "Examples:\n\n"
    "  tenure privacy requests fulfil SR-1a2b --out export-C000123.json\n\n"
    "  tenure privacy requests fulfil SR-3c4d --set email=new@example.com\n\n"
    "  tenure privacy requests fulfil SR-5e6f"
)

_REJECT_EPILOG = (
    "Examples:\n\n  tenure privacy requests reject SR-1a2b --reason 'identity not verified'"
)

Actor = Annotated[
    str | None,
    typer.Option(help="Name recorded in the audit trail (default `cli:` and your user name)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _print(console: Console, request: SubjectRequest) -> None:
    console.print(
        f"{request.request_id}  {request.kind.value}  customer {request.customer_id}  "
        f"{request.status.value}  due {request.due_at:%Y-%m-%d %H:%M} UTC",
        highlight=False,
    )
    for item in request.outcome:
        count = "" if item.records is None else f" ({item.records})"
        reason = f": {item.legal_reason}" if item.legal_reason else ""
        console.print(f"  {item.action.value:<9} {item.what}{count}{reason}", highlight=False)


def open_command(
    customer_id: Annotated[str, typer.Argument(help="The customer's id.")],
    kind: Annotated[RequestKind, typer.Option(help="What the customer asked for.")],
    note: Annotated[str | None, typer.Option(help="How it arrived (no personal data).")] = None,
    due_days: Annotated[
        int, typer.Option(min=1, max=MAX_DUE_DAYS, help="Days until it is due.")
    ] = DEFAULT_DUE_DAYS,
    actor: Actor = None,
    as_json: AsJson = False,
) -> None:
    """Log a data-subject request received now."""
    console = Console(stderr=as_json)
    try:
        with open_privacy_services(
            load_settings(), clock=SystemClock(), due_days=due_days
        ) as services:
            request = services.requests.open(
                customer_id=customer_id, kind=kind, actor=cli_actor(actor), note=note
            )
    except TenureError as error:
        raise fail(console, error) from None
    if as_json:
        typer.echo(json.dumps(request_json(request), indent=2))
        return
    _print(console, request)


def list_command(
    status: Annotated[RequestStatus | None, typer.Option(help="Only this status.")] = None,
    customer_id: Annotated[
        str | None, typer.Option("--customer", help="Only this customer.")
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open ones past due.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: AsJson = False,
) -> None:
    """List requests, soonest due first."""
    console = Console(stderr=as_json)
    clock = SystemClock()
    try:
        with open_privacy_services(load_settings(), clock=clock) as services:
            found = services.requests.store.list(
                status=status,
                customer_id=customer_id,
                overdue_at=clock.now() if overdue else None,
                limit=limit,
            )
    except TenureError as error:
        raise fail(console, error) from None
    if as_json:
        typer.echo(json.dumps([request_json(r) for r in found], indent=2))
    else:
        table = RichTable()
        for name in ("request", "kind", "customer", "status", "received", "due", "overdue"):
            table.add_column(name)
        now = clock.now()
        for r in found:
            late = "OVERDUE" if r.overdue(now) else ""
            table.add_row(r.request_id, r.kind.value, r.customer_id, r.status.value,
                          f"{r.received_at:%Y-%m-%d}", f"{r.due_at:%Y-%m-%d}", late)  # fmt: skip
        console.print(table)
    if overdue and found:
        raise typer.Exit(code=_EXIT_OVERDUE)


def _changes(pairs: list[str]) -> dict[str, str | None]:
    changes: dict[str, str | None] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in IDENTITY_FIELDS:
            raise ValidationError(
                f"--set takes FIELD=VALUE with FIELD one of {', '.join(IDENTITY_FIELDS)}",
                field="set",
            )
        changes[name] = value or None
    return changes


def _write_private(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` to a new file only its owner can read."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValidationError(f"{path} exists; choose a new file", field="out") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)


def _fulfil(
    services: PrivacyServices, request_id: str, actor: str, changes: list[str], out: Path | None
) -> tuple[SubjectRequest, Path | None]:
    service = services.requests
    kind = service.store.get(request_id).kind
    if kind is not RequestKind.CORRECTION and changes:
        raise ValidationError("--set is for correction requests only", field="set")
    if kind is RequestKind.EXPORT:
        if out is None:
            raise ValidationError("an export needs --out FILE for the document", field="out")
        if out.exists():
            raise ValidationError(f"{out} exists; choose a new file", field="out")
        result = service.export(request_id=request_id, actor=actor, vault=services.identity_vault())
        _write_private(out, result.document)
        return result.request, out
    if kind is RequestKind.CORRECTION:
        parsed = _changes(changes)
        if not parsed:
            raise ValidationError("a correction needs --set FIELD=VALUE", field="set")
        vault = services.identity_vault()
        return service.correct(
            request_id=request_id, actor=actor, vault=vault, changes=parsed
        ), None
    return service.erase(request_id=request_id, actor=actor, vault=services.identity_vault()), None


def fulfil_command(
    request_id: Annotated[str, typer.Argument(help="The request's id (SR-...).")],
    out: Annotated[
        Path | None, typer.Option(help="Export: the new file to write the document to.")
    ] = None,
    set_fields: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="FIELD=VALUE", help="Correction: a corrected field."),
    ] = None,
    actor: Actor = None,
    as_json: AsJson = False,
) -> None:
    """Fulfil a request: export, correction or erasure, by its kind."""
    console = Console(stderr=as_json)
    try:
        with open_privacy_services(load_settings(), clock=SystemClock()) as services:
            done, written = _fulfil(services, request_id, cli_actor(actor), set_fields or [], out)
    except TenureError as error:
        raise fail(console, error) from None
    if as_json:
        typer.echo(json.dumps(request_json(done), indent=2))
        return
    _print(console, done)
    if written is not None:
        console.print(f"export written to {written} (mode 0600)", highlight=False)


def reject_command(
    request_id: Annotated[str, typer.Argument(help="The request's id (SR-...).")],
    reason: Annotated[str, typer.Option(help="Why (no personal data).")],
    actor: Actor = None,
    as_json: AsJson = False,
) -> None:
    """Close a request without fulfilling it, with the reason."""
    console = Console(stderr=as_json)
    try:
        with open_privacy_services(load_settings(), clock=SystemClock()) as services:
            done = services.requests.reject(
                request_id=request_id, actor=cli_actor(actor), reason=reason
            )
    except TenureError as error:
        raise fail(console, error) from None
    if as_json:
        typer.echo(json.dumps(request_json(done), indent=2))
        return
    _print(console, done)


def register(group: typer.Typer) -> None:
    """Add ``requests`` (``open``, ``list``, ``fulfil``, ``reject``) to ``tenure privacy``."""
    requests = typer.Typer(help=_HELP, no_args_is_help=True)
    requests.command("open", epilog=_OPEN_EPILOG)(open_command)
    requests.command("list", epilog=_LIST_EPILOG)(list_command)
    requests.command("fulfil", epilog=_FULFIL_EPILOG)(fulfil_command)
    requests.command("reject", epilog=_REJECT_EPILOG)(reject_command)
    group.add_typer(requests, name="requests")
