"""The model registry: versions, content hash verified on load, feature list checked."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tenure.core.clock import FixedClock
from tenure.core.errors import ConfigurationError, NotFound
from tenure.privacy.audit import InMemoryAuditSink
from tenure.retention.registry import (
    ARTEFACT_FILE,
    ModelManifest,
    ModelRegistry,
    catalogue_hash,
    check_features,
)

FEATURES = ("tenure_days", "logins_30d", "balance_ratio_90d")


def _manifest(**changes: object) -> ModelManifest:
    base = ModelManifest(
        name="churn",
        version="",
        created_at="",
        features=FEATURES,
        catalogue_hash=catalogue_hash(),
        definition="closure",
        horizon_days=90,
        training={"first_snapshot": "2025-02-01T00:00:00+00:00"},
        metrics={"roc_auc": 0.7},
        distributions={},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models", clock=FixedClock(datetime(2025, 9, 1, tzinfo=UTC)))


def test_versions_count_up_and_latest_loads_the_newest(registry: ModelRegistry) -> None:
    first = registry.save(model={"weights": [1]}, manifest=_manifest())
    second = registry.save(model={"weights": [2]}, manifest=_manifest(metrics={"roc_auc": 0.8}))
    assert (first.version, second.version) == ("v0001", "v0002")
    assert registry.list_versions("churn") == ["v0001", "v0002"]
    latest = registry.load("churn")
    assert latest.model == {"weights": [2]}
    assert latest.manifest.metrics == {"roc_auc": 0.8}
    assert latest.manifest.created_at == "2025-09-01T00:00:00+00:00"
    assert len(latest.manifest.artefact_sha256) == 64
    assert registry.load("churn", "v0001").model == {"weights": [1]}


def test_each_saved_version_is_recorded_in_the_audit_trail(tmp_path: Path) -> None:
    audit = InMemoryAuditSink()
    at = datetime(2025, 9, 1, tzinfo=UTC)
    registry = ModelRegistry(
        tmp_path / "models", clock=FixedClock(at), audit=audit, actor="cli:ops"
    )
    first = registry.save(model={"weights": [1]}, manifest=_manifest())
    second = registry.save(model={"weights": [2]}, manifest=_manifest(metrics={"roc_auc": 0.8}))

    assert [(e.actor, e.action, e.subject, e.at) for e in audit.entries] == [
        ("cli:ops", "model.registered", "model:churn/v0001", at),
        ("cli:ops", "model.registered", "model:churn/v0002", at),
    ]
    assert dict(audit.entries[1].details) == {
        "artefact_sha256": second.artefact_sha256,
        "metrics": {"roc_auc": 0.8},
    }
    assert audit.entries[0].details["artefact_sha256"] == first.artefact_sha256


def test_a_tampered_artefact_is_refused(registry: ModelRegistry) -> None:
    saved = registry.save(model={"weights": [1]}, manifest=_manifest())
    artefact = registry.root / "churn" / saved.version / ARTEFACT_FILE
    artefact.write_bytes(artefact.read_bytes() + b"\x00")
    with pytest.raises(ConfigurationError, match="does not match its content hash"):
        registry.load("churn")


def test_unknown_model_or_version_is_not_found(registry: ModelRegistry) -> None:
    with pytest.raises(NotFound, match="no model called churn"):
        registry.load("churn")
    registry.save(model=1, manifest=_manifest())
    with pytest.raises(NotFound, match="no version v0009"):
        registry.load("churn", "v0009")
    assert registry.list_versions("other") == []


def test_feature_mismatch_is_refused_naming_the_features() -> None:
    manifest = _manifest(version="v0003")
    check_features(manifest, list(FEATURES))
    with pytest.raises(
        ConfigurationError, match=r"missing now: logins_30d.*new since training: nps_last"
    ):
        check_features(manifest, ["tenure_days", "balance_ratio_90d", "nps_last"])
    with pytest.raises(ConfigurationError, match="another order"):
        check_features(manifest, list(reversed(FEATURES)))


def test_catalogue_hash_changes_with_a_definition() -> None:
    from tenure.retention.features import FEATURES as CATALOGUE

    changed = [replace(CATALOGUE[0], expression=CATALOGUE[0].expression + " + 1"), *CATALOGUE[1:]]
    assert catalogue_hash(changed) != catalogue_hash()
    assert catalogue_hash(list(CATALOGUE)) == catalogue_hash()
