"""Field-level envelope encryption with one data key per customer, so erasure is a key deletion.

Each customer (the *subject*) has a random 256-bit :class:`SubjectKey`. Their PII fields are
encrypted under it with AES-256-GCM (:class:`FieldCipher`), and the subject key itself is stored
only wrapped — AES-256-GCM under a subkey of the key ring's active master
(:func:`wrap_subject_key`). Deleting a customer's wrapped key *crypto-shreds* every field ever
encrypted for them: the master ring never saw the data key, so it cannot bring it back, and the
backups holding the fields become noise without anyone having to find and scrub them.

Formats (base64 is the URL-safe alphabet, padded)::

    wrapped subject key   k<version>:<base64(nonce 12 | ciphertext 32 | tag 16)>
    field ciphertext      f1:<base64(nonce 12 | ciphertext | tag 16)>

The wrapped key carries the master version that wrapped it, so a rotation (:func:`rewrap`) can
proceed row by row while older versions stay on the ring. A field ciphertext is bound, as
associated data, to its table, column and customer id: copied onto another row, into another
column or to another customer, it fails to decrypt instead of showing the wrong person's data.

Nonces and subject keys come from the OS CSPRNG, never from an injected seed: a repeated GCM nonce
under one key gives the key away. Errors are those of :mod:`tenure.privacy.keys`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tenure.core.errors import ValidationError
from tenure.privacy.keys import (
    KEY_BYTES,
    PII_WRAP,
    DecryptionFailed,
    KeyRing,
    MalformedCiphertext,
)

__all__ = [
    "FieldCipher",
    "SubjectKey",
    "needs_rewrap",
    "rewrap",
    "unwrap_subject_key",
    "wrap_subject_key",
]

_NONCE_BYTES = 12
_TAG_BYTES = 16
_WRAPPED = re.compile(r"k([1-9][0-9]{0,8}):([A-Za-z0-9_=-]+)")
_FIELD_PREFIX = "f1:"
_FIELD_CONTEXT = "tenure/field/v1"


@dataclass(frozen=True, slots=True)
class SubjectKey:
    """One customer's 256-bit data key; ``repr`` leaves the material out."""

    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.material) != KEY_BYTES:
            raise ValidationError(f"a subject key is {KEY_BYTES * 8} bits", field="subject_key")

    @classmethod
    def generate(cls) -> SubjectKey:
        """A fresh random subject key, for a customer seen for the first time."""
        return cls(secrets.token_bytes(KEY_BYTES))


def _encode(nonce: bytes, sealed: bytes) -> str:
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def _decode(text: str, *, what: str, minimum: int, field_name: str) -> bytes:
    try:
        raw = base64.b64decode(text, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise MalformedCiphertext(f"{what} is not valid base64", field=field_name) from None
    if len(raw) < minimum:
        raise MalformedCiphertext(f"{what} is too short to be a ciphertext", field=field_name)
    return raw


def _wrap_context(version: int) -> bytes:
    # The version is bound as associated data, so editing the prefix cannot pass for another one.
    return PII_WRAP + b"|k" + str(version).encode()


def _parse_wrapped(wrapped: str) -> tuple[int, bytes]:
    match = _WRAPPED.fullmatch(wrapped)
    if match is None:
        raise MalformedCiphertext(
            "a wrapped subject key is not in the 'k<version>:' format", field="subject_key"
        )
    minimum = _NONCE_BYTES + KEY_BYTES + _TAG_BYTES
    what = "a wrapped subject key"
    raw = _decode(match.group(2), what=what, minimum=minimum, field_name="subject_key")
    return int(match.group(1)), raw


def wrap_subject_key(ring: KeyRing, key: SubjectKey) -> str:
    """``key`` encrypted under the ring's active master, as ``k<version>:<base64>``."""
    version = ring.active
    aead = AESGCM(ring.subkey(PII_WRAP, version=version))
    nonce = os.urandom(_NONCE_BYTES)
    sealed = aead.encrypt(nonce, key.material, _wrap_context(version))
    return f"k{version}:{_encode(nonce, sealed)}"


def unwrap_subject_key(ring: KeyRing, wrapped: str) -> SubjectKey:
    """The subject key in ``wrapped``, opened with the master version it names.

    Raises ``UnknownKeyVersion`` when that version has left the ring, ``DecryptionFailed`` when
    the wrapped key was altered or wrapped under other masters.
    """
    version, raw = _parse_wrapped(wrapped)
    aead = AESGCM(ring.subkey(PII_WRAP, version=version))
    try:
        material = aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _wrap_context(version))
    except InvalidTag:
        raise DecryptionFailed(
            f"a wrapped subject key does not open under master key version {version}",
            field="subject_key",
        ) from None
    return SubjectKey(material)


def needs_rewrap(ring: KeyRing, wrapped: str) -> bool:
    """Whether ``wrapped`` was wrapped under a master other than the ring's active one."""
    version, _ = _parse_wrapped(wrapped)
    return version != ring.active


def rewrap(ring: KeyRing, wrapped: str) -> str:
    """``wrapped`` re-encrypted under the active master; unchanged when it already is.

    Returning the same text for an up-to-date key lets a rotation skip writing that row, and
    lets an interrupted rotation simply run again.
    """
    if not needs_rewrap(ring, wrapped):
        return wrapped
    return wrap_subject_key(ring, unwrap_subject_key(ring, wrapped))


class FieldCipher:
    """Encrypts and decrypts one customer's field values under their subject key."""

    def __init__(self, key: SubjectKey, *, customer_id: str) -> None:
        self._aead = AESGCM(key.material)
        self._customer_id = customer_id

    def _context(self, table: str, column: str) -> bytes:
        # JSON makes the binding unambiguous whatever characters the names contain.
        return json.dumps([_FIELD_CONTEXT, table, column, self._customer_id]).encode()

    def encrypt(self, value: str, *, table: str, column: str) -> str:
        """``value`` encrypted and bound to ``table``, ``column`` and this customer: ``f1:…``."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, value.encode("utf-8"), self._context(table, column))
        return _FIELD_PREFIX + _encode(nonce, sealed)

    def decrypt(self, ciphertext: str, *, table: str, column: str) -> str:
        """The value :meth:`encrypt` encrypted for the same table, column and customer."""
        where = f"{table}.{column}"
        if not ciphertext.startswith(_FIELD_PREFIX):
            raise MalformedCiphertext(f"a value of {where} is not a field ciphertext", field=column)
        raw = _decode(
            ciphertext.removeprefix(_FIELD_PREFIX),
            what=f"a value of {where}",
            minimum=_NONCE_BYTES + _TAG_BYTES,
            field_name=column,
        )
        try:
            plain = self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], self._context(table, column)
            )
        except InvalidTag:
            raise DecryptionFailed(
                f"a value of {where} does not open with this customer's key"
                " (altered, moved from another row or column, or another key)",
                field=column,
            ) from None
        return plain.decode("utf-8")
