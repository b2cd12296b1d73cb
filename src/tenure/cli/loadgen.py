"""A small HTTP/1.1 load generator, run in its own process by ``tenure protection bench``.

It keeps ``concurrency`` keep-alive connections busy with pre-encoded requests (asyncio streams,
no HTTP library in the loop), so that on a two-core machine the load generator costs far less CPU
than the server it measures. It prints one JSON line: requests, seconds, rps, p50/p99 latency in
milliseconds and the count of non-200 answers.

    python -m tenure.cli.loadgen --port 8123 --concurrency 4 --seconds 5 --requests FILE

``FILE`` is JSON: a list of ``{"method", "path", "headers", "body"}`` cycled through in order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["encode_request", "main"]


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


async def _worker(
    port: int, requests: list[bytes], start: int, stop_at: float, latencies: list[float]
) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    index = start
    try:
        while time.perf_counter() < stop_at:
            request = requests[index % len(requests)]
            index += 1
            sent = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - sent)
            errors += status != 200
    finally:
        writer.close()
    return errors


async def run(port: int, requests: list[bytes], concurrency: int, seconds: float) -> dict[str, Any]:
    """Drive the server for ``seconds`` with ``concurrency`` connections; figures as a dict."""
    latencies: list[float] = []
    started = time.perf_counter()
    stop_at = started + seconds
    share = max(1, len(requests) // concurrency)
    errors = await asyncio.gather(
        *(_worker(port, requests, i * share, stop_at, latencies) for i in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    values = np.array(latencies) * 1000.0
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(values, 50)), 3) if len(values) else None,
        "p99_ms": round(float(np.percentile(values, 99)), 3) if len(values) else None,
        "errors": int(sum(errors)),
    }


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--requests", type=Path, required=True)
    args = parser.parse_args(argv)
    specs = json.loads(args.requests.read_text(encoding="utf-8"))
    requests = [
        encode_request(s["method"], s["path"], s.get("headers", {}), s.get("body")) for s in specs
    ]
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        pass
    figures = asyncio.run(run(args.port, requests, args.concurrency, args.seconds))
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
