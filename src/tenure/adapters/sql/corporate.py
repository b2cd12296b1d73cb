"""Corporate operators, mandates and payments in the operational store.

``update`` is a compare-and-set, as ``tenure.protection.corporate.ports`` describes: a payment's
``WHERE`` carries the expected status and approval count; an operator's carries every mutable
column (roles are stored as sorted, comma-joined text so that they compare as plain text). No
row updated means ``Conflict``, or ``NotFound`` when the row is gone. A mandate's rules are one
JSON document: a version never changes, and nothing queries inside it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.adapters.sql.engine import translate_errors
from tenure.adapters.sql.protection_tables import (
    CORPORATE_MANDATES,
    CORPORATE_OPERATORS,
    CORPORATE_PAYMENTS,
    changed_rows,
    insert_row,
)
from tenure.adapters.sql.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tenure.core.errors import Conflict, NotFound
from tenure.protection.corporate.model import (
    Approval,
    ApprovalTier,
    BusinessHours,
    CorporatePayment,
    Mandate,
    Operator,
    OperatorRole,
    PaymentStatus,
)

__all__ = [
    "SqlCorporatePaymentRepository",
    "SqlCorporateUnitOfWork",
    "SqlCorporateUnitOfWorkFactory",
    "SqlMandateRepository",
    "SqlOperatorRepository",
]

_COUNTS_AGAINST_LIMITS = (PaymentStatus.PENDING_APPROVAL.value, PaymentStatus.RELEASED.value)
_MICROSECOND = timedelta(microseconds=1)


def _operator_values(operator: Operator) -> dict[str, Any]:
    return {
        "id": operator.id,
        "customer_id": operator.customer_id,
        "name_ref": operator.name_ref,
        "roles": ",".join(sorted(role.value for role in operator.roles)),
        "single_limit_minor": operator.single_limit_minor,
        "daily_limit_minor": operator.daily_limit_minor,
        "active": operator.active,
    }


def _operator(row: sa.Row[Any]) -> Operator:
    return Operator(
        id=row.id,
        customer_id=row.customer_id,
        name_ref=row.name_ref,
        roles=frozenset(OperatorRole(role) for role in row.roles.split(",") if role),
        single_limit_minor=row.single_limit_minor,
        daily_limit_minor=row.daily_limit_minor,
        active=row.active,
    )


class SqlOperatorRepository:
    """Operators in ``corporate_operators``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, operator: Operator) -> None:
        values = _operator_values(operator)
        conflict = "an operator with this id already exists"
        insert_row(self._session, CORPORATE_OPERATORS, values, conflict=conflict, field="id")

    def get(self, operator_id: str) -> Operator | None:
        query = sa.select(CORPORATE_OPERATORS).where(CORPORATE_OPERATORS.c.id == operator_id)
        with translate_errors():
            row = self._session.execute(query).first()
        return None if row is None else _operator(row)

    def update(self, operator: Operator, *, expected: Operator) -> None:
        columns = CORPORATE_OPERATORS.c
        unchanged = [columns[name] == value for name, value in _operator_values(expected).items()]
        statement = (
            sa.update(CORPORATE_OPERATORS).where(*unchanged).values(_operator_values(operator))
        )
        with translate_errors():
            updated = changed_rows(self._session, statement)
        if updated == 1:
            return
        if self.get(operator.id) is None:
            raise NotFound("no such operator")
        raise Conflict("the operator changed meanwhile; try again")

    def list_for_customer(self, customer_id: str) -> list[Operator]:
        columns = CORPORATE_OPERATORS.c
        query = (
            sa.select(CORPORATE_OPERATORS)
            .where(columns.customer_id == customer_id)
            .order_by(columns.id)
        )
        with translate_errors():
            return [_operator(row) for row in self._session.execute(query)]


