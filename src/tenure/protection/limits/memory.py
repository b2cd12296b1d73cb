"""In-memory limit store: public test doubles that keep the ports' contracts, transactions too."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Self

from tenure.protection.limits.model import Limit

if TYPE_CHECKING:
    from tenure.protection.limits.ports import LimitUnitOfWork

__all__ = ["InMemoryLimitRepository", "InMemoryLimitUnitOfWork"]


class InMemoryLimitRepository:
    """Limits keyed by ``(customer_id, product)``."""

    def __init__(self) -> None:
        self._limits: dict[tuple[str, str], Limit] = {}

    def get(self, customer_id: str, product: str) -> Limit | None:
        return self._limits.get((customer_id, product))

    def put(self, limit: Limit) -> None:
        self._limits[(limit.customer_id, limit.product)] = limit

    def list_for_customer(self, customer_id: str) -> list[Limit]:
        found = [limit for key, limit in self._limits.items() if key[0] == customer_id]
        return sorted(found, key=lambda limit: limit.product)

    def list_all(self) -> list[Limit]:
        return [self._limits[key] for key in sorted(self._limits)]

    def snapshot(self) -> dict[tuple[str, str], Limit]:
        """A copy of the state, for rollback (values are immutable)."""
        return dict(self._limits)

    def restore(self, state: dict[tuple[str, str], Limit]) -> None:
        """Go back to a snapshot."""
        self._limits = dict(state)


class InMemoryLimitUnitOfWork:
    """Rolls the repository back on exit unless ``commit()`` was called; reuse one instance."""

    def __init__(self) -> None:
        self.limits = InMemoryLimitRepository()
        self.commits = 0
        self._open = False
        self._committed = self.limits.snapshot()

    def __enter__(self) -> Self:
        if self._open:
            raise RuntimeError("a unit of work cannot be entered twice at once")
        self._open = True
        self._committed = self.limits.snapshot()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        self.rollback()

    def commit(self) -> None:
        """Keep every change so far."""
        self._committed = self.limits.snapshot()
        self.commits += 1

    def rollback(self) -> None:
        """Discard every change since the last commit."""
        self.limits.restore(self._committed)


if TYPE_CHECKING:

    def _conforms(uow: InMemoryLimitUnitOfWork) -> LimitUnitOfWork:
        return uow
