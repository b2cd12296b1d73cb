"""Masking by PII kind: the documented examples, and properties over generated values."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.data.schema import PiiKind
from tenure.privacy.masking import COMPOUND_SURNAMES, chinese_surname, mask, mask_record

SINGLE_SURNAMES = ["张", "王", "李", "赵", "刘", "陈", "欧", "司", "诸"]
hanzi = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
digits = st.text(alphabet="0123456789", min_size=1, max_size=20)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (PiiKind.PHONE, "13812341234", "138****1234"),
        (PiiKind.PHONE, "+86 138-1234-1234", "+86 138-****-1234"),
        (PiiKind.PHONE, "12345678", "****5678"),
        (PiiKind.PHONE, "1234567890", "1*****7890"),
        (PiiKind.PHONE, "1", "*"),
        (PiiKind.ID_NUMBER, "110101199003071234", "1101**********1234"),
        (PiiKind.ID_NUMBER, "11010119900307123X", "1101**********123X"),
        (PiiKind.NAME, "张三丰", "张**"),
        (PiiKind.NAME, "张三", "张*"),
        (PiiKind.NAME, "欧阳修", "欧阳*"),
        (PiiKind.NAME, "诸葛孔明", "诸葛**"),
        (PiiKind.NAME, "欧阳", "欧*"),
        (PiiKind.NAME, "John Smith", "J. Smith"),
        (PiiKind.NAME, "John Ronald Reuel Tolkien", "J. R. R. Tolkien"),
        (PiiKind.NAME, "Madonna", "Madonna"),
        (PiiKind.EMAIL, "alice@example.com", "a***@example.com"),
        (PiiKind.EMAIL, "a@example.com", "a***@example.com"),
        (PiiKind.EMAIL, "not-an-address", "n***"),
        (PiiKind.ACCOUNT_NUMBER, "6222021234567890123", "***************0123"),
        (PiiKind.ACCOUNT_NUMBER, "123456", "***456"),
    ],
)
def test_masks_the_documented_examples(kind: PiiKind, value: str, expected: str) -> None:
    assert mask(kind, value) == expected


@pytest.mark.parametrize("kind", list(PiiKind))
def test_none_and_empty_stay_as_they_are(kind: PiiKind) -> None:
    assert mask(kind, None) is None
    assert mask(kind, "") == ""


@given(phone=st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_a_masked_mobile_never_shows_its_middle_digits(phone: str) -> None:
    masked = mask(PiiKind.PHONE, phone)

    assert masked[3:7] == "****"
    assert masked == phone[:3] + "****" + phone[7:]


@given(phone=digits)
def test_a_short_phone_shows_at_most_half_its_digits(phone: str) -> None:
    masked = mask(PiiKind.PHONE, phone)

    shown = sum(char.isdigit() for char in masked)
    assert len(masked) == len(phone)
    assert shown <= (7 if len(phone) >= 11 else len(phone) // 2)
    assert all(m in ("*", p) for m, p in zip(masked, phone, strict=True))


@given(id_number=st.text(alphabet="0123456789X", min_size=15, max_size=18))
def test_a_masked_id_number_keeps_its_length_and_only_its_ends(id_number: str) -> None:
    masked = mask(PiiKind.ID_NUMBER, id_number)

    assert len(masked) == len(id_number)
    head = 4 if len(id_number) >= 16 else 3  # never more than half shown
    assert masked == id_number[:head] + "*" * (len(id_number) - head - 4) + id_number[-4:]


@settings(max_examples=200)
@given(
    surname=st.sampled_from(SINGLE_SURNAMES + sorted(COMPOUND_SURNAMES)),
    given_name=st.text(alphabet=hanzi, min_size=1, max_size=3),
)
def test_a_masked_chinese_name_is_its_surname_then_one_star_per_character(
    surname: str, given_name: str
) -> None:
    name = surname + given_name

    masked = mask(PiiKind.NAME, name)

    expected_surname = chinese_surname(name)
    assert masked.startswith(expected_surname)
    assert masked[len(expected_surname) :] == "*" * (len(name) - len(expected_surname))
    if len(surname) == 2 or len(given_name) > 1:
        assert expected_surname == surname


@given(
    given_names=st.lists(st.from_regex(r"[A-Z][a-z]{1,8}", fullmatch=True), min_size=1, max_size=3),
    family=st.from_regex(r"[A-Z][a-z]{1,10}", fullmatch=True),
)
def test_a_masked_latin_name_keeps_the_family_name_and_initials(
    given_names: list[str], family: str
) -> None:
    masked = mask(PiiKind.NAME, " ".join([*given_names, family]))

    assert masked == " ".join([f"{name[0]}." for name in given_names] + [family])


@given(local=st.from_regex(r"[a-z0-9._]{1,30}", fullmatch=True))
def test_a_masked_email_hides_the_length_and_rest_of_the_local_part(local: str) -> None:
    masked = mask(PiiKind.EMAIL, f"{local}@bank.cn")

    assert masked == f"{local[0]}***@bank.cn"


@given(account=st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_a_masked_account_number_shows_at_most_its_last_four(account: str) -> None:
    masked = mask(PiiKind.ACCOUNT_NUMBER, account)

    shown = len(masked.lstrip("*"))
    assert len(masked) == len(account)
    assert shown == min(4, len(account) // 2)
    assert account.endswith(masked[len(masked) - shown :])


def test_mask_record_masks_only_the_pii_columns_and_leaves_the_input_alone() -> None:
    record: dict[str, object] = {
        "customer_id": "c-1",
        "full_name": "张三丰",
        "phone": 13812341234,
        "email": None,
        "segment": "retail",
    }
    original = dict(record)
    pii = {"full_name": PiiKind.NAME, "phone": PiiKind.PHONE, "email": PiiKind.EMAIL}

    masked = mask_record(record, pii)

    assert masked == {
        "customer_id": "c-1",
        "full_name": "张**",
        "phone": "138****1234",
        "email": None,
        "segment": "retail",
    }
    assert record == original


def test_mask_record_ignores_pii_columns_the_record_does_not_have() -> None:
    assert mask_record({"a": 1}, {"phone": PiiKind.PHONE}) == {"a": 1}
