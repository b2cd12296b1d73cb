"""Step-up challenges, TOTP enrolments and the notification outbox in the operational store.

TOTP secrets are sealed with AES-256-GCM before they reach the table (``SecretCipher``), bound to
their customer so that a sealed secret copied onto another row does not open. The two ``update``
methods are compare-and-sets, as ``tenure.protection.stepup.ports`` describes: the ``WHERE``
clause carries the expected status and attempt count (challenge) or status and last used counter
(enrolment), and no row updated means ``Conflict`` (or ``NotFound`` when the row is gone).
"""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import datetime
from typing import Any, Self

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tenure.adapters.sql.engine import translate_errors
from tenure.adapters.sql.protection_tables import (
    CHALLENGES,
    OUTBOX,
    TOTP,
    changed_rows,
    insert_row,
)
from tenure.adapters.sql.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tenure.core.errors import ConfigurationError, Conflict, NotFound
from tenure.protection.stepup.model import Challenge, ChallengeStatus, OutboxMessage, TotpEnrolment

__all__ = [
    "SecretCipher",
    "SqlChallengeRepository",
    "SqlNotificationOutbox",
    "SqlStepUpUnitOfWork",
    "SqlStepUpUnitOfWorkFactory",
    "SqlTotpSecretRepository",
]

_SEALED_PREFIX = "v1."
_NONCE_BYTES = 12


class SecretCipher:
    """Seals short secrets with AES-256-GCM under a key derived from ``key`` (SHA-256)."""

    def __init__(self, key: SecretStr) -> None:
        material = key.get_secret_value().encode()
        if len(material) < 16:
            raise ConfigurationError("the secret encryption key is too short", field="key")
        self._aead = AESGCM(hashlib.sha256(b"tenure-secret-cipher:" + material).digest())

    def seal(self, plaintext: str, *, context: str) -> str:
        """``plaintext`` encrypted and authenticated, bound to ``context`` (e.g. the row's id)."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return _SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, *, context: str) -> str:
        """The plaintext :meth:`seal` sealed under the same key and ``context``."""
        if not sealed.startswith(_SEALED_PREFIX):
            raise ConfigurationError("a stored secret is not in a known sealed format")
        raw = base64.urlsafe_b64decode(sealed.removeprefix(_SEALED_PREFIX))
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
        except InvalidTag as error:
            raise ConfigurationError(
                "a stored secret does not open with the configured key"
            ) from error
        return plain.decode()


def _enrolment(row: sa.Row[Any]) -> TotpEnrolment:
    return TotpEnrolment(
        customer_id=row.customer_id,
        status=row.status,
        created_at=row.created_at,
        confirmed_at=row.confirmed_at,
        last_used_counter=row.last_used_counter,
    )


def _enrolment_values(enrolment: TotpEnrolment) -> dict[str, Any]:
    return {
        "customer_id": enrolment.customer_id,
        "status": enrolment.status,
        "created_at": enrolment.created_at,
        "confirmed_at": enrolment.confirmed_at,
        "last_used_counter": enrolment.last_used_counter,
    }


class SqlTotpSecretRepository:
    """TOTP enrolments in ``protection_totp``, each with its sealed secret."""

    def __init__(self, session: Session, cipher: SecretCipher) -> None:
        self._session = session
        self._cipher = cipher

    def add(self, enrolment: TotpEnrolment, *, secret: str) -> None:
        values = _enrolment_values(enrolment)
        values["secret"] = self._cipher.seal(secret, context=enrolment.customer_id)
        conflict = "the customer already has an authenticator"
        insert_row(self._session, TOTP, values, conflict=conflict, field="customer_id")

    def _row(self, customer_id: str) -> sa.Row[Any] | None:
        with translate_errors():
            query = sa.select(TOTP).where(TOTP.c.customer_id == customer_id)
            return self._session.execute(query).first()

    def get(self, customer_id: str) -> TotpEnrolment | None:
        row = self._row(customer_id)
        return None if row is None else _enrolment(row)

    def secret(self, customer_id: str) -> str | None:
        row = self._row(customer_id)
        return None if row is None else self._cipher.open(row.secret, context=customer_id)

    def update(self, enrolment: TotpEnrolment, *, expected: TotpEnrolment) -> None:
        statement = (
            sa.update(TOTP)
            .where(
                TOTP.c.customer_id == expected.customer_id,
                TOTP.c.status == expected.status,
                TOTP.c.last_used_counter.is_not_distinct_from(expected.last_used_counter),
            )
            .values(_enrolment_values(enrolment))
        )
        with translate_errors():
            updated = changed_rows(self._session, statement)
        if updated == 1:
            return
        if self._row(enrolment.customer_id) is None:
            raise NotFound("the customer has no authenticator", field="customer_id")
        raise Conflict("the authenticator changed meanwhile", field="customer_id")

    def remove(self, customer_id: str) -> None:
        with translate_errors():
            self._session.execute(sa.delete(TOTP).where(TOTP.c.customer_id == customer_id))


_CHALLENGE_FIELDS = (
    "id",
    "decision_id",
    "customer_id",
    "method",
    "created_at",
    "expires_at",
    "attempts_left",
    "finished_at",
)


def _challenge(row: sa.Row[Any]) -> Challenge:
    values = {name: getattr(row, name) for name in _CHALLENGE_FIELDS}
    return Challenge(status=ChallengeStatus(row.status), **values)


def _challenge_values(challenge: Challenge) -> dict[str, Any]:
    values = {name: getattr(challenge, name) for name in _CHALLENGE_FIELDS}
    values["status"] = challenge.status.value
    return values


class SqlChallengeRepository:
    """Challenges in ``protection_challenges``, an SMS challenge's code HMAC beside it."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, challenge: Challenge, *, code_hash: str | None) -> None:
        values = _challenge_values(challenge)
        values["code_hash"] = code_hash
        conflict = "a challenge with this id exists"
        insert_row(self._session, CHALLENGES, values, conflict=conflict, field="challenge_id")

    def _row(self, challenge_id: str) -> sa.Row[Any] | None:
        with translate_errors():
            query = sa.select(CHALLENGES).where(CHALLENGES.c.id == challenge_id)
            return self._session.execute(query).first()

    def get(self, challenge_id: str) -> Challenge | None:
        row = self._row(challenge_id)
        return None if row is None else _challenge(row)

    def code_hash(self, challenge_id: str) -> str | None:
        row = self._row(challenge_id)
        return None if row is None else row.code_hash

    def list_for_decision(self, decision_id: str) -> list[Challenge]:
        query = (
            sa.select(CHALLENGES)
            .where(CHALLENGES.c.decision_id == decision_id)
            .order_by(CHALLENGES.c.created_at, CHALLENGES.c.id)
        )
        with translate_errors():
            return [_challenge(row) for row in self._session.execute(query)]

    def overdue(self, at: datetime, *, limit: int) -> list[Challenge]:
        query = (
            sa.select(CHALLENGES)
            .where(
                CHALLENGES.c.status == ChallengeStatus.PENDING.value,
                CHALLENGES.c.expires_at <= at,
            )
            .order_by(CHALLENGES.c.expires_at, CHALLENGES.c.id)
            .limit(limit)
        )
        with translate_errors():
            return [_challenge(row) for row in self._session.execute(query)]

    def update(self, challenge: Challenge, *, expected: Challenge) -> None:
        statement = (
            sa.update(CHALLENGES)
            .where(
                CHALLENGES.c.id == expected.id,
                CHALLENGES.c.status == expected.status.value,
                CHALLENGES.c.attempts_left == expected.attempts_left,
            )
            .values(_challenge_values(challenge))
        )
        with translate_errors():
            updated = changed_rows(self._session, statement)
        if updated == 1:
            return
        if self._row(challenge.id) is None:
            raise NotFound("no challenge with this id", field="challenge_id")
        raise Conflict("the challenge changed meanwhile", field="challenge_id")

    def last_verified_at(self, customer_id: str) -> datetime | None:
        query = sa.select(sa.func.max(CHALLENGES.c.finished_at)).where(
            CHALLENGES.c.customer_id == customer_id,
            CHALLENGES.c.status == ChallengeStatus.VERIFIED.value,
        )
        with translate_errors():
            found: datetime | None = self._session.execute(query).scalar()
        return found


