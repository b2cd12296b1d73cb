"""The composition root: settings -> adapters -> services; only entry points call it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.engine import Engine as StoreEngine

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.adapters.duckdb.retention_schedule import DuckDBRetention
from tenure.adapters.redis import RedisKeyedState
from tenure.adapters.sql import create_store_engine, upgrade_to_head
from tenure.adapters.sql.audit import SqlAuditLog
from tenure.adapters.sql.consent import SqlConsentLedger
from tenure.adapters.sql.corporate import SqlCorporateUnitOfWorkFactory
from tenure.adapters.sql.decision_log import SqlDecisionLog
from tenure.adapters.sql.identity import SqlIdentityVault
from tenure.adapters.sql.limits import SqlLimitUnitOfWorkFactory
from tenure.adapters.sql.retention_schedule import SqlRetention
from tenure.adapters.sql.rulesets import (
    SqlListRepository,
    SqlRuleSetRepository,
    SqlSnoozeRepository,
)
from tenure.adapters.sql.stepup import SecretCipher, SqlStepUpUnitOfWorkFactory
from tenure.adapters.sql.subject_requests import SqlSubjectRequestStore, StoreSubjectRecords
from tenure.adapters.sql.uow import SqlUnitOfWorkFactory
from tenure.auth.service import store_secret
from tenure.core.clock import Clock
from tenure.core.decision import CustomerValue
from tenure.core.errors import NotFound, StoreUnavailable
from tenure.data.ingest.protection import KeyedPiiProtector
from tenure.privacy.consent import ConsentService
from tenure.privacy.keys import (
    KeyRing,
    KeyRingError,
    generate_key_file,
    load_key_file,
    parse_key_ring,
)
from tenure.privacy.retention_schedule import RetentionStore, Store
from tenure.privacy.subject_requests import DEFAULT_DUE_DAYS, SubjectRequestService
from tenure.protection.configuration import ProtectionConfig, load_protection_config
from tenure.protection.corporate.rule import CachedMandates, MandateRule
from tenure.protection.engine import BLOCK_LISTS, Engine
from tenure.protection.limits.rule import CachedLimits, LimitRule
from tenure.protection.memory import MappingCustomerValues
from tenure.protection.rulesets.snoozes import CachedSnoozes
from tenure.protection.scorer import EventScorer
from tenure.protection.service import (
    CachedLists,
    CachedRuleBook,
    ProtectionService,
    load_customer_values,
)
from tenure.protection.state.memory import MemoryKeyedState
from tenure.protection.state.port import KeyedState
from tenure.protection.training import FRAUD_MODEL
from tenure.retention.registry import ModelRegistry
from tenure.settings import Settings

__all__ = [
    "KEYS_ENV",
    "STEPUP_SECRET_NAME",
    "LoadedKeyRing",
    "PrivacyServices",
    "build_protection",
    "load_fraud_scorer",
    "load_key_ring",
    "load_settings",
    "open_identity_vault",
    "open_model_registry",
    "open_pii_protector",
    "open_privacy_services",
    "open_retention_stores",
    "open_stepup_units",
    "open_warehouse",
]

KEYS_ENV = "TENURE_KEYS"
# the store's secret that keys SMS code HMACs and seals TOTP secrets
STEPUP_SECRET_NAME = "stepup_key"

_log = logging.getLogger(__name__)


def load_settings() -> Settings:
    """Read settings from the environment once and create the data directories."""
    settings = Settings()
    settings.ensure_dirs()
    return settings


def open_stepup_units(store: StoreEngine, *, clock: Clock) -> SqlStepUpUnitOfWorkFactory:
    """Step-up units of work on ``store``, TOTP secrets sealed under the store's step-up key."""
    secret = store_secret(STEPUP_SECRET_NAME, uow=SqlUnitOfWorkFactory(store)(), clock=clock)
    return SqlStepUpUnitOfWorkFactory(store, SecretCipher(secret))


def open_warehouse(settings: Settings) -> DuckDBWarehouse:
    """The DuckDB warehouse under the data directory, within the configured memory limit."""
    return DuckDBWarehouse.open(
        settings.warehouse_path, memory_limit=settings.warehouse_memory_limit
    )


