"""The hash chain of the audit trail: any single edit, deletion, insertion, swap or cut tail is
found, and the report names the first entry that cannot be trusted."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.core.errors import ValidationError
from tenure.privacy.audit import (
    EMPTY_HEAD,
    GENESIS_HASH,
    Anchor,
    AuditRecord,
    ChainHead,
    canonical_details,
    chain_hash,
    parse_details,
    seal,
    verify_chain,
)

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
Step = tuple[str, str, str, dict[str, object]]

_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
_details = st.dictionaries(
    st.text(max_size=10), _scalars | st.lists(_scalars, max_size=3), max_size=4
)
_steps = st.tuples(
    st.text(min_size=1, max_size=20).filter(str.strip),
    st.sampled_from(["auth.login_succeeded", "protection.ruleset_approved", "corporate.x"]),
    st.text(max_size=30),
    _details,
)
chains = st.lists(_steps, min_size=1, max_size=25)


def build(steps: list[Step], *, start: int = 1, prev_hash: str = GENESIS_HASH) -> list[AuditRecord]:
    records = []
    for offset, (actor, action, subject, details) in enumerate(steps):
        seq = start + offset
        record = seal(
            seq=seq,
            prev_hash=prev_hash,
            at=AT + timedelta(seconds=seq, microseconds=seq),
            actor=actor,
            action=action,
            subject=subject,
            details=details,
        )
        records.append(record)
        prev_hash = record.hash
    return records


def simple_chain(length: int) -> list[AuditRecord]:
    return build(
        [("ann", "protection.ruleset_approved", f"r:{n}", {"n": n}) for n in range(length)]
    )


def head_of(records: list[AuditRecord]) -> ChainHead:
    return ChainHead.of(records[-1]) if records else EMPTY_HEAD


def forged_after(records: list[AuditRecord], position: int) -> AuditRecord:
    """A forger's record at ``position`` (1-based), hashed properly onto the entry before it."""
    prev = records[position - 2].hash if position > 1 else GENESIS_HASH
    return seal(
        seq=position,
        prev_hash=prev,
        at=AT,
        actor="mallory",
        action="corporate.payment_approved",
        subject="payment:p1",
        details={"amount_minor": 10_000_000},
    )


@given(chains)
def test_an_untouched_chain_verifies_with_its_head(steps: list[Step]) -> None:
    records = build(steps)
    report = verify_chain(records, expected_head=head_of(records))
    assert report.intact
    assert report.checked == len(records)
    assert report.head == head_of(records)
    assert report.summary().startswith(f"intact: {len(records)} entries, head seq {len(records)}")


def test_an_empty_chain_verifies_against_an_empty_head() -> None:
    report = verify_chain([], expected_head=EMPTY_HEAD)
    assert report.intact
    assert (report.checked, report.head) == (0, EMPTY_HEAD)


_EDITS = ["actor", "action", "subject", "details", "at"]


def _edited(record: AuditRecord, field: str) -> AuditRecord:
    if field == "details":
        return replace(record, details={**record.details, "tampered": True})
    if field == "at":
        return replace(record, at=record.at + timedelta(microseconds=1))
    return replace(record, **{field: getattr(record, field) + "x"})


@given(chains, st.data())
def test_any_single_edit_is_reported_at_the_edited_entry(
    steps: list[Step], data: st.DataObject
) -> None:
    records = build(steps)
    index = data.draw(st.integers(0, len(records) - 1))
    records[index] = _edited(records[index], data.draw(st.sampled_from(_EDITS)))
    broken = verify_chain(records, expected_head=head_of(build(steps))).first_break
    assert broken is not None
    assert (broken.seq, broken.reason) == (index + 1, "hash does not match its content")


@given(chains, st.data())
def test_deleting_an_entry_is_reported_as_a_gap_at_that_seq(
    steps: list[Step], data: st.DataObject
) -> None:
    records = build(steps)
    head = head_of(records)
    index = data.draw(st.integers(0, len(records) - 1))
    del records[index]
    broken = verify_chain(records, expected_head=head).first_break
    assert broken is not None
    assert broken.seq == index + 1
    if index + 1 < head.seq:
        assert broken.reason == f"seq gap: entry {index + 1} missing"
    else:
        assert broken.reason == f"chain ends at seq {index} but the recorded head is seq {head.seq}"


