"""A sliding-window counter in fixed buckets with running totals, so reads cost O(1) when busy.

The series keeps only the buckets inside the window that ends at its newest bucket (``head``), plus
the running count and sum of those buckets. Writing a later bucket expires the buckets that fall
out; reading at a later time subtracts the ones that would have expired by then. A busy entity (an
IP under credential stuffing) therefore costs the same to read as a quiet one. See ``model`` for the
exact window semantics.

The buckets are two dicts of plain ints (index -> count, index -> sum) rather than a small list per
bucket: a dict of ints is never tracked by Python's cycle collector, so millions of buckets cost the
collector nothing, where a list per bucket made every full collection walk them all (tens of
milliseconds, landing on some unlucky decision).
"""

from __future__ import annotations

__all__ = ["NEVER", "BucketSeries"]

# A head before any bucket: far enough back that every gap is wider than any window.
NEVER = -(1 << 62)


class BucketSeries:
    """``size`` buckets (indexed by ``floor(at / width)``) of (count, sum)."""

    __slots__ = ("buckets", "count", "head", "size", "sums", "total")

    def __init__(self, size: int) -> None:
        self.size = size
        self.head = NEVER
        self.count = 0
        self.total = 0
        self.buckets: dict[int, int] = {}  # index -> count
        self.sums: dict[int, int] = {}  # index -> sum, for the same indices

    def add(self, index: int, amount: int) -> None:
        """Count one observation of ``amount`` in bucket ``index``."""
        if index > self.head:
            self._advance(index)
        elif index <= self.head - self.size:
            return  # older than the window that ends at head: it can never be read again
        buckets = self.buckets
        count = buckets.get(index)
        if count is None:
            buckets[index] = 1
            self.sums[index] = amount
        else:
            buckets[index] = count + 1
            self.sums[index] += amount
        self.count += 1
        self.total += amount

    def read(self, index: int) -> tuple[int, int]:
        """(count, sum) of the buckets ``index - size + 1 .. index`` that are still kept."""
        head, size = self.head, self.size
        gap = index - head
        if gap >= size or -gap >= size:
            return 0, 0
        if gap >= 0:  # drop the buckets that expire between head and index
            low = head - size
            high = low + gap
        else:  # a read in the past: drop the buckets after it
            low, high = index, head
        count, total = self.count, self.total
        buckets, sums = self.buckets, self.sums
        if high - low <= len(buckets):
            for kept in range(low + 1, high + 1):
                if kept in buckets:
                    count -= buckets[kept]
                    total -= sums[kept]
        else:
            for kept, kept_count in buckets.items():
                if low < kept <= high:
                    count -= kept_count
                    total -= sums[kept]
        return count, total

    def _kept_between(self, low: int, high: int) -> list[int]:
        """Indices of kept buckets with ``low < index <= high``, by whichever loop is shorter."""
        buckets = self.buckets
        if high - low <= len(buckets):
            return [index for index in range(low + 1, high + 1) if index in buckets]
        return [index for index in buckets if low < index <= high]

    def _advance(self, index: int) -> None:
        if index - self.head >= self.size:
            self.buckets.clear()
            self.sums.clear()
            self.count = self.total = 0
        else:
            for stale in self._kept_between(self.head - self.size, index - self.size):
                self.count -= self.buckets.pop(stale)
                self.total -= self.sums.pop(stale)
        self.head = index

    def to_primitive(self) -> list[int]:
        """``[head, head - index, count, sum, ...]``: small numbers, compact in JSON."""
        flat = [self.head]
        sums = self.sums
        for index, count in self.buckets.items():
            flat += (self.head - index, count, sums[index])
        return flat

    @classmethod
    def from_primitive(cls, size: int, flat: list[int]) -> BucketSeries:
        """Rebuild a series from ``to_primitive``; the running totals are recomputed."""
        series = cls(size)
        head = series.head = flat[0]
        indices = [head - back for back in flat[1::3]]
        counts, totals = flat[2::3], flat[3::3]
        series.buckets = dict(zip(indices, counts, strict=True))
        series.sums = dict(zip(indices, totals, strict=True))
        series.count, series.total = sum(counts), sum(totals)
        return series