def _mandate_rules(mandate: Mandate) -> dict[str, Any]:
    hours = mandate.business_hours
    return {
        "tiers": [[tier.above_minor, tier.approvers] for tier in mandate.tiers],
        "allow_listed_payees_above_minor": mandate.allow_listed_payees_above_minor,
        "allowed_payee_ids": sorted(mandate.allowed_payee_ids),
        "business_hours": {
            "timezone": hours.timezone,
            "opens_at": hours.opens_at.isoformat(),
            "closes_at": hours.closes_at.isoformat(),
            "weekdays": sorted(hours.weekdays),
        },
        "after_hours": mandate.after_hours,
        "after_hours_above_minor": mandate.after_hours_above_minor,
        "approval_window_us": mandate.approval_window // _MICROSECOND,
    }


def _mandate(row: sa.Row[Any]) -> Mandate:
    rules, hours = row.rules, row.rules["business_hours"]
    return Mandate(
        customer_id=row.customer_id,
        version=row.version,
        currency=row.currency,
        tiers=tuple(ApprovalTier(above, approvers) for above, approvers in rules["tiers"]),
        created_at=row.created_at,
        created_by=row.created_by,
        allow_listed_payees_above_minor=rules["allow_listed_payees_above_minor"],
        allowed_payee_ids=frozenset(rules["allowed_payee_ids"]),
        business_hours=BusinessHours(
            timezone=hours["timezone"],
            opens_at=time.fromisoformat(hours["opens_at"]),
            closes_at=time.fromisoformat(hours["closes_at"]),
            weekdays=frozenset(hours["weekdays"]),
        ),
        after_hours=rules["after_hours"],
        after_hours_above_minor=rules["after_hours_above_minor"],
        approval_window=rules["approval_window_us"] * _MICROSECOND,
    )


