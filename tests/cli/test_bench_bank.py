"""The bench's in-process timing runs in a fresh process on the bench bank, for real."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tenure.cli.bench_bank import prepare_bank, time_in_fresh_process


def test_a_fresh_process_times_every_event_of_the_bench_bank(tmp_path: Path) -> None:
    bank = prepare_bank(tmp_path, customers=1000)
    figures = time_in_fresh_process(bank, tmp_path)

    assert set(figures) == {
        "in_process_p50_ms", "in_process_p99_ms", "engine_only_p50_ms", "engine_only_p99_ms",
    }  # fmt: skip
    assert 0 < figures["in_process_p50_ms"] <= figures["in_process_p99_ms"]
    assert 0 < figures["engine_only_p50_ms"] <= figures["engine_only_p99_ms"]
    # the timed pass with the durable log logged each event once (the other pass logs in memory)
    store = sa.create_engine(bank.settings.operational_url)
    with store.connect() as connection:
        logged = connection.execute(sa.text("SELECT count(*) FROM protection_decisions")).scalar()
    store.dispose()
    assert logged == len(bank.events) > 0
