"""Customer limits in the engine: a money event over a limit is declined with a ``limit`` reason,
what counts as spent (what went through in the rolling 24 hours, not declined attempts), stored
limits from the cache, and spending that survives a rebuild from the decision log."""

from __future__ import annotations

import doctest
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from bank import START, FixedScorer, make_engine, make_event

from tenure.core.clock import FixedClock
from tenure.core.errors import ConfigurationError
from tenure.core.outcome import Outcome
from tenure.protection.decision import Decision
from tenure.protection.engine import Engine
from tenure.protection.events import EventKind
from tenure.protection.limits import model as limit_model
from tenure.protection.limits import service as limit_service
from tenure.protection.limits.memory import InMemoryLimitUnitOfWork
from tenure.protection.limits.model import Limit, LimitPolicy, ProductLimit
from tenure.protection.limits.rule import CachedLimits, LimitRule
from tenure.protection.memory import InMemoryDecisionLog
from tenure.protection.state.memory import MemoryKeyedState
from tenure.protection.state.model import Query

MINUTE = timedelta(minutes=1)
# the limits these tests reason in (a retail bank's), whatever the shipped defaults are
RETAIL = LimitPolicy(
    products={
        "transfer_daily": ProductLimit(
            default_minor=5_000_000, maximum_minor=100_000_000, event_kind="transfer"
        ),
        "single_transfer": ProductLimit(
            default_minor=2_000_000,
            maximum_minor=50_000_000,
            cumulative=False,
            event_kind="transfer",
        ),
        "card_payment_daily": ProductLimit(
            default_minor=2_000_000, maximum_minor=20_000_000, event_kind="card_payment"
        ),
    }
)


@dataclass
class Bank:
    """An engine with the limit rule, the limits store behind its cache, and its decision log."""

    uow: InMemoryLimitUnitOfWork = field(default_factory=InMemoryLimitUnitOfWork)
    clock: FixedClock = field(default_factory=lambda: FixedClock(START))
    log: InMemoryDecisionLog = field(default_factory=InMemoryDecisionLog)
    policy: LimitPolicy = RETAIL

    def __post_init__(self) -> None:
        self.limits = CachedLimits(lambda: self.uow, clock=self.clock)
        self.engine = self.new_engine()
        self.sent = 0

    def new_engine(self) -> Engine:
        """An engine on fresh in-memory state (as after a restart), on the same log and limits."""
        rule = LimitRule(self.limits, policy=self.policy)
        return make_engine(scorer=FixedScorer(0.0001), hard_rules=(rule,), log=self.log)

    def pay(
        self, amount_minor: int, *, kind: EventKind = EventKind.TRANSFER, at: datetime = START
    ) -> Decision:
        self.sent += 1
        event = make_event(kind, event_id=f"E{self.sent}", amount_minor=amount_minor, at=at)
        return self.engine.decide(event)

    def store(self, product: str, amount_minor: int) -> None:
        with self.uow:
            self.uow.limits.put(Limit("C1", product, amount_minor, "CNY", START, "staff:ana"))
            self.uow.commit()


def limit_codes(decision: Decision) -> list[str]:
    return [reason.code for reason in decision.reasons if reason.source == "limit"]


def passed(decision: Decision) -> bool:
    return decision.outcome is not Outcome.DECLINE and not limit_codes(decision)


def test_declines_a_transfer_above_the_single_transfer_limit_and_says_which_and_by_how_much() -> (
    None
):
    decision = Bank().pay(2_500_000)

    assert decision.outcome is Outcome.DECLINE
    [reason] = [r for r in decision.reasons if r.source == "limit"]
    assert reason.code == "single_transfer"
    assert reason.text == (
        "over the single_transfer limit of 20,000 CNY by 5,000 CNY: 25,000 CNY in one payment"
    )
    assert decision.reasons[0] == reason  # hard floors come first


def test_a_transfer_at_the_single_transfer_limit_passes() -> None:
    assert passed(Bank().pay(2_000_000))


