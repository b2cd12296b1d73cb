"""The identity vault in the operational store: ``customer_identity``, one row per customer.

::

    customer_identity   customer_id (key), wrapped_key, full_name_enc, phone_enc, email_enc,
                        id_number_enc, id_number_bidx (indexed), phone_bidx (indexed), updated_at

What the columns hold and why is in :mod:`tenure.privacy.identity`. A row whose ``wrapped_key`` is
NULL is a tombstone: the customer was erased, and loads skip them.

Writes go in chunks of :data:`CHUNK` rows: the chunk's existing wrapped keys are read, the
identities sealed under them (or under new keys) outside any transaction, and the chunk written in
its own short transaction with one ``INSERT ... ON CONFLICT DO UPDATE`` executed for many rows (a
million customers never hold SQLite's write lock for the whole load, and a read snapshot is never
upgraded to a write after others wrote). Whatever happens between the read and the write, a row
stays whole: the update replaces the wrapped key and every ciphertext together, and leaves
tombstones alone, so an erasure that lands in between wins. Chunks are large because each commit
rewrites every blind-index page it touched, and the indexes are random by design. Errors and log
lines name customer ids and counts, never values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Engine

from tenure.adapters.sql.engine import translate_errors
from tenure.adapters.sql.tables import Base, UtcDateTime
from tenure.core.clock import Clock, SystemClock
from tenure.privacy.identity import (
    VAULT_TABLE,
    CustomerIdentity,
    IdentityNotFound,
    IdentitySealer,
    RewrapProgress,
    RewrapReport,
    SealedIdentity,
)
from tenure.privacy.keys import KeyRing

__all__ = ["CHUNK", "CUSTOMER_IDENTITY", "SqlIdentityVault", "SqlVaultMembership"]

CHUNK = 10_000

CUSTOMER_IDENTITY = sa.Table(
    VAULT_TABLE,
    Base.metadata,
    sa.Column("customer_id", sa.String(64), primary_key=True, autoincrement=False),
    sa.Column("wrapped_key", sa.String(128), nullable=True),
    sa.Column("full_name_enc", sa.Text(), nullable=True),
    sa.Column("phone_enc", sa.Text(), nullable=True),
    sa.Column("email_enc", sa.Text(), nullable=True),
    sa.Column("id_number_enc", sa.Text(), nullable=True),
    sa.Column("id_number_bidx", sa.String(32), nullable=True, index=True),
    sa.Column("phone_bidx", sa.String(32), nullable=True, index=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)
_T = CUSTOMER_IDENTITY
_SEALED = ("wrapped_key", "full_name_enc", "phone_enc", "email_enc", "id_number_enc",
           "id_number_bidx", "phone_bidx")  # fmt: skip


def _chunks(items: Iterable[CustomerIdentity]) -> Iterator[list[CustomerIdentity]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _sealed(row: sa.Row[Any]) -> SealedIdentity:
    return SealedIdentity(**{name: getattr(row, name) for name in ("customer_id", *_SEALED)})


class SqlVaultMembership:
    """Whom the vault holds, told without any key (a server without a key ring can still say
    that a customer is unknown or erased, and that an empty vault has nothing to search)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def require(self, customer_id: str) -> None:
        """Nothing if the vault holds the customer; ``IdentityNotFound`` (erased or not) else."""
        with translate_errors(), self._engine.connect() as connection:
            row = connection.execute(
                sa.select(_T.c.wrapped_key).where(_T.c.customer_id == customer_id)
            ).first()
        if row is None:
            raise IdentityNotFound(customer_id, erased=False)
        if row.wrapped_key is None:
            raise IdentityNotFound(customer_id, erased=True)

    def erased(self) -> frozenset[str]:
        """Customers whose identity was erased (a tombstone is all that is left)."""
        with translate_errors(), self._engine.connect() as connection:
            rows = connection.execute(sa.select(_T.c.customer_id).where(_T.c.wrapped_key.is_(None)))
            return frozenset(str(customer_id) for (customer_id,) in rows)

    def holds_anyone(self) -> bool:
        """Whether the vault holds any identity (tombstones left out)."""
        with translate_errors(), self._engine.connect() as connection:
            held = connection.execute(
                sa.select(_T.c.customer_id).where(_T.c.wrapped_key.is_not(None)).limit(1)
            ).first()
        return held is not None


