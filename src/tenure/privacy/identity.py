"""Customers' clear identity, sealed for the identity vault; the vault port and its test double.

The warehouse holds pseudonyms only. A customer's clear name, phone, e-mail and ID number live in
the *identity vault* (``customer_identity`` in the operational store), one row per customer:

- each field encrypted under the customer's own data key, bound to the vault table, the column
  and the customer (:class:`~tenure.privacy.fields.FieldCipher`);
- the data key stored only wrapped under the ring's active master, ``k<version>:...``;
- blind indexes of the ID number and the phone, so staff find a customer by an exact value
  without the store holding it (:meth:`~tenure.privacy.pseudonyms.Pseudonymizer.blind_index`).

``erase`` deletes the wrapped key, the ciphertexts and the indexes (crypto-shredding: backups of
the old ciphertexts can no longer be opened) and leaves a *tombstone*, so that the next extract,
which may still list the customer, does not bring their identity back. Loading a customer again
keeps their data key (its wrapped form does not change) and re-encrypts the fields under it.

:class:`IdentitySealer` does the cryptography; :class:`IdentityVault` is the port that
``tenure.adapters.sql.identity.SqlIdentityVault`` implements; :class:`MemoryIdentityVault` is the
in-memory test double with the same behaviour. Errors name customer ids, never values::

    NotFound
    └── IdentityNotFound     no identity for this customer: never loaded, or erased (``.erased``)
    DecryptionFailed         (tenure.privacy.keys) a ciphertext or wrapped key does not open
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Protocol

from tenure.core.errors import NotFound
from tenure.data.schema import PiiKind
from tenure.privacy.fields import (
    FieldCipher,
    SubjectKey,
    needs_rewrap,
    rewrap,
    unwrap_subject_key,
    wrap_subject_key,
)
from tenure.privacy.keys import KeyRing, MalformedCiphertext
from tenure.privacy.pseudonyms import Pseudonymizer

__all__ = [
    "IDENTITY_FIELDS",
    "VAULT_TABLE",
    "CustomerIdentity",
    "IdentityNotFound",
    "IdentitySealer",
    "IdentityVault",
    "MemoryIdentityVault",
    "RewrapProgress",
    "RewrapReport",
    "SealedIdentity",
    "key_version",
]

VAULT_TABLE = "customer_identity"
IDENTITY_FIELDS: tuple[str, ...] = ("full_name", "phone", "email", "id_number")
_VERSION = re.compile(r"k([1-9][0-9]{0,8}):")

RewrapProgress = Callable[[int, int], None]
"""Called with (keys looked at so far, keys in the vault) while a rotation runs."""


class IdentityNotFound(NotFound):
    """The vault holds no identity for this customer: never loaded, or erased."""

    def __init__(self, customer_id: str, *, erased: bool) -> None:
        what = "was erased" if erased else "is not in the identity vault"
        super().__init__(f"the identity of customer {customer_id} {what}", field="customer_id")
        self.customer_id = customer_id
        self.erased = erased


@dataclass(frozen=True, slots=True)
class CustomerIdentity:
    """One customer's clear identity; ``repr`` shows the id only, so it is safe to log."""

    customer_id: str
    full_name: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)
    id_number: str | None = field(default=None, repr=False)

    def values(self) -> dict[str, str | None]:
        """The clear fields by name, in :data:`IDENTITY_FIELDS` order."""
        return {name: getattr(self, name) for name in IDENTITY_FIELDS}


