"""The key ring: loading, writing, rotation, subkey derivation, and errors that keep keys out."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from tenure.core.errors import ConfigurationError
from tenure.privacy.keys import (
    PII_WRAP,
    PSEUDONYM,
    KeyFileUnsafe,
    KeyRing,
    KeyRingError,
    MasterKey,
    UnknownKeyVersion,
    add_key,
    blind_index_purpose,
    generate_key_file,
    generate_key_ring,
    load_key_file,
    parse_key_ring,
    write_key_file,
)

ONE = bytes(range(32))
TWO = bytes(range(32, 64))
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _document(**extra: object) -> dict[str, object]:
    keys = {"1": base64.b64encode(ONE).decode(), "2": base64.b64encode(TWO).decode()}
    return {"active": 2, "keys": keys, **extra}


def _assert_no_key_material(error: Exception, *materials: bytes) -> None:
    text = str(error)
    for material in materials:
        assert base64.b64encode(material).decode() not in text
        assert material.hex() not in text
        assert repr(material) not in text


def test_parses_the_documented_json_from_an_environment_value() -> None:
    ring = parse_key_ring(json.dumps(_document()), source="TENURE_MASTER_KEYS")

    assert ring.versions == (1, 2)
    assert ring.active == 2


def test_pins_the_lowest_version_for_pseudonyms_when_the_file_names_none() -> None:
    ring = parse_key_ring(json.dumps(_document()), source="test")

    assert ring.pseudonym_version == 1


def test_keeps_the_pseudonym_version_the_file_names() -> None:
    ring = parse_key_ring(json.dumps(_document(pseudonym=2)), source="test")

    assert ring.pseudonym_version == 2


def test_generated_key_file_is_owner_only_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"

    ring = generate_key_file(path)

    assert load_key_file(path) == ring
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_refuses_to_overwrite_an_existing_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring = generate_key_file(path)

    with pytest.raises(KeyRingError, match="exists") as caught:
        generate_key_file(path)

    assert str(path) in str(caught.value)
    assert load_key_file(path) == ring


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o707])
def test_refuses_a_key_file_group_or_others_can_open(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keys.json"
    generate_key_file(path)
    path.chmod(mode)

    with pytest.raises(KeyFileUnsafe) as caught:
        load_key_file(path)

    assert str(path) in str(caught.value)
    assert "chmod 600" in str(caught.value)


def test_names_the_path_of_a_missing_key_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"

    with pytest.raises(KeyRingError, match="cannot be read") as caught:
        load_key_file(path)

    assert str(path) in str(caught.value)


def test_add_key_activates_a_new_version_and_keeps_the_old_ones() -> None:
    ring = generate_key_ring()

    rotated = add_key(ring)

    assert rotated.versions == (1, 2)
    assert rotated.active == 2
    assert rotated.pseudonym_version == 1
    assert rotated.subkey(PII_WRAP, version=1) == ring.subkey(PII_WRAP, version=1)


def test_a_rotated_ring_replaces_the_key_file_and_keeps_owner_only_mode(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    rotated = add_key(generate_key_file(path))

    write_key_file(rotated, path, replace=True)

    assert load_key_file(path) == rotated
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json"]
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_retiring_an_old_version_removes_only_it() -> None:
    ring = add_key(add_key(generate_key_ring()))

    assert ring.retire(2).versions == (1, 3)


def test_retiring_a_version_off_the_ring_names_it() -> None:
    with pytest.raises(UnknownKeyVersion, match="version 5 "):
        generate_key_ring().retire(5)


@pytest.mark.parametrize("version", [1, 2])
def test_refuses_to_retire_the_active_or_pinned_version(version: int) -> None:
    ring = add_key(generate_key_ring())

    with pytest.raises(KeyRingError, match=f"version {version} is"):
        ring.retire(version)


def test_unknown_version_error_names_the_version_and_is_a_configuration_error() -> None:
    ring = generate_key_ring()

    with pytest.raises(UnknownKeyVersion, match="version 7 ") as caught:
        ring.subkey(PII_WRAP, version=7)

    assert caught.value.version == 7
    assert isinstance(caught.value, ConfigurationError)


def test_subkeys_differ_by_purpose_and_by_version_and_never_equal_a_master() -> None:
    ring = KeyRing(keys=(MasterKey(1, ONE), MasterKey(2, TWO)), active=2, pseudonym_version=1)
    purposes = [PII_WRAP, PSEUDONYM, blind_index_purpose("phone"), blind_index_purpose("email")]

    derived = [ring.subkey(purpose, version=v) for purpose in purposes for v in (1, 2)]

    assert len(set(derived)) == len(derived)
    assert not {ONE, TWO} & set(derived)
    assert all(len(key) == 32 for key in derived)
    assert ring.subkey(PSEUDONYM, version=1) == ring.subkey(PSEUDONYM, version=1)


def test_refuses_a_purpose_outside_the_tenure_namespace() -> None:
    with pytest.raises(KeyRingError, match="purpose"):
        generate_key_ring().subkey(b"other", version=1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"active": 1}), "'active' and 'keys'"),
        (json.dumps(_document(active=3)), "version 3 is not on the ring"),
        (json.dumps(_document(pseudonym=9)), "version 9 is not on the ring"),
        (json.dumps({"keys": _document()["keys"]}), "no active version"),
        (json.dumps({"active": 1, "keys": {"1": base64.b64encode(ONE[:16]).decode()}}), "bits"),
        (json.dumps({"active": 1, "keys": {"1": "not*base64"}}), "not valid base64"),
        (json.dumps({"active": 1, "keys": {"x": base64.b64encode(ONE).decode()}}), "version"),
        (json.dumps({"active": 1, "keys": {}}), "no master key"),
    ],
)
def test_malformed_rings_give_a_clear_error_without_key_material(text: str, message: str) -> None:
    with pytest.raises(KeyRingError, match=message) as caught:
        parse_key_ring(text, source="TENURE_MASTER_KEYS")

    _assert_no_key_material(caught.value, ONE, TWO, ONE[:16])


def test_invalid_json_error_does_not_chain_the_decoder_error_holding_the_document() -> None:
    text = json.dumps(_document())[:-1]

    with pytest.raises(KeyRingError) as caught:
        parse_key_ring(text, source="test")

    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_repr_of_a_ring_shows_versions_but_no_key_material() -> None:
    ring = KeyRing(keys=(MasterKey(1, ONE), MasterKey(2, TWO)), active=2, pseudonym_version=1)

    shown = repr(ring)

    assert "version=2" in shown
    assert repr(ONE) not in shown
    assert repr(TWO) not in shown


def test_the_json_a_ring_writes_parses_back_to_the_same_ring() -> None:
    ring = add_key(generate_key_ring())

    assert parse_key_ring(ring.to_json(), source="test") == ring
