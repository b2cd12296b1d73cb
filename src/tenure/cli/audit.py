"""``tenure audit``: check that the audit trail is untouched, and print its head for anchoring.

``verify`` exits 0 when the chain is intact, 1 when it shows tampering (naming the first entry
that cannot be trusted and why), and 2 when it could not check at all (store unreachable or not
migrated, an unreadable anchor), so that a scheduler can tell "tampered" from "not run".
Both commands only read: an auditor's tool must not change the store it audits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tenure.core.errors import TenureError

if TYPE_CHECKING:
    from tenure.adapters.sql.audit import SqlAuditLog
    from tenure.privacy.audit import Anchor, ChainReport

__all__ = ["register"]

# Below this many entries a check takes well under a second: a bar would only flicker.
_PROGRESS_FROM = 10_000
_EXIT_TAMPERED = 1
_EXIT_NOT_CHECKED = 2

# Paragraphs are single lines: Typer's help keeps line breaks, so the terminal wraps them instead.
_HELP = (
    "Check and anchor the tamper-evident audit trail.\n\n"
    "Every administrative step and every sign-in (successful or not) is written to the audit "
    "trail in the operational store. Each entry carries a SHA-256 hash of its own content and of "
    "the entry before it, so changing, deleting, inserting or reordering any entry, or cutting "
    "entries off the end, breaks the chain, and `tenure audit verify` says where."
)

_VERIFY_EPILOG = (
    "Exit codes: 0 intact; 1 tampered (the first entry that cannot be trusted is named, with the "
    "reason; the entries before it are sound); 2 the check could not run.\n\n"
    "Examples:\n\n"
    "  tenure audit verify\n\n"
    "  tenure audit verify --anchor audit-head-2025-03-01.json\n\n"
    "  tenure audit verify --anchor HASH   (a hash copied from an earlier `tenure audit head`)"
)

_HEAD_EPILOG = (
    "The head is the number (seq) and hash of the newest entry. Keep a copy somewhere the "
    "database's administrators cannot change (a write-once bucket, a ticket, an email to "
    "compliance), for example daily. Someone able to rewrite the whole trail could make it "
    "verify on its own; they cannot make it match a head you kept, which "
    "`tenure audit verify --anchor FILE` checks.\n\n"
    "Examples:\n\n"
    "  tenure audit head\n\n"
    "  tenure audit head --json > audit-head-$(date +%F).json"
)


@contextmanager
def _audit_log() -> Iterator[SqlAuditLog]:
    """The audit trail of the configured store, read-only; the engine is disposed afterwards."""
    from tenure.adapters.sql import check_schema, create_store_engine
    from tenure.adapters.sql.audit import SqlAuditLog
    from tenure.bootstrap import load_settings

    engine = create_store_engine(load_settings().operational_url)
    try:
        check_schema(engine)
        yield SqlAuditLog(engine)
    finally:
        engine.dispose()


def _not_checked(error: TenureError) -> typer.Exit:
    where = f" ({error.field})" if error.field else ""
    typer.echo(f"error{where}: {error.message}", err=True)
    return typer.Exit(code=_EXIT_NOT_CHECKED)


def _read_anchor(value: str) -> Anchor:
    """An anchor from a file (``head --json`` output, or a bare hash) or from the text itself."""
    from tenure.core.errors import ValidationError
    from tenure.privacy.audit import Anchor

    path = Path(value)
    if not path.is_file():
        return Anchor.parse(value)
    try:
        return Anchor.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("the anchor file cannot be read", field="anchor") from exc


def _verify_with_progress(log: SqlAuditLog, anchor: Anchor | None) -> ChainReport:
    console = Console(stderr=True)
    head = log.head()
    total = 0 if head is None else head.seq
    bar = Progress(
        TextColumn("verifying the audit trail"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=total < _PROGRESS_FROM or not console.is_terminal,
    )
    with bar:
        task = bar.add_task("verify", total=total)
        return log.verify(anchor, progress=lambda done: bar.update(task, completed=done))


def verify_command(
    anchor: Annotated[
        str | None,
        typer.Option(
            "--anchor",
            metavar="HASH_OR_FILE",
            help="A head kept earlier: the file `tenure audit head --json` wrote, or its hash. "
            "The trail must still contain that entry unchanged.",
        ),
    ] = None,
) -> None:
    """Check every entry of the audit trail, in order, and say whether it is intact."""
    try:
        parsed = None if anchor is None else _read_anchor(anchor)
        with _audit_log() as log:
            report = _verify_with_progress(log, parsed)
    except TenureError as error:
        raise _not_checked(error) from None
    if report.intact:
        typer.echo(report.summary())
        return
    typer.echo(f"TAMPERED - {report.summary()}")
    typer.echo(f"{report.checked} entries before it verified (up to seq {report.head.seq}).")
    raise typer.Exit(code=_EXIT_TAMPERED)


def head_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {seq, hash, at} as JSON, to keep as an anchor.")
    ] = False,
) -> None:
    """Print the newest entry's seq, hash and time (the chain head), to keep as an anchor."""
    try:
        with _audit_log() as log:
            head = log.head()
    except TenureError as error:
        raise _not_checked(error) from None
    if head is None:
        typer.echo("TAMPERED - the audit trail's recorded head is missing", err=True)
        raise typer.Exit(code=_EXIT_TAMPERED)
    document = head.to_json()
    if as_json:
        typer.echo(json.dumps(document, sort_keys=True))
    else:
        typer.echo(f"seq {head.seq} hash {head.hash} at {document['at'] or 'never (empty)'}")


def register(app: typer.Typer) -> None:
    """Add ``audit`` (``verify``, ``head``) to the ``tenure`` command."""
    group = typer.Typer(help=_HELP, no_args_is_help=True)
    group.command("verify", epilog=_VERIFY_EPILOG)(verify_command)
    group.command("head", epilog=_HEAD_EPILOG)(head_command)
    app.add_typer(group, name="audit")