def test_the_transfer_that_takes_the_day_over_the_daily_limit_is_declined() -> None:
    bank = Bank()
    first = bank.pay(1_800_000)
    second = bank.pay(1_800_000, at=START + MINUTE)
    third = bank.pay(1_500_000, at=START + 2 * MINUTE)

    assert passed(first)
    assert passed(second)
    assert third.outcome is Outcome.DECLINE
    assert limit_codes(third) == ["transfer_daily"]
    [reason] = [r for r in third.reasons if r.source == "limit"]
    assert reason.text == (
        "over the transfer_daily limit of 50,000 CNY by 1,000 CNY: 36,000 CNY already went "
        "through in the last 24 hours, and 15,000 CNY now"
    )


def test_a_declined_attempt_does_not_use_up_the_daily_limit() -> None:
    bank = Bank()
    bank.pay(1_800_000)
    bank.pay(1_800_000, at=START + MINUTE)
    refused = bank.pay(1_500_000, at=START + 2 * MINUTE)
    smaller = bank.pay(1_400_000, at=START + 3 * MINUTE)  # exactly 50,000 CNY in all

    assert refused.outcome is Outcome.DECLINE
    assert passed(smaller)
    assert bank.pay(1, at=START + 4 * MINUTE).outcome is Outcome.DECLINE


def test_spending_leaves_the_daily_limit_after_24_hours() -> None:
    bank = Bank()
    bank.pay(1_800_000, at=START - timedelta(hours=25))
    bank.pay(1_800_000, at=START - timedelta(hours=24, minutes=30))
    bank.pay(1_200_000, at=START - timedelta(hours=2))

    assert passed(bank.pay(1_800_000))
    assert bank.pay(2_100_000, at=START + MINUTE).outcome is Outcome.DECLINE


def test_a_stored_higher_limit_lets_the_same_transfer_pass() -> None:
    bank = Bank()
    assert bank.pay(2_500_000).outcome is Outcome.DECLINE

    bank.store("single_transfer", 3_000_000)
    bank.limits.refresh()

    assert passed(bank.pay(2_500_000, at=START + MINUTE))


def test_a_stored_lower_daily_limit_declines_what_the_default_allows() -> None:
    bank = Bank()
    bank.store("transfer_daily", 1_000_000)

    decision = bank.pay(1_200_000)

    assert decision.outcome is Outcome.DECLINE
    assert limit_codes(decision) == ["transfer_daily"]


def test_every_exceeded_limit_is_a_reason() -> None:
    bank = Bank()
    bank.store("transfer_daily", 1_000_000)

    assert limit_codes(bank.pay(2_500_000)) == ["single_transfer", "transfer_daily"]


def test_a_stored_change_acts_once_the_cache_reloads() -> None:
    bank = Bank()
    assert bank.pay(2_500_000).outcome is Outcome.DECLINE
    bank.store("single_transfer", 3_000_000)

    still = bank.pay(2_500_000, at=START + MINUTE)
    bank.clock.advance(timedelta(seconds=5))
    reloaded = bank.pay(2_500_000, at=START + 2 * MINUTE)

    assert still.outcome is Outcome.DECLINE
    assert passed(reloaded)


def test_spending_in_the_window_survives_a_rebuild_from_the_logged_decisions() -> None:
    bank = Bank()
    bank.pay(1_800_000, at=START - timedelta(hours=3))
    bank.pay(1_800_000, at=START - timedelta(hours=2))
    assert bank.pay(2_500_000, at=START - timedelta(hours=1)).outcome is Outcome.DECLINE

    bank.engine = bank.new_engine()
    rebuilt = bank.engine.rebuild(bank.log.decided_since(START - timedelta(days=90)))

    assert rebuilt == 3
    assert bank.pay(1_500_000).outcome is Outcome.DECLINE
    assert passed(bank.pay(1_400_000, at=START + MINUTE))  # the declined one was not counted


