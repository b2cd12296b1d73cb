"""In-memory repositories and unit of work: the test doubles, and the reference for adapters."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Self

from tenure.core.errors import Conflict, NotFound
from tenure.protection.corporate.model import (
    CorporatePayment,
    Mandate,
    Operator,
    PaymentStatus,
)

__all__ = [
    "InMemoryCorporatePaymentRepository",
    "InMemoryCorporateUnitOfWork",
    "InMemoryMandateRepository",
    "InMemoryOperatorRepository",
]

_COUNTS_AGAINST_LIMITS = frozenset({PaymentStatus.PENDING_APPROVAL, PaymentStatus.RELEASED})


class InMemoryOperatorRepository:
    """Operators in a dict."""

    def __init__(self) -> None:
        self.rows: dict[str, Operator] = {}

    def add(self, operator: Operator) -> None:
        if operator.id in self.rows:
            raise Conflict("an operator with this id already exists")
        self.rows[operator.id] = operator

    def get(self, operator_id: str) -> Operator | None:
        return self.rows.get(operator_id)

    def update(self, operator: Operator, *, expected: Operator) -> None:
        stored = self.rows.get(operator.id)
        if stored is None:
            raise NotFound("no such operator")
        if stored != expected:
            raise Conflict("the operator changed meanwhile; try again")
        self.rows[operator.id] = operator

    def list_for_customer(self, customer_id: str) -> list[Operator]:
        found = [row for row in self.rows.values() if row.customer_id == customer_id]
        return sorted(found, key=lambda row: row.id)


class InMemoryMandateRepository:
    """Mandate versions in a dict keyed by (customer, version)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], Mandate] = {}

    def add(self, mandate: Mandate) -> None:
        key = (mandate.customer_id, mandate.version)
        if key in self.rows:
            raise Conflict("this mandate version already exists")
        self.rows[key] = mandate

    def current(self, customer_id: str) -> Mandate | None:
        versions = [row for (owner, _), row in self.rows.items() if owner == customer_id]
        return max(versions, key=lambda row: row.version, default=None)

    def get(self, customer_id: str, version: int) -> Mandate | None:
        return self.rows.get((customer_id, version))

    def list_current(self) -> list[Mandate]:
        current: dict[str, Mandate] = {}
        for (owner, version), row in self.rows.items():
            if owner not in current or current[owner].version < version:
                current[owner] = row
        return [current[owner] for owner in sorted(current)]


class InMemoryCorporatePaymentRepository:
    """Payments in a dict."""

    def __init__(self) -> None:
        self.rows: dict[str, CorporatePayment] = {}

    def add(self, payment: CorporatePayment) -> None:
        if payment.id in self.rows:
            raise Conflict("a payment with this id already exists")
        self.rows[payment.id] = payment

    def get(self, payment_id: str) -> CorporatePayment | None:
        return self.rows.get(payment_id)

    def update(self, payment: CorporatePayment, *, expected: CorporatePayment) -> None:
        stored = self.rows.get(payment.id)
        if stored is None:
            raise NotFound("no such payment")
        if stored != expected:
            raise Conflict("the payment changed meanwhile; try again")
        self.rows[payment.id] = payment

    def list_pending(self, *, customer_id: str | None = None) -> list[CorporatePayment]:
        found = [
            row
            for row in self.rows.values()
            if row.status is PaymentStatus.PENDING_APPROVAL
            and (customer_id is None or row.customer_id == customer_id)
        ]
        return sorted(found, key=lambda row: (row.created_at, row.id))

    def initiated_total_minor(self, initiator_id: str, *, since: datetime, until: datetime) -> int:
        return sum(
            row.amount_minor
            for row in self.rows.values()
            if row.initiator_id == initiator_id
            and since <= row.created_at < until
            and row.status in _COUNTS_AGAINST_LIMITS
        )


class InMemoryCorporateUnitOfWork:
    """All three repositories; changes since the last commit are undone on exit or rollback."""

    def __init__(self) -> None:
        self.operators = InMemoryOperatorRepository()
        self.mandates = InMemoryMandateRepository()
        self.payments = InMemoryCorporatePaymentRepository()
        self.commits = 0
        self._open = False
        self._saved = self._snapshot()

    def _snapshot(
        self,
    ) -> tuple[dict[str, Operator], dict[tuple[str, int], Mandate], dict[str, CorporatePayment]]:
        # Values are frozen, so copying the dicts is enough to restore them.
        return dict(self.operators.rows), dict(self.mandates.rows), dict(self.payments.rows)

    def __enter__(self) -> Self:
        if self._open:
            raise RuntimeError("a unit of work cannot be entered twice at once")
        self._open = True
        self._saved = self._snapshot()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
        self._open = False

    def commit(self) -> None:
        self._saved = self._snapshot()
        self.commits += 1

    def rollback(self) -> None:
        operators, mandates, payments = self._saved
        self.operators.rows = dict(operators)
        self.mandates.rows = dict(mandates)
        self.payments.rows = dict(payments)
