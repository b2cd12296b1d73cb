"""Engine.decide idempotency: one decision per key, the state counts an event once, and the
decision log is written before the state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bank import START, FixedScorer, customer_signals, make_engine, make_event

from tenure.core.errors import Conflict, StoreUnavailable
from tenure.protection.decision import Decision
from tenure.protection.events import EventKind
from tenure.protection.memory import InMemoryDecisionLog
from tenure.protection.state.memory import MemoryKeyedState


class FailingLog(InMemoryDecisionLog):
    """A log whose first ``failures`` appends raise ``error``."""

    def __init__(self, error: Exception, failures: int = 1) -> None:
        super().__init__()
        self.error = error
        self.failures = failures

    def append(self, decision: Decision) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        super().append(decision)


class LosingLog(InMemoryDecisionLog):
    """A log that reports a duplicate key but cannot find the winner (a broken log)."""

    def append(self, decision: Decision) -> None:
        raise Conflict("this idempotency key was decided already")


def _transfers_24h(state: MemoryKeyedState) -> float:
    probe = make_event(event_id="probe", at=START + timedelta(minutes=1))
    count = customer_signals(state, probe)["customer.transfer.count_24h"]
    assert isinstance(count, float)
    return count


def test_retry_with_same_key_returns_first_decision_marked_replayed_and_counts_once() -> None:
    state = MemoryKeyedState(idle_seconds=None)
    engine = make_engine(scorer=FixedScorer(0.02), state=state)
    event = make_event()

    first = engine.decide(event, idempotency_key="req-1")
    again = engine.decide(event, idempotency_key="req-1")

    assert not first.replayed
    assert again.replayed
    # the answer is the first one as it was sent (the same JSON, so the same rounded numbers)
    assert again.to_json() == first.to_json()
    assert again.decision_id == first.decision_id
    assert _transfers_24h(state) == 1.0


def test_retry_with_same_key_returns_the_stored_answer_even_for_a_changed_body() -> None:
    engine = make_engine(scorer=FixedScorer(0.02))
    first = engine.decide(make_event(amount_minor=1_000), idempotency_key="req-1")
    again = engine.decide(make_event(amount_minor=9_000_000), idempotency_key="req-1")

    assert again.replayed
    assert again.event.amount_minor == 1_000
    assert again.decision_id == first.decision_id


def test_new_key_for_same_event_is_decided_again_and_counted_again() -> None:
    state = MemoryKeyedState(idle_seconds=None)
    engine = make_engine(state=state)
    event = make_event()

    first = engine.decide(event, idempotency_key="req-1")
    second = engine.decide(event, idempotency_key="req-2")

    assert not second.replayed
    assert second.decision_id != first.decision_id
    assert _transfers_24h(state) == 2.0


def test_without_key_the_kind_and_event_id_are_the_key() -> None:
    state = MemoryKeyedState(idle_seconds=None)
    engine = make_engine(state=state)
    event = make_event(event_id="T-77")

    first = engine.decide(event)
    again = engine.decide(event)

    assert first.idempotency_key == "transfer:T-77"
    assert again.replayed
    assert again.decision_id == first.decision_id
    assert _transfers_24h(state) == 1.0


def test_same_event_id_under_another_kind_is_a_different_event() -> None:
    engine = make_engine()
    transfer = engine.decide(make_event(EventKind.TRANSFER, event_id="X-1"))
    login = engine.decide(make_event(EventKind.LOGIN, event_id="X-1"))

    assert login.idempotency_key == "login:X-1"
    assert not login.replayed
    assert login.decision_id != transfer.decision_id


def test_key_decided_by_another_engine_returns_stored_decision_without_writing_state() -> None:
    log = InMemoryDecisionLog()
    other_state = MemoryKeyedState(idle_seconds=None)
    mine = MemoryKeyedState(idle_seconds=None)
    other = make_engine(scorer=FixedScorer(0.3), state=other_state, log=log)
    engine = make_engine(scorer=FixedScorer(0.01), state=mine, log=log)
    event = make_event()

    winner = other.decide(event, idempotency_key="req-1")
    answer = engine.decide(event, idempotency_key="req-1")

    assert answer.replayed
    assert answer.decision_id == winner.decision_id
    assert answer.model_risk == winner.model_risk == 0.3
    assert _transfers_24h(mine) == 0.0
    assert _transfers_24h(other_state) == 1.0
    assert len(log) == 1


def test_failed_log_append_leaves_state_unwritten() -> None:
    state = MemoryKeyedState(idle_seconds=None)
    engine = make_engine(state=state, log=FailingLog(StoreUnavailable("log is down")))

    with pytest.raises(StoreUnavailable):
        engine.decide(make_event(), idempotency_key="req-1")

    assert len(state) == 0
    assert _transfers_24h(state) == 0.0


def test_retry_after_failed_log_append_is_decided_afresh_and_counted_once() -> None:
    state = MemoryKeyedState(idle_seconds=None)
    log = FailingLog(StoreUnavailable("log is down"))
    engine = make_engine(state=state, log=log)

    with pytest.raises(StoreUnavailable):
        engine.decide(make_event(), idempotency_key="req-1")
    retried = engine.decide(make_event(), idempotency_key="req-1")

    assert not retried.replayed
    assert log.find("req-1") == retried
    assert _transfers_24h(state) == 1.0


def test_conflict_without_stored_winner_propagates_and_leaves_state_unwritten() -> None:
    state = MemoryKeyedState(idle_seconds=None)
    engine = make_engine(state=state, log=LosingLog())

    with pytest.raises(Conflict):
        engine.decide(make_event(), idempotency_key="req-1")

    assert len(state) == 0


def test_a_log_that_keeps_nothing_still_refuses_a_key_twice_and_holds_no_decision() -> None:
    log = InMemoryDecisionLog(keep=False)
    engine = make_engine(log=log)
    first = engine.decide(make_event(event_id="E-1"))

    with pytest.raises(Conflict):
        log.append(first)
    assert log.find(first.idempotency_key) is None  # a replay log keeps no decision in memory
    assert log.decisions() == []
    assert len(log) == 1


def test_the_oldest_answers_leave_memory_first_and_a_retry_of_one_is_answered_by_the_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tenure.protection.engine.RECENT_ANSWERS", 3)
    state = MemoryKeyedState(idle_seconds=None)
    engine = make_engine(scorer=FixedScorer(0.02), state=state)
    firsts = [
        engine.decide(make_event(event_id=f"E{i}"), idempotency_key=f"k{i}") for i in range(5)
    ]

    assert list(engine._recent) == ["k2", "k3", "k4"]
    again = engine.decide(make_event(event_id="E0"), idempotency_key="k0")
    assert again.replayed
    assert again.decision_id == firsts[0].decision_id
    assert _transfers_24h(state) == 5.0  # the retry counted nothing
