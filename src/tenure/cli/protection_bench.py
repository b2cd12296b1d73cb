"""``tenure protection bench``: decision latency in process and throughput over HTTP.

Self-contained and seeded: it simulates a small bank into a temporary data directory, trains the
fraud scorer on all but its last month, warms the keyed state with those months, then:

1. in process: times ``ProtectionService.decide`` on every last-month event, with the durable
   SQLite decision log (``in_process_*``) and with the log in memory (``engine_only_*``), in a
   fresh Python process that loads the model and the history as a scoring worker does;
2. over HTTP: starts ``tenure serve`` (one worker) and a load generator in another process on
   loopback, and measures throughput and latency at concurrency 1, 4 and 32 on the event
   endpoints, and at concurrency 4 on ``GET /v1/me`` (same authentication, no engine), so that
   ``http_rps_c4 / http_rps_floor_c4`` shows what the engine itself costs; those two take turns
   of half a second on the same connections, so both see the same stretch of a virtual
   machine whose speed drifts;
3. the same with the keyed state in Redis (``redis_*``), when Redis answers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from tenure.cli.bench_bank import BenchBank, prepare_bank, time_in_fresh_process

__all__ = ["register"]


def register(group: typer.Typer) -> None:
    """Add ``bench`` to the protection group."""
    group.command("bench")(bench)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not become ready")


@contextmanager
def _server(bank: BenchBank, extra_env: dict[str, str]) -> Iterator[int]:
    port = _free_port()
    env = {**os.environ, **bank.environment, **extra_env}
    command = [sys.executable, "-m", "tenure.cli.main", "serve", "--port", str(port),
               "--no-access-log"]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_ready(port)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _load(
    port: int,
    specs: list[dict[str, Any]],
    concurrency: int,
    seconds: float,
    alternate: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One load generator run; with ``alternate``, both lists in turns (see ``loadgen``)."""
    files = []
    try:
        for requests in (specs, alternate):
            if requests is not None:
                with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
                    json.dump(requests, handle)
                files.append(handle.name)
        command = [sys.executable, "-m", "tenure.cli.loadgen", "--port", str(port),
                   "--concurrency", str(concurrency), "--seconds", str(seconds),
                   "--requests", files[0]]  # fmt: skip
        if alternate is not None:
            command += ["--alternate", files[1]]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        for name in files:
            Path(name).unlink(missing_ok=True)


def _http_figures(
    bank: BenchBank, port: int, seconds: float, prefix: str, levels: tuple[int, ...]
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    _load(port, bank.event_requests("warm", 200), 4, 1.0)  # builds the engine, warms the pools
    # the engine against the floor at concurrency 4 in turns of half a second through the same
    # stretch of time, so that the ratio does not compare two moments of a drifting machine
    paired = _load(
        port, bank.event_requests(f"{prefix}c4", 120_000), 4, seconds, bank.floor_requests()
    )
    floor = paired["second"]
    figures[f"{prefix}rps_floor_c4"] = floor["rps"]
    figures[f"{prefix}p99_ms_floor_c4"] = floor["p99_ms"]
    for level in levels:
        if level == 4:
            run = paired["first"]
        else:
            run = _load(port, bank.event_requests(f"{prefix}c{level}", 120_000), level, seconds)
        figures[f"{prefix}rps_c{level}"] = run["rps"]
        figures[f"{prefix}p50_ms_c{level}"] = run["p50_ms"]
        figures[f"{prefix}p99_ms_c{level}"] = run["p99_ms"]
        figures[f"{prefix}errors_c{level}"] = run["errors"]
    return figures


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1.0):
            return True
    except OSError:
        return False


def bench(
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    seconds: Annotated[
        float, typer.Option(min=1.0, max=120.0, help="Length of each HTTP run.")
    ] = 5.0,
    customers: Annotated[
        int,
        typer.Option(
            min=1_000,
            max=200_000,
            help="Size of the simulated bank (at least 1,000: fewer has too few frauds to learn).",
        ),
    ] = 3_000,
    redis_url: Annotated[
        str, typer.Option(help="Redis for the shared-state runs (skipped if it does not answer).")
    ] = "redis://127.0.0.1:6379/14",
) -> None:
    """Measure decision latency in process and HTTP throughput, with memory and Redis state."""
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="tenure-bench-") as tmp:
        with console.status("simulating a bank and training the fraud scorer"):
            bank = prepare_bank(Path(tmp), customers=customers)
        figures: dict[str, Any] = {"events_timed": len(bank.events), "customers": customers}
        with console.status("timing decisions in process"):
            figures.update(time_in_fresh_process(bank, Path(tmp)))
        with console.status("HTTP runs (memory state)"), _server(bank, {}) as port:
            figures.update(_http_figures(bank, port, seconds, "http_", (1, 4, 32)))
        if _redis_up():
            redis_env = {"TENURE_PROTECTION_STATE": "redis", "TENURE_REDIS_URL": redis_url}
            with console.status("timing decisions in process (Redis state)"):
                figures.update(
                    time_in_fresh_process(bank, Path(tmp), redis_url=redis_url, prefix="redis_")
                )
            with console.status("HTTP runs (Redis state)"), _server(bank, redis_env) as port:
                figures.update(_http_figures(bank, port, seconds, "redis_http_", (4,)))
    figures["http_ratio_c4"] = round(figures["http_rps_c4"] / figures["http_rps_floor_c4"], 3)
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        console.print(f"{key:<28} {value}")