def _message(row: sa.Row[Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        channel=row.channel,
        customer_id=row.customer_id,
        template=row.template,
        params=row.params,
        created_at=row.created_at,
    )


class SqlNotificationOutbox:
    """Messages in ``protection_outbox``; a delivered message keeps no parameters (no codes)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, message: OutboxMessage) -> None:
        values = {
            "id": message.id,
            "channel": message.channel,
            "customer_id": message.customer_id,
            "template": message.template,
            "params": dict(message.params),
            "created_at": message.created_at,
        }
        conflict = "a message with this id exists"
        insert_row(self._session, OUTBOX, values, conflict=conflict, field="id")

    def pending(self) -> list[OutboxMessage]:
        query = (
            sa.select(OUTBOX)
            .where(OUTBOX.c.delivered_at.is_(None))
            .order_by(OUTBOX.c.created_at, OUTBOX.c.id)
        )
        with translate_errors():
            return [_message(row) for row in self._session.execute(query)]

    def mark_delivered(self, message_id: str, *, at: datetime) -> bool:
        """Mark a message handed to its channel, dropping its parameters; whether it was pending."""
        statement = (
            sa.update(OUTBOX)
            .where(OUTBOX.c.id == message_id, OUTBOX.c.delivered_at.is_(None))
            .values(delivered_at=at, params={})
        )
        with translate_errors():
            return changed_rows(self._session, statement) == 1


class SqlStepUpUnitOfWork(SqlUnitOfWork):
    """One step-up transaction; rolled back on exit unless ``commit()`` was called."""

    totp_secrets: SqlTotpSecretRepository
    challenges: SqlChallengeRepository
    outbox: SqlNotificationOutbox

    def __init__(self, session_factory: sessionmaker[Session], cipher: SecretCipher) -> None:
        super().__init__(session_factory)
        self._cipher = cipher

    def __enter__(self) -> Self:
        super().__enter__()
        session = self.session
        self.totp_secrets = SqlTotpSecretRepository(session, self._cipher)
        self.challenges = SqlChallengeRepository(session)
        self.outbox = SqlNotificationOutbox(session)
        return self


class SqlStepUpUnitOfWorkFactory(SqlUnitOfWorkFactory):
    """Makes a fresh step-up unit of work per call (the services also accept one reused)."""

    def __init__(self, engine: Engine, cipher: SecretCipher) -> None:
        super().__init__(engine)
        self._cipher = cipher

    def __call__(self) -> SqlStepUpUnitOfWork:
        return SqlStepUpUnitOfWork(self._sessions, self._cipher)
