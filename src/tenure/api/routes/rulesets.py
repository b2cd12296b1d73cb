"""Rule set lifecycle over HTTP: draft, approve (by a second user), activate, shadow, history.

The acting user is the authenticated principal, so the domain's rule that an author cannot
approve their own draft holds between two real sign-ins. Activating or changing a shadow run
recompiles the running engine's rules at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from tenure.api.dependencies import State, require_permission
from tenure.api.protection_schemas import RuleSetDocumentIn, RuleSetVersionOut, ShadowIn
from tenure.auth.model import Principal
from tenure.auth.permissions import Permission
from tenure.core.errors import NotFound
from tenure.protection.rulesets import activate, approve, create_draft, history, set_shadow
from tenure.protection.signals import KNOWN_FIELDS

__all__ = ["RulesManager", "router"]

router = APIRouter(prefix="/v1/rulesets", tags=["rules"])

RulesManager = Annotated[Principal, Depends(require_permission(Permission.RULES_MANAGE))]
RuleSetName = Annotated[str, Path(min_length=1, max_length=64)]
# Versions are stored as 32-bit integers (PostgreSQL INTEGER); a larger one cannot exist.
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _audit(state: State, principal: Principal, action: str, version: RuleSetVersionOut) -> None:
    state.record_audit(
        actor=principal.subject,
        action=f"protection.ruleset_{action}",
        subject=f"ruleset:{version.name}@{version.version}",
        details={"status": version.status, "shadow": version.shadow, "hash": version.content_hash},
    )


@router.post("/{name}/drafts", status_code=status.HTTP_201_CREATED)
def post_draft(
    name: RuleSetName, body: RuleSetDocumentIn, principal: RulesManager, state: State
) -> RuleSetVersionOut:
    """Check a rule set document and store it as the next draft version (422 names the path)."""
    draft = create_draft(
        state.rulesets,
        name=name,
        document=body.document(),
        author=principal.subject,
        clock=state.clock,
        known_fields=KNOWN_FIELDS,
    )
    out = RuleSetVersionOut.of(draft)
    _audit(state, principal, "drafted", out)
    return out


@router.get("/{name}")
def get_history(
    name: RuleSetName, principal: RulesManager, state: State
) -> list[RuleSetVersionOut]:
    """Every version of the rule set, oldest first."""
    versions = history(state.rulesets, name)
    if not versions:
        raise NotFound(f"no rule set is named {name!r}", field="name")
    return [RuleSetVersionOut.of(version) for version in versions]


@router.post("/{name}/versions/{version}/approve")
def post_approve(
    name: RuleSetName, version: Version, principal: RulesManager, state: State
) -> RuleSetVersionOut:
    """Approve a draft; its author may not (403), only a second user."""
    approved = approve(
        state.rulesets, name=name, version=version, approver=principal.subject, clock=state.clock
    )
    out = RuleSetVersionOut.of(approved)
    _audit(state, principal, "approved", out)
    return out


@router.post("/{name}/versions/{version}/activate")
def post_activate(
    name: RuleSetName, version: Version, principal: RulesManager, state: State
) -> RuleSetVersionOut:
    """Make an approved version the active one (a draft is 409); the engine applies it at once."""
    activated = activate(
        state.rulesets, name=name, version=version, actor=principal.subject, clock=state.clock
    )
    state.rules_changed()
    out = RuleSetVersionOut.of(activated)
    _audit(state, principal, "activated", out)
    return out


@router.post("/{name}/versions/{version}/shadow")
def post_shadow(
    name: RuleSetName, version: Version, body: ShadowIn, principal: RulesManager, state: State
) -> RuleSetVersionOut:
    """Run (or stop running) a draft or approved version beside the active one."""
    changed = set_shadow(
        state.rulesets, name=name, version=version, enabled=body.enabled, actor=principal.subject
    )
    state.rules_changed()
    out = RuleSetVersionOut.of(changed)
    _audit(state, principal, "shadow_started" if body.enabled else "shadow_stopped", out)
    return out
