"""The audit trail's tamper evidence: records chained by SHA-256, and the walk that checks them.

Every record's hash covers its own content and the hash of the record before it::

    hash(1) = sha256(canonical(seq 1, at, actor, action, subject, details, GENESIS_HASH))
    hash(n) = sha256(canonical(seq n, at, actor, action, subject, details, hash(n - 1)))

so editing, deleting, inserting or reordering a record breaks the chain where it happened. Cutting
records off the end leaves a shorter chain that is still sound; the store keeps the head (the
last seq and hash) in a separate row so that it shows too. Nothing here is secret: someone who can
rewrite every record *and* the head can forge a sound chain, which is what an anchor is for (a head
copied somewhere the database's administrators cannot write, checked later with ``anchor=``).

The canonical form is JSON with sorted keys, no whitespace, ASCII escapes and a ``v`` format
version; timestamps are UTC ISO 8601 with microseconds. The hash covers what a record *says*, not
the bytes the store happens to keep: re-spacing the stored details JSON changes nothing.

Errors and reports
------------------
A broken chain is a finding, not a failure: ``verify_chain`` never raises for one. It returns a
``ChainReport`` naming the first bad entry (``ChainBreak``: its seq and why), because nothing
after that entry can be trusted and the operator needs one place to start looking::

    ChainReport(checked, head, first_break)
    └── ChainBreak(seq, reason)     seq is None when no single entry is at fault
                                    (an anchor hash found nowhere in the chain)

Exceptions are kept for misuse, from Tenure's tree (``tenure.core.errors``)::

    TenureError
    └── ValidationError   a naive timestamp, a blank actor or action, details that are not JSON
                          values, or an anchor that is neither a hash nor a ``head --json`` document

Messages name the field and the reason, never a value: details can hold customer ids.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any, Protocol
from uuid import UUID

from tenure.core.errors import ValidationError

__all__ = [
    "EMPTY_HEAD",
    "FORMAT_VERSION",
    "GENESIS_HASH",
    "Anchor",
    "AuditEntry",
    "AuditRecord",
    "AuditSink",
    "ChainBreak",
    "ChainHead",
    "ChainReport",
    "InMemoryAuditSink",
    "canonical_details",
    "canonical_record",
    "chain_hash",
    "checked_details",
    "parse_details",
    "seal",
    "utc_text",
    "verify_chain",
]

# The "previous hash" of the first record: 64 zero digits, which no SHA-256 output is known to be.
GENESIS_HASH = "0" * 64
FORMAT_VERSION = 1
_HASH = re.compile(r"[0-9a-f]{64}")


def utc_text(at: datetime) -> str:
    """``at`` as UTC ISO 8601 with microseconds, e.g. ``2025-03-01T09:00:00.000000+00:00``."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationError("audit timestamps must be timezone-aware", field="at")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _json_value(value: object) -> object:
    """Values JSON has no type for, as text; anything else is refused rather than guessed at."""
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | UUID):
        return str(value)
    raise ValidationError(
        f"audit details must be JSON values, not {type(value).__name__}", field="details"
    )


def _dumps(document: object) -> str:
    try:
        return json.dumps(
            document,
            default=_json_value,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:  # NaN, a circular reference, a non-text key
        raise ValidationError("audit details must be JSON values", field="details") from exc


def canonical_details(details: Mapping[str, object]) -> str:
    """The canonical JSON text of ``details`` (what the store keeps and the hash covers)."""
    return _dumps(dict(details))


def _refuse_constant(name: str) -> object:
    raise ValueError("NaN and Infinity are not in the canonical form")


def parse_details(text: str) -> Mapping[str, object]:
    """Details back from their JSON text (read-only); ``ValueError`` if it is not an object."""
    parsed = json.loads(text, parse_constant=_refuse_constant)
    if not isinstance(parsed, dict):
        raise ValueError("audit details must be a JSON object")
    return MappingProxyType(parsed)


def canonical_record(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, object],
    prev_hash: str,
) -> bytes:
    """The bytes a record's hash is taken over."""
    document = {
        "v": FORMAT_VERSION,
        "seq": seq,
        "at": utc_text(at),
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": dict(details),
        "prev_hash": prev_hash,
    }
    return _dumps(document).encode("ascii")


