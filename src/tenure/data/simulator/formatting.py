"""Turn numpy code arrays into Arrow string columns fast: ids, timestamps, IPs, looked-up names."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "concat_strings",
    "fixed_width_strings",
    "hex_strings",
    "ipv4_strings",
    "iso_timestamps",
    "lookup_strings",
    "numbered_ids",
    "padded_numbers",
    "utc_timestamps",
]

_OCTETS = pa.array([str(i) for i in range(256)])
_DECIMAL = np.frombuffer(b"0123456789", dtype=np.uint8)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
SECONDS_PER_DAY = 86_400


def fixed_width_strings(matrix: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Strings from a ``(rows, width)`` matrix of ASCII codes; null where ``valid`` is false."""
    rows, width = matrix.shape
    offsets = pa.py_buffer(np.arange(rows + 1, dtype=np.int32) * width)
    data = pa.py_buffer(np.ascontiguousarray(matrix, dtype=np.uint8).tobytes())
    if valid is None or bool(np.all(valid)):
        return pa.Array.from_buffers(pa.string(), rows, [None, offsets, data])
    bitmap = pa.array(np.asarray(valid, dtype=bool)).buffers()[1]
    nulls = int(rows - np.count_nonzero(valid))
    return pa.Array.from_buffers(pa.string(), rows, [bitmap, offsets, data], null_count=nulls)


def _digit_codes(numbers: np.ndarray, width: int, base: int = 10) -> np.ndarray:
    powers = base ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return np.asarray((numbers[:, None] // powers[None, :]) % base, dtype=np.uint8)


def padded_numbers(numbers: np.ndarray, width: int) -> pa.Array:
    """Decimal strings of non-negative integers, zero-padded to ``width``."""
    numbers = np.asarray(numbers, dtype=np.int64)
    needed = len(str(int(numbers.max()))) if len(numbers) else 1
    if needed > width:
        text = pc.cast(pa.array(numbers), pa.string())
        return pc.utf8_lpad(text, width=width, padding="0")
    return fixed_width_strings(_DECIMAL[_digit_codes(numbers, width)])


def numbered_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Identifiers such as ``C00000001`` from integers."""
    return concat_strings([prefix, padded_numbers(numbers, width)])


def concat_strings(parts: Sequence[pa.Array | str]) -> pa.Array:
    """Element-wise concatenation of string arrays and literals (null if any part is null)."""
    return pc.binary_join_element_wise(*parts, "")


def lookup_strings(vocabulary: pa.Array, codes: np.ndarray) -> pa.Array:
    """``vocabulary[codes]``, with negative codes giving null."""
    codes = np.asarray(codes, dtype=np.int64)
    missing = codes < 0
    indices = pa.array(np.where(missing, 0, codes), mask=missing if missing.any() else None)
    return pc.take(vocabulary, indices)


def ipv4_strings(addresses: np.ndarray) -> pa.Array:
    """Dotted-quad strings of 32-bit addresses; negative values give null."""
    addresses = np.asarray(addresses, dtype=np.int64)
    octets = [
        lookup_strings(_OCTETS, np.where(addresses < 0, -1, (addresses >> s) & 255))
        for s in (24, 16, 8, 0)
    ]
    return pc.binary_join_element_wise(*octets, ".")


@cache
def _times_of_day() -> pa.Array:
    seconds = pa.array(np.arange(SECONDS_PER_DAY, dtype=np.int64), pa.timestamp("s", tz="UTC"))
    return pc.strftime(seconds, format="%H:%M:%SZ")


def iso_timestamps(seconds: pa.Array) -> pa.Array:
    """ISO 8601 UTC strings (``2025-03-04T10:22:13Z``) of a timestamp[s] column, nulls kept."""
    valid = np.asarray(pc.is_valid(seconds).to_numpy(zero_copy_only=False), dtype=bool)
    if not valid.any():
        return pa.nulls(len(seconds), pa.string())
    values = pc.fill_null(pc.cast(seconds, pa.int64()), 0).to_numpy(zero_copy_only=False)
    days = np.floor_divide(values, SECONDS_PER_DAY)
    first = int(days[valid].min())
    span = np.arange(first, int(days[valid].max()) + 1, dtype=np.int64) * SECONDS_PER_DAY
    day_text = pc.strftime(pa.array(span, pa.timestamp("s", tz="UTC")), format="%Y-%m-%dT")
    day_codes = np.where(valid, days - first, -1)
    time_codes = np.where(valid, values - days * SECONDS_PER_DAY, -1)
    return concat_strings(
        [lookup_strings(day_text, day_codes), lookup_strings(_times_of_day(), time_codes)]
    )


def utc_timestamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A timestamp[s, UTC] column from epoch seconds, null where ``valid`` is false."""
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    return pa.array(np.asarray(seconds, dtype=np.int64), pa.timestamp("s", tz="UTC"), mask=mask)


def hex_strings(prefix: str, values: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + lowercase hex of each value (``width`` nibbles); negative values give null."""
    values = np.asarray(values, dtype=np.int64)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    matrix = np.empty((len(values), len(head) + width), dtype=np.uint8)
    matrix[:, : len(head)] = head
    matrix[:, len(head) :] = _HEX[_digit_codes(np.maximum(values, 0), width, 16)]
    return fixed_width_strings(matrix, values >= 0)