def test_a_rebuild_counts_only_what_the_log_says_went_through() -> None:
    bank = Bank()
    bank.pay(1_800_000, at=START - timedelta(hours=3))
    bank.pay(1_800_000, at=START - timedelta(hours=2))
    events = [event for event, _ in bank.log.decided_since(START - timedelta(days=1))]

    bank.engine = bank.new_engine()
    bank.engine.rebuild((event, Outcome.DECLINE) for event in events)

    assert passed(bank.pay(1_500_000))


def test_a_card_payment_meets_only_the_card_limit() -> None:
    bank = Bank()
    bank.pay(1_800_000)
    bank.pay(1_800_000, at=START + MINUTE)  # transfers: 36,000 of 50,000 CNY

    card = bank.pay(1_900_000, kind=EventKind.CARD_PAYMENT, at=START + 2 * MINUTE)
    over = bank.pay(200_000, kind=EventKind.CARD_PAYMENT, at=START + 3 * MINUTE)
    transfer = bank.pay(1_400_000, at=START + 4 * MINUTE)  # card spending is not transfers'

    assert passed(card)  # above the single-transfer limit, within the card's 20,000 CNY
    assert over.outcome is Outcome.DECLINE
    assert limit_codes(over) == ["card_payment_daily"]
    assert passed(transfer)


@pytest.mark.parametrize("kind", [EventKind.LOGIN, EventKind.PROFILE_CHANGE, EventKind.PAYEE_ADD])
def test_events_that_move_no_money_never_hit_a_limit(kind: EventKind) -> None:
    bank = Bank()
    bank.store("transfer_daily", 0)
    bank.store("single_transfer", 0)

    decision = bank.engine.decide(make_event(kind))

    assert limit_codes(decision) == []
    assert bank.pay(1).outcome is Outcome.DECLINE  # the same limits do stop a transfer


def test_a_banks_own_product_limits_the_event_kind_it_names() -> None:
    policy = LimitPolicy(
        products={
            "card_single": ProductLimit(
                default_minor=100_000,
                maximum_minor=1_000_000,
                cumulative=False,
                exceeded_outcome=Outcome.STEP_UP,
                event_kind="card_payment",
            ),
            "unenforced": ProductLimit(default_minor=0, maximum_minor=10),
        }
    )
    bank = Bank(policy=policy)

    card = bank.pay(150_000, kind=EventKind.CARD_PAYMENT)

    assert card.outcome is Outcome.STEP_UP
    assert limit_codes(card) == ["card_single"]
    assert passed(bank.pay(5_000_000, at=START + MINUTE))  # no product limits transfers here


def test_a_product_cannot_limit_an_event_that_moves_no_money() -> None:
    with pytest.raises(ConfigurationError) as raised:
        ProductLimit(default_minor=1, maximum_minor=2, event_kind="login")
    assert raised.value.field == "event_kind"


def test_the_default_products_name_the_events_they_limit() -> None:
    kinds = {name: rule.event_kind for name, rule in LimitPolicy().products.items()}
    assert kinds == {
        "transfer_daily": "transfer",
        "single_transfer": "transfer",
        "card_payment_daily": "card_payment",
    }


def test_the_engine_counts_spending_apart_from_the_customers_profile() -> None:
    state = MemoryKeyedState(idle_seconds=None)
    rule = LimitRule(CachedLimits(InMemoryLimitUnitOfWork, clock=FixedClock(START)), policy=RETAIL)
    engine = make_engine(state=state, hard_rules=(rule,))
    engine.decide(make_event(amount_minor=2_500_000))  # declined
    engine.decide(make_event(event_id="E2", amount_minor=700_000, at=START + MINUTE))

    spend, customer = state.read(
        [Query("spend:C1", {}, ("transfer",)), Query("customer:C1")], START.timestamp() + 120
    )

    assert (spend.sum("transfer", "24h"), spend.count("transfer", "24h")) == (700_000, 1)
    assert (customer.sum("transfer", "24h"), customer.count("transfer", "24h")) == (3_200_000, 2)


@pytest.mark.parametrize("module", [limit_model, limit_service])
def test_the_limits_docstring_examples_hold(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]
