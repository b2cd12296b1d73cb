"""``tenure privacy``: consents, data-subject requests and retention schedules."""

from __future__ import annotations

import typer

from tenure.cli import privacy_consents, privacy_requests, privacy_schedules

__all__ = ["register"]

_HELP = (
    "Customers' privacy: consents per purpose and channel, data-subject requests (export, "
    "correction, erasure) and retention schedules."
)


def register(app: typer.Typer) -> None:
    """Add the ``privacy`` command group to the CLI."""
    group = typer.Typer(help=_HELP, no_args_is_help=True)
    for module in (privacy_consents, privacy_requests, privacy_schedules):
        module.register(group)
    app.add_typer(group, name="privacy")
