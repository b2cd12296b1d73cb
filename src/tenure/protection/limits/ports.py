"""What limits need from a store; a SQL adapter implements these, ``memory`` has fakes."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from tenure.protection.limits.model import Limit

__all__ = ["LimitRepository", "LimitUnitOfWork"]


class LimitRepository(Protocol):
    """Limits a customer or staff set; products without one fall back to the policy default."""

    def get(self, customer_id: str, product: str) -> Limit | None: ...

    def put(self, limit: Limit) -> None:
        """Insert or replace the limit for ``(customer_id, product)``."""

    def list_for_customer(self, customer_id: str) -> list[Limit]:
        """The customer's stored limits, ordered by product."""

    def list_all(self) -> list[Limit]:
        """Every stored limit, ordered by customer then product (the engine caches them)."""


class LimitUnitOfWork(Protocol):
    """One transaction: rolled back on exit unless ``commit()`` was called."""

    @property
    def limits(self) -> LimitRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
