"""What the API holds for its lifetime: settings, clock, the store, and the signing key."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import SecretStr
from sqlalchemy.engine import Engine

from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine
from tenure.auth.ports import UnitOfWork
from tenure.auth.service import signing_secret
from tenure.bootstrap import build_protection
from tenure.core.clock import Clock
from tenure.protection.service import ProtectionService
from tenure.settings import Settings

__all__ = ["ApiState", "build_state"]


@dataclass(slots=True)
class ApiState:
    """One per app; the signing key is read from the store on first use and then kept."""

    settings: Settings
    clock: Clock
    engine: Engine
    uow: Callable[[], UnitOfWork]
    _secret: SecretStr | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _protection: ProtectionService | None = field(default=None, repr=False)

    def protection(self) -> ProtectionService:
        """The real-time engine, built (and its state rebuilt from the log) on first use."""
        if self._protection is None:
            with self._lock:
                if self._protection is None:
                    self._protection = build_protection(
                        self.settings, store=self.engine, clock=self.clock
                    )
        return self._protection

    def signing_secret(self) -> SecretStr:
        """The JWT signing key (configured, or generated once into the store)."""
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    self._secret = signing_secret(
                        configured=self.settings.jwt_secret, uow=self.uow(), clock=self.clock
                    )
        return self._secret


def build_state(settings: Settings, *, clock: Clock) -> ApiState:
    """Build the store engine (lazily connecting) and the unit-of-work factory."""
    engine = create_store_engine(settings.operational_url)
    return ApiState(settings=settings, clock=clock, engine=engine, uow=SqlUnitOfWorkFactory(engine))
