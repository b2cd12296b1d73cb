"""``tenure retention report``: write the retention report as one self-contained HTML file."""

from __future__ import annotations

import webbrowser
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tenure.bootstrap import load_settings, open_warehouse
from tenure.core.errors import TenureError
from tenure.retention.registry import ModelRegistry
from tenure.retention.report import build_report

__all__ = ["register", "report"]

_EXAMPLES = """Examples:

  tenure retention report --out retention.html

  tenure retention report --out reports/2025-08.html --as-of 2025-08-01 --open
"""


def register(group: typer.Typer) -> None:
    """Add the ``report`` command to the ``retention`` command group."""
    group.command("report", epilog=_EXAMPLES)(report)


def _date(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{text!r} is not a date like 2025-08-01", param_hint="--as-of"
        ) from exc


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1_048_576:.1f} MB" if n_bytes >= 1_048_576 else f"{n_bytes / 1024:.0f} kB"


def report(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="The HTML file to write (created or replaced; its folder must exist).",
            dir_okay=False,
            writable=True,
        ),
    ],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Report on the churn scores of this date (YYYY-MM-DD). Default: the latest "
            "scored date.",
        ),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the report in the default browser afterwards.")
    ] = False,
) -> None:
    """Write the retention report: risk distribution, calibration and lift, reasons, segments,
    tiers, cohort and survival curves.

    The file is self-contained (charts embedded, no network needed): open it in any browser,
    mail it or print it. Run `tenure retention score` first.
    """
    console = Console()
    settings = load_settings()
    registry = ModelRegistry(settings.models_dir)
    try:
        with open_warehouse(settings) as warehouse:
            page = build_report(warehouse=warehouse, registry=registry, as_of=_date(as_of))
    except TenureError as exc:
        console.print(f"[red]report failed[/red]: {exc.message}", highlight=False)
        raise typer.Exit(code=2) from exc
    out.write_text(page, encoding="utf-8")
    console.print(f"wrote {out.resolve()} ({_size(out.stat().st_size)})", highlight=False)
    if open_browser:
        webbrowser.open(out.resolve().as_uri())
