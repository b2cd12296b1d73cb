"""Rule set lifecycle: plain keyword-only functions over a ``RuleSetRepository``.

::

    create_draft ──> draft ──approve (a second user)──> approved ──activate──> active ──> retired
                       └───────────── set_shadow: runs beside the active version ───┘

A version's content never changes; a new content is a new draft. A draft can never become
active without the approval of a user other than its author, and activating a version retires
the one that was active under the same name. A retired version stays retired: to roll back,
create a draft from its document (the history keeps it) and have it approved again.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from tenure.core.clock import Clock
from tenure.core.errors import (
    ConfigurationError,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from tenure.core.rules import CompiledRuleSet, compile_ruleset, is_snake_name
from tenure.protection.rulesets.model import RuleSetStatus, RuleSetVersion
from tenure.protection.rulesets.ports import RuleSetRepository

__all__ = [
    "activate",
    "active",
    "approve",
    "compile_version",
    "create_draft",
    "history",
    "live_versions",
    "set_shadow",
    "shadows",
]

_SHADOWABLE = frozenset({RuleSetStatus.DRAFT, RuleSetStatus.APPROVED})


def _user(value: str, field: str) -> str:
    if not value.strip():
        raise ValidationError(f"{field} must name a user", field=field)
    return value.strip()


def _get(repo: RuleSetRepository, name: str, version: int) -> RuleSetVersion:
    found = repo.get(name, version)
    if found is None:
        raise NotFound(f"rule set {name!r} has no version {version}")
    return found


def create_draft(
    repo: RuleSetRepository,
    *,
    name: str,
    document: Mapping[str, Any],
    author: str,
    clock: Clock,
    known_fields: Collection[str] | None = None,
) -> RuleSetVersion:
    """Check ``document`` by compiling it and store it as the next draft version of ``name``."""
    if not is_snake_name(name):
        raise ValidationError("a rule set name is lower_snake text", field="name")
    compiled = compile_ruleset(document, known_fields=known_fields)
    if compiled.name != name:
        raise ValidationError(
            f"the document is named {compiled.name!r}, not {name!r}", field="name"
        )
    versions = repo.versions(name)
    draft = RuleSetVersion(
        name=name,
        version=versions[-1].version + 1 if versions else 1,
        status=RuleSetStatus.DRAFT,
        document=copy.deepcopy(dict(document)),
        content_hash=compiled.content_hash,
        author=_user(author, "author"),
        created_at=clock.now(),
    )
    repo.add(draft)
    return draft


def approve(
    repo: RuleSetRepository, *, name: str, version: int, approver: str, clock: Clock
) -> RuleSetVersion:
    """Approve a draft; the approver must be someone other than its author."""
    found = _get(repo, name, version)
    approver = _user(approver, "approver")
    if found.status is not RuleSetStatus.DRAFT:
        raise Conflict(f"rule set {name!r} version {version} is {found.status}, not a draft")
    if approver == found.author:
        raise PermissionDenied(
            f"the author of rule set {name!r} version {version} cannot approve it; "
            "a second user must"
        )
    approved = replace(
        found, status=RuleSetStatus.APPROVED, approved_by=approver, approved_at=clock.now()
    )
    repo.replace(approved, expected=RuleSetStatus.DRAFT)
    return approved


def activate(
    repo: RuleSetRepository, *, name: str, version: int, actor: str, clock: Clock
) -> RuleSetVersion:
    """Make an approved version the active one, retiring the version it replaces."""
    found = _get(repo, name, version)
    actor = _user(actor, "actor")
    if found.status is not RuleSetStatus.APPROVED:
        raise Conflict(
            f"rule set {name!r} version {version} is {found.status}; "
            "only an approved version can be activated"
        )
    if found.approved_by is None or found.approved_by == found.author:
        # Unreachable through approve(); guards against a row written some other way.
        raise PermissionDenied(f"rule set {name!r} version {version} lacks a second approval")
    now = clock.now()
    previous = active(repo, name)
    if previous is not None:
        retired = replace(previous, status=RuleSetStatus.RETIRED, retired_by=actor, retired_at=now)
        repo.replace(retired, expected=RuleSetStatus.ACTIVE)
    activated = replace(
        found, status=RuleSetStatus.ACTIVE, activated_by=actor, activated_at=now, shadow=False
    )
    repo.replace(activated, expected=RuleSetStatus.APPROVED)
    return activated


def set_shadow(
    repo: RuleSetRepository, *, name: str, version: int, enabled: bool, actor: str
) -> RuleSetVersion:
    """Run (or stop running) a draft or approved version in shadow beside the active one."""
    found = _get(repo, name, version)
    _user(actor, "actor")
    if found.status not in _SHADOWABLE:
        raise Conflict(
            f"rule set {name!r} version {version} is {found.status}; "
            "only a draft or approved version runs in shadow"
        )
    changed = replace(found, shadow=enabled)
    repo.replace(changed, expected=found.status)
    return changed


def active(repo: RuleSetRepository, name: str) -> RuleSetVersion | None:
    """The active version of ``name``, if any."""
    return _active(repo.versions(name), name)


def _active(versions: list[RuleSetVersion], name: str) -> RuleSetVersion | None:
    live = [v for v in versions if v.status is RuleSetStatus.ACTIVE]
    if len(live) > 1:
        raise ConfigurationError(f"rule set {name!r} has {len(live)} active versions")
    return live[0] if live else None


def shadows(repo: RuleSetRepository, name: str) -> list[RuleSetVersion]:
    """The versions of ``name`` running in shadow, oldest first."""
    return _shadows(repo.versions(name))


def _shadows(versions: list[RuleSetVersion]) -> list[RuleSetVersion]:
    return [v for v in versions if v.shadow and v.status in _SHADOWABLE]


def live_versions(
    repo: RuleSetRepository, name: str
) -> tuple[RuleSetVersion | None, list[RuleSetVersion]]:
    """The active version of ``name`` and its shadows, from one read of the store."""
    versions = repo.versions(name)
    return _active(versions, name), _shadows(versions)


def history(repo: RuleSetRepository, name: str) -> list[RuleSetVersion]:
    """Every version of ``name``, oldest first."""
    return repo.versions(name)


def compile_version(
    version: RuleSetVersion, *, known_fields: Collection[str] | None = None
) -> CompiledRuleSet:
    """Compile a stored version, refusing one whose content no longer matches its hash."""
    compiled = compile_ruleset(version.document, known_fields=known_fields)
    if compiled.content_hash != version.content_hash:
        raise ConfigurationError(
            f"rule set {version.name!r} version {version.version} does not match its hash"
        )
    return compiled
