"""A file-based model registry: versioned artefacts with their manifest and a content hash.

Layout: ``<root>/<model name>/<version>/model.pkl`` and ``manifest.json``; versions are
``v0001``, ``v0002``... The manifest records the feature names in order, a hash of the feature
catalogue, the training window, the churn definition and horizon, validation metrics, the
training distributions (for drift) and the SHA-256 of ``model.pkl``. ``load`` recomputes that
hash before unpickling, and only unpickles files inside the registry's own directory, so a
tampered or foreign artefact is refused rather than executed.

Errors: ``NotFound`` (no such model or version), ``ConfigurationError`` (tampered artefact,
malformed manifest, features that differ from the current catalogue).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tenure.core.clock import Clock, SystemClock
from tenure.core.errors import ConfigurationError, NotFound, ValidationError
from tenure.privacy.audit import AuditSink
from tenure.retention.features import FEATURES, FeatureDefinition

__all__ = [
    "ARTEFACT_FILE",
    "MANIFEST_FILE",
    "ModelManifest",
    "ModelRegistry",
    "RegisteredModel",
    "catalogue_hash",
    "check_features",
]

ARTEFACT_FILE = "model.pkl"
MANIFEST_FILE = "manifest.json"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_VERSION = re.compile(r"^v\d{4,}$")


def catalogue_hash(features: Sequence[FeatureDefinition] = FEATURES) -> str:
    """SHA-256 over each feature's name, unit, fill and SQL, in catalogue order."""
    digest = hashlib.sha256()
    for f in features:
        digest.update(f"{f.name}\x1f{f.unit}\x1f{f.fill}\x1f{f.expression}\x1e".encode())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class ModelManifest:
    """What a registered model was trained on and how well it did on validation."""

    name: str
    version: str
    created_at: str
    features: tuple[str, ...]
    catalogue_hash: str
    definition: str
    horizon_days: int
    training: dict[str, Any]
    metrics: dict[str, float]
    distributions: dict[str, dict[str, object]]
    artefact_sha256: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON values."""
        data = asdict(self)
        data["features"] = list(self.features)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelManifest:
        """A manifest read back from ``manifest.json``."""
        try:
            return cls(**{**data, "features": tuple(data["features"])})
        except (TypeError, KeyError) as exc:
            raise ConfigurationError(f"malformed model manifest: {exc}") from exc


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A loaded model and its manifest."""

    manifest: ModelManifest
    model: Any
    path: Path


def check_features(manifest: ModelManifest, current: Sequence[str]) -> None:
    """Refuse a model whose feature list differs from ``current`` (names both sides)."""
    if list(manifest.features) == list(current):
        return
    missing = [name for name in manifest.features if name not in set(current)]
    extra = [name for name in current if name not in set(manifest.features)]
    if not missing and not extra:
        detail = "the same features in another order"
    else:
        detail = "; ".join(
            part
            for part in (
                f"missing now: {', '.join(missing)}" if missing else "",
                f"new since training: {', '.join(extra)}" if extra else "",
            )
            if part
        )
    raise ConfigurationError(
        f"model {manifest.name} {manifest.version} was trained on other features ({detail}); "
        "retrain it with `tenure retention train`"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ModelRegistry:
    """Versioned model artefacts under one root directory."""

    def __init__(
        self,
        root: Path,
        *,
        clock: Clock | None = None,
        audit: AuditSink | None = None,
        actor: str = "system",
    ) -> None:
        self.root = Path(root)
        self._clock = clock or SystemClock()
        # every version saved is a model change: recorded (as ``actor``) when a trail is given
        self._audit = audit
        self._actor = actor

    def _model_dir(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValidationError(
                f"model name {name!r} is not a plain lower-case name", field="name"
            )
        return self.root / name

    def list_versions(self, name: str) -> list[str]:
        """Versions of ``name``, oldest first (empty if none)."""
        folder = self._model_dir(name)
        if not folder.is_dir():
            return []
        found = [p.name for p in folder.iterdir() if _VERSION.match(p.name) and p.is_dir()]
        return sorted(found, key=lambda v: int(v[1:]))

    def save(self, *, model: object, manifest: ModelManifest) -> ModelManifest:
        """Store ``model`` as the next version of ``manifest.name``; returns the final manifest."""
        versions = self.list_versions(manifest.name)
        number = int(versions[-1][1:]) + 1 if versions else 1
        version = f"v{number:04d}"
        folder = self._model_dir(manifest.name) / version
        folder.mkdir(parents=True, exist_ok=False)
        artefact = folder / ARTEFACT_FILE
        with artefact.open("wb") as handle:
            pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
        final = ModelManifest.from_json(
            {
                **manifest.to_json(),
                "version": version,
                "created_at": self._clock.now().isoformat(),
                "artefact_sha256": _sha256(artefact),
            }
        )
        text = json.dumps(final.to_json(), indent=2, sort_keys=True)
        (folder / MANIFEST_FILE).write_text(text, encoding="utf-8")
        if self._audit is not None:
            self._audit.record(
                actor=self._actor,
                action="model.registered",
                subject=f"model:{final.name}/{version}",
                details={"artefact_sha256": final.artefact_sha256, "metrics": dict(final.metrics)},
                at=self._clock.now(),
            )
        return final

    def manifest(self, name: str, version: str = "latest") -> ModelManifest:
        """The manifest of one version (``latest`` = the highest)."""
        folder = self._version_dir(name, version)
        try:
            data = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigurationError(f"cannot read the manifest of {name} {version}") from exc
        return ModelManifest.from_json(data)

    def load(self, name: str, version: str = "latest") -> RegisteredModel:
        """Load a version after checking its artefact against the manifest's content hash."""
        manifest = self.manifest(name, version)
        folder = self._version_dir(name, manifest.version)
        artefact = (folder / ARTEFACT_FILE).resolve()
        if not artefact.is_relative_to(self.root.resolve()) or not artefact.is_file():
            raise ConfigurationError(
                f"artefact of {name} {manifest.version} is not in the registry"
            )
        if _sha256(artefact) != manifest.artefact_sha256:
            raise ConfigurationError(
                f"artefact of {name} {manifest.version} does not match its content hash; "
                "refusing to load a modified model"
            )
        with artefact.open("rb") as handle:
            model = pickle.load(handle)
        return RegisteredModel(manifest, model, folder)

    def _version_dir(self, name: str, version: str) -> Path:
        versions = self.list_versions(name)
        if not versions:
            raise NotFound(f"no model called {name} in the registry at {self.root}")
        chosen = versions[-1] if version == "latest" else version
        if chosen not in versions:
            raise NotFound(f"model {name} has no version {version} (have {', '.join(versions)})")
        return self._model_dir(name) / chosen
