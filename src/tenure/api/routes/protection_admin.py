"""Protection administration: block/allow lists, snoozes, the decision log, alerts and status.

A list or snooze change reaches the running engine at once (its cached lists or snoozes are
reloaded) and is audited with the acting principal.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from tenure.api.dependencies import State, require_any_permission, require_permission
from tenure.api.errors import OrjsonResponse
from tenure.api.protection_schemas import (
    AlertOut,
    ListEntryIn,
    ListEntryOut,
    LoggedDecisionOut,
    ProtectionStatusOut,
    ShadowRuleSetOut,
    SnoozeIn,
    SnoozeOut,
)
from tenure.api.routes.rulesets import RulesManager
from tenure.auth.model import Principal
from tenure.auth.permissions import Permission
from tenure.core.errors import NotFound
from tenure.protection.rulesets import add_list_entry, lift_snooze, remove_list_entry, snooze_rule

__all__ = ["CaseWorker", "require_any_permission", "router"]

router = APIRouter(tags=["protection"])


CaseWorker = Annotated[Principal, Depends(require_permission(Permission.CASES_WORK))]
StatusReader = Annotated[
    Principal,
    Depends(require_any_permission(Permission.PROTECTION_DECIDE, Permission.CASES_WORK)),
]
Name = Annotated[str, Path(min_length=1, max_length=64)]
Value = Annotated[str, Path(min_length=1, max_length=256)]
Limit = Annotated[int, Query(ge=1, le=1_000)]


# Lists -------------------------------------------------------------------------------------------


@router.put("/v1/lists/{list_name}/entries/{value}")
def put_list_entry(
    list_name: Name, value: Value, body: ListEntryIn, principal: RulesManager, state: State
) -> ListEntryOut:
    """Put a value on a list (replacing its entry); the engine sees it on the next event."""
    entry = add_list_entry(
        state.lists,
        list_name=list_name,
        value=value,
        kind=body.kind,
        reason=body.reason,
        added_by=principal.subject,
        clock=state.clock,
        expires_at=body.expires_at,
    )
    state.lists_changed()
    details = {"value": entry.value, "kind": entry.kind, "expires_at": entry.expires_at}
    state.record_audit(
        actor=principal.subject,
        action="protection.list_entry_added",
        subject=f"list:{list_name}",
        details=details,
    )
    return ListEntryOut.of(entry)


@router.delete("/v1/lists/{list_name}/entries/{value}", status_code=status.HTTP_204_NO_CONTENT)
def delete_list_entry(
    list_name: Name, value: Value, principal: RulesManager, state: State
) -> Response:
    """Take a value off a list (404 if it was not there)."""
    remove_list_entry(state.lists, list_name=list_name, value=value)
    state.lists_changed()
    state.record_audit(
        actor=principal.subject,
        action="protection.list_entry_removed",
        subject=f"list:{list_name}",
        details={"value": value.strip()},
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/v1/lists/{list_name}")
def get_list(list_name: Name, principal: RulesManager, state: State) -> list[ListEntryOut]:
    """The entries of a list that have not expired, by value."""
    entries = state.lists.entries(list_name, state.clock.now())
    return [ListEntryOut.of(entry) for entry in entries]


# Snoozes -----------------------------------------------------------------------------------------


@router.put("/v1/snoozes/{rule_id}/{entity}")
def put_snooze(
    rule_id: Name, entity: Value, body: SnoozeIn, principal: RulesManager, state: State
) -> SnoozeOut:
    """Silence one rule for one entity (``customer:C1``) until ``until`` (at most 90 days); the
    engine drops that rule's hit from the entity's next event."""
    snooze = snooze_rule(
        state.snoozes,
        rule_id=rule_id,
        entity=entity,
        until=body.until,
        reason=body.reason,
        added_by=principal.subject,
        clock=state.clock,
    )
    state.snoozes_changed()
    state.record_audit(
        actor=principal.subject,
        action="protection.rule_snoozed",
        subject=f"rule:{rule_id}",
        details={"entity": snooze.entity, "until": snooze.until},
    )
    return SnoozeOut.of(snooze)


@router.delete("/v1/snoozes/{rule_id}/{entity}", status_code=status.HTTP_204_NO_CONTENT)
def delete_snooze(rule_id: Name, entity: Value, principal: RulesManager, state: State) -> Response:
    """Lift a snooze early (404 if there was none)."""
    lift_snooze(state.snoozes, rule_id=rule_id, entity=entity)
    state.snoozes_changed()
    state.record_audit(
        actor=principal.subject,
        action="protection.rule_snooze_lifted",
        subject=f"rule:{rule_id}",
        details={"entity": entity.strip()},
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/v1/snoozes/{entity}")
def get_snoozes(entity: Value, principal: RulesManager, state: State) -> list[SnoozeOut]:
    """The live snoozes of one entity, by rule id."""
    return [SnoozeOut.of(s) for s in state.snoozes.snoozes(entity.strip(), state.clock.now())]


# Decisions, alerts and status --------------------------------------------------------------------


@router.get("/v1/decisions", response_model=list[LoggedDecisionOut], response_class=OrjsonResponse)
def get_decisions(
    principal: CaseWorker,
    state: State,
    customer_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Limit = 100,
) -> OrjsonResponse:
    """The newest decisions (of one customer), newest first, each with its event."""
    found = state.decision_log.decisions(customer_id=customer_id, limit=limit)
    ended = state.resolutions.of([decision.decision_id for decision in found])
    return OrjsonResponse([LoggedDecisionOut.payload(d, ended.get(d.decision_id)) for d in found])


@router.get(
    "/v1/decisions/{idempotency_key:path}",
    response_model=LoggedDecisionOut,
    response_class=OrjsonResponse,
)
def get_decision(idempotency_key: str, principal: CaseWorker, state: State) -> OrjsonResponse:
    """One decision by its idempotency key (``transfer:<event_id>`` unless the channel set one)."""
    decision = state.decision_log.find(idempotency_key)
    if decision is None:
        raise NotFound("no decision has this idempotency key", field="idempotency_key")
    ended = state.resolutions.of([decision.decision_id]).get(decision.decision_id)
    return OrjsonResponse(LoggedDecisionOut.payload(decision, ended))


@router.get("/v1/alerts")
def get_alerts(principal: CaseWorker, state: State, limit: Limit = 100) -> list[AlertOut]:
    """Held and declined decisions nobody has closed yet, oldest first."""
    return [AlertOut.of(alert) for alert in state.decision_log.open_alerts(limit)]


@router.get("/v1/protection/status")
def get_status(principal: StatusReader, state: State) -> ProtectionStatusOut:
    """What the running engine decides with (building it if this is the first request)."""
    service = state.protection()
    engine = service.engine
    shadows = [
        ShadowRuleSetOut(name=ruleset.name, version=version)
        for ruleset, version in engine.rules.shadows
    ]
    return ProtectionStatusOut(
        model_version=None if engine.scorer is None else engine.scorer.version,
        ruleset_name=service.ruleset_name,
        active_ruleset=engine.rules.label,
        shadow_rulesets=shadows,
        state_backend=state.settings.protection_state,
        rebuilt_events=state.rebuilt_events,
        policy=engine.policy.name,
    )