def chain_hash(
    prev_hash: str,
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, object],
) -> str:
    """The hex SHA-256 of a record's canonical form, chained to ``prev_hash``."""
    content = canonical_record(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        details=details,
        prev_hash=prev_hash,
    )
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry of the trail, as stored; ``hash`` is only a claim until ``verify_chain``."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: Mapping[str, object]
    prev_hash: str
    hash: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def content_hash(self) -> str:
        """The hash this record's content and ``prev_hash`` call for."""
        return chain_hash(
            self.prev_hash,
            seq=self.seq,
            at=self.at,
            actor=self.actor,
            action=self.action,
            subject=self.subject,
            details=self.details,
        )


def checked_details(
    *, at: datetime, actor: str, action: str, details: Mapping[str, object]
) -> Mapping[str, object]:
    """Refuse what cannot be recorded; ``details`` as they will read back from the store.

    Through the canonical text and back, so a record holds exactly what the store returns
    (tuples as lists, datetimes as text) and its hash can be recomputed from a stored copy.
    """
    utc_text(at)  # refuses a naive timestamp
    if not actor.strip():
        raise ValidationError("an audit record needs an actor", field="actor")
    if not action.strip():
        raise ValidationError("an audit record needs an action", field="action")
    return parse_details(canonical_details(details))


