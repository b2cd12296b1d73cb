"""What the API holds for its lifetime: settings, clock, the store, the keys and the audit sink."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from pydantic import SecretStr
from sqlalchemy.engine import Engine

from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine
from tenure.adapters.sql.audit import audit_trail_for
from tenure.adapters.sql.corporate import SqlCorporateUnitOfWorkFactory
from tenure.adapters.sql.decision_log import SqlDecisionLog
from tenure.adapters.sql.identity import SqlIdentityVault
from tenure.adapters.sql.limits import SqlLimitUnitOfWorkFactory
from tenure.adapters.sql.resolutions import SqlResolutions
from tenure.adapters.sql.rulesets import (
    SqlListRepository,
    SqlRuleSetRepository,
    SqlSnoozeRepository,
)
from tenure.adapters.sql.stepup import SecretCipher, SqlStepUpUnitOfWorkFactory
from tenure.auth.model import Principal
from tenure.auth.ports import UnitOfWork
from tenure.auth.service import signing_secret, store_secret
from tenure.bootstrap import STEPUP_SECRET_NAME, build_protection, load_key_ring
from tenure.core.clock import Clock
from tenure.privacy.keys import KeyRing
from tenure.protection.configuration import ProtectionConfig, load_protection_config
from tenure.protection.corporate import AuditEntry, AuditSink, CorporateUnitOfWork
from tenure.protection.limits import LimitUnitOfWork
from tenure.protection.service import ProtectionService
from tenure.protection.stepup import StepUpUnitOfWork
from tenure.settings import Settings

__all__ = ["KEY_CACHE_SECONDS", "STEPUP_SECRET_NAME", "ApiState", "LoggingAuditSink", "build_state"]

# A checked machine key is trusted this long without a store lookup: channels call once per
# event, and a lookup would cost as much as the decision. A revocation applies at once in the
# worker that revokes and within this time in the others.
KEY_CACHE_SECONDS = 30.0
_KEY_CACHE_SIZE = 10_000


def _digest(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


_audit_log = logging.getLogger("tenure.audit")


class LoggingAuditSink:
    """Hands each record to ``durable`` (when given), then logs it and keeps the latest ``keep``.

    The API gives it the hash-chained trail in the store: that is the record; the log line and
    the in-memory copies are for operators and tests. A record ``durable`` refuses raises before
    it is logged or kept, so nothing is shown as audited that the trail does not hold.
    """

    def __init__(self, keep: int = 10_000, *, durable: AuditSink | None = None) -> None:
        self.recent: deque[AuditEntry] = deque(maxlen=keep)
        self._durable = durable
        self._lock = threading.Lock()

    def record(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, object],
        at: datetime,
    ) -> None:
        if self._durable is not None:
            self._durable.record(
                actor=actor, action=action, subject=subject, details=details, at=at
            )
        entry = AuditEntry(actor, action, subject, MappingProxyType(dict(details)), at)
        with self._lock:
            self.recent.append(entry)
        _audit_log.info("%s %s by %s", action, subject, actor)


@dataclass(slots=True)
class ApiState:
    """One per app; keys are read from the store on first use and then kept."""

    settings: Settings
    clock: Clock
    engine: Engine
    uow: Callable[[], UnitOfWork]
    decision_log: SqlDecisionLog
    resolutions: SqlResolutions
    protection_config: ProtectionConfig
    rulesets: SqlRuleSetRepository
    lists: SqlListRepository
    snoozes: SqlSnoozeRepository
    limits_uow: Callable[[], LimitUnitOfWork]
    corporate_uow: Callable[[], CorporateUnitOfWork]
    protection_audit: AuditSink
    _secret: SecretStr | None = field(default=None, repr=False)
    _stepup_secret: SecretStr | None = field(default=None, repr=False)
    _stepup_uows: Callable[[], StepUpUnitOfWork] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _protection: ProtectionService | None = field(default=None, repr=False)
    _rebuilt_events: int | None = field(default=None, repr=False)
    _principals: dict[str, tuple[Principal, float]] = field(default_factory=dict, repr=False)
    _vault: SqlIdentityVault | None = field(default=None, repr=False)

    def cached_principal(self, credential: str) -> Principal | None:
        """The principal a machine key was checked to be in the last ``KEY_CACHE_SECONDS``."""
        found = self._principals.get(_digest(credential))
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def remember_principal(self, credential: str, principal: Principal) -> None:
        """Keep a checked machine key for ``KEY_CACHE_SECONDS`` (bounded; oldest dropped)."""
        if len(self._principals) >= _KEY_CACHE_SIZE:
            self._principals.pop(next(iter(self._principals)))
        self._principals[_digest(credential)] = (principal, time.monotonic() + KEY_CACHE_SECONDS)

    def forget_principals(self) -> None:
        """Drop every cached key (after a revocation)."""
        self._principals.clear()

    def close(self) -> None:
        """Release the engine's connections and the store's pool (at shutdown)."""
        if self._protection is not None:
            self._protection.close()
        self.engine.dispose()

    def protection(self) -> ProtectionService:
        """The real-time engine, built (and its state rebuilt from the log) on first use."""
        if self._protection is None:
            with self._lock:
                if self._protection is None:
                    service = build_protection(
                        self.settings,
                        store=self.engine,
                        clock=self.clock,
                        rebuild=False,
                        config=self.protection_config,  # the numbers the routes use too
                    )
                    # Rebuilt here rather than in build_protection to keep the count for status.
                    if self.settings.protection_state == "memory":
                        self._rebuilt_events = service.rebuild_state()
                    self._protection = service
        return self._protection

    @property
    def rebuilt_events(self) -> int | None:
        """Events folded back into state when the engine was built (None: not built, or Redis)."""
        return self._rebuilt_events

    def rules_changed(self) -> None:
        """Recompile the rule sets of a running engine (one not built yet loads them anyway)."""
        if self._protection is not None:
            self._protection.reload_rules()

    def lists_changed(self) -> None:
        """Reload the block lists of a running engine now instead of at the next cache expiry."""
        if self._protection is not None:
            self._protection.lists.refresh()

    def snoozes_changed(self) -> None:
        """Reload the snoozes of a running engine now instead of at the next cache expiry."""
        if self._protection is not None:
            self._protection.snoozes.refresh()

    def mandates_changed(self) -> None:
        """Reload the corporate mandates of a running engine now instead of at the next cache
        expiry (other workers see a new mandate at their own next reload, within seconds)."""
        if self._protection is not None:
            self._protection.mandates.refresh()

    def limits_changed(self) -> None:
        """Reload the stored limits of a running engine now instead of at the next cache expiry
        (other workers see a change at their own next reload, within seconds)."""
        if self._protection is not None:
            self._protection.limits.refresh()

    def record_audit(
        self, *, actor: str, action: str, subject: str, details: Mapping[str, object]
    ) -> None:
        """Record one administrative step (protection, privacy), stamped with the clock's time."""
        self.protection_audit.record(
            actor=actor, action=action, subject=subject, details=details, at=self.clock.now()
        )

    def signing_secret(self) -> SecretStr:
        """The JWT signing key (configured, or generated once into the store)."""
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    self._secret = signing_secret(
                        configured=self.settings.jwt_secret, uow=self.uow(), clock=self.clock
                    )
        return self._secret

    def stepup_secret(self) -> SecretStr:
        """The key of SMS code HMACs and TOTP secret sealing (generated once into the store)."""
        if self._stepup_secret is None:
            with self._lock:
                if self._stepup_secret is None:
                    self._stepup_secret = store_secret(
                        STEPUP_SECRET_NAME, uow=self.uow(), clock=self.clock
                    )
        return self._stepup_secret

    def key_ring(self) -> KeyRing:
        """The key ring protecting personal data (``TENURE_KEYS`` or the key file; never created
        here: ``tenure keys init`` or the first ``tenure ingest`` makes one)."""
        return self.identity_vault().ring

    def identity_vault(self) -> SqlIdentityVault:
        """The identity vault, opened under the key ring on first use (a missing ring raises
        ``KeyRingError``, which names the fix)."""
        if self._vault is None:
            with self._lock:
                if self._vault is None:
                    ring = load_key_ring(self.settings).ring
                    self._vault = SqlIdentityVault(self.engine, ring=ring, clock=self.clock)
        return self._vault

    def stepup_uow(self) -> StepUpUnitOfWork:
        """A fresh, unopened step-up unit of work (TOTP secrets sealed under the step-up key)."""
        if self._stepup_uows is None:
            cipher = SecretCipher(self.stepup_secret())
            with self._lock:
                if self._stepup_uows is None:
                    self._stepup_uows = SqlStepUpUnitOfWorkFactory(self.engine, cipher)
        return self._stepup_uows()


def build_state(settings: Settings, *, clock: Clock) -> ApiState:
    """Build the store engine (lazily connecting), the repositories and unit-of-work factories."""
    engine = create_store_engine(settings.operational_url)
    return ApiState(
        settings=settings,
        clock=clock,
        engine=engine,
        uow=SqlUnitOfWorkFactory(engine),
        decision_log=SqlDecisionLog(engine),
        resolutions=SqlResolutions(engine),
        protection_config=load_protection_config(settings.protection_config_path),
        rulesets=SqlRuleSetRepository(engine),
        lists=SqlListRepository(engine),
        snoozes=SqlSnoozeRepository(engine),
        limits_uow=SqlLimitUnitOfWorkFactory(engine),
        corporate_uow=SqlCorporateUnitOfWorkFactory(engine),
        protection_audit=LoggingAuditSink(durable=audit_trail_for(engine)),
    )
