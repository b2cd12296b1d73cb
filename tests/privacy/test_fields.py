"""Envelope encryption: field round trips, bindings, wrapping, rotation and crypto-shredding."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.core.errors import ValidationError
from tenure.privacy.fields import (
    FieldCipher,
    SubjectKey,
    needs_rewrap,
    rewrap,
    unwrap_subject_key,
    wrap_subject_key,
)
from tenure.privacy.keys import (
    PII_WRAP,
    PSEUDONYM,
    DecryptionFailed,
    KeyRing,
    MalformedCiphertext,
    MasterKey,
    UnknownKeyVersion,
    add_key,
    generate_key_ring,
)

PHONE = "13812341234"
TABLE, COLUMN = "customers", "phone"


def _ring() -> KeyRing:
    return KeyRing(keys=(MasterKey(1, bytes(range(32))),), active=1, pseudonym_version=1)


def _cipher(key: SubjectKey, customer_id: str = "c-1") -> FieldCipher:
    return FieldCipher(key, customer_id=customer_id)


def _flip_last_byte(token: str, prefix: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token.removeprefix(prefix)))
    raw[-1] ^= 0x01
    return prefix + base64.urlsafe_b64encode(bytes(raw)).decode()


def _assert_discreet(error: Exception, *secrets: str | bytes) -> None:
    text = str(error)
    for secret in secrets:
        if isinstance(secret, bytes):
            assert base64.b64encode(secret).decode() not in text
            assert secret.hex() not in text
        else:
            assert secret not in text


def test_a_field_decrypts_to_what_was_encrypted() -> None:
    cipher = _cipher(SubjectKey.generate())

    token = cipher.encrypt(PHONE, table=TABLE, column=COLUMN)

    assert token.startswith("f1:")
    assert PHONE not in token
    assert cipher.decrypt(token, table=TABLE, column=COLUMN) == PHONE


@settings(max_examples=50)
@given(value=st.text(max_size=200))
def test_any_text_round_trips(value: str) -> None:
    cipher = _cipher(SubjectKey(bytes(32)))

    token = cipher.encrypt(value, table=TABLE, column=COLUMN)

    assert cipher.decrypt(token, table=TABLE, column=COLUMN) == value


def test_encrypting_twice_gives_different_ciphertexts() -> None:
    cipher = _cipher(SubjectKey.generate())

    first = cipher.encrypt(PHONE, table=TABLE, column=COLUMN)

    assert first != cipher.encrypt(PHONE, table=TABLE, column=COLUMN)


def test_a_tampered_field_fails_with_a_domain_error_naming_the_column_only() -> None:
    key = SubjectKey.generate()
    cipher = _cipher(key)
    token = cipher.encrypt(PHONE, table=TABLE, column=COLUMN)

    with pytest.raises(DecryptionFailed, match=r"customers\.phone") as caught:
        cipher.decrypt(_flip_last_byte(token, "f1:"), table=TABLE, column=COLUMN)

    assert caught.value.field == COLUMN
    _assert_discreet(caught.value, PHONE, "c-1", key.material)


@pytest.mark.parametrize(
    ("table", "column"), [("customers", "email"), ("payees", "phone"), ("payees", "email")]
)
def test_a_field_moved_to_another_column_or_table_fails(table: str, column: str) -> None:
    cipher = _cipher(SubjectKey.generate())
    token = cipher.encrypt(PHONE, table=TABLE, column=COLUMN)

    with pytest.raises(DecryptionFailed):
        cipher.decrypt(token, table=table, column=column)


def test_a_field_moved_to_another_customer_fails_even_under_the_same_key() -> None:
    key = SubjectKey.generate()
    token = _cipher(key, "c-1").encrypt(PHONE, table=TABLE, column=COLUMN)

    with pytest.raises(DecryptionFailed):
        _cipher(key, "c-2").decrypt(token, table=TABLE, column=COLUMN)


def test_a_field_read_with_another_customers_key_fails() -> None:
    token = _cipher(SubjectKey.generate()).encrypt(PHONE, table=TABLE, column=COLUMN)

    with pytest.raises(DecryptionFailed):
        _cipher(SubjectKey.generate()).decrypt(token, table=TABLE, column=COLUMN)


@pytest.mark.parametrize("token", [PHONE, "f1:***", "f1:AAAA", "f2:" + "A" * 60])
def test_a_value_not_in_the_field_format_is_malformed(token: str) -> None:
    with pytest.raises(MalformedCiphertext) as caught:
        _cipher(SubjectKey.generate()).decrypt(token, table=TABLE, column=COLUMN)

    _assert_discreet(caught.value, PHONE)


def test_a_subject_key_unwraps_to_itself_and_the_format_names_the_version() -> None:
    ring = add_key(_ring())
    key = SubjectKey.generate()

    wrapped = wrap_subject_key(ring, key)

    assert re.fullmatch(r"k2:[A-Za-z0-9_=-]+", wrapped)
    assert unwrap_subject_key(ring, wrapped) == key


def test_a_tampered_wrapped_key_fails_naming_the_version_not_the_key() -> None:
    ring = _ring()
    key = SubjectKey.generate()
    wrapped = wrap_subject_key(ring, key)

    with pytest.raises(DecryptionFailed, match="version 1") as caught:
        unwrap_subject_key(ring, _flip_last_byte(wrapped, "k1:"))

    _assert_discreet(caught.value, key.material, ring.keys[0].material)


def test_a_wrapped_key_relabelled_with_another_version_fails() -> None:
    ring = add_key(_ring())
    wrapped = wrap_subject_key(ring, SubjectKey.generate())

    with pytest.raises(DecryptionFailed):
        unwrap_subject_key(ring, "k1:" + wrapped.removeprefix("k2:"))


def test_a_wrapped_key_under_another_ring_fails() -> None:
    wrapped = wrap_subject_key(_ring(), SubjectKey.generate())

    with pytest.raises(DecryptionFailed):
        unwrap_subject_key(generate_key_ring(), wrapped)


def test_unwrapping_under_a_version_off_the_ring_names_the_version() -> None:
    ring = add_key(add_key(_ring()))
    wrapped = wrap_subject_key(ring, SubjectKey.generate())

    with pytest.raises(UnknownKeyVersion, match="version 3 ") as caught:
        unwrap_subject_key(_ring(), wrapped)

    assert caught.value.version == 3


@pytest.mark.parametrize("wrapped", ["", "k0:AAAA", "kx:AAAA", "k1:", "k1:AAAA", "v1.AAAA"])
def test_a_wrapped_key_not_in_the_format_is_malformed(wrapped: str) -> None:
    with pytest.raises(MalformedCiphertext):
        unwrap_subject_key(_ring(), wrapped)


def test_rotation_rewraps_so_the_old_wrapping_master_can_be_retired() -> None:
    # Version 1 stays pinned for pseudonyms; version 2 wraps until the rotation to 3.
    old_ring = add_key(_ring())
    key = SubjectKey.generate()
    wrapped = wrap_subject_key(old_ring, key)
    token = _cipher(key).encrypt(PHONE, table=TABLE, column=COLUMN)
    rotated = add_key(old_ring)

    assert needs_rewrap(rotated, wrapped)
    rewrapped = rewrap(rotated, wrapped)
    retired = rotated.retire(2)

    assert rewrapped.startswith("k3:")
    assert not needs_rewrap(retired, rewrapped)
    reopened = _cipher(unwrap_subject_key(retired, rewrapped))
    assert reopened.decrypt(token, table=TABLE, column=COLUMN) == PHONE
    with pytest.raises(UnknownKeyVersion, match="version 2 "):
        unwrap_subject_key(retired, wrapped)


def test_rewrapping_an_up_to_date_key_returns_it_unchanged() -> None:
    ring = _ring()
    wrapped = wrap_subject_key(ring, SubjectKey.generate())

    assert not needs_rewrap(ring, wrapped)
    assert rewrap(ring, wrapped) == wrapped


def test_a_shredded_customer_cannot_be_read_even_with_the_master_ring() -> None:
    ring = _ring()
    wrapped_keys: dict[str, str] = {}
    tokens: dict[str, str] = {}
    for customer_id in ("c-1", "c-2", "c-3"):
        key = SubjectKey.generate()
        wrapped_keys[customer_id] = wrap_subject_key(ring, key)
        tokens[customer_id] = _cipher(key, customer_id).encrypt(PHONE, table=TABLE, column=COLUMN)

    del wrapped_keys["c-1"]

    # Everything the operator still holds: the masters, every subkey, every other customer's key.
    candidates = [master.material for master in ring.keys]
    candidates += [ring.subkey(purpose, version=1) for purpose in (PII_WRAP, PSEUDONYM)]
    candidates += [unwrap_subject_key(ring, w).material for w in wrapped_keys.values()]
    for material in candidates:
        with pytest.raises(DecryptionFailed):
            _cipher(SubjectKey(material), "c-1").decrypt(tokens["c-1"], table=TABLE, column=COLUMN)
    survivor = _cipher(unwrap_subject_key(ring, wrapped_keys["c-2"]), "c-2")
    assert survivor.decrypt(tokens["c-2"], table=TABLE, column=COLUMN) == PHONE


def test_a_subject_key_is_256_bits_and_its_repr_hides_the_material() -> None:
    key = SubjectKey.generate()

    assert repr(key.material) not in repr(key)
    with pytest.raises(ValidationError, match="256 bits") as caught:
        SubjectKey(b"short")
    _assert_discreet(caught.value, b"short")
