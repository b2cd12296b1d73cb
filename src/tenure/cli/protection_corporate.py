"""``tenure protection sweep``: move corporate payments on once their time has come.

A payment waiting for approvals expires at the end of its approval window, and a fully approved
payment held over the client's after-hours rule is released when the hold ends. Nothing happens
at those moments by itself: this command does it, once, or every ``--every`` seconds until
stopped. Run it every minute (cron, a systemd timer, or ``--every 60`` under a supervisor);
several sweepers at once are safe, as each payment changes only from the state it was read in.
"""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.console import Console

from tenure.adapters.sql import create_store_engine, upgrade_to_head
from tenure.adapters.sql.audit import QueuedAuditLog, SqlAuditLog, audit_trail_for
from tenure.adapters.sql.corporate import SqlCorporateUnitOfWorkFactory
from tenure.adapters.sql.resolutions import SqlResolutions
from tenure.bootstrap import load_settings
from tenure.core.clock import Clock, SystemClock
from tenure.core.errors import TenureError
from tenure.protection.corporate import CorporatePayment, expire_stale, release_due

__all__ = ["register", "sweep_once"]

_EXAMPLES = """Examples:

  tenure protection sweep

  tenure protection sweep --every 60

  tenure protection sweep --json
"""


def register(group: typer.Typer) -> None:
    """Add ``sweep`` to the protection group."""
    group.command("sweep", epilog=_EXAMPLES)(sweep)


def sweep_once(
    uows: SqlCorporateUnitOfWorkFactory,
    audit: SqlAuditLog | QueuedAuditLog,
    resolutions: SqlResolutions,
    *,
    clock: Clock,
) -> dict[str, list[str]]:
    """Expire what is overdue, release what is due (each audited), end the decisions they came
    from as they did; the payment ids of each."""
    expired = expire_stale(uow=uows(), audit=audit, clock=clock)
    released = release_due(uow=uows(), audit=audit, clock=clock)
    for payment in (*expired, *released):
        resolutions.settle(payment)
    return {"expired": _ids(expired), "released": _ids(released)}


def _ids(payments: list[CorporatePayment]) -> list[str]:
    return [payment.id for payment in payments]


def sweep(
    every: Annotated[
        float | None,
        typer.Option(
            min=1.0,
            help="Sweep again every this many seconds until stopped (Ctrl-C). Without it, sweep "
            "once and exit, for cron.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each sweep as one line of JSON.")
    ] = False,
) -> None:
    """Expire corporate payments still missing approvals after their approval window, and
    release approved payments whose after-hours hold has ended.

    Every change is written to the audit trail as the system's, and the decision each payment
    came from records how it ended (released: allow; expired: decline).
    """
    console = Console()
    try:
        settings = load_settings()
        upgrade_to_head(settings.operational_url)
        engine = create_store_engine(settings.operational_url)
    except TenureError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=1) from error
    # queued on SQLite: a record written while the sweep's transaction holds the file would wait
    uows, audit = SqlCorporateUnitOfWorkFactory(engine), audit_trail_for(engine)
    resolutions, clock = SqlResolutions(engine), SystemClock()
    try:
        while True:
            done = sweep_once(uows, audit, resolutions, clock=clock)
            if as_json:
                typer.echo(json.dumps(done))
            else:
                console.print(
                    f"{clock.now():%Y-%m-%d %H:%M:%S} expired {len(done['expired'])}, "
                    f"released {len(done['released'])}"
                )
            if every is None:
                return
            time.sleep(every)
    except KeyboardInterrupt:
        console.print("stopped")
    except TenureError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=1) from error
    finally:
        if isinstance(audit, QueuedAuditLog):
            audit.flush()
        engine.dispose()