@dataclass(frozen=True, slots=True)
class LoadedKeyRing:
    """The key ring, where it came from (``TENURE_KEYS`` or the file), and whether it is new."""

    ring: KeyRing
    source: str
    created: bool = False


def load_key_ring(settings: Settings, *, create: bool = False) -> LoadedKeyRing:
    """The ring from ``TENURE_KEYS`` or else the key file; with ``create``, a missing file is
    created (mode 0600) when ``TENURE_KEYS`` is not set either."""
    if settings.keys is not None:
        ring = parse_key_ring(settings.keys.get_secret_value(), source=KEYS_ENV)
        return LoadedKeyRing(ring, KEYS_ENV)
    path = settings.key_file_path
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return LoadedKeyRing(generate_key_file(path), str(path), created=True)
        except KeyRingError:
            if not path.exists():
                raise
            # Another process created it first: read theirs.
    if not path.exists():
        raise KeyRingError(
            f"no key ring: {path} does not exist and {KEYS_ENV} is not set; "
            "run `tenure keys init` (or point TENURE_KEYS_FILE at the key file)",
            field="keys_file",
        )
    return LoadedKeyRing(load_key_file(path), str(path))


@contextmanager
def open_identity_vault(settings: Settings, ring: KeyRing) -> Iterator[SqlIdentityVault]:
    """The identity vault in the operational store (migrated first); disposed afterwards."""
    upgrade_to_head(settings.operational_url)
    engine = create_store_engine(settings.operational_url)
    try:
        yield SqlIdentityVault(engine, ring=ring)
    finally:
        engine.dispose()


@contextmanager
def open_pii_protector(settings: Settings, ring: KeyRing) -> Iterator[KeyedPiiProtector]:
    """What ingest hands personal data to: pseudonyms under ``ring``, identities to the vault."""
    with open_identity_vault(settings, ring) as vault:
        yield KeyedPiiProtector(ring=ring, vault=vault)


def load_fraud_scorer(settings: Settings) -> EventScorer | None:
    """The latest registered fraud scorer, or None before ``tenure protection train``."""
    registry = ModelRegistry(settings.models_dir)
    try:
        loaded = registry.load(FRAUD_MODEL)
    except NotFound:
        return None
    scorer: EventScorer = loaded.model
    scorer.version = loaded.manifest.version
    return scorer


def _customer_values(settings: Settings) -> dict[str, CustomerValue]:
    """Retention's latest values, read once; empty (engine defaults) if the warehouse is busy."""
    if not settings.warehouse_path.exists():
        return {}
    try:
        with DuckDBWarehouse.open(settings.warehouse_path, read_only=True) as warehouse:
            return load_customer_values(warehouse)
    except StoreUnavailable as exc:
        _log.warning("customer values not loaded (%s); the engine uses defaults", exc.message)
        return {}


def _state(settings: Settings) -> KeyedState:
    if settings.protection_state == "redis":
        return RedisKeyedState.from_url(settings.redis_url)
    return MemoryKeyedState()


def build_protection(
    settings: Settings,
    *,
    store: StoreEngine,
    clock: Clock,
    rebuild: bool = True,
    config: ProtectionConfig | None = None,
) -> ProtectionService:
    """The engine wired to the store, the model registry, retention values and keyed state,
    with the live snoozes (cached) dropping rule hits, and the customers' limits and corporate
    mandates (both cached) as hard rules.

    With in-memory state, the last 90 days of logged events are folded back in (``rebuild``).
    ``config`` is the protection config in force (read from the settings when not given).
    """
    rulesets = SqlRuleSetRepository(store)
    log = SqlDecisionLog(store)
    lists = CachedLists(SqlListRepository(store), BLOCK_LISTS.keys(), clock=clock)
    snoozes = CachedSnoozes(SqlSnoozeRepository(store), clock=clock)
    limits = CachedLimits(SqlLimitUnitOfWorkFactory(store), clock=clock)
    mandates = CachedMandates(SqlCorporateUnitOfWorkFactory(store), clock=clock)
    rulebook = CachedRuleBook(rulesets, settings.protection_ruleset, clock=clock)
    if config is None:
        config = load_protection_config(settings.protection_config_path)
    engine = Engine(
        state=_state(settings),
        log=log,
        values=MappingCustomerValues(_customer_values(settings)),
        scorer=load_fraud_scorer(settings),
        rules=rulebook.current(),
        lists=lists,
        hard_rules=(LimitRule(limits, policy=config.limits), MandateRule(mandates)),
        snoozes=snoozes,
        policy=config.policy(),
        clock=clock,
        default_customer=config.costs.default_customer,
    )
    service = ProtectionService(
        engine=engine,
        rulesets=rulesets,
        lists=lists,
        snoozes=snoozes,
        limits=limits,
        mandates=mandates,
        rulebook=rulebook,
        events=log,
        clock=clock,
        ruleset_name=settings.protection_ruleset,
    )
    if rebuild and settings.protection_state == "memory":
        service.rebuild_state()
    return service