def seal(
    *,
    seq: int,
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, object],
) -> AuditRecord:
    """A new record after ``prev_hash``, with its hash; details as they will read back."""
    if seq < 1:
        raise ValidationError("audit seq starts at 1", field="seq")
    stored = checked_details(at=at, actor=actor, action=action, details=details)
    utc_at = at.astimezone(UTC)
    unsealed = AuditRecord(seq, utc_at, actor, action, subject, stored, prev_hash, "")
    return AuditRecord(
        seq, utc_at, actor, action, subject, stored, prev_hash, unsealed.content_hash()
    )


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last entry of a chain (seq 0 and ``GENESIS_HASH`` while it is empty)."""

    seq: int
    hash: str
    at: datetime | None = None

    @classmethod
    def of(cls, record: AuditRecord) -> ChainHead:
        """The head a chain has when ``record`` is its last entry."""
        return cls(record.seq, record.hash, record.at)

    def to_json(self) -> dict[str, object]:
        """``{"seq", "hash", "at"}``, the document ``Anchor.parse`` reads back."""
        at = None if self.at is None else utc_text(self.at)
        return {"seq": self.seq, "hash": self.hash, "at": at}


EMPTY_HEAD = ChainHead(0, GENESIS_HASH)


@dataclass(frozen=True, slots=True)
class Anchor:
    """A head kept outside the store; ``seq`` is None when only the hash was kept."""

    hash: str
    seq: int | None = None

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """A bare hex hash, or the JSON that ``tenure audit head --json`` prints."""
        stripped = text.strip()
        if _HASH.fullmatch(stripped.lower()):
            return cls(stripped.lower())
        try:
            document: Any = json.loads(stripped)
            seq, digest = document["seq"], str(document["hash"]).lower()
        except (ValueError, TypeError, KeyError) as exc:
            raise ValidationError(_BAD_ANCHOR, field="anchor") from exc
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValidationError(_BAD_ANCHOR, field="anchor")
        if not _HASH.fullmatch(digest):
            raise ValidationError(_BAD_ANCHOR, field="anchor")
        return cls(digest, seq)


_BAD_ANCHOR = "the anchor must be a 64-digit hex hash or the JSON of `tenure audit head --json`"


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where a chain first stops being trustworthy, and why."""

    seq: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of a walk: entries that verified, the last of them, and the first break."""

    checked: int
    head: ChainHead
    first_break: ChainBreak | None = None

    @property
    def intact(self) -> bool:
        """True when no entry, the recorded head or the anchor disagreed."""
        return self.first_break is None

    def summary(self) -> str:
        """One line for a person.

        >>> ChainReport(2, ChainHead(2, "ab" * 32)).summary()[:34]
        'intact: 2 entries, head seq 2 hash'
        >>> ChainReport(1, EMPTY_HEAD, ChainBreak(2, "seq gap: entry 2 missing")).summary()
        'broken at entry 2: seq gap: entry 2 missing'
        """
        if self.first_break is None:
            return f"intact: {self.checked} entries, head seq {self.head.seq} hash {self.head.hash}"
        if self.first_break.seq is None:
            return f"broken: {self.first_break.reason}"
        return f"broken at entry {self.first_break.seq}: {self.first_break.reason}"


@dataclass(slots=True)
class _Walk:
    """The state of one walk down a chain, one record at a time."""

    expected_head: ChainHead | None
    anchor: Anchor | None
    checked: int = 0
    head: ChainHead = EMPTY_HEAD
    anchor_seen: bool = False

    def step(self, record: AuditRecord) -> ChainBreak | None:
        """The break ``record`` shows after the records before it, if any."""
        expected = self.head.seq + 1
        if record.seq > expected:
            return ChainBreak(expected, f"seq gap: entry {expected} missing")
        if record.seq < expected:
            return ChainBreak(record.seq, f"entry {record.seq} is out of order")
        if record.prev_hash != self.head.hash:
            return ChainBreak(record.seq, f"prev_hash does not match entry {self.head.seq}")
        if record.hash != record.content_hash():
            return ChainBreak(record.seq, "hash does not match its content")
        recorded = self.expected_head
        if recorded is not None and record.seq > recorded.seq:
            return ChainBreak(
                record.seq, f"entry {record.seq} is past the recorded head (seq {recorded.seq})"
            )
        if self.anchor is not None and record.hash == self.anchor.hash:
            self.anchor_seen = True
        elif self.anchor is not None and record.seq == self.anchor.seq:
            return ChainBreak(record.seq, "hash does not match the anchor (history was rewritten)")
        self.checked += 1
        self.head = ChainHead.of(record)
        return None

    def finish(self) -> ChainBreak | None:
        """The break the end of the chain shows against the recorded head and the anchor."""
        end, recorded = self.head.seq, self.expected_head
        if recorded is not None and end < recorded.seq:
            return ChainBreak(
                end + 1, f"chain ends at seq {end} but the recorded head is seq {recorded.seq}"
            )
        if recorded is not None and self.head.hash != recorded.hash:
            return ChainBreak(end or None, "hash does not match the recorded head")
        if self.anchor is None or self.anchor_seen:
            return None
        if self.anchor.seq is None or self.anchor.seq <= end:
            return ChainBreak(None, "the anchor hash is not in the chain (history was rewritten)")
        return ChainBreak(
            end + 1, f"chain ends at seq {end} but the anchor is at seq {self.anchor.seq}"
        )


def verify_chain(
    records: Iterable[AuditRecord],
    *,
    expected_head: ChainHead | None = None,
    anchor: Anchor | None = None,
) -> ChainReport:
    """Walk ``records`` (ascending seq, streamed) and report the first bad entry, if any.

    ``expected_head`` is the head the store recorded (to see a cut-off tail); without one, a
    chain missing its last entries cannot be told from a shorter one. ``anchor`` is a head kept
    elsewhere: the chain must hold it unchanged.
    """
    # The genesis hash is in every chain: an anchor of an empty one vouches for nothing more.
    genesis = anchor is not None and anchor.hash == GENESIS_HASH and anchor.seq in (None, 0)
    walk = _Walk(expected_head, anchor, anchor_seen=genesis)
    for record in records:
        broken = walk.step(record)
        if broken is not None:
            return ChainReport(walk.checked, walk.head, broken)
    return ChainReport(walk.checked, walk.head, walk.finish())


class AuditSink(Protocol):
    """Somewhere audit records go (the hash-chained trail, or a test list); it must not lose one
    it accepted. Every service that audits takes one."""

    def record(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, object],
        at: datetime,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded step."""

    actor: str
    action: str
    subject: str
    details: Mapping[str, object]
    at: datetime


class InMemoryAuditSink:
    """Keeps every record in a list, in order (for tests)."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    def record(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, object],
        at: datetime,
    ) -> None:
        frozen = MappingProxyType(dict(details))
        self.entries.append(AuditEntry(actor, action, subject, frozen, at))

    def actions(self) -> list[str]:
        """The recorded actions, in order."""
        return [entry.action for entry in self.entries]
