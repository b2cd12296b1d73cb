"""Pseudonyms and blind indexes: stable, keyed, separated by kind, normalised, vectorised."""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.core.errors import ValidationError
from tenure.data.schema import PiiKind
from tenure.privacy.keys import (
    PSEUDONYM,
    KeyRing,
    MasterKey,
    add_key,
    blind_index_purpose,
    generate_key_ring,
)
from tenure.privacy.pseudonyms import PSEUDONYM_PREFIXES, Pseudonymizer, normalise

ID_NUMBER = "11010119900307123X"
PHONE = "13812341234"


def _ring(seed: int = 0) -> KeyRing:
    material = bytes((seed + index) % 256 for index in range(32))
    return KeyRing(keys=(MasterKey(1, material),), active=1, pseudonym_version=1)


PSEUDONYMIZER = Pseudonymizer(_ring())


def test_pseudonyms_are_stable_across_processes_and_releases() -> None:
    # Pinned outputs: a change here re-keys every warehouse join, so it must be deliberate.
    assert PSEUDONYMIZER.pseudonym(PiiKind.PHONE, PHONE) == "ph_5408e4bdba1fda1aefb5d740ca5a9cee"
    assert PSEUDONYMIZER.blind_index(PiiKind.ID_NUMBER, ID_NUMBER) == (
        "d778a92d4d6e2345b1b448a781950765"
    )


def test_pseudonym_is_truncated_standard_hmac_sha256_of_kind_and_normalised_value() -> None:
    ring = _ring()
    key = ring.subkey(PSEUDONYM, version=1)
    expected = hmac.new(key, b"phone\x00" + PHONE.encode(), hashlib.sha256).hexdigest()[:32]

    assert PSEUDONYMIZER.pseudonym(PiiKind.PHONE, "+86 138 1234 1234") == "ph_" + expected


def test_blind_index_is_truncated_standard_hmac_sha256_under_a_per_kind_key() -> None:
    key = _ring().subkey(blind_index_purpose("id_number"), version=1)
    expected = hmac.new(key, ID_NUMBER.encode(), hashlib.sha256).hexdigest()[:32]

    assert PSEUDONYMIZER.blind_index(PiiKind.ID_NUMBER, ID_NUMBER) == expected


def test_each_kind_has_its_prefix_and_the_same_text_differs_between_kinds() -> None:
    value = "12345678901"

    pseudonyms = {kind: PSEUDONYMIZER.pseudonym(kind, value) for kind in PiiKind}
    indexes = {kind: PSEUDONYMIZER.blind_index(kind, value) for kind in PiiKind}

    for kind, pseudonym in pseudonyms.items():
        assert pseudonym.startswith(PSEUDONYM_PREFIXES[kind])
        assert len(pseudonym) == len(PSEUDONYM_PREFIXES[kind]) + 32
    hexes = [p.split("_", 1)[1] for p in pseudonyms.values()] + list(indexes.values())
    assert len(set(hexes)) == len(hexes)


def test_a_different_ring_gives_different_pseudonyms_and_indexes() -> None:
    other = Pseudonymizer(_ring(seed=1))

    assert other.pseudonym(PiiKind.PHONE, PHONE) != PSEUDONYMIZER.pseudonym(PiiKind.PHONE, PHONE)
    assert other.blind_index(PiiKind.PHONE, PHONE) != PSEUDONYMIZER.blind_index(
        PiiKind.PHONE, PHONE
    )


def test_pseudonyms_survive_a_rotation_of_the_encryption_master() -> None:
    ring = generate_key_ring()
    before = Pseudonymizer(ring)

    after = Pseudonymizer(add_key(add_key(ring)).retire(2))

    assert after.pseudonym(PiiKind.EMAIL, "a@b.cn") == before.pseudonym(PiiKind.EMAIL, "a@b.cn")
    assert after.blind_index(PiiKind.NAME, "张三") == before.blind_index(PiiKind.NAME, "张三")


