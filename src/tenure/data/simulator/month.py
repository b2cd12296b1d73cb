"""One month of the simulation as the behaviour streams see it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Month"]


@dataclass(frozen=True, slots=True)
class Month:
    """A month window and each customer's state in it (chunk-local arrays)."""

    index: int
    start: int
    end: int
    calendar_month: int
    engagement: np.ndarray
    alive: np.ndarray
    until: np.ndarray
    salary_on: np.ndarray
    trip_city: np.ndarray
    trip_from: np.ndarray
    trip_to: np.ndarray

    @property
    def days(self) -> int:
        """Length of the month in whole days."""
        return (self.end - self.start) // 86_400

    def on_trip(self, customers: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Whether each customer was travelling at that moment."""
        return np.asarray(
            (self.trip_city[customers] >= 0)
            & (times >= self.trip_from[customers])
            & (times < self.trip_to[customers])
        )
