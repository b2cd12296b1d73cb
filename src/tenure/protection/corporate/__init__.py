"""Corporate clients: operators, versioned mandates, and approval of large transfers.

A corporate customer's large transfers wait for distinct approvers as its mandate requires.
``evaluation`` is pure (what a mandate requires of a payment, and the outcome it forces on the
engine); ``operators``, ``mandates`` and ``payments`` are the services, each taking a
``CorporateUnitOfWork`` and an ``AuditSink``; ``memory`` holds the in-memory test doubles.
``rule`` (imported on its own, as it depends on the engine) makes the mandate a hard rule of the
decision engine: a transfer gets at least what the customer's current mandate requires.
"""

from __future__ import annotations

from tenure.protection.corporate.audit import AuditEntry, AuditSink, InMemoryAuditSink
from tenure.protection.corporate.evaluation import (
    MandateRequirement,
    MandateVerdict,
    PaymentTerms,
    evaluate_mandate,
    mandate_outcome,
    payment_ending,
    payment_outcome,
)
from tenure.protection.corporate.mandates import current_mandate, publish_mandate
from tenure.protection.corporate.memory import (
    InMemoryCorporatePaymentRepository,
    InMemoryCorporateUnitOfWork,
    InMemoryMandateRepository,
    InMemoryOperatorRepository,
)
from tenure.protection.corporate.model import (
    Actor,
    AfterHoursPolicy,
    Approval,
    ApprovalTier,
    BusinessHours,
    CorporatePayment,
    Mandate,
    Operator,
    OperatorRole,
    PaymentRequest,
    PaymentStatus,
)
from tenure.protection.corporate.operators import (
    add_operator,
    deactivate_operator,
    list_operators,
    update_operator,
)
from tenure.protection.corporate.payments import (
    approve_payment,
    expire_stale,
    get_payment,
    pending_payments,
    reject_payment,
    release_due,
    submit_payment,
)
from tenure.protection.corporate.ports import (
    CorporatePaymentRepository,
    CorporateUnitOfWork,
    MandateRepository,
    OperatorRepository,
)

__all__ = [
    "Actor",
    "AfterHoursPolicy",
    "Approval",
    "ApprovalTier",
    "AuditEntry",
    "AuditSink",
    "BusinessHours",
    "CorporatePayment",
    "CorporatePaymentRepository",
    "CorporateUnitOfWork",
    "InMemoryAuditSink",
    "InMemoryCorporatePaymentRepository",
    "InMemoryCorporateUnitOfWork",
    "InMemoryMandateRepository",
    "InMemoryOperatorRepository",
    "Mandate",
    "MandateRepository",
    "MandateRequirement",
    "MandateVerdict",
    "Operator",
    "OperatorRepository",
    "OperatorRole",
    "PaymentRequest",
    "PaymentStatus",
    "PaymentTerms",
    "add_operator",
    "approve_payment",
    "current_mandate",
    "deactivate_operator",
    "evaluate_mandate",
    "expire_stale",
    "get_payment",
    "list_operators",
    "mandate_outcome",
    "payment_ending",
    "payment_outcome",
    "pending_payments",
    "publish_mandate",
    "reject_payment",
    "release_due",
    "submit_payment",
    "update_operator",
]
