"""Public reference data sets for benchmarks, read from the shared folder and checked by digest.

The files are third-party research data and are never committed: benchmarks find them under
``TENURE_REFERENCE_DATA`` (default: ``../shared/data`` beside the repository) and refuse a copy
whose SHA-256 differs from ``SHA256SUMS`` (several public copies are corrupted).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tenure.core.errors import NotFound, ValidationError

__all__ = ["ReferenceDataMissing", "reference_data_dir", "reference_file"]

_ENV = "TENURE_REFERENCE_DATA"


class ReferenceDataMissing(NotFound):
    """The reference data folder or file is not on this machine."""


def reference_data_dir() -> Path:
    """The folder holding the reference data and its ``SHA256SUMS``."""
    configured = os.environ.get(_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"


def _expected_digests(root: Path) -> dict[str, str]:
    sums = root / "SHA256SUMS"
    if not sums.exists():
        raise ReferenceDataMissing(f"no SHA256SUMS in {root}; set {_ENV}", field=_ENV)
    digests: dict[str, str] = {}
    for line in sums.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            digests[name.strip().lstrip("*")] = digest
    return digests


def reference_file(relative: str) -> Path:
    """The path of a reference file after checking its digest; raises if absent or corrupted."""
    root = reference_data_dir()
    expected = _expected_digests(root).get(relative)
    if expected is None:
        raise ReferenceDataMissing(f"{relative} is not listed in {root}/SHA256SUMS", field=_ENV)
    path = root / relative
    if not path.exists():
        raise ReferenceDataMissing(f"{path} is not on this machine", field=_ENV)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ValidationError(f"{relative} does not match its SHA-256; refusing a corrupted copy")
    return path
