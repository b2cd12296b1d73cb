"""The expected-cost choice: cheapest action, hard floors, and monotone protection."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tenure.core.decision
from tenure.core.decision import CostParameters, CustomerValue, action_cost, choose_action
from tenure.core.errors import ValidationError
from tenure.core.outcome import Outcome

PARAMS = CostParameters.default()
ALL = tuple(Outcome)
probabilities = st.floats(min_value=0.0, max_value=1.0)
amounts = st.integers(min_value=0, max_value=10**10)
customers = st.builds(CustomerValue, st.integers(min_value=0, max_value=10**9), st.floats(0.0, 1.0))


def test_module_examples_hold() -> None:
    assert doctest.testmod(tenure.core.decision).failed == 0


def test_cost_parts_follow_the_formula() -> None:
    customer = CustomerValue(clv_minor=1_000_000, p_churn=0.5)
    cost = action_cost(Outcome.STEP_UP, p=0.1, amount_minor=200_000, customer=customer,
                       params=PARAMS)  # fmt: skip
    assert cost.fraud_minor == pytest.approx(0.1 * 200_000 * 0.12)
    uplift = 0.009 * (1 + 1.0 * 0.5)
    assert cost.friction_minor == pytest.approx(0.9 * (50 + uplift * 1_000_000))
    assert cost.total_minor == pytest.approx(cost.fraud_minor + cost.friction_minor + 10)


def test_valuable_customer_is_spared_a_step_up_an_ordinary_one_gets() -> None:
    p, amount = 0.02, 500_000
    ordinary = choose_action(p=p, amount_minor=amount, customer=CustomerValue(20_000, 0.05),
                             params=PARAMS)  # fmt: skip
    valuable = choose_action(p=p, amount_minor=amount, customer=CustomerValue(50_000_000, 0.3),
                             params=PARAMS)  # fmt: skip
    assert ordinary.action is Outcome.STEP_UP
    assert valuable.action is Outcome.ALLOW


def test_a_hard_floor_is_never_undercut() -> None:
    choice = choose_action(p=0.0, amount_minor=1, customer=CustomerValue(0, 0.0), params=PARAMS,
                           at_least=Outcome.HOLD)  # fmt: skip
    assert choice.action >= Outcome.HOLD
    assert {c.action for c in choice.costs} == {Outcome.HOLD, Outcome.DECLINE}


def test_costs_are_listed_cheapest_first() -> None:
    choice = choose_action(p=0.3, amount_minor=900_000, customer=CustomerValue(100_000, 0.1),
                           params=PARAMS, allowed=ALL)  # fmt: skip
    totals = [c.total_minor for c in choice.costs]
    assert totals == sorted(totals)
    assert choice.action is choice.costs[0].action


@given(probabilities, probabilities, amounts, customers)
def test_more_risk_never_lets_more_fraud_through(
    p1: float, p2: float, amount: int, customer: CustomerValue
) -> None:
    low, high = sorted((p1, p2))
    a_low = choose_action(p=low, amount_minor=amount, customer=customer, params=PARAMS, allowed=ALL)
    a_high = choose_action(p=high, amount_minor=amount, customer=customer, params=PARAMS,
                           allowed=ALL)  # fmt: skip
    assert PARAMS.miss[a_high.action] <= PARAMS.miss[a_low.action]


@given(probabilities, amounts, amounts, customers)
def test_more_money_at_stake_never_lets_more_fraud_through(
    p: float, a1: int, a2: int, customer: CustomerValue
) -> None:
    small, large = sorted((a1, a2))
    c_small = choose_action(p=p, amount_minor=small, customer=customer, params=PARAMS, allowed=ALL)
    c_large = choose_action(p=p, amount_minor=large, customer=customer, params=PARAMS, allowed=ALL)
    assert PARAMS.miss[c_large.action] <= PARAMS.miss[c_small.action]


def test_bad_probability_and_parameters_name_their_field() -> None:
    with pytest.raises(ValidationError) as caught:
        choose_action(p=1.5, amount_minor=1, customer=CustomerValue(0, 0), params=PARAMS)
    assert caught.value.field == "p"
    with pytest.raises(ValidationError) as caught:
        CostParameters(
            miss={Outcome.ALLOW: 1.0},
            direct_minor=PARAMS.direct_minor,
            churn_uplift=PARAMS.churn_uplift,
            handling_minor=PARAMS.handling_minor,
        )
    assert caught.value.field == "miss"
