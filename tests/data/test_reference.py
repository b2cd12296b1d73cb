from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tenure.core.errors import ValidationError
from tenure.data.reference import ReferenceDataMissing, reference_file


def _folder(tmp_path: Path, content: bytes, listed: bytes) -> Path:
    (tmp_path / "churn").mkdir()
    (tmp_path / "churn" / "x.csv").write_bytes(content)
    digest = hashlib.sha256(listed).hexdigest()
    (tmp_path / "SHA256SUMS").write_text(f"{digest}  churn/x.csv\n", encoding="utf-8")
    return tmp_path


def test_returns_a_file_whose_digest_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "TENURE_REFERENCE_DATA", str(_folder(tmp_path, b"a,b\n1,2\n", b"a,b\n1,2\n"))
    )
    assert reference_file("churn/x.csv").read_bytes() == b"a,b\n1,2\n"


def test_refuses_a_corrupted_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "TENURE_REFERENCE_DATA", str(_folder(tmp_path, b"a,b\n1,3\n", b"a,b\n1,2\n"))
    )
    with pytest.raises(ValidationError, match="SHA-256"):
        reference_file("churn/x.csv")


def test_names_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENURE_REFERENCE_DATA", str(_folder(tmp_path, b"", b"")))
    with pytest.raises(ReferenceDataMissing, match="not listed"):
        reference_file("clv/other.csv")
