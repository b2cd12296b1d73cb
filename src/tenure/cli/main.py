"""The ``tenure`` command: one entry point, one sub-command per job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tenure.cli import (
    audit,
    churn,
    demo,
    ingest,
    keys,
    privacy,
    protection,
    retention,
    serve,
    synth,
    users,
)
from tenure.data.catalog import canonical_catalog
from tenure.data.docs import render_data_model

__all__ = ["app"]

app = typer.Typer(
    name="tenure",
    help="Tenure: keep a bank's customers and protect their accounts with one engine.",
    no_args_is_help=True,
    add_completion=False,
    # help paragraphs are reflowed to the terminal's width (the docstrings wrap at 100 columns)
    rich_markup_mode="markdown",
)
docs_app = typer.Typer(help="Generate reference documentation.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
synth.register(app)
ingest.register(app)
serve.register(app)
users.register(app)
demo.register(app)
churn.register(app)
retention.register(app)
protection.register(app)
audit.register(app)
keys.register(app)
privacy.register(app)


@docs_app.command("data-model")
def docs_data_model(
    out: Annotated[
        Path | None, typer.Option(help="Write the page here instead of printing it.")
    ] = None,
) -> None:
    """Print (or write) the canonical data model as Markdown."""
    text = render_data_model(canonical_catalog())
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")


if __name__ == "__main__":
    app()