@given(chains, st.data())
def test_a_well_hashed_forged_insertion_breaks_the_link_after_it(
    steps: list[Step], data: st.DataObject
) -> None:
    records = build(steps)
    head = head_of(records)
    position = data.draw(st.integers(1, len(records) + 1))
    later = [replace(record, seq=record.seq + 1) for record in records[position - 1 :]]
    tampered = [*records[: position - 1], forged_after(records, position), *later]
    broken = verify_chain(tampered, expected_head=head).first_break
    assert broken is not None
    if position <= len(records):
        # The forged record is sound on its own; the genuine one it pushed along no longer links.
        assert (broken.seq, broken.reason) == (
            position + 1,
            f"prev_hash does not match entry {position}",
        )
    else:
        assert broken.seq == position
        assert broken.reason == f"entry {position} is past the recorded head (seq {head.seq})"


@given(chains, st.data())
def test_a_forged_insertion_with_a_made_up_hash_is_reported_at_itself(
    steps: list[Step], data: st.DataObject
) -> None:
    records = build(steps)
    position = data.draw(st.integers(1, len(records)))
    forged = replace(forged_after(records, position), hash="f" * 64)
    later = [replace(record, seq=record.seq + 1) for record in records[position - 1 :]]
    tampered = [*records[: position - 1], forged, *later]
    broken = verify_chain(tampered).first_break
    assert broken is not None
    assert (broken.seq, broken.reason) == (position, "hash does not match its content")


@given(st.lists(_steps, min_size=2, max_size=25), st.data())
def test_swapping_two_entries_is_reported_at_the_first_of_them(
    steps: list[Step], data: st.DataObject
) -> None:
    records = build(steps)
    i = data.draw(st.integers(0, len(records) - 2))
    j = data.draw(st.integers(i + 1, len(records) - 1))
    # The contents change places; each position keeps its seq (as swapping rows' columns would).
    records[i], records[j] = replace(records[j], seq=i + 1), replace(records[i], seq=j + 1)
    broken = verify_chain(records, expected_head=head_of(build(steps))).first_break
    assert broken is not None
    assert (broken.seq, broken.reason) == (i + 1, f"prev_hash does not match entry {i}")


@given(chains, st.data())
def test_a_cut_tail_is_reported_against_the_recorded_head(
    steps: list[Step], data: st.DataObject
) -> None:
    records = build(steps)
    head = head_of(records)
    kept = data.draw(st.integers(0, len(records) - 1))
    report = verify_chain(records[:kept], expected_head=head)
    assert report.first_break is not None
    assert report.first_break.seq == kept + 1
    assert report.first_break.reason == (
        f"chain ends at seq {kept} but the recorded head is seq {head.seq}"
    )
    assert report.checked == kept


def test_without_a_recorded_head_a_cut_tail_cannot_be_seen() -> None:
    assert verify_chain(simple_chain(5)[:3]).intact


def test_a_head_whose_hash_disagrees_with_the_last_entry_is_reported() -> None:
    records = simple_chain(3)
    broken = verify_chain(records, expected_head=ChainHead(3, "e" * 64)).first_break
    assert broken is not None
    assert (broken.seq, broken.reason) == (3, "hash does not match the recorded head")


def test_a_chain_starting_past_seq_1_reports_entry_1_missing() -> None:
    broken = verify_chain(simple_chain(4)[2:]).first_break
    assert broken is not None
    assert (broken.seq, broken.reason) == (1, "seq gap: entry 1 missing")


def test_a_repeated_seq_is_reported_as_out_of_order() -> None:
    records = simple_chain(3)
    broken = verify_chain([*records, records[1]]).first_break
    assert broken is not None
    assert (broken.seq, broken.reason) == (2, "entry 2 is out of order")


def _rewritten_from(records: list[AuditRecord], index: int) -> list[AuditRecord]:
    """Everything from ``index`` re-sealed after an edit: a sound chain telling another story."""
    steps: list[Step] = [(r.actor, r.action, r.subject, dict(r.details)) for r in records[index:]]
    steps[0] = ("mallory", *steps[0][1:])
    prev = records[index - 1].hash if index else GENESIS_HASH
    return [*records[:index], *build(steps, start=index + 1, prev_hash=prev)]


@given(chains, st.data())
def test_an_anchor_taken_earlier_exposes_a_rewritten_history(
    steps: list[Step], data: st.DataObject
) -> None:
    records = build(steps)
    anchored = data.draw(st.integers(1, len(records)))
    anchor = Anchor(records[anchored - 1].hash, anchored)
    rewritten = _rewritten_from(records, data.draw(st.integers(0, anchored - 1)))
    assert verify_chain(rewritten, expected_head=head_of(rewritten)).intact
    broken = verify_chain(rewritten, expected_head=head_of(rewritten), anchor=anchor).first_break
    assert broken is not None
    assert broken.seq == anchored
    bare = verify_chain(rewritten, anchor=Anchor(anchor.hash)).first_break
    assert bare is not None
    assert bare.seq is None


