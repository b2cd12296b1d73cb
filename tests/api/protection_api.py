"""Who calls the protection API in its tests, and the rule set they start from."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine
from tenure.adapters.sql.rulesets import SqlRuleSetRepository
from tenure.auth import service, tokens
from tenure.core.clock import FixedClock
from tenure.core.roles import Role
from tenure.protection.rulesets import activate, approve, create_draft
from tenure.settings import Settings

Headers = dict[str, str]


def signed_in(
    uow_factory: SqlUnitOfWorkFactory, settings: Settings, clock: FixedClock, name: str, role: Role
) -> Headers:
    """The bearer header of a new user ``name`` holding ``role`` (a 30-minute token)."""
    user = service.create_user(
        uow=uow_factory(), username=name, password="correct horse battery", roles=[role]
    )
    assert settings.jwt_secret is not None
    token = tokens.issue_token(
        principal=service.principal_for(user),
        secret=settings.jwt_secret,
        clock=clock,
        ttl=timedelta(minutes=30),
    )
    return {"Authorization": f"Bearer {token}"}


def machine_key(uow_factory: SqlUnitOfWorkFactory, clock: FixedClock) -> Headers:
    """A channel's machine key (the system role may ask for decisions)."""
    _, plaintext = service.create_api_key(
        uow=uow_factory(), name="mobile-app", roles=[Role.SYSTEM], clock=clock
    )
    return {"X-API-Key": plaintext}


def activate_ruleset(settings: Settings, clock: FixedClock, document: Mapping[str, Any]) -> None:
    """Version 1 of ``document``, drafted by alice, approved by bob and active, in the store."""
    engine = create_store_engine(settings.operational_url)
    try:
        repo = SqlRuleSetRepository(engine)
        name = str(document["name"])
        create_draft(repo, name=name, document=document, author="alice", clock=clock)
        approve(repo, name=name, version=1, approver="bob", clock=clock)
        activate(repo, name=name, version=1, actor="alice", clock=clock)
    finally:
        engine.dispose()
