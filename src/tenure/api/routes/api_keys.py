"""Machine keys (admin only); the full key is returned once, at creation or rotation."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status

from tenure.api.dependencies import ApiKeysManager, State, UnitOfWorkDep
from tenure.api.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, ApiKeyRotated
from tenure.api.state import ApiState
from tenure.auth.model import ApiKey, Principal
from tenure.auth.service import create_api_key, list_api_keys, revoke_api_key, rotate_api_key

__all__ = ["router"]

router = APIRouter(tags=["api-keys"])


def _audit(state: ApiState, principal: Principal, action: str, key: ApiKey, **more: str) -> None:
    """Record a key's creation, revocation or rotation: its id, name and roles, never the key."""
    details = {"name": key.name, "roles": sorted(r.value for r in key.roles), **more}
    state.record_audit(
        actor=principal.subject, action=action, subject=f"api_key:{key.id}", details=details
    )


@router.get("/v1/api-keys")
def get_api_keys(principal: ApiKeysManager, uow: UnitOfWorkDep) -> list[ApiKeyOut]:
    """Every key, oldest first (never the secrets)."""
    return [ApiKeyOut.of(key) for key in list_api_keys(uow=uow)]


@router.post("/v1/api-keys", status_code=status.HTTP_201_CREATED)
def post_api_key(
    body: ApiKeyCreate, principal: ApiKeysManager, uow: UnitOfWorkDep, state: State
) -> ApiKeyCreated:
    """Create a key; store the returned ``key`` now, it cannot be shown again."""
    owner = principal.subject if principal.kind == "user" else None
    key, plaintext = create_api_key(
        uow=uow, name=body.name, roles=body.roles, owner_id=owner, clock=state.clock
    )
    _audit(state, principal, "api_key.created", key)
    return ApiKeyCreated(**ApiKeyOut.of(key).model_dump(), key=plaintext)


@router.delete("/v1/api-keys/{key_id}")
def delete_api_key(
    key_id: str, principal: ApiKeysManager, uow: UnitOfWorkDep, state: State
) -> ApiKeyOut:
    """Revoke a key; it stops working at once here, and within 30 s in other workers."""
    revoked = revoke_api_key(uow=uow, key_id=key_id, clock=state.clock)
    state.forget_principals()
    _audit(state, principal, "api_key.revoked", revoked)
    return ApiKeyOut.of(revoked)


@router.post("/v1/api-keys/{key_id}/rotate", status_code=status.HTTP_201_CREATED)
def post_rotation(
    key_id: str, principal: ApiKeysManager, uow: UnitOfWorkDep, state: State
) -> ApiKeyRotated:
    """Issue a successor key (same name and roles); the old one works until the grace period ends.

    The grace period is ``api_key_rotation_grace_minutes`` (a day by default): deploy the new key
    to the channel within it. A revoked or already rotated key is 409.
    """
    grace = timedelta(minutes=state.settings.api_key_rotation_grace_minutes)
    new, plaintext, old = rotate_api_key(uow=uow, key_id=key_id, grace=grace, clock=state.clock)
    if grace <= timedelta(0):
        state.forget_principals()
    _audit(state, principal, "api_key.rotated", new, replaces=old.id)
    return ApiKeyRotated(
        **ApiKeyOut.of(new).model_dump(), key=plaintext, replaces=ApiKeyOut.of(old)
    )
