"""``tenure protection sweep``: move waiting decisions on once their time has come.

A corporate payment waiting for approvals expires at the end of its approval window, a fully
approved payment held over the client's after-hours rule is released when the hold ends, and a
step-up challenge nobody answered in time expires (its decision ends as a failed step-up would),
as does a step-up decision whose challenge never started.
Nothing happens at those moments by itself: this command does it, once, or every ``--every``
seconds until stopped. Run it every minute (cron, a systemd timer, or ``--every 60`` under a
supervisor); several sweepers at once are safe, as each payment or challenge changes only from
the state it was read in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console

from tenure.adapters.sql import create_store_engine, upgrade_to_head
from tenure.adapters.sql.audit import QueuedAuditLog, SqlAuditLog, audit_trail_for
from tenure.adapters.sql.corporate import SqlCorporateUnitOfWorkFactory
from tenure.adapters.sql.resolutions import SqlResolutions
from tenure.bootstrap import load_settings, open_stepup_units
from tenure.core.clock import Clock, SystemClock
from tenure.core.errors import TenureError
from tenure.protection.configuration import load_protection_config
from tenure.protection.corporate import CorporatePayment, expire_stale, release_due
from tenure.protection.stepup import StepUpPolicy, StepUpUnitOfWork, expire_overdue

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
    stepup: Callable[[], StepUpUnitOfWork],
    stepup_policy: StepUpPolicy,
) -> dict[str, list[str]]:
    """Expire overdue payments, release due ones (each audited), expire unanswered step-up
    challenges and end step-ups never started; end the decisions they came from as they did.
    The ids of each."""
    expired = expire_stale(uow=uows(), audit=audit, clock=clock)
    released = release_due(uow=uows(), audit=audit, clock=clock)
    for payment in (*expired, *released):
        resolutions.settle(payment)
    challenges = _expire_challenges(stepup, resolutions, clock=clock, policy=stepup_policy)
    unstarted = _end_unstarted(resolutions, clock=clock, policy=stepup_policy)
    return {
        "expired": _ids(expired),
        "released": _ids(released),
        "challenges_expired": challenges,
        "step_ups_not_started": unstarted,
    }


def _end_unstarted(resolutions: SqlResolutions, *, clock: Clock, policy: StepUpPolicy) -> list[str]:
    """End the step-up decisions whose first challenge did not start in time, as failed
    step-ups with no alert (the API refuses to start one that late, so none can begin now)."""
    now = clock.now()
    ended = []
    for decision_id in resolutions.unstarted_step_ups(now - policy.start_within):
        resolution = resolutions.record(
            decision_id, policy.failed_outcome, reason="step_up_not_started", at=now,
            source="step-up never started",
        )  # fmt: skip
        if resolution is not None:
            ended.append(decision_id)
    return ended


def _expire_challenges(
    stepup: Callable[[], StepUpUnitOfWork],
    resolutions: SqlResolutions,
    *,
    clock: Clock,
    policy: StepUpPolicy,
) -> list[str]:
    ids = []
    for result in expire_overdue(uow=stepup(), clock=clock, policy=policy):
        challenge, outcome = result.challenge, result.outcome
        ids.append(challenge.id)
        if outcome is None:  # an expired challenge always has one; nothing to record otherwise
            continue
        # as the verify route records an expired challenge found on a late attempt; the
        # challenge expired even if its decision ended otherwise already
        resolutions.record(
            challenge.decision_id, outcome, reason="step_up_expired",
            at=challenge.finished_at or clock.now(), alert=True,
            source=f"step-up challenge {challenge.id} expired",
        )  # fmt: skip
    return ids


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
    """Expire corporate payments still missing approvals after their approval window, release
    approved payments whose after-hours hold has ended, expire step-up challenges the customer
    did not answer in time, and end step-up decisions whose challenge never started.

    Every payment change is written to the audit trail as the system's, and the decision each
    payment came from records how it ended (released: allow; expired: decline). A decision whose
    step-up expired ends as a failed step-up does (`step_up.failed_outcome` in protection.yaml,
    decline by default) and opens an alert for an analyst. A step-up decision with no challenge
    started within `step_up.start_within_minutes` (15 by default) ends the same way, without an
    alert: no code was sent.
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
        policy = load_protection_config(settings.protection_config_path).step_up
        stepup = open_stepup_units(engine, clock=clock)
        while True:
            done = sweep_once(
                uows, audit, resolutions, clock=clock, stepup=stepup, stepup_policy=policy
            )
            if as_json:
                typer.echo(json.dumps(done))
            else:
                console.print(
                    f"{clock.now():%Y-%m-%d %H:%M:%S} payments expired {len(done['expired'])}, "
                    f"released {len(done['released'])}; step-up challenges expired "
                    f"{len(done['challenges_expired'])}, step-ups never started "
                    f"{len(done['step_ups_not_started'])}"
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
