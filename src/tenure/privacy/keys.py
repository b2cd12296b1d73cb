"""Versioned master keys, and the purpose-bound subkeys derived from them.

A :class:`KeyRing` holds 256-bit master keys by version. One version is *active*: new subject
keys are wrapped under it (:mod:`tenure.privacy.fields`). Older versions stay on the ring so that
keys wrapped before a rotation still open, until ``tenure keys rotate`` has rewrapped them and the
old version is retired. A second version is *pinned for pseudonyms*: pseudonyms and blind indexes
(:mod:`tenure.privacy.pseudonyms`) join data across years of warehouse loads, so they must not
change when the encryption master rotates. The pinned version is written in the key file as
``"pseudonym"``; a file without it pins its lowest version, which is the first key it ever had,
and the ring refuses to retire the pinned version. So a routine rotation retires only the
versions that wrapped keys; the pinned one stays, used for nothing but pseudonyms. Moving the pin
(after that master leaked, say) changes every pseudonym and means re-pseudonymising the warehouse.

No master key ever keys a primitive directly: each purpose gets its own subkey, derived with
HKDF-SHA256 and an ``info`` string (:data:`PII_WRAP`, :data:`PSEUDONYM`,
:func:`blind_index_purpose`), so that a subkey leaked from one purpose says nothing about another.

Master keys come from a key file or from an environment variable's value, never from the
database that holds what they protect. The key file is JSON::

    {"active": 2, "pseudonym": 1, "keys": {"1": "<base64 of 32 bytes>", "2": "<base64>"}}

and, on POSIX, must not be readable by group or others (``chmod 600``).

Errors name a path, a version or a purpose, never key material::

    TenureError                        (tenure.core.errors)
    ├── ConfigurationError
    │   └── KeyRingError               the ring cannot be built, read or written as asked
    │       ├── KeyFileUnsafe          the key file is open to group or others; fix: chmod 600
    │       └── UnknownKeyVersion      a version the ring does not hold (``.version``)
    └── DecryptionFailed               a stored ciphertext does not open: altered, moved, other key
        └── MalformedCiphertext        a stored value is not in a format this package writes
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tenure.core.errors import ConfigurationError, TenureError

__all__ = [
    "KEY_BYTES",
    "PII_WRAP",
    "PSEUDONYM",
    "DecryptionFailed",
    "KeyFileUnsafe",
    "KeyRing",
    "KeyRingError",
    "MalformedCiphertext",
    "MasterKey",
    "UnknownKeyVersion",
    "add_key",
    "blind_index_purpose",
    "generate_key_file",
    "generate_key_ring",
    "load_key_file",
    "parse_key_ring",
    "write_key_file",
]

KEY_BYTES = 32
PII_WRAP = b"tenure/pii-wrap/v1"
PSEUDONYM = b"tenure/pseudonym"
_BLIND_INDEX = b"tenure/blind-index/"
_PURPOSE_ROOT = b"tenure/"


class KeyRingError(ConfigurationError):
    """The key ring cannot be built, read or written as asked."""


class KeyFileUnsafe(KeyRingError):
    """The key file can be read or written by users other than its owner."""


class UnknownKeyVersion(KeyRingError):
    """A ciphertext or a command names a master key version the ring does not hold."""

    def __init__(self, version: int) -> None:
        super().__init__(f"master key version {version} is not on the key ring", field="version")
        self.version = version


class DecryptionFailed(TenureError):
    """A stored ciphertext does not open: tampered with, moved elsewhere, or another key."""

    code = "decryption_failed"


class MalformedCiphertext(DecryptionFailed):
    """A stored value is not in a format this package writes."""


def blind_index_purpose(field_name: str) -> bytes:
    """The HKDF ``info`` of the blind-index subkey for one field (a PII kind)."""
    return _BLIND_INDEX + field_name.encode()


@dataclass(frozen=True, slots=True)
class MasterKey:
    """One 256-bit master key and its version; ``repr`` leaves the material out."""

    version: int
    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise KeyRingError("a master key version must be an integer", field="version")
        if self.version < 1:
            raise KeyRingError(
                f"master key version {self.version} is not positive", field="version"
            )
        if len(self.material) != KEY_BYTES:
            raise KeyRingError(
                f"master key version {self.version} is not {KEY_BYTES * 8} bits", field="keys"
            )


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Master keys by version, the active one (wrapping) and the one pinned for pseudonyms."""

    keys: tuple[MasterKey, ...]
    active: int
    pseudonym_version: int

    def __post_init__(self) -> None:
        versions = [key.version for key in self.keys]
        if not versions:
            raise KeyRingError("the key ring holds no master key", field="keys")
        if len(set(versions)) != len(versions):
            raise KeyRingError("the key ring holds a master key version twice", field="keys")
        if self.active not in versions:
            raise KeyRingError(f"active master key version {self.active} is not on the ring")
        if self.pseudonym_version not in versions:
            raise KeyRingError(
                f"pseudonym master key version {self.pseudonym_version} is not on the ring"
            )
        object.__setattr__(self, "keys", tuple(sorted(self.keys, key=lambda k: k.version)))

    @property
    def versions(self) -> tuple[int, ...]:
        """Every version on the ring, oldest first."""
        return tuple(key.version for key in self.keys)

    def subkey(self, purpose: bytes, *, version: int) -> bytes:
        """The 256-bit subkey for ``purpose`` (an HKDF ``info``) under master ``version``."""
        if not purpose.startswith(_PURPOSE_ROOT):
            raise KeyRingError("a subkey purpose must start with b'tenure/'", field="purpose")
        # The masters are uniformly random, so HKDF's extract step needs no salt (RFC 5869 §3.1).
        derive = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose)
        return derive.derive(self._material(version))

    def retire(self, version: int) -> KeyRing:
        """This ring without ``version``, once nothing wrapped under it is left."""
        if version in (self.active, self.pseudonym_version):
            role = "active" if version == self.active else "pinned for pseudonyms"
            raise KeyRingError(f"master key version {version} is {role} and cannot be retired")
        self._material(version)
        kept = tuple(key for key in self.keys if key.version != version)
        return KeyRing(keys=kept, active=self.active, pseudonym_version=self.pseudonym_version)

    def to_json(self) -> str:
        """The key file's JSON text; it holds key material, so write it only to a 0600 file."""
        encoded = {str(key.version): base64.b64encode(key.material).decode() for key in self.keys}
        document = {"active": self.active, "pseudonym": self.pseudonym_version, "keys": encoded}
        return json.dumps(document, indent=2) + "\n"

    def _material(self, version: int) -> bytes:
        for key in self.keys:
            if key.version == version:
                return key.material
        raise UnknownKeyVersion(version)


