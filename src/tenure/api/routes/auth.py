"""Sign-in (``POST /v1/auth/token``), the caller's own identity (``GET /v1/me``) and password.

Sign-in locks an account after ``max_failed_logins`` failures in a row, for ``lockout_minutes``
(settings; counted in the store). Refused sign-ins are marked for the rate limiter, which slows
an address that keeps failing.

The token endpoint reads an OAuth2 password form itself, because form parsing in Starlette needs the
optional python-multipart package, which Tenure does not ship; JSON bodies are accepted too.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

import pydantic
from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError

from tenure.api.dependencies import CurrentPrincipal, State, UnitOfWorkDep
from tenure.api.schemas import (
    ErrorResponse,
    PasswordChange,
    PrincipalOut,
    TokenRequest,
    TokenResponse,
)
from tenure.api.security import mark_refused
from tenure.auth import tokens
from tenure.auth.permissions import permissions_for
from tenure.auth.service import authenticate, change_password, principal_for
from tenure.core.errors import AuthenticationFailed, PermissionDenied

__all__ = ["router"]

router = APIRouter(tags=["auth"])

_MAX_BODY_BYTES = 8 * 1024
_FORM = "application/x-www-form-urlencoded"
# The body is parsed by hand (see the module docstring), so it is described to OpenAPI by hand.
_TOKEN_SCHEMA = TokenRequest.model_json_schema()
_TOKEN_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        _FORM: {"schema": _TOKEN_SCHEMA},
        "application/json": {"schema": _TOKEN_SCHEMA},
    },
}


def _body_error(message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body",), "msg": message}])


async def read_token_request(request: Request) -> TokenRequest:
    """Parse the sign-in body, form-encoded (OAuth2) or JSON."""
    body = await request.body()
    if len(body) > _MAX_BODY_BYTES:
        raise _body_error("the body is too large")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media_type == _FORM:
            data: object = dict(parse_qsl(body.decode("utf-8"), max_num_fields=10))
        elif media_type == "application/json":
            data = json.loads(body)
        else:
            raise _body_error(f"send {_FORM} or application/json")
    except (UnicodeDecodeError, ValueError) as exc:
        raise _body_error("the body cannot be decoded") from exc
    try:
        return TokenRequest.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = exc.errors(include_input=False, include_url=False)
        raise RequestValidationError(
            [{**problem, "loc": ("body", *problem["loc"])} for problem in problems]
        ) from exc


@router.post(
    "/v1/auth/token",
    openapi_extra={"requestBody": _TOKEN_BODY},
    responses={401: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def issue_token(
    request: Request,
    credentials: Annotated[TokenRequest, Depends(read_token_request)],
    state: State,
    uow: UnitOfWorkDep,
) -> TokenResponse:
    """Exchange a username and password for a bearer token."""
    try:
        user = authenticate(
            uow=uow,
            username=credentials.username,
            password=credentials.password.get_secret_value(),
            clock=state.clock,
            max_failed_logins=state.settings.max_failed_logins,
            lockout_period=timedelta(minutes=state.settings.lockout_minutes),
        )
    except AuthenticationFailed:
        mark_refused(request.scope)
        attempted = {"username": credentials.username.strip().lower()}
        state.record_audit(
            actor="anonymous", action="auth.login_failed", subject="auth:token", details=attempted
        )
        raise
    state.record_audit(
        actor=user.username, action="auth.login_succeeded", subject=f"user:{user.id}", details={}
    )
    ttl = timedelta(minutes=state.settings.jwt_ttl_minutes)
    token = tokens.issue_token(
        principal=principal_for(user), secret=state.signing_secret(), clock=state.clock, ttl=ttl
    )
    return TokenResponse(access_token=token, expires_in=int(ttl.total_seconds()))


@router.get("/v1/me")
def read_me(principal: CurrentPrincipal) -> PrincipalOut:
    """The principal this request acts as, with its roles and permissions."""
    return PrincipalOut.of(principal, frozenset(permissions_for(principal.roles)))


@router.post("/v1/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_my_password(
    request: Request, body: PasswordChange, principal: CurrentPrincipal, state: State
) -> Response:
    """Change the caller's own password; a wrong current one is 403 and counts to the lock-out."""
    if principal.kind != "user":
        raise PermissionDenied("only people have passwords; rotate an API key instead")
    try:
        change_password(
            uow=state.uow(),
            user_id=principal.subject,
            current_password=body.current_password.get_secret_value(),
            new_password=body.new_password.get_secret_value(),
            clock=state.clock,
            max_failed_logins=state.settings.max_failed_logins,
            lockout_period=timedelta(minutes=state.settings.lockout_minutes),
        )
    except PermissionDenied:
        mark_refused(request.scope)
        state.record_audit(
            actor=principal.name,
            action="auth.password_change_refused",
            subject=f"user:{principal.subject}",
            details={},
        )
        raise
    state.record_audit(
        actor=principal.name,
        action="auth.password_changed",
        subject=f"user:{principal.subject}",
        details={},
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
