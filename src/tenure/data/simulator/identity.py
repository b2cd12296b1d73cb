"""Personal data that looks real: Chinese names, mobile numbers, e-mails, resident ID numbers and
unified social credit codes, all with valid check characters."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tenure.data.simulator.formatting import concat_strings, lookup_strings, padded_numbers
from tenure.data.simulator.vocabulary import COMPANY_TRADES, COMPANY_WORDS, GIVEN_CHARS, SURNAMES

__all__ = [
    "company_names",
    "credit_codes",
    "emails",
    "person_names",
    "phone_numbers",
    "resident_ids",
]

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = pa.array(list("10X98765432"))
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_PHONE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        155,
        157,
        158,
        159,
        166,
        176,
        177,
        180,
        181,
        182,
        183,
        185,
        186,
        187,
        188,
        189,
        191,
        198,
        199,
    ],
    dtype=np.int64,
)
_MAIL_DOMAINS = pa.array(["qq.com", "163.com", "126.com", "sina.com", "gmail.com", "foxmail.com"])
_MAIL_WEIGHTS = np.array([0.42, 0.25, 0.1, 0.06, 0.1, 0.07])


def _digits(numbers: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` decimal digits of each number, most significant first, as a matrix."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (numbers[:, None] // powers[None, :]) % 10


def person_names(rng: np.random.Generator, n: int) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Chinese full names, with the surname and first given-name codes (for e-mail pinyin)."""
    weights = np.array([w for _, _, w in SURNAMES])
    surname = rng.choice(len(SURNAMES), size=n, p=weights / weights.sum())
    first = rng.integers(len(GIVEN_CHARS), size=n)
    second = np.where(rng.random(n) < 0.7, rng.integers(len(GIVEN_CHARS), size=n), -1)
    surnames = pa.array([s for s, _, _ in SURNAMES])
    chars = pa.array([c for c, _ in GIVEN_CHARS])
    tail = pc.fill_null(lookup_strings(chars, second), "")
    names = concat_strings([lookup_strings(surnames, surname), lookup_strings(chars, first), tail])
    return names, surname, first


def company_names(rng: np.random.Generator, city_names: pa.Array) -> pa.Array:
    """Company names such as ``杭州恒达科技有限公司`` for the given cities."""
    n = len(city_names)
    words = lookup_strings(pa.array(COMPANY_WORDS), rng.integers(len(COMPANY_WORDS), size=n))
    trades = lookup_strings(pa.array(COMPANY_TRADES), rng.integers(len(COMPANY_TRADES), size=n))
    short = pc.replace_substring(city_names, "市", "")
    return concat_strings([short, words, trades, "有限公司"])


def phone_numbers(rng: np.random.Generator, n: int) -> pa.Array:
    """Mainland mobile numbers (11 digits, 13x-19x)."""
    prefix = _PHONE_PREFIXES[rng.integers(len(_PHONE_PREFIXES), size=n)]
    return padded_numbers(prefix * 100_000_000 + rng.integers(0, 100_000_000, size=n), 11)


def emails(rng: np.random.Generator, surname: np.ndarray, given: np.ndarray) -> pa.Array:
    """E-mail addresses built from the pinyin of the name, sometimes with digits."""
    n = len(surname)
    family = lookup_strings(pa.array([p for _, p, _ in SURNAMES]), surname)
    first = lookup_strings(pa.array([p for _, p in GIVEN_CHARS]), given)
    digits = pc.cast(pa.array(rng.integers(1, 9999, size=n)), pa.string())
    digits = pc.if_else(pa.array(rng.random(n) < 0.6), digits, "")
    qq = padded_numbers(rng.integers(10_000_000, 3_000_000_000, size=n), 1)
    domain_code = rng.choice(len(_MAIL_DOMAINS), size=n, p=_MAIL_WEIGHTS)
    local = pc.if_else(pa.array(domain_code == 0), qq, concat_strings([first, family, digits]))
    return concat_strings([local, "@", lookup_strings(_MAIL_DOMAINS, domain_code)])


def resident_ids(
    rng: np.random.Generator, area_codes: np.ndarray, birth_dates: np.ndarray
) -> pa.Array:
    """18-character resident ID numbers with a valid ISO 7064 MOD 11-2 check character.

    ``birth_dates`` are ``numpy.datetime64[D]`` values.
    """
    n = len(area_codes)
    days = birth_dates.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    yyyymmdd = year * 10_000 + month * 100 + day
    sequence = rng.integers(0, 1000, size=n)
    body = (area_codes.astype(np.int64) * 100_000_000 + yyyymmdd) * 1000 + sequence
    check = (_digits(body, 17) * _ID_WEIGHTS).sum(axis=1) % 11
    return concat_strings([padded_numbers(body, 17), lookup_strings(_ID_CHECK, check)])


def credit_codes(rng: np.random.Generator, area_codes: np.ndarray) -> pa.Array:
    """18-character unified social credit codes (GB 32100) with valid check characters."""
    n = len(area_codes)
    organisation = rng.integers(10_000_000, 100_000_000, size=n)
    org_check = (11 - (_digits(organisation, 8) * _ORG_WEIGHTS).sum(axis=1) % 11) % 11
    values = np.concatenate(
        [
            np.full((n, 1), 9),
            np.full((n, 1), 1),
            _digits(area_codes.astype(np.int64), 6),
            _digits(organisation, 8),
            np.where(org_check == 10, _USCC_CHARS.index("X"), org_check)[:, None],
        ],
        axis=1,
    )
    check = (31 - (values * _USCC_WEIGHTS).sum(axis=1) % 31) % 31
    chars = pa.array(list(_USCC_CHARS))
    columns = [lookup_strings(chars, values[:, i]) for i in range(17)]
    return concat_strings([*columns, lookup_strings(chars, check)])