@dataclass(frozen=True, slots=True)
class PrivacyServices:
    """The consent ledger and services and the data-subject requests, on one store engine;
    every change they make is recorded in the hash-chained audit trail (``audit``)."""

    settings: Settings
    engine: StoreEngine
    ledger: SqlConsentLedger
    consents: ConsentService
    requests: SubjectRequestService
    audit: SqlAuditLog

    def identity_vault(self) -> SqlIdentityVault:
        """The identity vault under the configured key ring (``KeyRingError`` names the fix)."""
        return SqlIdentityVault(self.engine, ring=load_key_ring(self.settings).ring)


@contextmanager
def open_privacy_services(
    settings: Settings, *, clock: Clock, due_days: int = DEFAULT_DUE_DAYS
) -> Iterator[PrivacyServices]:
    """The privacy services on the operational store (migrated first); disposed afterwards.

    The audit trail is written directly (each record committed before the call returns), so a
    command's records are in the store when it exits.
    """
    upgrade_to_head(settings.operational_url)
    engine = create_store_engine(settings.operational_url)
    try:
        audit = SqlAuditLog(engine)
        ledger = SqlConsentLedger(engine)
        consents = ConsentService(ledger, clock=clock, audit=audit)
        requests = SubjectRequestService(
            SqlSubjectRequestStore(engine),
            consents=consents,
            records=StoreSubjectRecords(engine, settings.warehouse_path),
            audit=audit,
            clock=clock,
            due_days=due_days,
        )
        yield PrivacyServices(settings, engine, ledger, consents, requests, audit)
    finally:
        engine.dispose()


@contextmanager
def open_retention_stores(
    settings: Settings, *, dry_run: bool
) -> Iterator[dict[Store, RetentionStore]]:
    """The stores a retention run works on: the operational store (migrated first) and the
    warehouse when its file exists (read-only for a dry run); both closed afterwards.

    Warehouse changes are audited to the operational store's trail, committed before the
    warehouse commits.
    """
    upgrade_to_head(settings.operational_url)
    engine = create_store_engine(settings.operational_url)
    stores: dict[Store, RetentionStore] = {Store.OPERATIONAL: SqlRetention(engine)}
    warehouse: DuckDBWarehouse | None = None
    try:
        if settings.warehouse_path.exists():
            warehouse = DuckDBWarehouse.open(
                settings.warehouse_path,
                memory_limit=settings.warehouse_memory_limit,
                read_only=dry_run,
            )
            stores[Store.WAREHOUSE] = DuckDBRetention(warehouse, audit=SqlAuditLog(engine))
        yield stores
    finally:
        if warehouse is not None:
            warehouse.close()
        engine.dispose()


@contextmanager
def open_model_registry(settings: Settings, *, actor: str) -> Iterator[ModelRegistry]:
    """The model registry with every version it saves recorded in the audit trail as ``actor``
    (the operational store is migrated first and disposed afterwards)."""
    upgrade_to_head(settings.operational_url)
    engine = create_store_engine(settings.operational_url)
    try:
        yield ModelRegistry(settings.models_dir, audit=SqlAuditLog(engine), actor=actor)
    finally:
        engine.dispose()
