"""Personal data on its way in: pseudonyms for the warehouse, sealed lines, identities to the vault.

Ingest never writes a value of a column declared ``pii=`` to the warehouse. Each one is replaced
by its keyed pseudonym (:class:`~tenure.privacy.pseudonyms.Pseudonymizer`: the same value gives
the same pseudonym in every load and every table, so joins, "shared phone" counts and
per-counterparty groupings keep working; ``None`` stays ``None``), computed by SQL functions that
ingest registers on the warehouse for the length of a load (:func:`pii_function`). A line the CSV
reader could not split into fields is kept in the quarantine sealed whole (AES-256-GCM under a
subkey of the ring's active master, :data:`SEAL_FUNCTION`), since which of its pieces are personal
data cannot be told. The clear identity of every accepted customer goes to the identity vault
(:mod:`tenure.privacy.identity`), before the warehouse commits.

:class:`PiiProtector` is the port ingest needs; :class:`KeyedPiiProtector` implements it over a
key ring and a vault; :func:`ephemeral_protector` builds one on a fresh ring and an in-memory
vault, for tests and benchmarks whose warehouse is thrown away.

Sealed lines read ``q<version>:f1:<base64>``; :meth:`KeyedPiiProtector.open_line` opens one
while that master version is on the ring.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Protocol

from tenure.core.errors import ValidationError
from tenure.data.ingest.ports import TextFunction, Warehouse
from tenure.data.schema import PiiKind
from tenure.privacy.fields import FieldCipher, SubjectKey
from tenure.privacy.identity import CustomerIdentity, IdentityVault, MemoryIdentityVault
from tenure.privacy.keys import KeyRing, MalformedCiphertext, generate_key_ring
from tenure.privacy.pseudonyms import Pseudonymizer

__all__ = [
    "IDENTITY_TABLE",
    "SEAL_FUNCTION",
    "KeyedPiiProtector",
    "PiiProtector",
    "ephemeral_protector",
    "pii_function",
    "protection_functions",
]

IDENTITY_TABLE = "customers"
SEAL_FUNCTION = "tenure_seal_line"
_LINE_PURPOSE = b"tenure/quarantine-line/v1"
_SEALED_LINE = re.compile(r"q([1-9][0-9]{0,8}):(.+)", re.DOTALL)
# Distinct values remembered across batches per kind; past it the memo starts again (bounded RAM).
_MEMO_LIMIT = 500_000


def pii_function(kind: PiiKind) -> str:
    """The SQL function ingest registers to pseudonymise values of one PII kind."""
    return f"tenure_pii_{kind.value}"


class PiiProtector(Protocol):
    """What ingest needs to keep personal data out of the warehouse."""

    def pseudonymize(self, kind: PiiKind, values: Sequence[str | None]) -> list[str | None]:
        """The pseudonym of each value (``None`` for ``None`` and for blank values)."""
        ...

    def seal_lines(self, lines: Sequence[str | None]) -> list[str | None]:
        """Each raw line encrypted whole (``None`` stays ``None``)."""
        ...

    def keep_identities(self, identities: Sequence[CustomerIdentity]) -> int:
        """Store customers' clear identity in the vault; how many were written."""
        ...


class KeyedPiiProtector:
    """Pseudonyms and sealing under a key ring, identities into ``vault``."""

    def __init__(self, *, ring: KeyRing, vault: IdentityVault) -> None:
        self.ring = ring
        self.vault = vault
        self._pseudonymizer = Pseudonymizer(ring)
        self._memo: dict[PiiKind, dict[str | None, str]] = {kind: {} for kind in PiiKind}
        self._line_version = ring.active
        key = SubjectKey(ring.subkey(_LINE_PURPOSE, version=ring.active))
        self._lines = FieldCipher(key, customer_id="")

    def pseudonymize(self, kind: PiiKind, values: Sequence[str | None]) -> list[str | None]:
        """The pseudonym of each value, remembered across batches (counterparties repeat)."""
        memo = self._memo[kind]
        # The memo holds only values with a pseudonym, so one C-speed pass answers a batch of
        # values seen before; NULL, blank and new values take the slower path.
        found: list[str | None] = list(map(memo.get, values))
        if None not in found:
            return found
        missing = [v for v, f in zip(values, found, strict=True) if f is None and v is not None]
        computed = dict(zip(missing, self._pseudonymizer.pseudonyms(kind, missing), strict=True))
        if len(memo) + len(computed) > _MEMO_LIMIT:
            memo.clear()
        memo.update({v: p for v, p in computed.items() if p is not None})
        return [
            computed.get(v) if f is None and v is not None else f
            for v, f in zip(values, found, strict=True)
        ]

    def seal_lines(self, lines: Sequence[str | None]) -> list[str | None]:
        """Each line encrypted whole: ``q<version>:f1:...``."""
        prefix = f"q{self._line_version}:"
        return [
            None
            if line is None
            else prefix + self._lines.encrypt(line, table="quarantine", column="raw_record")
            for line in lines
        ]

    def open_line(self, sealed: str) -> str:
        """The line :meth:`seal_lines` sealed, while its master version is on the ring."""
        match = _SEALED_LINE.fullmatch(sealed)
        if match is None:
            raise MalformedCiphertext("a sealed line is not in the 'q<version>:' format")
        version = int(match.group(1))
        key = SubjectKey(self.ring.subkey(_LINE_PURPOSE, version=version))
        cipher = FieldCipher(key, customer_id="")
        return cipher.decrypt(match.group(2), table="quarantine", column="raw_record")

    def keep_identities(self, identities: Sequence[CustomerIdentity]) -> int:
        """Seal the identities into the vault."""
        for identity in identities:
            if not identity.customer_id:
                raise ValidationError("an identity has no customer id", field="customer_id")
        return self.vault.upsert(identities)


@contextmanager
def protection_functions(warehouse: Warehouse, protector: PiiProtector) -> Iterator[None]:
    """Register the SQL functions that pseudonymise each PII kind and seal raw lines on
    ``warehouse`` for the block, and remove them afterwards."""
    functions: dict[str, TextFunction] = {
        pii_function(kind): partial(protector.pseudonymize, kind) for kind in PiiKind
    }
    functions[SEAL_FUNCTION] = protector.seal_lines
    registered: list[str] = []
    try:
        for name, function in functions.items():
            warehouse.register_text_function(name, function)
            registered.append(name)
        yield
    finally:
        for name in registered:
            warehouse.remove_function(name)


def ephemeral_protector(ring: KeyRing | None = None) -> KeyedPiiProtector:
    """A protector on ``ring`` (default: a fresh one) and an in-memory vault, for tests and
    benchmarks whose warehouse is thrown away with its keys."""
    ring = ring or generate_key_ring()
    return KeyedPiiProtector(ring=ring, vault=MemoryIdentityVault(ring))
