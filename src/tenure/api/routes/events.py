"""``POST /v1/events/{kind}``: a channel asks for a decision on one event.

The answer (allow, step up, confirm, dual approval, hold or decline, with reasons and the expected
cost of every action) is in the decision log before it is sent. A retry with the same
``Idempotency-Key`` header (or, without one, the same event kind and id) gets the first answer
back, marked ``replayed``, and the event is not counted twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header

from tenure.api.dependencies import State, require_permission
from tenure.api.errors import OrjsonResponse
from tenure.api.event_schemas import EVENT_SCHEMAS, DecisionOut, EventIn
from tenure.auth.model import Principal
from tenure.auth.permissions import Permission
from tenure.protection.events import EventKind

__all__ = ["router"]

router = APIRouter(prefix="/v1/events", tags=["protection"])

Decider = Annotated[Principal, Depends(require_permission(Permission.PROTECTION_DECIDE))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        description="Retries with the same key get the first decision back.",
    ),
]


def _endpoint(kind: EventKind) -> Callable[..., Awaitable[OrjsonResponse]]:
    schema = EVENT_SCHEMAS[kind]

    async def decide(
        body: EventIn,
        state: State,
        principal: Decider,
        idempotency_key: IdempotencyKey = None,
    ) -> OrjsonResponse:
        service = state.protection()
        decision = service.decide(body.to_event(kind), idempotency_key=idempotency_key)
        payload: dict[str, Any] = decision.to_json()
        payload["replayed"] = decision.replayed
        return OrjsonResponse(payload)

    # FastAPI reads the body's schema from the annotation: this kind's, not the base class
    decide.__annotations__["body"] = schema
    decide.__name__ = f"decide_{kind.value}"
    decide.__doc__ = f"Decide a {kind.value.replace('_', ' ')} event."
    return decide


for _kind in EventKind:
    router.add_api_route(
        f"/{_kind.value}",
        _endpoint(_kind),
        methods=["POST"],
        response_model=DecisionOut,
        response_class=OrjsonResponse,
        summary=f"Decide a {_kind.value.replace('_', ' ')}",
    )
