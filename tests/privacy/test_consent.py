"""The consent ledger's rules in memory: default deny, the latest event decides, history is kept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.core.clock import FixedClock
from tenure.core.errors import ValidationError
from tenure.data.catalog import canonical_catalog
from tenure.privacy.consent import (
    CANONICAL_STATUS,
    Channel,
    ConsentEvent,
    ConsentService,
    ConsentSource,
    MemoryConsentLedger,
    Purpose,
    deciding_event,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
MARKETING, SMS = Purpose.MARKETING, Channel.SMS


@dataclass
class ListAudit:
    records: list[dict[str, object]] = field(default_factory=list)

    def record(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, object],
        at: datetime,
    ) -> None:
        self.records.append(
            {"actor": actor, "action": action, "subject": subject, "details": dict(details)}
        )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def audit() -> ListAudit:
    return ListAudit()


@pytest.fixture
def service(clock: FixedClock, audit: ListAudit) -> ConsentService:
    return ConsentService(MemoryConsentLedger(), clock=clock, audit=audit)


def event(
    granted: bool,
    at: datetime,
    *,
    event_id: str = "e1",
    recorded_at: datetime | None = None,
    customer_id: str = "C1",
    consent_id: str | None = None,
) -> ConsentEvent:
    return ConsentEvent(
        event_id=event_id,
        customer_id=customer_id,
        purpose=MARKETING,
        channel=SMS,
        granted=granted,
        at=at,
        source=ConsentSource.INGEST,
        actor="etl",
        recorded_at=recorded_at or at,
        consent_id=consent_id,
    )


def test_codes_are_the_canonical_consents_tables_codes() -> None:
    table = canonical_catalog()["consents"]

    assert tuple(p.value for p in Purpose) == table.column("purpose").values
    assert tuple(c.value for c in Channel) == table.column("channel").values
    assert tuple(CANONICAL_STATUS) == table.column("status").values


def test_no_record_means_no_contact(service: ConsentService) -> None:
    decision = service.may_contact("C1", MARKETING, SMS)

    assert decision.allowed is False
    assert decision.event_id is None
    assert "no consent recorded" in decision.reason


def test_a_grant_allows_contact_and_names_the_deciding_event(service: ConsentService) -> None:
    given_event = service.record(
        customer_id="C1", purpose=MARKETING, channel=SMS, granted=True,
        source=ConsentSource.API, actor="app",
    )  # fmt: skip

    decision = service.may_contact("C1", MARKETING, SMS)

    assert decision.allowed is True
    assert decision.event_id == given_event.event_id
    assert given_event.event_id in decision.reason
    assert service.may_contact("C1", MARKETING, Channel.EMAIL).allowed is False
    assert service.may_contact("C1", Purpose.PROFILING, SMS).allowed is False


def test_a_withdrawal_stops_contact_but_the_history_keeps_both(
    service: ConsentService, clock: FixedClock
) -> None:
    service.record(customer_id="C1", purpose=MARKETING, channel=SMS, granted=True,
                   source=ConsentSource.API, actor="app")  # fmt: skip
    clock.advance(timedelta(days=3))
    service.record(customer_id="C1", purpose=MARKETING, channel=SMS, granted=False,
                   source=ConsentSource.AGENT, actor="agent-7")  # fmt: skip

    assert service.may_contact("C1", MARKETING, SMS).allowed is False
    assert service.may_contact("C1", MARKETING, SMS, T0 + timedelta(days=1)).allowed is True
    history = service.history("C1")
    assert [(e.granted, e.source, e.actor) for e in history] == [
        (True, ConsentSource.API, "app"),
        (False, ConsentSource.AGENT, "agent-7"),
    ]


def test_every_change_is_audited_against_the_customer(
    service: ConsentService, audit: ListAudit
) -> None:
    service.record(customer_id="C1", purpose=MARKETING, channel=SMS, granted=True,
                   source=ConsentSource.API, actor="app")  # fmt: skip
    service.record(customer_id="C1", purpose=MARKETING, channel=SMS, granted=False,
                   source=ConsentSource.API, actor="app")  # fmt: skip

    assert [(r["action"], r["subject"], r["actor"]) for r in audit.records] == [
        ("consent.given", "customer:C1", "app"),
        ("consent.withdrawn", "customer:C1", "app"),
    ]
    details = audit.records[0]["details"]
    assert isinstance(details, dict)
    assert details["purpose"] == "marketing"
    assert details["channel"] == "sms"


def test_a_change_dated_in_the_future_is_refused(service: ConsentService) -> None:
    with pytest.raises(ValidationError):
        service.record(
            customer_id="C1", purpose=MARKETING, channel=SMS, granted=True,
            source=ConsentSource.API, actor="app", at=T0 + timedelta(hours=1),
        )  # fmt: skip


def test_a_backdated_withdrawal_recorded_later_wins_over_an_older_grant(
    service: ConsentService, clock: FixedClock
) -> None:
    service.record(customer_id="C1", purpose=MARKETING, channel=SMS, granted=True,
                   source=ConsentSource.API, actor="app", at=T0 - timedelta(days=10))  # fmt: skip
    service.record(customer_id="C1", purpose=MARKETING, channel=SMS, granted=False,
                   source=ConsentSource.AGENT, actor="dpo", at=T0 - timedelta(days=2))  # fmt: skip

    assert service.may_contact("C1", MARKETING, SMS).allowed is False
    assert service.may_contact("C1", MARKETING, SMS, T0 - timedelta(days=5)).allowed is True


def test_on_an_exact_tie_the_withdrawal_wins() -> None:
    grant = event(True, T0, event_id="z-grant")
    withdrawal = event(False, T0, event_id="a-withdrawal")

    assert deciding_event([grant, withdrawal], T0) == withdrawal
    assert deciding_event([withdrawal, grant], T0) == withdrawal


def test_batch_check_keeps_only_customers_with_a_current_grant(
    service: ConsentService, clock: FixedClock
) -> None:
    for cid, granted in (("C1", True), ("C2", False), ("C3", True)):
        service.record(customer_id=cid, purpose=MARKETING, channel=SMS, granted=granted,
                       source=ConsentSource.API, actor="app")  # fmt: skip
    service.record(customer_id="C3", purpose=MARKETING, channel=Channel.EMAIL, granted=False,
                   source=ConsentSource.API, actor="app")  # fmt: skip

    allowed = service.allowed_customers(["C3", "C2", "C9", "C1", "C3"], MARKETING, SMS)

    assert allowed == ["C3", "C1"]


def test_current_lists_every_purpose_and_channel_denied_unless_given(
    service: ConsentService,
) -> None:
    service.record(customer_id="C1", purpose=Purpose.PROFILING, channel=Channel.APP_PUSH,
                   granted=True, source=ConsentSource.API, actor="app")  # fmt: skip

    states = service.current("C1")

    assert len(states) == len(Purpose) * len(Channel)
    assert [(s.purpose, s.channel) for s in states if s.granted] == [
        (Purpose.PROFILING, Channel.APP_PUSH)
    ]


def test_withdraw_all_withdraws_each_given_consent_once_and_audits_it(
    service: ConsentService, audit: ListAudit
) -> None:
    for channel in (SMS, Channel.EMAIL):
        service.record(customer_id="C1", purpose=MARKETING, channel=channel, granted=True,
                       source=ConsentSource.API, actor="app")  # fmt: skip

    withdrawn = service.withdraw_all(customer_id="C1", source=ConsentSource.ERASURE, actor="dpo")

    assert sorted(e.channel.value for e in withdrawn) == ["email", "sms"]
    assert not any(s.granted for s in service.current("C1"))
    assert len(service.history("C1")) == 4
    assert audit.records[-1]["action"] == "consent.withdrawn_all"


def test_the_ledger_skips_an_event_whose_warehouse_row_it_holds() -> None:
    ledger = MemoryConsentLedger()

    first = ledger.append([event(True, T0, event_id="a", consent_id="K1")])
    again = ledger.append([event(True, T0, event_id="b", consent_id="K1")])

    assert (first, again, ledger.count()) == (1, 0, 1)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError):
        event(True, datetime(2025, 3, 1, 9, 0))


@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 1_000), st.integers(0, 50)),
        min_size=1,
        max_size=12,
    )
)
def test_the_deciding_event_is_the_latest_and_any_order_gives_the_same(
    changes: list[tuple[bool, int, int]],
) -> None:
    events = [
        event(granted, T0 + timedelta(minutes=m), event_id=f"e{i}",
              recorded_at=T0 + timedelta(minutes=m + lag))
        for i, (granted, m, lag) in enumerate(changes)
    ]  # fmt: skip
    moment = T0 + timedelta(days=1)

    decided = deciding_event(events, moment)

    assert decided is not None
    assert decided == deciding_event(list(reversed(events)), moment)
    assert all(e.at <= decided.at for e in events)
    ties = [e for e in events if (e.at, e.recorded_at) == (decided.at, decided.recorded_at)]
    if any(not e.granted for e in ties):
        assert decided.granted is False
