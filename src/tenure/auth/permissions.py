"""The permission vocabulary and which roles hold which permissions.

Routes declare the permission they need (``require_permission(Permission.USERS_MANAGE)``); roles
map to permissions here, in one table, so that a review of who may do what reads one file. ``admin``
holds every permission.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from tenure.core.roles import Role

__all__ = ["ROLE_PERMISSIONS", "Permission", "has_permission", "permissions_for"]


class Permission(StrEnum):
    """One thing a principal may do, named ``<noun>:<verb>``."""

    USERS_MANAGE = "users:manage"
    API_KEYS_MANAGE = "api_keys:manage"
    WAREHOUSE_READ = "warehouse:read"
    DATA_LOAD = "data:load"
    RETENTION_READ = "retention:read"
    WORKLIST_READ = "worklist:read"
    CAMPAIGNS_MANAGE = "campaigns:manage"
    PROTECTION_DECIDE = "protection:decide"
    RULES_MANAGE = "rules:manage"
    CASES_WORK = "cases:work"
    CORPORATE_MANAGE = "corporate:manage"
    COMPLAINTS_WORK = "complaints:work"
    PRIVACY_MANAGE = "privacy:manage"
    PII_READ = "pii:read"
    CONSENTS_READ = "consents:read"
    CONSENTS_RECORD = "consents:record"
    AUDIT_READ = "audit:read"
    METRICS_READ = "metrics:read"


_P = Permission

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.ADMIN: frozenset(Permission),
        Role.RETENTION_ANALYST: frozenset(
            {_P.WAREHOUSE_READ, _P.RETENTION_READ, _P.WORKLIST_READ, _P.CAMPAIGNS_MANAGE}
        ),
        Role.RELATIONSHIP_MANAGER: frozenset(
            {_P.WORKLIST_READ, _P.RETENTION_READ, _P.CONSENTS_READ}
        ),
        Role.MARKETING_MANAGER: frozenset(
            {_P.WAREHOUSE_READ, _P.RETENTION_READ, _P.CAMPAIGNS_MANAGE, _P.CONSENTS_READ}
        ),
        Role.FRAUD_ANALYST: frozenset(
            {_P.WAREHOUSE_READ, _P.RULES_MANAGE, _P.CASES_WORK, _P.METRICS_READ}
        ),
        Role.CORPORATE_ADMIN: frozenset({_P.CORPORATE_MANAGE}),
        Role.SERVICE_AGENT: frozenset(
            {_P.COMPLAINTS_WORK, _P.PII_READ, _P.CONSENTS_READ, _P.CONSENTS_RECORD}
        ),
        Role.PRIVACY_OFFICER: frozenset(
            {_P.PRIVACY_MANAGE, _P.AUDIT_READ, _P.PII_READ, _P.CONSENTS_READ, _P.CONSENTS_RECORD}
        ),
        Role.PLATFORM_ENGINEER: frozenset({_P.WAREHOUSE_READ, _P.DATA_LOAD, _P.METRICS_READ}),
        Role.SYSTEM: frozenset(
            {_P.PROTECTION_DECIDE, _P.DATA_LOAD, _P.CONSENTS_READ, _P.CONSENTS_RECORD}
        ),
    }
)


def permissions_for(roles: Iterable[Role]) -> frozenset[Permission]:
    """Every permission the given roles hold together."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def has_permission(roles: Iterable[Role], permission: Permission) -> bool:
    """Whether any of the roles holds ``permission``."""
    return permission in permissions_for(roles)
