"""A small HTTP/1.1 load generator, run in its own process by ``tenure protection bench``.

It keeps ``concurrency`` keep-alive connections busy with pre-encoded requests (asyncio streams,
no HTTP library in the loop), so that on a two-core machine the load generator costs far less CPU
than the server it measures. It prints one JSON line: requests, seconds, rps, p50/p99 latency in
milliseconds and the count of non-200 answers.

With ``--alternate FILE2`` the same connections take turns of ``--turn`` seconds between the two
request lists, each list getting ``--seconds`` in all, and the line holds both lists' figures
(``"first"`` and ``"second"``). Two figures meant to be compared (the engine's throughput against
a trivial endpoint's) are then measured through the same stretch of time: on a shared virtual
machine whose speed drifts by half from one second to the next, two runs seconds apart compare
the drift as much as the endpoints.

    python -m tenure.cli.loadgen --port 8123 --concurrency 4 --seconds 5 --requests FILE
    python -m tenure.cli.loadgen --port 8123 --seconds 5 --requests FILE --alternate FILE2

``FILE`` is JSON: a list of ``{"method", "path", "headers", "body"}`` cycled through in order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["encode_request", "main", "run", "run_alternating", "turn_seconds"]


def encode_request(method: str, path: str, headers: dict[str, str], body: str | None) -> bytes:
    """One HTTP/1.1 keep-alive request as bytes."""
    payload = body.encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    if length:
        await reader.readexactly(length)
    return status


async def run(port: int, requests: list[bytes], concurrency: int, seconds: float) -> dict[str, Any]:
    """Drive the server for ``seconds`` with ``concurrency`` connections; figures as a dict."""
    latencies: list[float] = []
    errors = [0]
    started = time.perf_counter()
    clock = (started, seconds, started + seconds)  # one list: every turn is its own
    await asyncio.gather(
        *(
            _worker(port, (requests,), (i, concurrency), clock, (latencies,), errors)
            for i in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - started
    return _figures(concurrency, latencies, elapsed, errors[0])


def _figures(
    concurrency: int, latencies: list[float], seconds: float, errors: int
) -> dict[str, Any]:
    values = np.array(latencies) * 1000.0
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "seconds": round(seconds, 3),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": round(float(np.percentile(values, 50)), 3) if len(values) else None,
        "p99_ms": round(float(np.percentile(values, 99)), 3) if len(values) else None,
        "errors": errors,
    }


async def _worker(
    port: int,
    lists: Sequence[list[bytes]],
    worker: tuple[int, int],
    clock: tuple[float, float, float],
    latencies: Sequence[list[float]],
    errors: list[int],
) -> None:
    """One keep-alive connection sending from ``lists`` in turns (one list: always its turn)."""
    number, concurrency = worker
    started, turn, stop_at = clock
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    # each worker walks its own stretch of each list, so no two send the same request (a
    # repeated event is a replay, answered from memory, and would flatter the engine)
    indices = [number * max(1, len(requests) // concurrency) for requests in lists]
    try:
        while (sent := time.perf_counter()) < stop_at:
            which = int((sent - started) // turn) % len(lists)  # whose turn it is when sent
            requests = lists[which]
            request = requests[indices[which] % len(requests)]
            indices[which] += 1
            writer.write(request)
            status = await _read_response(reader)
            latencies[which].append(time.perf_counter() - sent)
            errors[which] += status != 200
    finally:
        writer.close()


def turn_seconds(elapsed: float, turn: float) -> tuple[float, float]:
    """How much of ``elapsed`` each of two lists had, taking turns of ``turn`` seconds."""
    whole = int(elapsed // turn)
    rest = elapsed - whole * turn
    first = (whole + 1) // 2 * turn + (rest if whole % 2 == 0 else 0.0)
    return first, elapsed - first


async def run_alternating(
    port: int,
    first: list[bytes],
    second: list[bytes],
    *,
    concurrency: int,
    seconds: float,
    turn: float,
) -> dict[str, dict[str, Any]]:
    """Two request lists on the same connections, in turns, ``seconds`` each in all."""
    latencies: tuple[list[float], list[float]] = ([], [])
    errors = [0, 0]
    started = time.perf_counter()
    clock = (started, turn, started + 2 * seconds)
    await asyncio.gather(
        *(
            _worker(port, (first, second), (i, concurrency), clock, latencies, errors)
            for i in range(concurrency)
        )
    )
    spent = turn_seconds(time.perf_counter() - started, turn)
    return {
        name: _figures(concurrency, latencies[i], spent[i], errors[i])
        for i, name in enumerate(("first", "second"))
    }


def _read_requests(path: Path) -> list[bytes]:
    specs = json.loads(path.read_text(encoding="utf-8"))
    return [
        encode_request(s["method"], s["path"], s.get("headers", {}), s.get("body")) for s in specs
    ]


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--requests", type=Path, required=True)
    parser.add_argument("--alternate", type=Path, help="a second request list to take turns with")
    parser.add_argument("--turn", type=float, default=0.5, help="seconds of each turn")
    args = parser.parse_args(argv)
    requests = _read_requests(args.requests)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        pass
    if args.alternate is None:
        figures: dict[str, Any] = asyncio.run(
            run(args.port, requests, args.concurrency, args.seconds)
        )
    else:
        figures = asyncio.run(
            run_alternating(
                args.port,
                requests,
                _read_requests(args.alternate),
                concurrency=args.concurrency,
                seconds=args.seconds,
                turn=args.turn,
            )
        )
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
