"""What several commands share: who the audit trail names when a command acts."""

from __future__ import annotations

import getpass

__all__ = ["cli_actor"]


def cli_actor(actor: str | None = None) -> str:
    """Who the audit trail names: ``--actor``, else ``cli:<operating-system user>``."""
    if actor:
        return actor
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
