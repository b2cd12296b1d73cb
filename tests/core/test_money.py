from __future__ import annotations

import pytest

from tenure.core.money import format_minor_units


@pytest.mark.parametrize(
    ("minor", "shown"),
    [
        (0, "0 CNY"),
        (49, "0 CNY"),
        (50, "1 CNY"),
        (1141250, "11,413 CNY"),
        (-120049, "-1,200 CNY"),
        (-120050, "-1,201 CNY"),
        (-49, "0 CNY"),
    ],
)
def test_shows_whole_units_rounded_half_away_from_zero(minor: int, shown: str) -> None:
    assert format_minor_units(minor) == shown


def test_names_the_currency() -> None:
    assert format_minor_units(250000, "USD") == "2,500 USD"
