"""Operator services: add, change and deactivate a corporate customer's operators.

Allowed to an active ``admin`` operator of the same customer, or to bank staff. An operator never
changes their own record (no raising one's own limits, no removing oneself), so an operator's
change always leaves at least one active admin: the one who made it. Every step, and every
refusal, is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from tenure.core.clock import Clock, SystemClock
from tenure.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tenure.protection.corporate.audit import AuditSink, refusals_recorded
from tenure.protection.corporate.model import Actor, Operator, OperatorRole
from tenure.protection.corporate.ports import CorporateUnitOfWork

__all__ = ["add_operator", "deactivate_operator", "list_operators", "update_operator"]

_SYSTEM_CLOCK = SystemClock()


def _checked_roles(roles: Iterable[OperatorRole | str]) -> frozenset[OperatorRole]:
    try:
        parsed = frozenset(OperatorRole(role) for role in roles)
    except ValueError as exc:
        raise ValidationError("roles are initiator, approver or admin", field="roles") from exc
    if not parsed:
        raise ValidationError("an operator needs at least one role", field="roles")
    return parsed


def _checked_operator(operator: Operator) -> Operator:
    if not 1 <= len(operator.name_ref.strip()) <= 200:
        raise ValidationError("name_ref must be 1-200 characters", field="name_ref")
    if operator.single_limit_minor <= 0:
        raise ValidationError("the single limit must be positive", field="single_limit_minor")
    if operator.daily_limit_minor <= 0:
        raise ValidationError("the daily limit must be positive", field="daily_limit_minor")
    if operator.single_limit_minor > operator.daily_limit_minor:
        raise ValidationError(
            "the single limit cannot exceed the daily limit", field="single_limit_minor"
        )
    return operator


def _require_manager(uow: CorporateUnitOfWork, actor: Actor, customer_id: str) -> None:
    if actor.kind == "staff":
        return
    acting = uow.operators.get(actor.id) if actor.kind == "operator" else None
    if acting is None or acting.customer_id != customer_id or not acting.can(OperatorRole.ADMIN):
        raise PermissionDenied(
            "only an active admin operator of this customer, or bank staff, may manage operators"
        )


def _operator_details(operator: Operator) -> Mapping[str, object]:
    return {
        "customer_id": operator.customer_id,
        "roles": tuple(sorted(operator.roles)),
        "single_limit_minor": operator.single_limit_minor,
        "daily_limit_minor": operator.daily_limit_minor,
        "active": operator.active,
    }


def add_operator(
    *,
    uow: CorporateUnitOfWork,
    audit: AuditSink,
    actor: Actor,
    customer_id: str,
    name_ref: str,
    roles: Iterable[OperatorRole | str],
    single_limit_minor: int,
    daily_limit_minor: int,
    operator_id: str | None = None,
    clock: Clock = _SYSTEM_CLOCK,
) -> Operator:
    """Add an active operator to a corporate customer."""
    at = clock.now()
    new_id = operator_id or uuid.uuid4().hex
    action = "corporate.operator_add"
    with refusals_recorded(audit, actor=actor, action=action, subject=new_id, at=at), uow:
        _require_manager(uow, actor, customer_id)
        operator = _checked_operator(
            Operator(
                id=new_id,
                customer_id=customer_id,
                name_ref=name_ref.strip(),
                roles=_checked_roles(roles),
                single_limit_minor=single_limit_minor,
                daily_limit_minor=daily_limit_minor,
            )
        )
        uow.operators.add(operator)
        audit.record(
            actor=str(actor),
            action="corporate.operator_added",
            subject=operator.id,
            details=_operator_details(operator),
            at=at,
        )
        uow.commit()
    return operator


@dataclass(frozen=True, slots=True)
class _Changes:
    """What to change on an operator; ``None`` leaves a field as it is."""

    name_ref: str | None = None
    roles: Iterable[OperatorRole | str] | None = None
    single_limit_minor: int | None = None
    daily_limit_minor: int | None = None
    active: bool | None = None

    def fields(self) -> tuple[str, ...]:
        names = ("name_ref", "roles", "single_limit_minor", "daily_limit_minor", "active")
        return tuple(name for name in names if getattr(self, name) is not None)

    def applied_to(self, current: Operator) -> Operator:
        return _checked_operator(
            replace(
                current,
                name_ref=current.name_ref if self.name_ref is None else self.name_ref.strip(),
                roles=current.roles if self.roles is None else _checked_roles(self.roles),
                single_limit_minor=_or(self.single_limit_minor, current.single_limit_minor),
                daily_limit_minor=_or(self.daily_limit_minor, current.daily_limit_minor),
                active=current.active if self.active is None else self.active,
            )
        )


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _change_operator(
    *,
    uow: CorporateUnitOfWork,
    audit: AuditSink,
    actor: Actor,
    operator_id: str,
    changes: _Changes,
    clock: Clock,
) -> Operator:
    at = clock.now()
    deactivating = changes.active is False
    verb, past = ("deactivate", "deactivated") if deactivating else ("update", "updated")
    action = f"corporate.operator_{verb}"
    with refusals_recorded(audit, actor=actor, action=action, subject=operator_id, at=at), uow:
        if not changes.fields():
            raise ValidationError("nothing to change")
        current = uow.operators.get(operator_id)
        if current is None:
            raise NotFound("no such operator")
        _require_manager(uow, actor, current.customer_id)
        if actor.kind == "operator" and actor.id == operator_id:
            raise PermissionDenied("operators cannot change their own roles, limits or status")
        if deactivating and not current.active:
            raise Conflict("the operator is already inactive")
        changed = changes.applied_to(current)
        uow.operators.update(changed, expected=current)
        audit.record(
            actor=str(actor),
            action=f"corporate.operator_{past}",
            subject=operator_id,
            details={"changed": changes.fields(), **_operator_details(changed)},
            at=at,
        )
        uow.commit()
    return changed


def update_operator(
    *,
    uow: CorporateUnitOfWork,
    audit: AuditSink,
    actor: Actor,
    operator_id: str,
    name_ref: str | None = None,
    roles: Iterable[OperatorRole | str] | None = None,
    single_limit_minor: int | None = None,
    daily_limit_minor: int | None = None,
    clock: Clock = _SYSTEM_CLOCK,
) -> Operator:
    """Change an operator's reference, roles or limits (``None`` leaves a field as it is)."""
    changes = _Changes(
        name_ref=name_ref,
        roles=None if roles is None else tuple(roles),
        single_limit_minor=single_limit_minor,
        daily_limit_minor=daily_limit_minor,
    )
    return _change_operator(
        uow=uow, audit=audit, actor=actor, operator_id=operator_id, changes=changes, clock=clock
    )


def deactivate_operator(
    *,
    uow: CorporateUnitOfWork,
    audit: AuditSink,
    actor: Actor,
    operator_id: str,
    clock: Clock = _SYSTEM_CLOCK,
) -> Operator:
    """Deactivate an operator: they can no longer initiate, approve or manage anything."""
    return _change_operator(
        uow=uow,
        audit=audit,
        actor=actor,
        operator_id=operator_id,
        changes=_Changes(active=False),
        clock=clock,
    )


def list_operators(*, uow: CorporateUnitOfWork, customer_id: str) -> list[Operator]:
    """Every operator of the customer, active or not."""
    with uow:
        return uow.operators.list_for_customer(customer_id)
