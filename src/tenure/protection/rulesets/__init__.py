"""Governance of fraud rules: versioned rule sets, block/allow lists and per-entity snoozes.

::

    model.py     RuleSetVersion, RuleSetStatus, ListEntry, Snooze
    ports.py     RuleSetRepository, ListRepository, SnoozeRepository (Protocols)
    memory.py    in-memory implementations of the three
    service.py   create_draft, approve, activate, set_shadow, active, shadows, live_versions,
                 history
    lists.py     add_list_entry, remove_list_entry
    snoozes.py   snooze_rule, lift_snooze, apply_snoozes

The language itself (parsing, compiling, evaluating) is ``tenure.core.rules``.
"""

from __future__ import annotations

from tenure.protection.rulesets.lists import add_list_entry, remove_list_entry
from tenure.protection.rulesets.memory import (
    InMemoryListRepository,
    InMemoryRuleSetRepository,
    InMemorySnoozeRepository,
)
from tenure.protection.rulesets.model import (
    ListEntry,
    ListKind,
    RuleSetStatus,
    RuleSetVersion,
    Snooze,
)
from tenure.protection.rulesets.ports import ListRepository, RuleSetRepository, SnoozeRepository
from tenure.protection.rulesets.service import (
    activate,
    active,
    approve,
    compile_version,
    create_draft,
    history,
    live_versions,
    set_shadow,
    shadows,
)
from tenure.protection.rulesets.snoozes import MAX_SNOOZE, apply_snoozes, lift_snooze, snooze_rule

__all__ = [
    "MAX_SNOOZE",
    "InMemoryListRepository",
    "InMemoryRuleSetRepository",
    "InMemorySnoozeRepository",
    "ListEntry",
    "ListKind",
    "ListRepository",
    "RuleSetRepository",
    "RuleSetStatus",
    "RuleSetVersion",
    "Snooze",
    "SnoozeRepository",
    "activate",
    "active",
    "add_list_entry",
    "apply_snoozes",
    "approve",
    "compile_version",
    "create_draft",
    "history",
    "lift_snooze",
    "live_versions",
    "remove_list_entry",
    "set_shadow",
    "shadows",
    "snooze_rule",
]