def test_moving_the_pseudonym_pin_changes_the_pseudonyms() -> None:
    ring = add_key(_ring())
    repinned = KeyRing(keys=ring.keys, active=2, pseudonym_version=2)

    assert Pseudonymizer(repinned).pseudonym(PiiKind.PHONE, PHONE) != PSEUDONYMIZER.pseudonym(
        PiiKind.PHONE, PHONE
    )


@pytest.mark.parametrize(
    ("kind", "variants"),
    [
        (
            PiiKind.ID_NUMBER,
            ["110101 19900307123x", "11010119900307123X", "１１０１０１１９９００３０７１２３ｘ"],
        ),
        (PiiKind.PHONE, [PHONE, "+86 138 1234 1234", "8613812341234", "0086-138-1234-1234"]),
        (PiiKind.EMAIL, ["alice@example.com", "  Alice@Example.COM ", "ＡＬＩＣＥ@example.com"]),
        (PiiKind.NAME, ["张三丰", " 张三丰\t", "John Smith", "John  Smith "]),
        (
            PiiKind.ACCOUNT_NUMBER,
            ["6222 0212 3456 7890", "6222-0212-3456-7890", "6222021234567890"],
        ),
    ],
)
def test_blind_index_is_equal_for_spellings_of_one_identifier(
    kind: PiiKind, variants: list[str]
) -> None:
    normalised = {normalise(kind, variant) for variant in variants}
    indexes = {PSEUDONYMIZER.blind_index(kind, variant) for variant in variants}

    expected = 2 if kind is PiiKind.NAME else 1
    assert len(normalised) == len(indexes) == expected


def test_phone_normalisation_keeps_a_number_that_only_looks_like_it_has_a_country_code() -> None:
    assert normalise(PiiKind.PHONE, "+86 138 1234 1234") == PHONE
    assert normalise(PiiKind.PHONE, "86123456") == "86123456"
    assert normalise(PiiKind.PHONE, "13886123456") == "13886123456"


@pytest.mark.parametrize("value", ["", "   ", "+-()"])
def test_a_value_empty_once_normalised_is_refused_without_repeating_it(value: str) -> None:
    with pytest.raises(ValidationError, match="phone value is empty") as caught:
        PSEUDONYMIZER.pseudonym(PiiKind.PHONE, value)

    assert caught.value.field == "phone"


def test_many_values_at_once_keep_none_and_map_empty_values_to_none() -> None:
    values = [PHONE, None, "", "+86 138 1234 1234", PHONE]

    results = PSEUDONYMIZER.pseudonyms(PiiKind.PHONE, values)

    single = PSEUDONYMIZER.pseudonym(PiiKind.PHONE, PHONE)
    assert results == [single, None, None, single, single]


def test_many_values_accept_pyarrow_arrays_and_chunked_arrays() -> None:
    values = ["a@b.cn", None, "C@D.cn"]
    expected = PSEUDONYMIZER.blind_indexes(PiiKind.EMAIL, values)

    array = PSEUDONYMIZER.blind_indexes(PiiKind.EMAIL, pa.array(values))
    chunked = PSEUDONYMIZER.blind_indexes(
        PiiKind.EMAIL, pa.chunked_array([values[:1], values[1:]], type=pa.string())
    )

    assert array == chunked == expected
    assert expected[1] is None


def test_many_values_refuse_non_text_without_repeating_the_value() -> None:
    with pytest.raises(ValidationError, match="phone value is not text") as caught:
        PSEUDONYMIZER.pseudonyms(PiiKind.PHONE, [PHONE, 13812341234])  # type: ignore[list-item]

    assert "13812341234" not in str(caught.value)


@settings(max_examples=50)
@given(
    kind=st.sampled_from(list(PiiKind)),
    values=st.lists(st.none() | st.text(max_size=20), max_size=20),
)
def test_many_values_match_one_at_a_time(kind: PiiKind, values: list[str | None]) -> None:
    results = PSEUDONYMIZER.pseudonyms(kind, values)

    for value, result in zip(values, results, strict=True):
        if value is None or not normalise(kind, value):
            assert result is None
        else:
            assert result == PSEUDONYMIZER.pseudonym(kind, value)
