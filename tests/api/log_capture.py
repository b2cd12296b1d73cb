"""Looking for secrets and personal data in captured log records."""

from __future__ import annotations

import logging
from collections.abc import Iterable

FORMAT = logging.Formatter("%(name)s %(message)s")


def leaks(records: Iterable[logging.LogRecord], values: Iterable[str]) -> list[tuple[str, str]]:
    """(logger, value) for each value found in a record's text or in any of its attributes."""
    wanted = list(values)
    return [
        (record.name, value)
        for record in records
        for value in wanted
        if value in FORMAT.format(record) or value in repr(record.__dict__)
    ]
