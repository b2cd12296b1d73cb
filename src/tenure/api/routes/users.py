"""People who sign in (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, status

from tenure.api.dependencies import State, UnitOfWorkDep, UsersManager
from tenure.api.schemas import UserCreate, UserOut
from tenure.auth.service import create_user, list_users

__all__ = ["router"]

router = APIRouter(tags=["users"])


@router.get("/v1/users")
def get_users(principal: UsersManager, uow: UnitOfWorkDep) -> list[UserOut]:
    """Every user, by username."""
    return [UserOut.of(user) for user in list_users(uow=uow)]


@router.post("/v1/users", status_code=status.HTTP_201_CREATED)
def post_user(
    body: UserCreate, principal: UsersManager, uow: UnitOfWorkDep, state: State
) -> UserOut:
    """Create a user; the password must be at least 12 characters."""
    user = create_user(
        uow=uow,
        username=body.username,
        password=body.password.get_secret_value(),
        roles=body.roles,
        display_name=body.display_name,
        clock=state.clock,
    )
    state.record_audit(
        actor=principal.subject,
        action="user.created",
        subject=f"user:{user.id}",
        details={"username": user.username, "roles": sorted(r.value for r in user.roles)},
    )
    return UserOut.of(user)
