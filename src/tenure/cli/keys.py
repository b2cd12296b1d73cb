"""``tenure keys``: create, rotate and inspect the key ring that protects customers' personal data.

No command prints key material: they name the key file, versions and counts. ``rotate`` writes
the new ring before it rewraps anything, so no data key is ever wrapped under a version that is
not saved yet, and an interrupted rotation is finished by running it again.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from tenure.bootstrap import KEYS_ENV, load_key_ring, load_settings, open_identity_vault
from tenure.cli.common import cli_actor
from tenure.core.clock import SystemClock
from tenure.core.errors import TenureError
from tenure.privacy.identity import RewrapReport
from tenure.privacy.keys import (
    KeyRing,
    add_key,
    generate_key_file,
    load_key_file,
    write_key_file,
)
from tenure.settings import Settings

__all__ = ["register"]

_EXIT_ERROR = 2

# Paragraphs are single lines: Typer keeps line breaks, so the terminal wraps them instead.
_HELP = (
    "Create, rotate and inspect the key ring that protects customers' personal data.\n\n"
    "The warehouse holds keyed pseudonyms instead of names, phones, e-mails and ID numbers; the "
    "clear values are kept in the identity vault of the operational store, each customer's "
    "fields encrypted under their own data key, which is stored wrapped under the ring's active "
    "master key. Lose the ring and the vault cannot be read again: back the key file up, apart "
    "from the databases.\n\n"
    f"Where the ring comes from: {KEYS_ENV} (the key file's JSON itself, e.g. injected from a "
    "secret manager) wins; otherwise the key file, TENURE_KEYS_FILE, default "
    "<TENURE_DATA_DIR>/keys.json, which must be mode 0600. `tenure ingest` and `tenure demo` "
    "create the file on first use when neither exists."
)

_INIT_EPILOG = (
    "Creates a ring with one master key (version 1, active, and pinned for pseudonyms) at "
    "TENURE_KEYS_FILE or <TENURE_DATA_DIR>/keys.json, mode 0600. Never overwrites a file.\n\n"
    f'To hand the ring to servers as a secret instead: {KEYS_ENV}="$(cat keys.json)".\n\n'
    "Examples:\n\n"
    "  tenure keys init\n\n"
    "  TENURE_KEYS_FILE=/etc/tenure/keys.json tenure keys init"
)

_ROTATE_EPILOG = (
    "Adds a master key version, makes it active, saves the ring, then rewraps every customer's "
    "data key in the vault under it (a progress bar shows the count). The encrypted fields are "
    "not touched, and pseudonyms in the warehouse do not change: they stay on the version pinned "
    "for pseudonyms. Older versions stay on the ring unless --retire removes those that no "
    "longer wrap any key (never the pinned one); quarantined lines sealed under a retired "
    "version can then no longer be opened.\n\n"
    "Run it while no `tenure ingest` is loading, then restart servers so they read the new "
    f"ring. With {KEYS_ENV} set, rotate a copy of the ring in a file (unset {KEYS_ENV}, point "
    f"TENURE_KEYS_FILE at it), then store the new file's content as {KEYS_ENV}.\n\n"
    "Examples:\n\n"
    "  tenure keys rotate\n\n"
    "  tenure keys rotate --retire"
)

_STATUS_EPILOG = (
    "Shows where the ring comes from, its versions, the active one (new data keys are wrapped "
    "under it), the one pinned for pseudonyms, and how many customers' data keys each version "
    "wraps in the vault. A version that wraps keys but is not on the ring means those customers' "
    "identities cannot be read, and the command exits 1 (2 when the status cannot be read at "
    "all).\n\n"
    "Examples:\n\n"
    "  tenure keys status\n\n"
    "  tenure keys status --json"
)


def _fail(console: Console, error: TenureError) -> typer.Exit:
    console.print(f"[red]error[/red]: {error.message}", highlight=False)
    return typer.Exit(code=_EXIT_ERROR)


def init_command() -> None:
    """Create the key ring file (mode 0600); refuses to overwrite one."""
    settings = load_settings()
    console = Console()
    path = settings.key_file_path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        generate_key_file(path)
    except TenureError as error:
        raise _fail(console, error) from None
    console.print(
        f"created the key ring {path} (mode 0600): master key version 1, active and pinned for "
        "pseudonyms. Back it up somewhere safe and apart from the databases.",
        highlight=False,
    )
    if settings.keys is not None:
        console.print(
            f"[yellow]note[/yellow]: {KEYS_ENV} is set, so Tenure uses that ring, not this file.",
            highlight=False,
        )


def _rewrap(
    settings: Settings, ring: KeyRing, console: Console
) -> tuple[RewrapReport, dict[int, int]]:
    bar = Progress(
        TextColumn("rewrapping data keys"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with open_identity_vault(settings, ring) as vault, bar:
        task = bar.add_task("rewrap", total=vault.count())
        report = vault.rewrap_all(
            ring, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
        _audit_rotation(settings, ring, report)
        return report, vault.key_versions()


def _audit_rotation(settings: Settings, ring: KeyRing, report: RewrapReport) -> None:
    """Record the rotation in the audit trail: versions and counts, never key material."""
    from tenure.adapters.sql import create_store_engine
    from tenure.adapters.sql.audit import SqlAuditLog

    engine = create_store_engine(settings.operational_url)
    try:
        SqlAuditLog(engine).record(
            actor=cli_actor(),
            action="keys.rotated",
            subject=f"key_ring:v{ring.active}",
            details={
                "active_version": ring.active,
                "rewrapped": report.rewrapped,
                "already_current": report.current,
            },
            at=SystemClock().now(),
        )
    finally:
        engine.dispose()


def _retired(ring: KeyRing, wrapped: dict[int, int]) -> KeyRing:
    for version in ring.versions:
        if version not in (ring.active, ring.pseudonym_version) and not wrapped.get(version):
            ring = ring.retire(version)
    return ring


def rotate_command(
    retire: Annotated[
        bool,
        typer.Option(
            "--retire/--keep-old",
            help="After rewrapping, remove versions that wrap no key (never the pinned one).",
        ),
    ] = False,
) -> None:
    """Add a new active master key version and rewrap every data key in the vault under it."""
    settings = load_settings()
    console = Console()
    if settings.keys is not None:
        console.print(
            f"[red]error[/red]: the ring comes from {KEYS_ENV}, which this command cannot change; "
            f"unset it, point TENURE_KEYS_FILE at a copy of the ring, rotate, then store the new "
            f"file's content as {KEYS_ENV}",
            highlight=False,
        )
        raise typer.Exit(code=_EXIT_ERROR)
    path = settings.key_file_path
    try:
        ring = add_key(load_key_file(path))
        write_key_file(ring, path, replace=True)
        console.print(f"master key version {ring.active} added to {path} and made active")
        report, wrapped = _rewrap(settings, ring, console)
        if retire:
            kept = _retired(ring, wrapped)
            if kept.versions != ring.versions:
                write_key_file(kept, path, replace=True)
                gone = sorted(set(ring.versions) - set(kept.versions))
                console.print(f"retired version(s) {', '.join(map(str, gone))}")
            ring = kept
    except TenureError as error:
        raise _fail(console, error) from None
    console.print(
        f"rewrapped {report.rewrapped:,} data key(s) under version {ring.active}; "
        f"{report.current:,} already were. Pseudonyms are unchanged (pinned to version "
        f"{ring.pseudonym_version})."
    )
    older = [v for v in ring.versions if v not in (ring.active, ring.pseudonym_version)]
    if older:
        console.print(
            f"version(s) {', '.join(map(str, older))} stay on the ring; "
            "`tenure keys rotate --retire` removes those that wrap no key."
        )


def _status(settings: Settings) -> dict[str, Any]:
    loaded = load_key_ring(settings)
    ring = loaded.ring
    with open_identity_vault(settings, ring) as vault:
        wrapped = vault.key_versions()
    return {
        "source": loaded.source,
        "versions": list(ring.versions),
        "active": ring.active,
        "pseudonym": ring.pseudonym_version,
        "wrapped_keys": {str(v): n for v, n in wrapped.items()},
        "missing_versions": [v for v in wrapped if v not in ring.versions],
    }


def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Show the ring's versions, the active and pinned ones, and wrapped keys per version."""
    settings = load_settings()
    console = Console(stderr=as_json)
    try:
        status = _status(settings)
    except TenureError as error:
        raise _fail(console, error) from None
    if as_json:
        typer.echo(json.dumps(status, indent=2))
        return
    console.print(f"key ring: {status['source']}", highlight=False)
    table = RichTable()
    for name in ("version", "role", "wrapped data keys"):
        table.add_column(name)
    wrapped: dict[str, int] = status["wrapped_keys"]
    for version in sorted({*status["versions"], *map(int, wrapped)}):
        roles = [role for role, held in (("active", status["active"] == version),
                 ("pseudonyms", status["pseudonym"] == version)) if held]  # fmt: skip
        if version in status["missing_versions"]:
            roles.append("NOT ON THE RING")
        table.add_row(str(version), ", ".join(roles), f"{wrapped.get(str(version), 0):,}")
    console.print(table)
    if status["missing_versions"]:
        console.print(
            "[red]some data keys are wrapped under versions the ring lacks: those customers' "
            "identities cannot be read until the ring holds them again[/red]"
        )
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add ``keys`` (``init``, ``rotate``, ``status``) to the ``tenure`` command."""
    group = typer.Typer(help=_HELP, no_args_is_help=True)
    group.command("init", epilog=_INIT_EPILOG)(init_command)
    group.command("rotate", epilog=_ROTATE_EPILOG)(rotate_command)
    group.command("status", epilog=_STATUS_EPILOG)(status_command)
    app.add_typer(group, name="keys")
