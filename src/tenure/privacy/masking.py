"""Masking of personal data for display, by PII kind: enough to recognise, not enough to use.

What each kind keeps (``None`` and ``""`` are returned unchanged):

- phone: the first 3 and last 4 digits of a number of 11 digits or more, other digits starred,
  separators and a +86 / 0086 country code kept (``"13812341234"`` → ``"138****1234"``); a
  shorter number shows at most half its digits, last ones first, since "ends in 1234" is what
  callers check;
- ID number: the first 4 and last 4 characters, a star for each of the others, same length
  (``"110101199003071234"`` → ``"1101**********1234"``), at most half shown when shorter;
- name: the family name. A name with Chinese characters keeps its surname (two characters for
  the common compound surnames, when the name is longer than them) and stars each other
  character (``"张三丰"`` → ``"张**"``); other names keep their last word and reduce the others
  to initials (``"John Smith"`` → ``"J. Smith"``);
- e-mail: the first character of the local part, three stars whatever its length, the domain
  (``"alice@example.com"`` → ``"a***@example.com"``);
- account number: the last 4 characters, at most half of them, the rest starred.

Masking is for people reading a screen; it is not pseudonymisation (see
:mod:`tenure.privacy.pseudonyms`) and a masked value must never be used as a key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import overload

from tenure.data.schema import PiiKind

__all__ = ["COMPOUND_SURNAMES", "chinese_surname", "mask", "mask_record"]

COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "令狐",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "轩辕",
        "端木",
        "独孤",
        "南宫",
    ]
)
_STAR = "*"
_EMAIL_STARS = "***"
_PHONE_HEAD, _PHONE_TAIL, _PHONE_FULL_LENGTH = 3, 4, 11
_COUNTRY_PREFIXES = ("0086", "86")
_ID_HEAD, _ID_TAIL = 4, 4
_ACCOUNT_TAIL = 4
# CJK Unified Ideographs, Extension A, compatibility ideographs, Extensions B and later.
_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))


def _shown(length: int, head: int, tail: int) -> tuple[int, int]:
    """How many leading and trailing characters to show: at most half, the tail first."""
    budget = length // 2
    kept_tail = min(tail, budget)
    return min(head, budget - kept_tail), kept_tail


def _star_between(value: str, head: int, tail: int) -> str:
    return value[:head] + _STAR * (len(value) - head - tail) + value[len(value) - tail :]


def _national(value: str, positions: list[int]) -> list[int]:
    """The digit positions after a +86 / 0086 country code that precedes a mobile number."""
    digits = "".join(value[index] for index in positions)
    for prefix in _COUNTRY_PREFIXES:
        if digits.startswith(prefix) and len(digits) - len(prefix) == _PHONE_FULL_LENGTH:
            return positions[len(prefix) :]
    return positions


def _mask_phone(value: str) -> str:
    # A country code is no secret, and counting it would shift which digits show.
    positions = _national(value, [index for index, char in enumerate(value) if char.isdigit()])
    count = len(positions)
    if count >= _PHONE_FULL_LENGTH:
        head, tail = _PHONE_HEAD, _PHONE_TAIL
    else:
        head, tail = _shown(count, _PHONE_HEAD, _PHONE_TAIL)
    hidden = set(positions[head : count - tail])
    return "".join(_STAR if index in hidden else char for index, char in enumerate(value))


def _mask_id_number(value: str) -> str:
    head, tail = _shown(len(value), _ID_HEAD, _ID_TAIL)
    return _star_between(value, head, tail)


def _mask_account_number(value: str) -> str:
    _, tail = _shown(len(value), 0, _ACCOUNT_TAIL)
    return _star_between(value, 0, tail)


def _mask_email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at:
        return value[:1] + _EMAIL_STARS
    return local[:1] + _EMAIL_STARS + at + domain


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def chinese_surname(name: str) -> str:
    """The surname of a Chinese name with white space removed (compound when it is one)."""
    # "欧阳" alone is surname 欧 and given name 阳, so a compound needs a given name after it.
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2]
    return name[:1]


def _mask_name(value: str) -> str:
    if any(_is_cjk(char) for char in value):
        compact = "".join(value.split())
        surname = chinese_surname(compact)
        return surname + _STAR * (len(compact) - len(surname))
    words = value.split()
    if not words:
        return value
    initials = [word[0] + "." for word in words[:-1]]
    return " ".join([*initials, words[-1]])


_MASKS: dict[PiiKind, Callable[[str], str]] = {
    PiiKind.NAME: _mask_name,
    PiiKind.PHONE: _mask_phone,
    PiiKind.EMAIL: _mask_email,
    PiiKind.ID_NUMBER: _mask_id_number,
    PiiKind.ACCOUNT_NUMBER: _mask_account_number,
}


@overload
def mask(kind: PiiKind, value: str) -> str: ...


@overload
def mask(kind: PiiKind, value: None) -> None: ...


def mask(kind: PiiKind, value: str | None) -> str | None:
    """``value`` masked for display as a ``kind``; ``None`` and ``""`` unchanged."""
    if not value:
        return value
    return _MASKS[kind](value)


def mask_record(
    record: Mapping[str, object], pii_columns: Mapping[str, PiiKind]
) -> dict[str, object]:
    """A copy of ``record`` with each PII column masked; other columns and ``None`` unchanged.

    A non-text value in a PII column (a phone read as a number) is masked as its text, since
    passing it through would show it whole.
    """
    masked = dict(record)
    for column, kind in pii_columns.items():
        value = masked.get(column)
        if value is not None:
            masked[column] = mask(kind, value if isinstance(value, str) else str(value))
    return masked