@dataclass(frozen=True, slots=True)
class SealedIdentity:
    """A vault row: the wrapped data key, one ciphertext per field, two blind indexes."""

    customer_id: str
    wrapped_key: str
    full_name_enc: str | None
    phone_enc: str | None
    email_enc: str | None
    id_number_enc: str | None
    id_number_bidx: str | None
    phone_bidx: str | None

    def row(self) -> dict[str, str | None]:
        """The row's columns by name, as the SQL adapter writes them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class RewrapReport:
    """What a rotation did: keys rewrapped under the active master, keys already under it."""

    rewrapped: int
    current: int

    @property
    def total(self) -> int:
        """Wrapped keys looked at."""
        return self.rewrapped + self.current


def key_version(wrapped_key: str) -> int:
    """The master key version a wrapped key names (``k<version>:...``)."""
    match = _VERSION.match(wrapped_key)
    if match is None:
        raise MalformedCiphertext(
            "a wrapped subject key is not in the 'k<version>:' format", field="wrapped_key"
        )
    return int(match.group(1))


class IdentitySealer:
    """Seals identities into vault rows and opens them again, under one key ring."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self._pseudonymizer = Pseudonymizer(ring)

    def seal(self, identity: CustomerIdentity, *, wrapped_key: str | None = None) -> SealedIdentity:
        """``identity`` encrypted under its existing data key (``wrapped_key``) or a new one."""
        known = {} if wrapped_key is None else {identity.customer_id: wrapped_key}
        (sealed,) = self.seal_many([identity], known)
        return sealed

    def seal_many(
        self, identities: Sequence[CustomerIdentity], wrapped_keys: Mapping[str, str]
    ) -> list[SealedIdentity]:
        """Each identity sealed; a customer in ``wrapped_keys`` keeps that data key."""
        id_indexes = self._pseudonymizer.blind_indexes(
            PiiKind.ID_NUMBER, [i.id_number for i in identities]
        )
        phone_indexes = self._pseudonymizer.blind_indexes(
            PiiKind.PHONE, [i.phone for i in identities]
        )
        return [
            self._seal_one(identity, wrapped_keys.get(identity.customer_id), id_index, phone_index)
            for identity, id_index, phone_index in zip(
                identities, id_indexes, phone_indexes, strict=True
            )
        ]

    def _seal_one(
        self,
        identity: CustomerIdentity,
        wrapped: str | None,
        id_index: str | None,
        phone_index: str | None,
    ) -> SealedIdentity:
        if wrapped is None:
            key = SubjectKey.generate()
            wrapped = wrap_subject_key(self.ring, key)
        else:
            key = unwrap_subject_key(self.ring, wrapped)
        cipher = FieldCipher(key, customer_id=identity.customer_id)
        encrypted = {
            name: None if value is None else cipher.encrypt(value, table=VAULT_TABLE, column=name)
            for name, value in identity.values().items()
        }
        return SealedIdentity(
            customer_id=identity.customer_id,
            wrapped_key=wrapped,
            full_name_enc=encrypted["full_name"],
            phone_enc=encrypted["phone"],
            email_enc=encrypted["email"],
            id_number_enc=encrypted["id_number"],
            id_number_bidx=id_index,
            phone_bidx=phone_index,
        )

    def open(self, sealed: SealedIdentity) -> CustomerIdentity:
        """The clear identity in a vault row."""
        key = unwrap_subject_key(self.ring, sealed.wrapped_key)
        cipher = FieldCipher(key, customer_id=sealed.customer_id)
        row = sealed.row()
        clear = {
            name: None
            if row[f"{name}_enc"] is None
            else cipher.decrypt(str(row[f"{name}_enc"]), table=VAULT_TABLE, column=name)
            for name in IDENTITY_FIELDS
        }
        return CustomerIdentity(sealed.customer_id, **clear)

    def id_number_index(self, value: str) -> str:
        """The blind index an ID number is found by."""
        return self._pseudonymizer.blind_index(PiiKind.ID_NUMBER, value)

    def phone_index(self, value: str) -> str:
        """The blind index a phone number is found by."""
        return self._pseudonymizer.blind_index(PiiKind.PHONE, value)

    def rewrap(self, wrapped_key: str) -> str:
        """``wrapped_key`` under the active master; the same text when it already is."""
        return rewrap(self.ring, wrapped_key)

    def needs_rewrap(self, wrapped_key: str) -> bool:
        """Whether ``wrapped_key`` was wrapped under a master other than the active one."""
        return needs_rewrap(self.ring, wrapped_key)


