"""Money for people to read: integer minor units shown as whole currency units.

>>> format_minor_units(1141250)
'11,413 CNY'
>>> format_minor_units(-120049)
'-1,200 CNY'
"""

from __future__ import annotations

__all__ = ["format_minor_units"]


def format_minor_units(minor: int, currency: str = "CNY") -> str:
    """Whole units (100 minor units each), half away from zero, with thousands separators."""
    whole = (abs(minor) + 50) // 100
    return f"{'-' if minor < 0 and whole else ''}{whole:,} {currency}"
