"""The seeded bank ``tenure protection bench`` measures on, and the in-process timings.

:func:`prepare_bank` simulates a small bank into a temporary data directory, ingests it, trains
and registers the fraud scorer on all but the last month and keeps the last month's events;
:func:`time_decisions` times the real engine on those events, one at a time.
:func:`time_in_fresh_process` runs that timing in a new Python process (``python -m
tenure.cli.bench_bank``), as a scoring worker starts: it loads the registered model and folds the
history into its state, rather than timing inside the process that has just simulated a bank,
ingested it and trained on it, whose heap no worker has (measured: its 99th percentile was 10 to
20 % higher, the engine alone unchanged).
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import SecretStr

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine, upgrade_to_head
from tenure.api.event_schemas import EVENT_SCHEMAS
from tenure.auth import service as auth
from tenure.bootstrap import build_protection
from tenure.core.clock import SystemClock
from tenure.core.outcome import Outcome
from tenure.core.roles import Role
from tenure.data.ingest import ephemeral_protector, ingest_directory
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.protection.decision import event_to_json
from tenure.protection.evaluation import split_replay
from tenure.protection.events import Event
from tenure.protection.history import history_events
from tenure.protection.memory import InMemoryDecisionLog
from tenure.protection.replay import replay_signals
from tenure.protection.training import fit_scorer, register_scorer
from tenure.retention.registry import ModelRegistry
from tenure.settings import Settings

__all__ = ["BenchBank", "prepare_bank", "time_decisions", "time_in_fresh_process"]

_MONTHS = 4
_SEED = 5
_TIMED = 20_000


@dataclass(frozen=True, slots=True)
class BenchBank:
    """Where the bench bank lives, the events to time, the history before them, and a key."""

    settings: Settings
    events: tuple[Event, ...]
    history: tuple[Event, ...]
    api_key: str

    @property
    def environment(self) -> dict[str, str]:
        """Environment for a server process on this bank."""
        secret = self.settings.jwt_secret
        return {
            "TENURE_DATA_DIR": str(self.settings.data_dir),
            "TENURE_JWT_SECRET": secret.get_secret_value() if secret else "",
        }

    def event_requests(self, tag: str, count: int) -> list[dict[str, Any]]:
        """``count`` POSTs of the bank's events (cycled), each with a fresh event id."""
        specs = []
        headers = {"X-API-Key": self.api_key}
        for index in range(count):
            event = self.events[index % len(self.events)]
            allowed = EVENT_SCHEMAS[event.kind].model_fields
            body = {k: v for k, v in event_to_json(event).items() if v is not None and k in allowed}
            body["event_id"] = f"{tag}-{index}"
            specs.append({"method": "POST", "path": f"/v1/events/{event.kind.value}",
                          "headers": headers, "body": json.dumps(body)})  # fmt: skip
        return specs

    def floor_requests(self) -> list[dict[str, Any]]:
        """The trivial authenticated request the engine's cost is compared with."""
        return [{"method": "GET", "path": "/v1/me", "headers": {"X-API-Key": self.api_key}}]


def prepare_bank(root: Path, *, customers: int) -> BenchBank:
    """Simulate, ingest, train and register; keep the last month's events for timing."""
    settings = Settings(data_dir=root / "data", jwt_secret=SecretStr("bench-secret-" * 4))
    settings.ensure_dirs()
    synthesize(SimulationConfig(customers=customers, months=_MONTHS, seed=_SEED), root / "bank")
    with DuckDBWarehouse.open(settings.warehouse_path) as warehouse:
        ingest_directory(
            warehouse=warehouse, source_dir=root / "bank", protector=ephemeral_protector()
        )
        replay = replay_signals(warehouse)
        train, _, cut = split_replay(replay, 1)
        scorer = fit_scorer(train)
        register_scorer(
            registry=ModelRegistry(settings.models_dir), scorer=scorer, replay=train, seed=0
        )
        history: list[Event] = []
        events: list[Event] = []
        for labelled in history_events(warehouse):
            event = labelled.event
            (history if event.occurred_at < cut else events).append(event)
    upgrade_to_head(settings.operational_url)
    store = create_store_engine(settings.operational_url)
    _, key = auth.create_api_key(
        uow=SqlUnitOfWorkFactory(store)(), name="bench-channel", roles=[Role.SYSTEM]
    )
    store.dispose()
    return BenchBank(settings, tuple(events[:_TIMED]), tuple(history), key)


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    values = np.array(seconds) * 1000.0
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def time_decisions(
    bank: BenchBank, *, redis_url: str | None = None, prefix: str = ""
) -> dict[str, float]:
    """p50 / p99 (ms) of one decision: with the durable log, and with the log in memory."""
    settings = bank.settings
    if redis_url is not None:
        settings = settings.model_copy(update={"protection_state": "redis", "redis_url": redis_url})
    store = create_store_engine(settings.operational_url)
    try:
        service = build_protection(settings, store=store, clock=SystemClock(), rebuild=False)
        # the warehouse's history is executed transactions: all of it went through
        service.engine.rebuild((event, Outcome.ALLOW) for event in bank.history)
        logged = _timed(service.decide, bank.events, f"{prefix}log")
        service.engine.log = InMemoryDecisionLog(keep=False)
        alone = _timed(service.decide, bank.events, f"{prefix}mem")
    finally:
        store.dispose()
    p50, p99 = _percentiles(logged)
    e50, e99 = _percentiles(alone)
    return {
        f"{prefix}in_process_p50_ms": round(p50, 4),
        f"{prefix}in_process_p99_ms": round(p99, 4),
        f"{prefix}engine_only_p50_ms": round(e50, 4),
        f"{prefix}engine_only_p99_ms": round(e99, 4),
    }


def _timed(decide: Any, events: tuple[Event, ...], tag: str) -> list[float]:
    seconds = []
    clock = time.perf_counter
    for index, event in enumerate(events):
        fresh = replace(event, event_id=f"{tag}-{index}")
        started = clock()
        decide(fresh)
        seconds.append(clock() - started)
    return seconds


def time_in_fresh_process(
    bank: BenchBank, workdir: Path, *, redis_url: str | None = None, prefix: str = ""
) -> dict[str, float]:
    """:func:`time_decisions` in a new Python process on the same bank (files in ``workdir``)."""
    saved = workdir / "bench-bank.pickle"
    saved.write_bytes(pickle.dumps(bank))
    command = [sys.executable, "-m", "tenure.cli.bench_bank", "--bank", str(saved)]
    if redis_url is not None:
        command += ["--redis-url", redis_url]
    if prefix:
        command += ["--prefix", prefix]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the in-process timing failed:\n{done.stderr[-4000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main(argv: list[str] | None = None) -> None:
    """Time the decisions of a saved bench bank; print the figures as one JSON line."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--bank", type=Path, required=True, help="a pickled BenchBank")
    parser.add_argument("--redis-url", help="keep the keyed state in this Redis")
    parser.add_argument("--prefix", default="", help="prefix of the figures' names")
    args = parser.parse_args(argv)
    bank = pickle.loads(args.bank.read_bytes())
    figures = time_decisions(bank, redis_url=args.redis_url, prefix=args.prefix)
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
