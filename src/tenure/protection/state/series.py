"""A sliding-window counter in fixed buckets with running totals, so reads cost O(1) when busy.

The series keeps only the buckets inside the window that ends at its newest bucket (``head``), plus
the running count and sum of those buckets. Writing a later bucket expires the buckets that fall
out; reading at a later time subtracts the ones that would have expired by then. A busy entity (an
IP under credential stuffing) therefore costs the same to read as a quiet one. See ``model`` for the
exact window semantics.
"""

from __future__ import annotations

__all__ = ["NEVER", "BucketSeries"]

# A head before any bucket: far enough back that every gap is wider than any window.
NEVER = -(1 << 62)


class BucketSeries:
    """``size`` buckets (indexed by ``floor(at / width)``) of (count, sum)."""

    __slots__ = ("buckets", "count", "head", "size", "total")

    def __init__(self, size: int) -> None:
        self.size = size
        self.head = NEVER
        self.count = 0
        self.total = 0
        self.buckets: dict[int, list[int]] = {}

    def add(self, index: int, amount: int) -> None:
        """Count one observation of ``amount`` in bucket ``index``."""
        if index > self.head:
            self._advance(index)
        elif index <= self.head - self.size:
            return  # older than the window that ends at head: it can never be read again
        bucket = self.buckets.get(index)
        if bucket is None:
            self.buckets[index] = [1, amount]
        else:
            bucket[0] += 1
            bucket[1] += amount
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
        buckets = self.buckets
        if high - low <= len(buckets):
            for kept in range(low + 1, high + 1):
                bucket = buckets.get(kept)
                if bucket is not None:
                    count -= bucket[0]
                    total -= bucket[1]
        else:
            for kept, bucket in buckets.items():
                if low < kept <= high:
                    count -= bucket[0]
                    total -= bucket[1]
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
            self.count = self.total = 0
        else:
            for stale in self._kept_between(self.head - self.size, index - self.size):
                count, total = self.buckets.pop(stale)
                self.count -= count
                self.total -= total
        self.head = index

    def to_primitive(self) -> list[int]:
        """``[head, head - index, count, sum, ...]``: small numbers, compact in JSON."""
        flat = [self.head]
        for index, (count, total) in self.buckets.items():
            flat += (self.head - index, count, total)
        return flat

    @classmethod
    def from_primitive(cls, size: int, flat: list[int]) -> BucketSeries:
        """Rebuild a series from ``to_primitive``; the running totals are recomputed."""
        series = cls(size)
        head = series.head = flat[0]
        counts, totals = flat[2::3], flat[3::3]
        series.buckets = {
            head - back: [count, total]
            for back, count, total in zip(flat[1::3], counts, totals, strict=True)
        }
        series.count, series.total = sum(counts), sum(totals)
        return series
