"""One JSON error shape for every failure, and the request id that ties a response to the logs.

``{"error": {"code", "message", "field", "request_id"}}`` is returned for Tenure errors, HTTP errors
(404, 405, ...), request validation (422) and unhandled exceptions (500, with no internals).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenure.core import errors
from tenure.privacy.keys import KeyRingError

__all__ = [
    "OrjsonResponse",
    "RequestContextMiddleware",
    "error_response",
    "install_error_handlers",
    "request_id_of",
]

logger = logging.getLogger("tenure.api")

WWW_AUTHENTICATE = 'Bearer realm="tenure"'
_REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

_STATUS_OF: dict[type[errors.TenureError], int] = {
    errors.ValidationError: 422,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.AuthenticationFailed: 401,
    errors.PermissionDenied: 403,
    errors.ConfigurationError: 500,
    errors.StoreUnavailable: 503,
    # No (readable) key ring: the server is not set up to read personal data yet.
    KeyRingError: 503,
}
_CODE_OF_STATUS = {
    400: "bad_request",
    401: errors.AuthenticationFailed.code,
    403: errors.PermissionDenied.code,
    404: errors.NotFound.code,
    405: "method_not_allowed",
    409: errors.Conflict.code,
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: errors.ValidationError.code,
    429: "rate_limited",
    503: "service_unavailable",
}


class OrjsonResponse(JSONResponse):
    """JSON rendered with orjson (non-string keys and numpy values allowed)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


def request_id_of(scope: Mapping[str, Any]) -> str:
    """The id the middleware gave this request ("-" outside one)."""
    state = scope.get("state") or {}
    value: object = state.get("request_id")
    return value if isinstance(value, str) else "-"


def error_response(
    *,
    request_id: str,
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> OrjsonResponse:
    """Render the one error shape."""
    merged = {"x-request-id": request_id, **(headers or {})}
    if status == 401:
        merged.setdefault("www-authenticate", WWW_AUTHENTICATE)
    body = {"code": code, "message": message, "field": field, "request_id": request_id}
    return OrjsonResponse({"error": body}, status_code=status, headers=merged)


def _status_for(error: errors.TenureError) -> int:
    for kind in type(error).__mro__:
        if kind in _STATUS_OF:
            return _STATUS_OF[kind]
    return 500


async def _tenure_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.TenureError)
    status = _status_for(exc)
    if status >= 500:
        logger.error("request failed: %s (%s)", exc.code, exc.message)
    return error_response(
        request_id=request_id_of(request.scope),
        status=status,
        code=exc.code,
        message=exc.message,
        field=exc.field,
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else _phrase(exc.status_code)
    return error_response(
        request_id=request_id_of(request.scope),
        status=exc.status_code,
        code=_CODE_OF_STATUS.get(exc.status_code, f"http_{exc.status_code}"),
        message=message,
        headers=exc.headers,
    )


def _field_of(location: Sequence[Any]) -> str | None:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or None


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    first = problems[0] if problems else {}
    field = _field_of(first.get("loc", ()))
    # Only pydantic's message is used: it describes the rule, never echoes the input.
    message = str(first.get("msg", "the request is not valid"))
    if len(problems) > 1:
        message = f"{message} (and {len(problems) - 1} more problem(s))"
    return error_response(
        request_id=request_id_of(request.scope),
        status=422,
        code=errors.ValidationError.code,
        message=message,
        field=field,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through the one shape."""
    app.add_exception_handler(errors.TenureError, _tenure_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = bytes(value).decode("latin-1")
            if _SAFE_REQUEST_ID.fullmatch(candidate):
                return candidate
    return uuid.uuid4().hex


MAX_BODY_BYTES = 64 * 1024  # an event is under 2 KiB; nothing Tenure accepts needs more


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(request_id: str) -> Response:
    return error_response(
        request_id=request_id,
        status=413,
        code="payload_too_large",
        message=f"the request body is over {MAX_BODY_BYTES // 1024} KiB",
    )


class RequestContextMiddleware:
    """Gives each request an id (kept from ``X-Request-ID`` when sane) and turns a crash into a 500.

    Catching here, inside Starlette's outermost error middleware, answers with the error shape and
    logs the traceback once, instead of letting the server print it and answer in plain text.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        scope["state"] = {**scope.get("state", {}), "request_id": request_id}
        started = False
        refused = False  # set once a too-large body has been answered with 413

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent
            if message["type"] == "http.response.start":
                started = True
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        declared = _content_length(scope)
        if declared is not None and declared > MAX_BODY_BYTES:
            await _too_large(request_id)(scope, receive, send)
            return
        seen = 0

        async def receive_bounded() -> Message:
            # past the limit, answer 413 now and tell the app the client has gone
            nonlocal seen, refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES and not started and not refused:
                refused = True
                await _too_large(request_id)(scope, receive, send)
                return {"type": "http.disconnect"}
            return message

        try:
            await self.app(scope, receive_bounded, send_with_id)
        except Exception:
            if refused:
                return
            logger.exception("unhandled error in request %s", request_id)
            if started:
                raise
            response = error_response(
                request_id=request_id,
                status=500,
                code="internal_error",
                message="an internal error occurred; quote the request id to an administrator",
            )
            await response(scope, receive, send)