def _version(text: object, *, source: str, what: str) -> int:
    if isinstance(text, bool) or not isinstance(text, int | str):
        raise KeyRingError(f"{source}: {what} is not a version number", field=what)
    if isinstance(text, str) and not (text.isascii() and text.isdigit()):
        raise KeyRingError(f"{source}: {what} is not a version number", field=what)
    return int(text)


def _master_key(version: int, encoded: object, *, source: str) -> MasterKey:
    if not isinstance(encoded, str):
        raise KeyRingError(f"{source}: master key version {version} is not a base64 string")
    try:
        material = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        # ``from None``: the decoder's error carries no secret today, but it need not stay so.
        raise KeyRingError(
            f"{source}: master key version {version} is not valid base64", field="keys"
        ) from None
    return MasterKey(version=version, material=material)


def parse_key_ring(text: str, *, source: str) -> KeyRing:
    """The ring in ``text`` (key file JSON); ``source`` names where it came from, for errors.

    The caller reads the environment or the file; this module never does so on import.
    """
    try:
        document: Any = json.loads(text)
    except ValueError:
        # ``from None``: a JSONDecodeError keeps the whole document, key material included.
        raise KeyRingError(f"{source}: the key ring is not valid JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), dict):
        raise KeyRingError(f"{source}: the key ring needs an object with 'active' and 'keys'")
    keys = tuple(
        _master_key(_version(name, source=source, what="keys"), encoded, source=source)
        for name, encoded in document["keys"].items()
    )
    if "active" not in document:
        raise KeyRingError(f"{source}: the key ring names no active version", field="active")
    active = _version(document["active"], source=source, what="active")
    pinned = document.get("pseudonym", min((key.version for key in keys), default=active))
    pseudonym_version = _version(pinned, source=source, what="pseudonym")
    return KeyRing(keys=keys, active=active, pseudonym_version=pseudonym_version)


def load_key_file(path: str | os.PathLike[str]) -> KeyRing:
    """The ring in the key file at ``path``, refused if group or others may open it."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            # The mode is checked on the open file, so a swap after the check changes nothing.
            mode = os.fstat(handle.fileno()).st_mode
            if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise KeyFileUnsafe(
                    f"key file {path} can be opened by group or others; run `chmod 600 {path}`",
                    field="path",
                )
            raw = handle.read()
    except OSError as error:
        raise KeyRingError(f"key file {path} cannot be read ({error.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyRingError(f"key file {path} is not UTF-8 text") from None
    return parse_key_ring(text, source=f"key file {path}")


def write_key_file(ring: KeyRing, path: str | os.PathLike[str], *, replace: bool = False) -> None:
    """Write ``ring`` to ``path`` with mode 0600; an existing file only when ``replace``.

    A replacement goes through a temporary file in the same directory and an atomic rename, so
    a crash never leaves a half-written ring where the only copy of the keys was.
    """
    path = Path(path)
    target = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp") if replace else path
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyRingError(
            f"key file {path} exists; overwriting it would lose every key on it", field="path"
        ) from None
    except OSError as error:
        raise KeyRingError(f"key file {path} cannot be written ({error.strerror})") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(ring.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(target, path)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def generate_key_ring() -> KeyRing:
    """A new ring with one fresh master key, version 1, active and pinned for pseudonyms."""
    # Key material comes from the OS CSPRNG on purpose: an injectable seed would make keys
    # reproducible, which is exactly what they must never be.
    first = MasterKey(version=1, material=secrets.token_bytes(KEY_BYTES))
    return KeyRing(keys=(first,), active=1, pseudonym_version=1)


def generate_key_file(path: str | os.PathLike[str]) -> KeyRing:
    """Create a new key file (mode 0600) at ``path``; refuses to overwrite one."""
    ring = generate_key_ring()
    write_key_file(ring, path)
    return ring


def add_key(ring: KeyRing) -> KeyRing:
    """``ring`` plus a fresh master key, one version above the highest, made active.

    Older versions stay for opening what they wrapped; the pseudonym pin does not move.
    """
    version = max(ring.versions) + 1
    fresh = MasterKey(version=version, material=secrets.token_bytes(KEY_BYTES))
    return KeyRing(
        keys=(*ring.keys, fresh), active=version, pseudonym_version=ring.pseudonym_version
    )
