from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tenure.bootstrap import open_warehouse
from tenure.settings import Settings


def test_the_warehouse_opens_within_the_configured_memory_limit(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, warehouse_memory_limit="512MB")
    with open_warehouse(settings) as warehouse:
        ((limit,),) = warehouse.fetch_all("SELECT current_setting('memory_limit')")
    assert limit == "488.2 MiB"


def test_a_memory_limit_without_a_unit_is_refused(data_dir: Path) -> None:
    with pytest.raises(ValidationError, match="warehouse_memory_limit"):
        Settings(data_dir=data_dir, warehouse_memory_limit="lots")
