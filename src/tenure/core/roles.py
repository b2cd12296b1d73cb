"""The roles people and machines hold (see ARCHITECTURE.md, "Who uses it")."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role"]


class Role(StrEnum):
    """A role; what each role may do is one table in ``tenure.auth.permissions``."""

    ADMIN = "admin"
    RETENTION_ANALYST = "retention_analyst"
    RELATIONSHIP_MANAGER = "relationship_manager"
    MARKETING_MANAGER = "marketing_manager"
    FRAUD_ANALYST = "fraud_analyst"
    CORPORATE_ADMIN = "corporate_admin"
    SERVICE_AGENT = "service_agent"
    PRIVACY_OFFICER = "privacy_officer"
    PLATFORM_ENGINEER = "platform_engineer"
    SYSTEM = "system"
