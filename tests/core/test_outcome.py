"""Outcomes order by friction, not alphabetically."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tenure.core.outcome
from tenure.core.outcome import Outcome, strongest


def test_module_examples_hold() -> None:
    assert doctest.testmod(tenure.core.outcome).failed == 0


def test_friction_order_is_the_declared_one() -> None:
    assert sorted(Outcome, key=lambda o: o.value) != list(Outcome)  # alphabetical differs
    shuffled = [Outcome.HOLD, Outcome.ALLOW, Outcome.DECLINE, Outcome.CONFIRM]
    assert sorted(shuffled) == [Outcome.ALLOW, Outcome.CONFIRM, Outcome.HOLD, Outcome.DECLINE]
    assert Outcome.DECLINE > Outcome.HOLD >= Outcome.HOLD > Outcome.CONFIRM


@given(st.lists(st.sampled_from(list(Outcome))))
def test_strongest_is_never_weaker_than_any_member(outcomes: list[Outcome]) -> None:
    top = strongest(outcomes)
    assert all(top >= o for o in outcomes)
    assert top in outcomes or (not outcomes and top is Outcome.ALLOW)


def test_comparing_with_a_plain_string_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot order"):
        _ = Outcome.ALLOW < "zzz"