@given(chains, st.data())
def test_an_anchor_of_the_genuine_chain_verifies(steps: list[Step], data: st.DataObject) -> None:
    records = build(steps)
    anchored = records[data.draw(st.integers(0, len(records) - 1))]
    assert verify_chain(records, anchor=Anchor(anchored.hash, anchored.seq)).intact
    assert verify_chain(records, anchor=Anchor(anchored.hash)).intact


def test_an_anchor_past_the_end_reports_the_missing_entries() -> None:
    records = simple_chain(5)
    broken = verify_chain(records[:2], anchor=Anchor(records[4].hash, 5)).first_break
    assert broken is not None
    assert (broken.seq, broken.reason) == (3, "chain ends at seq 2 but the anchor is at seq 5")


@given(_details)
def test_the_hash_ignores_key_order_and_survives_the_stored_text(
    details: dict[str, object],
) -> None:
    reversed_order = dict(reversed(list(details.items())))
    stored = parse_details(canonical_details(details))

    def hashed(of: Mapping[str, object]) -> str:
        return chain_hash(
            GENESIS_HASH, seq=1, at=AT, actor="ann", action="a.b", subject="s", details=of
        )

    assert hashed(reversed_order) == hashed(details)
    assert hashed(stored) == hashed(details)


class _Colour(Enum):
    RED = "red"


def test_sealing_stores_details_as_they_will_read_back() -> None:
    details = {"roles": ("a", "b"), "until": AT, "amount": Decimal("1.50"), "colour": _Colour.RED}
    record = seal(
        seq=1, prev_hash=GENESIS_HASH, at=AT, actor="ann", action="a", subject="s", details=details
    )
    assert dict(record.details) == {
        "roles": ["a", "b"],
        "until": "2025-03-01T09:00:00.000000+00:00",
        "amount": "1.50",
        "colour": "red",
    }
    assert record.hash == record.content_hash()
    assert len(record.hash) == 64


def test_a_record_at_another_offset_is_stored_in_utc() -> None:
    elsewhere = AT.astimezone(timezone(timedelta(hours=8)))
    record = seal(
        seq=1, prev_hash=GENESIS_HASH, at=elsewhere, actor="a", action="b", subject="", details={}
    )
    assert record.at == AT
    assert record.at.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        seal(
            seq=1,
            prev_hash=GENESIS_HASH,
            at=AT.replace(tzinfo=None),
            actor="a",
            action="b",
            subject="",
            details={},
        )
    assert raised.value.field == "at"


def test_details_that_are_not_json_are_refused_without_quoting_them() -> None:
    secret = object()
    with pytest.raises(ValidationError) as raised:
        canonical_details({"customer": secret})
    assert raised.value.field == "details"
    assert "object" in raised.value.message
    with pytest.raises(ValidationError):
        canonical_details({"risk": float("nan")})


def test_a_record_needs_an_actor_and_an_action() -> None:
    for actor, action in (("  ", "a"), ("a", "")):
        with pytest.raises(ValidationError):
            seal(
                seq=1,
                prev_hash=GENESIS_HASH,
                at=AT,
                actor=actor,
                action=action,
                subject="",
                details={},
            )


def test_records_cannot_be_changed_in_place() -> None:
    record = simple_chain(1)[0]
    with pytest.raises(TypeError):
        record.details["n"] = 5  # type: ignore[index]


def test_anchors_parse_from_a_bare_hash_or_head_json() -> None:
    digest = "AB" * 32
    assert Anchor.parse(f" {digest}\n") == Anchor(digest.lower())
    document = f'{{"seq": 7, "hash": "{digest}", "at": null}}'
    assert Anchor.parse(document) == Anchor(digest.lower(), 7)
    for bad in ("", "abc", '{"seq": -1, "hash": "' + "a" * 64 + '"}', '{"seq": 1}', "[1]"):
        with pytest.raises(ValidationError):
            Anchor.parse(bad)


def test_a_head_round_trips_through_its_json_as_an_anchor() -> None:
    head = ChainHead.of(simple_chain(2)[-1])
    assert Anchor.parse(json.dumps(head.to_json())) == Anchor(head.hash, head.seq)