class SqlMandateRepository:
    """Mandate versions in ``corporate_mandates``; a version, once added, never changes."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, mandate: Mandate) -> None:
        values = {
            "customer_id": mandate.customer_id,
            "version": mandate.version,
            "currency": mandate.currency,
            "created_at": mandate.created_at,
            "created_by": mandate.created_by,
            "rules": _mandate_rules(mandate),
        }
        conflict = "this mandate version already exists"
        insert_row(self._session, CORPORATE_MANDATES, values, conflict=conflict, field="version")

    def _first(self, query: sa.Select[Any]) -> Mandate | None:
        with translate_errors():
            row = self._session.execute(query.limit(1)).first()
        return None if row is None else _mandate(row)

    def current(self, customer_id: str) -> Mandate | None:
        columns = CORPORATE_MANDATES.c
        return self._first(
            sa.select(CORPORATE_MANDATES)
            .where(columns.customer_id == customer_id)
            .order_by(columns.version.desc())
        )

    def get(self, customer_id: str, version: int) -> Mandate | None:
        columns = CORPORATE_MANDATES.c
        return self._first(
            sa.select(CORPORATE_MANDATES).where(
                columns.customer_id == customer_id, columns.version == version
            )
        )

    def list_current(self) -> list[Mandate]:
        columns = CORPORATE_MANDATES.c
        latest = (
            sa.select(columns.customer_id, sa.func.max(columns.version).label("version"))
            .group_by(columns.customer_id)
            .subquery()
        )
        query = (
            sa.select(CORPORATE_MANDATES)
            .join(
                latest,
                sa.and_(
                    columns.customer_id == latest.c.customer_id,
                    columns.version == latest.c.version,
                ),
            )
            .order_by(columns.customer_id)
        )
        with translate_errors():
            return [_mandate(row) for row in self._session.execute(query)]


_PAYMENT_FIELDS = (
    "id",
    "customer_id",
    "account_id",
    "payee_id",
    "amount_minor",
    "currency",
    "initiator_id",
    "created_at",
    "required_approvers",
    "decision_id",
    "mandate_version",
    "expires_at",
    "hold_ends_at",
    "decided_at",
    "rejection_reason",
)


def _payment_values(payment: CorporatePayment) -> dict[str, Any]:
    values = {name: getattr(payment, name) for name in _PAYMENT_FIELDS}
    values["status"] = payment.status.value
    values["approvals"] = [
        {"operator_id": approval.operator_id, "at": approval.at.astimezone(UTC).isoformat()}
        for approval in payment.approvals
    ]
    values["approval_count"] = len(payment.approvals)
    values["reasons"] = list(payment.reasons)
    return values


def _payment(row: sa.Row[Any]) -> CorporatePayment:
    values = {name: getattr(row, name) for name in _PAYMENT_FIELDS}
    return CorporatePayment(
        status=PaymentStatus(row.status),
        approvals=tuple(
            Approval(item["operator_id"], datetime.fromisoformat(item["at"]))
            for item in row.approvals
        ),
        reasons=tuple(row.reasons),
        **values,
    )


class SqlCorporatePaymentRepository:
    """Payments and their approvals in ``corporate_payments``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, payment: CorporatePayment) -> None:
        values = _payment_values(payment)
        conflict = "a payment with this id already exists"
        insert_row(self._session, CORPORATE_PAYMENTS, values, conflict=conflict, field="id")

    def get(self, payment_id: str) -> CorporatePayment | None:
        query = sa.select(CORPORATE_PAYMENTS).where(CORPORATE_PAYMENTS.c.id == payment_id)
        with translate_errors():
            row = self._session.execute(query).first()
        return None if row is None else _payment(row)

    def update(self, payment: CorporatePayment, *, expected: CorporatePayment) -> None:
        columns = CORPORATE_PAYMENTS.c
        statement = (
            sa.update(CORPORATE_PAYMENTS)
            .where(
                columns.id == expected.id,
                columns.status == expected.status.value,
                columns.approval_count == len(expected.approvals),
            )
            .values(_payment_values(payment))
        )
        with translate_errors():
            updated = changed_rows(self._session, statement)
        if updated == 1:
            return
        if self.get(payment.id) is None:
            raise NotFound("no such payment")
        raise Conflict("the payment changed meanwhile; try again")

    def list_pending(self, *, customer_id: str | None = None) -> list[CorporatePayment]:
        columns = CORPORATE_PAYMENTS.c
        query = sa.select(CORPORATE_PAYMENTS).where(
            columns.status == PaymentStatus.PENDING_APPROVAL.value
        )
        if customer_id is not None:
            query = query.where(columns.customer_id == customer_id)
        query = query.order_by(columns.created_at, columns.id)
        with translate_errors():
            return [_payment(row) for row in self._session.execute(query)]

    def initiated_total_minor(self, initiator_id: str, *, since: datetime, until: datetime) -> int:
        columns = CORPORATE_PAYMENTS.c
        query = sa.select(sa.func.coalesce(sa.func.sum(columns.amount_minor), 0)).where(
            columns.initiator_id == initiator_id,
            columns.created_at >= since,
            columns.created_at < until,
            columns.status.in_(_COUNTS_AGAINST_LIMITS),
        )
        with translate_errors():
            total = self._session.execute(query).scalar_one()
        # PostgreSQL sums a bigint as numeric: a Decimal with no fraction.
        return int(total)


class SqlCorporateUnitOfWork(SqlUnitOfWork):
    """One corporate transaction; rolled back on exit unless ``commit()`` was called."""

    operators: SqlOperatorRepository
    mandates: SqlMandateRepository
    payments: SqlCorporatePaymentRepository

    def __enter__(self) -> Self:
        super().__enter__()
        session = self.session
        self.operators = SqlOperatorRepository(session)
        self.mandates = SqlMandateRepository(session)
        self.payments = SqlCorporatePaymentRepository(session)
        return self


class SqlCorporateUnitOfWorkFactory(SqlUnitOfWorkFactory):
    """Makes a fresh corporate unit of work per call (the services also accept one reused)."""

    def __call__(self) -> SqlCorporateUnitOfWork:
        return SqlCorporateUnitOfWork(self._sessions)
