"""What the corporate services need from a store; a SQL adapter implements these, ``memory`` fakes.

``update(new, *, expected=old)`` is a compare-and-set: it raises ``Conflict`` when the stored row no
longer equals ``expected``, so two approvals racing on one payment cannot both be counted against
the same prior state (SQL: ``UPDATE ... WHERE id = :id AND status = :old_status AND
approval_count = :old_count``, ``Conflict`` when no row was updated; for an operator compare every
mutable column, or keep a row version).
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from tenure.protection.corporate.model import CorporatePayment, Mandate, Operator

__all__ = [
    "CorporatePaymentRepository",
    "CorporateUnitOfWork",
    "MandateRepository",
    "OperatorRepository",
]


class OperatorRepository(Protocol):
    """A corporate customer's operators."""

    def add(self, operator: Operator) -> None:
        """Store a new operator; ``Conflict`` if the id is taken."""

    def get(self, operator_id: str) -> Operator | None: ...

    def update(self, operator: Operator, *, expected: Operator) -> None:
        """Replace the stored operator if it still equals ``expected``, else ``Conflict``."""

    def list_for_customer(self, customer_id: str) -> list[Operator]:
        """Every operator of the customer, active or not, ordered by id."""


class MandateRepository(Protocol):
    """Published mandate versions; a version, once added, never changes."""

    def add(self, mandate: Mandate) -> None:
        """Store a new version; ``Conflict`` if the customer already has that version."""

    def current(self, customer_id: str) -> Mandate | None:
        """The customer's highest version."""

    def get(self, customer_id: str, version: int) -> Mandate | None: ...

    def list_current(self) -> list[Mandate]:
        """Every customer's highest version, ordered by customer (the engine caches them)."""


class CorporatePaymentRepository(Protocol):
    """Corporate payments and their approvals."""

    def add(self, payment: CorporatePayment) -> None:
        """Store a new payment; ``Conflict`` if the id is taken."""

    def get(self, payment_id: str) -> CorporatePayment | None: ...

    def update(self, payment: CorporatePayment, *, expected: CorporatePayment) -> None:
        """Replace the stored payment if it still equals ``expected``, else ``Conflict``."""

    def list_pending(self, *, customer_id: str | None = None) -> list[CorporatePayment]:
        """Payments in ``pending_approval`` (of one customer, or all), oldest first."""

    def initiated_total_minor(self, initiator_id: str, *, since: datetime, until: datetime) -> int:
        """Sum of ``amount_minor`` the operator initiated in ``[since, until)`` (by ``created_at``)
        that is ``pending_approval`` or ``released``: what counts against a daily limit."""


class CorporateUnitOfWork(Protocol):
    """One transaction: rolled back on exit unless ``commit()`` was called."""

    @property
    def operators(self) -> OperatorRepository: ...

    @property
    def mandates(self) -> MandateRepository: ...

    @property
    def payments(self) -> CorporatePaymentRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
