"""Friction the customer suffered: declined payments, failed logins, protection decisions.

The protection decision log is read from the warehouse table ``protection_decisions``
(``customer_id``, ``decided_at`` TIMESTAMPTZ, ``action`` one of allow / step_up / confirm /
dual_approval / hold / decline), which ``tenure protection export-decisions`` (and ``tenure
retention score``, first) copies from the operational store. In a warehouse without it the
source is skipped and its counts are 0; declined transactions and failed logins are friction the
canonical data already shows.
"""

from __future__ import annotations

from tenure.retention.features.definitions import (
    FeatureDefinition,
    Source,
    counted,
    derived,
    window,
)

__all__ = ["DECISIONS_TABLE", "FRICTION_FEATURES", "FRICTION_SOURCES"]

DECISIONS_TABLE = "protection_decisions"
_ABSENT = " 0 while the protection decision log (table protection_decisions) is absent."

DECISIONS = Source(
    "decisions",
    "Protection decisions on the customer's logins, payments and payee changes.",
    (DECISIONS_TABLE,),
    "decided_at",
)


def _decision(name: str, what: str, actions: str, days: int) -> FeatureDefinition:
    return counted(
        name,
        f"{what}, last {days} days;{_ABSENT}",
        "decisions",
        f"action IN ({actions}) AND {window('decided_at', days)}",
    )


def _features() -> list[FeatureDefinition]:
    return [
        counted("declined_tx_30d", "Transactions declined, last 30 days.", "transactions",
                f"declined AND {window('occurred_at', 30)}"),
        counted("declined_tx_90d", "Transactions declined, last 90 days.", "transactions",
                f"declined AND {window('occurred_at', 90)}"),
        _decision("step_ups_90d", "Step-ups and confirmations asked of the customer",
                  "'step_up', 'confirm', 'dual_approval'", 90),
        _decision("holds_90d", "Payments held by protection", "'hold'", 90),
        _decision("protection_declines_90d", "Actions declined by protection", "'decline'", 90),
        _decision("protection_friction_30d", "Step-ups, confirmations, holds and declines",
                  "'step_up', 'confirm', 'dual_approval', 'hold', 'decline'", 30),
        derived(
            "friction_events_30d",
            "Friction suffered, last 30 days: declined transactions, failed logins and "
            "protection step-ups, holds and declines.",
            "declined_tx_30d + failed_logins_30d + protection_friction_30d",
            "count",
            fill=0,
        ),
        derived(
            "friction_events_90d",
            "Friction suffered, last 90 days: declined transactions, failed logins and "
            "protection step-ups, holds and declines.",
            "declined_tx_90d + failed_logins_90d + step_ups_90d + holds_90d "
            "+ protection_declines_90d",
            "count",
            fill=0,
        ),
    ]  # fmt: skip


FRICTION_SOURCES: tuple[Source, ...] = (DECISIONS,)
FRICTION_FEATURES: tuple[FeatureDefinition, ...] = tuple(_features())
