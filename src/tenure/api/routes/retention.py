"""Retention scores from the warehouse: one customer's, and the at-risk worklist.

Both routes read the latest scoring date in ``customer_retention`` unless ``as_of`` names one.
A relationship manager (when no other role of theirs grants the permission) is limited to the
customers whose ``rm_id`` is their username.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from tenure.api.dependencies import State, require_permission
from tenure.api.retention_queries import (
    AtRiskFilter,
    fetch_at_risk,
    fetch_customer,
    open_retention,
    resolve_as_of,
)
from tenure.api.retention_schemas import (
    AtRiskItem,
    AtRiskPageOut,
    AtRiskQuery,
    CustomerRetentionOut,
)
from tenure.auth.model import Principal
from tenure.auth.permissions import Permission, has_permission
from tenure.core.errors import NotFound, PermissionDenied
from tenure.core.roles import Role

__all__ = ["RetentionReader", "WorklistReader", "rm_scope", "router"]

router = APIRouter(tags=["retention"])

RetentionReader = Annotated[Principal, Depends(require_permission(Permission.RETENTION_READ))]
WorklistReader = Annotated[Principal, Depends(require_permission(Permission.WORKLIST_READ))]


def rm_scope(principal: Principal, permission: Permission) -> str | None:
    """The ``rm_id`` a principal is confined to, or ``None`` when it may see every customer.

    Only a principal for whom relationship manager is the sole role granting ``permission`` is
    confined, to its own name (the username for people).
    """
    if Role.RELATIONSHIP_MANAGER not in principal.roles:
        return None
    others = principal.roles - {Role.RELATIONSHIP_MANAGER}
    return None if has_permission(others, permission) else principal.name


@router.get("/v1/customers/{customer_id}/retention")
def customer_retention(
    customer_id: str,
    principal: RetentionReader,
    state: State,
    as_of: Annotated[
        date | None, Query(description="A scoring date; the latest if absent.")
    ] = None,
) -> CustomerRetentionOut:
    """One customer's churn scores, tiers, segment, value, reasons and forecasts.

    A relationship manager asking for another manager's customer gets the same 404 as for an
    unknown customer, so that the answer does not reveal which customers exist.
    """
    with open_retention(state.settings.warehouse_path) as connection:
        scored_at = resolve_as_of(connection, as_of)
        row = fetch_customer(connection, as_of=scored_at, customer_id=customer_id)
    scope = rm_scope(principal, Permission.RETENTION_READ)
    if row is None or (scope is not None and row.rm_id != scope):
        raise NotFound("no retention scores for this customer on that date")
    return CustomerRetentionOut.of(row)


@router.get("/v1/retention/at-risk")
def at_risk_customers(
    principal: WorklistReader, state: State, query: Annotated[AtRiskQuery, Query()]
) -> AtRiskPageOut:
    """Customers by value at risk (P(churn) x 12-month value), highest first, ties by id.

    Page with ``offset`` and the returned ``next_offset``: a scoring date's rows never change,
    so the order is stable across pages. A relationship manager sees only their own customers;
    asking for another ``rm_id`` is a 403.
    """
    rm_id = query.rm_id
    scope = rm_scope(principal, Permission.WORKLIST_READ)
    if scope is not None:
        if rm_id not in (None, scope):
            raise PermissionDenied(
                "a relationship manager may list only their own customers", field="rm_id"
            )
        rm_id = scope
    where = AtRiskFilter(
        value_tier=query.value_tier,
        risk_tier=query.risk_tier,
        segment=query.segment,
        lifecycle_stage=query.lifecycle_stage,
        rm_id=rm_id,
        min_p_churn=query.min_p_churn,
    )
    with open_retention(state.settings.warehouse_path) as connection:
        scored_at = resolve_as_of(connection, query.as_of)
        page = fetch_at_risk(
            connection, as_of=scored_at, where=where, limit=query.limit, offset=query.offset
        )
    following = query.offset + len(page.rows)
    return AtRiskPageOut(
        as_of=scored_at,
        total=page.total,
        limit=query.limit,
        offset=query.offset,
        next_offset=following if following < page.total else None,
        items=[AtRiskItem.of(row) for row in page.rows],
    )
