"""``POST /v1/events/{kind}``: a channel asks for a decision on one event.

The answer (allow, step up, confirm, dual approval, hold or decline, with reasons and the expected
cost of every action) is in the decision log before it is sent. A retry with the same
``Idempotency-Key`` header (or, without one, the same event kind and id) gets the first answer
back, marked ``replayed``, and the event is not counted twice.

These routes carry the channels' traffic, thousands of requests a second, so they are served by
a lean handler (:class:`DecisionRoute`): the same authentication, permission check, strict schema
and error shapes as every other route, without FastAPI's per-request dependency solving and
generic body handling, which cost as much as the decision itself. FastAPI still reads the
endpoint's signature for the OpenAPI schema and the permission matrix, so what is documented and
checked is what runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError

from tenure.api.dependencies import State, get_principal, require_permission
from tenure.api.errors import OrjsonResponse
from tenure.api.event_schemas import EVENT_SCHEMAS, DecisionOut, EventIn
from tenure.api.state import ApiState
from tenure.auth.model import Principal
from tenure.auth.permissions import Permission
from tenure.protection.events import EventKind
from tenure.protection.service import ProtectionService

__all__ = ["DecisionRoute", "router"]

_IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY_LENGTH = (1, 128)
_check_decider = require_permission(Permission.PROTECTION_DECIDE)

Decider = Annotated[Principal, Depends(_check_decider)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=_IDEMPOTENCY_HEADER,
        min_length=_KEY_LENGTH[0],
        max_length=_KEY_LENGTH[1],
        description="Retries with the same key get the first decision back.",
    ),
]


def _answer(service: ProtectionService, body: EventIn, kind: EventKind, key: str | None) -> Any:
    decision = service.decide(body.to_event(kind), idempotency_key=key)
    payload: dict[str, Any] = decision.to_json()
    payload["replayed"] = decision.replayed
    return OrjsonResponse(payload)


def _endpoint(kind: EventKind) -> Callable[..., Awaitable[OrjsonResponse]]:
    schema = EVENT_SCHEMAS[kind]

    async def decide(
        body: EventIn,
        state: State,
        principal: Decider,
        idempotency_key: IdempotencyKey = None,
    ) -> OrjsonResponse:
        return cast(OrjsonResponse, _answer(state.protection(), body, kind, idempotency_key))

    # FastAPI reads the body's schema from the annotation: this kind's, not the base class
    decide.__annotations__["body"] = schema
    decide.__name__ = f"decide_{kind.value}"
    decide.__doc__ = f"Decide a {kind.value.replace('_', ' ')} event."
    vars(decide)["event_kind"] = kind
    return decide


def _invalid(kind: str, location: tuple[Any, ...], message: str) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": location, "msg": message}])


def _bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header (as ``OAuth2PasswordBearer`` reads it)."""
    authorization = request.headers.get("authorization")
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get(_IDEMPOTENCY_HEADER)
    if key is not None and not _KEY_LENGTH[0] <= len(key) <= _KEY_LENGTH[1]:
        raise _invalid(
            "string_length",
            ("header", _IDEMPOTENCY_HEADER),
            f"the key must be {_KEY_LENGTH[0]} to {_KEY_LENGTH[1]} characters long",
        )
    return key


async def _event_body(request: Request, schema: type[EventIn]) -> EventIn:
    """The body validated by ``schema``, straight from the bytes (pydantic parses the JSON)."""
    content_type = request.headers.get("content-type", "")
    media = content_type.partition(";")[0].strip().lower()
    if not (
        media == "application/json"
        or (media.startswith("application/") and media.endswith("+json"))
    ):
        raise _invalid(
            "content_type", ("body",), "send the event as JSON (Content-Type: application/json)"
        )
    raw = await request.body()
    if not raw:
        raise _invalid("missing", ("body",), "Field required")
    try:
        return schema.model_validate_json(raw)
    except ValidationError as exc:
        problems = exc.errors(include_url=False, include_input=False, include_context=False)
        raise RequestValidationError(
            [{**problem, "loc": ("body", *problem["loc"])} for problem in problems]
        ) from None


class DecisionRoute(APIRoute):
    """An event route: documented from its endpoint, served by a lean handler."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        kind: EventKind | None = getattr(self.endpoint, "event_kind", None)
        if kind is None:
            return super().get_route_handler()
        schema = EVENT_SCHEMAS[kind]

        async def handle(request: Request) -> Response:
            state: ApiState = request.app.state.tenure
            principal = await get_principal(
                request, state, bearer=_bearer(request), api_key=request.headers.get("x-api-key")
            )
            await _check_decider(principal)
            key = _idempotency_key(request)
            body = await _event_body(request, schema)
            return cast(Response, _answer(state.protection(), body, kind, key))

        return handle


router = APIRouter(prefix="/v1/events", tags=["protection"], route_class=DecisionRoute)

for _kind in EventKind:
    router.add_api_route(
        f"/{_kind.value}",
        _endpoint(_kind),
        methods=["POST"],
        response_model=DecisionOut,
        response_class=OrjsonResponse,
        summary=f"Decide a {_kind.value.replace('_', ' ')}",
    )