class IdentityVault(Protocol):
    """Where customers' clear identities are kept, sealed; implemented on SQLite / PostgreSQL."""

    def upsert(self, identities: Iterable[CustomerIdentity]) -> int:
        """Seal and store each identity (a known customer keeps their data key); erased customers
        are skipped. Returns how many identities were written."""
        ...

    def find_by_id_number(self, value: str) -> tuple[str, ...]:
        """Ids of the customers with this ID number (by blind index), sorted."""
        ...

    def find_by_phone(self, value: str) -> tuple[str, ...]:
        """Ids of the customers with this phone number (by blind index), sorted."""
        ...

    def reveal(self, customer_id: str) -> dict[str, str | None]:
        """The clear identity fields; ``IdentityNotFound`` if never loaded or erased."""
        ...

    def erase(self, customer_id: str) -> bool:
        """Crypto-shred the customer's identity, leaving a tombstone; whether one was held."""
        ...

    def rewrap_all(self, ring: KeyRing, *, progress: RewrapProgress | None = None) -> RewrapReport:
        """Rewrap every data key under ``ring``'s active master; the vault then uses ``ring``."""
        ...

    def key_versions(self) -> dict[int, int]:
        """How many wrapped keys each master key version holds."""
        ...

    def count(self) -> int:
        """Identities held (tombstones left out)."""
        ...


class MemoryIdentityVault:
    """The identity vault in a dict: the test double of the SQL vault, same cryptography."""

    def __init__(self, ring: KeyRing) -> None:
        self._sealer = IdentitySealer(ring)
        self._rows: dict[str, SealedIdentity | None] = {}

    def upsert(self, identities: Iterable[CustomerIdentity]) -> int:
        """Seal and store each identity; erased customers are skipped."""
        erased = {cid for cid, row in self._rows.items() if row is None}
        latest = {i.customer_id: i for i in identities if i.customer_id not in erased}
        kept = {
            cid: row.wrapped_key
            for cid, row in self._rows.items()
            if row is not None and cid in latest
        }
        for sealed in self._sealer.seal_many(list(latest.values()), kept):
            self._rows[sealed.customer_id] = sealed
        return len(latest)

    def find_by_id_number(self, value: str) -> tuple[str, ...]:
        """Ids of the customers with this ID number."""
        index = self._sealer.id_number_index(value)
        return tuple(sorted(c for c, r in self._rows.items() if r and r.id_number_bidx == index))

    def find_by_phone(self, value: str) -> tuple[str, ...]:
        """Ids of the customers with this phone number."""
        index = self._sealer.phone_index(value)
        return tuple(sorted(c for c, r in self._rows.items() if r and r.phone_bidx == index))

    def reveal(self, customer_id: str) -> dict[str, str | None]:
        """The clear identity fields of one customer."""
        if customer_id not in self._rows:
            raise IdentityNotFound(customer_id, erased=False)
        sealed = self._rows[customer_id]
        if sealed is None:
            raise IdentityNotFound(customer_id, erased=True)
        return self._sealer.open(sealed).values()

    def erase(self, customer_id: str) -> bool:
        """Drop the customer's sealed identity, keeping a tombstone."""
        held = self._rows.get(customer_id) is not None
        self._rows[customer_id] = None
        return held

    def rewrap_all(self, ring: KeyRing, *, progress: RewrapProgress | None = None) -> RewrapReport:
        """Rewrap every data key under ``ring``'s active master."""
        sealer = IdentitySealer(ring)
        live = [(cid, row) for cid, row in self._rows.items() if row is not None]
        rewrapped = 0
        for done, (cid, row) in enumerate(live, start=1):
            if sealer.needs_rewrap(row.wrapped_key):
                self._rows[cid] = replace(row, wrapped_key=sealer.rewrap(row.wrapped_key))
                rewrapped += 1
            if progress is not None:
                progress(done, len(live))
        self._sealer = sealer
        return RewrapReport(rewrapped=rewrapped, current=len(live) - rewrapped)

    def key_versions(self) -> dict[int, int]:
        """How many wrapped keys each master key version holds."""
        counts: dict[int, int] = {}
        for row in self._rows.values():
            if row is not None:
                version = key_version(row.wrapped_key)
                counts[version] = counts.get(version, 0) + 1
        return dict(sorted(counts.items()))

    def count(self) -> int:
        """Identities held (tombstones left out)."""
        return sum(row is not None for row in self._rows.values())