class SqlIdentityVault:
    """The identity vault on SQLite or PostgreSQL (the ``IdentityVault`` port)."""

    def __init__(self, engine: Engine, *, ring: KeyRing, clock: Clock | None = None) -> None:
        self._engine = engine
        self._sealer = IdentitySealer(ring)
        self._clock = clock or SystemClock()

    @property
    def ring(self) -> KeyRing:
        """The key ring the vault seals and opens under."""
        return self._sealer.ring

    def upsert(self, identities: Iterable[CustomerIdentity]) -> int:
        """Seal and store each identity (a known customer keeps their data key); erased
        customers are skipped. Returns how many identities were written."""
        written = 0
        for chunk in _chunks(identities):
            latest = {identity.customer_id: identity for identity in chunk}
            known = self._wrapped_keys(list(latest))
            fresh = [i for cid, i in latest.items() if cid not in known or known[cid]]
            kept = {cid: key for cid, key in known.items() if key is not None}
            if not fresh:
                continue
            at = self._now()
            rows = [
                {**sealed.row(), "updated_at": at} for sealed in self._sealer.seal_many(fresh, kept)
            ]
            with translate_errors(), self._engine.begin() as connection:
                connection.execute(self._upsert_statement(connection), rows)
            written += len(rows)
        return written

    def find_by_id_number(self, value: str) -> tuple[str, ...]:
        """Ids of the customers with this ID number (by blind index), sorted."""
        return self._find(_T.c.id_number_bidx, self._sealer.id_number_index(value))

    def find_by_phone(self, value: str) -> tuple[str, ...]:
        """Ids of the customers with this phone number (by blind index), sorted."""
        return self._find(_T.c.phone_bidx, self._sealer.phone_index(value))

    def reveal(self, customer_id: str) -> dict[str, str | None]:
        """The clear identity fields; ``IdentityNotFound`` if never loaded or erased."""
        with translate_errors(), self._engine.connect() as connection:
            row = connection.execute(sa.select(_T).where(_T.c.customer_id == customer_id)).first()
        if row is None:
            raise IdentityNotFound(customer_id, erased=False)
        if row.wrapped_key is None:
            raise IdentityNotFound(customer_id, erased=True)
        return self._sealer.open(_sealed(row)).values()

    def erase(self, customer_id: str) -> bool:
        """Crypto-shred the customer's identity and leave a tombstone; whether one was held.

        A tombstone is written even for a customer the vault never saw, so that an erasure
        recorded before their data arrives still keeps it out.
        """
        cleared = dict.fromkeys(_SEALED)
        with translate_errors(), self._engine.begin() as connection:
            changed = cast(
                CursorResult[Any],
                connection.execute(
                    sa.update(_T)
                    .where(_T.c.customer_id == customer_id, _T.c.wrapped_key.is_not(None))
                    .values(**cleared, updated_at=self._now())
                ),
            ).rowcount
            tombstone = {"customer_id": customer_id, **cleared, "updated_at": self._now()}
            connection.execute(self._insert(connection).values(tombstone).on_conflict_do_nothing())
        return changed > 0

    def rewrap_all(self, ring: KeyRing, *, progress: RewrapProgress | None = None) -> RewrapReport:
        """Rewrap every data key under ``ring``'s active master; the vault then uses ``ring``.

        Pages through the keys by customer id; each page is rewritten with a compare-and-set on
        the old wrapped key, so a row changed meanwhile is left as its writer made it, and an
        interrupted rotation simply runs again.
        """
        sealer = IdentitySealer(ring)
        total = self.count()
        done = rewrapped = 0
        after = ""
        statement = (
            sa.update(_T)
            .where(
                _T.c.customer_id == sa.bindparam("b_id"), _T.c.wrapped_key == sa.bindparam("b_old")
            )
            .values(wrapped_key=sa.bindparam("b_new"), updated_at=sa.bindparam("b_at"))
        )
        while page := self._key_page(after):
            changes = [
                {"b_id": cid, "b_old": old, "b_new": sealer.rewrap(old), "b_at": self._now()}
                for cid, old in page
                if sealer.needs_rewrap(old)
            ]
            if changes:
                with translate_errors(), self._engine.begin() as connection:
                    connection.execute(statement, changes)
            rewrapped += len(changes)
            done += len(page)
            after = page[-1][0]
            if progress is not None:
                progress(done, max(total, done))
        self._sealer = sealer
        return RewrapReport(rewrapped=rewrapped, current=done - rewrapped)

    def key_versions(self) -> dict[int, int]:
        """How many wrapped keys each master key version holds."""
        with translate_errors(), self._engine.connect() as connection:
            cut = (
                sa.func.instr(_T.c.wrapped_key, ":")
                if connection.dialect.name == "sqlite"
                else sa.func.strpos(_T.c.wrapped_key, ":")
            )
            version = sa.func.substr(_T.c.wrapped_key, 2, cut - 2)
            rows = connection.execute(
                sa.select(version, sa.func.count())
                .where(_T.c.wrapped_key.is_not(None))
                .group_by(version)
            ).all()
            counts = {int(v): int(n) for v, n in rows}
        return dict(sorted(counts.items()))

    def count(self) -> int:
        """Identities held (tombstones left out)."""
        with translate_errors(), self._engine.connect() as connection:
            held = connection.execute(
                sa.select(sa.func.count()).where(_T.c.wrapped_key.is_not(None))
            ).scalar_one()
        return int(held)

    def _find(self, column: sa.Column[Any], index: str) -> tuple[str, ...]:
        with translate_errors(), self._engine.connect() as connection:
            found = connection.execute(
                sa.select(_T.c.customer_id).where(column == index).order_by(_T.c.customer_id)
            ).scalars()
            return tuple(found)

    def _wrapped_keys(self, customer_ids: list[str]) -> dict[str, str | None]:
        """Wrapped keys of the customers the vault holds (None for a tombstone)."""
        known: dict[str, str | None] = {}
        with translate_errors(), self._engine.connect() as connection:
            # Bounded IN lists: SQLite and PostgreSQL both cap the parameters of one statement.
            for start in range(0, len(customer_ids), 1_000):
                rows = connection.execute(
                    sa.select(_T.c.customer_id, _T.c.wrapped_key).where(
                        _T.c.customer_id.in_(customer_ids[start : start + 1_000])
                    )
                )
                known.update((str(cid), key) for cid, key in rows)
        return known

    def _key_page(self, after: str) -> list[tuple[str, str]]:
        with translate_errors(), self._engine.connect() as connection:
            rows = connection.execute(
                sa.select(_T.c.customer_id, _T.c.wrapped_key)
                .where(_T.c.customer_id > after, _T.c.wrapped_key.is_not(None))
                .order_by(_T.c.customer_id)
                .limit(CHUNK)
            ).all()
            return [(str(cid), str(key)) for cid, key in rows]

    def _insert(self, connection: Connection) -> Any:
        if connection.dialect.name == "postgresql":
            return postgresql.insert(_T)
        return sqlite.insert(_T)

    def _upsert_statement(self, connection: Connection) -> sa.Executable:
        insert = self._insert(connection)
        changed = {name: insert.excluded[name] for name in (*_SEALED, "updated_at")}
        return cast(
            sa.Executable,
            insert.on_conflict_do_update(
                index_elements=[_T.c.customer_id],
                set_=changed,
                # A tombstone written since the chunk was read stays one.
                where=_T.c.wrapped_key.is_not(None),
            ),
        )

    def _now(self) -> datetime:
        return self._clock.now().astimezone(UTC)
