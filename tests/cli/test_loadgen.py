"""The bench's load generator: two request lists taking turns on the same connections."""

from __future__ import annotations

import asyncio

import pytest

from tenure.cli.loadgen import encode_request, run, run_alternating, turn_seconds


@pytest.mark.parametrize(
    ("elapsed", "first", "second"),
    [
        (2.0, 1.0, 1.0),  # four whole turns
        (1.2, 0.7, 0.5),  # first, second, then 0.2 s of the first's third turn
        (1.7, 1.0, 0.7),  # first, second, first, then 0.2 s of the second's
        (0.3, 0.3, 0.0),  # still in the first turn
    ],
)
def test_each_list_is_credited_with_the_time_of_its_turns(
    elapsed: float, first: float, second: float
) -> None:
    got = turn_seconds(elapsed, 0.5)
    assert got == pytest.approx((first, second))


SEEN: list[bytes] = []


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer every request with 200; ``/slow/...`` after 5 ms."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0]
            SEEN.append(line)
            if b" /slow/" in line:
                await asyncio.sleep(0.005)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _alternate(seconds: float, turn: float) -> dict[str, dict[str, object]]:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    fast = [encode_request("GET", "/fast", {}, None)]
    slow = [encode_request("GET", f"/slow/{i}", {}, None) for i in range(10_000)]
    async with server:
        return await run_alternating(port, slow, fast, concurrency=2, seconds=seconds, turn=turn)


def test_two_lists_take_turns_and_each_gets_its_own_figures() -> None:
    SEEN.clear()
    figures = asyncio.run(_alternate(seconds=0.6, turn=0.1))
    slow, fast = figures["first"], figures["second"]
    assert slow["seconds"] == pytest.approx(0.6, abs=0.05)
    assert fast["seconds"] == pytest.approx(0.6, abs=0.05)
    assert slow["errors"] == fast["errors"] == 0
    # two connections at 5 ms a request cannot pass 400 a second; the fast list does far more
    assert 0 < slow["rps"] < 400  # type: ignore[operator]
    assert fast["rps"] > 3 * slow["rps"]  # type: ignore[operator]
    assert slow["p50_ms"] >= 5.0  # type: ignore[operator]
    assert fast["p50_ms"] < 5.0  # type: ignore[operator]
    # every request of a list is sent once: a repeated event would be a cheap replay
    slow_sent = [line for line in SEEN if b" /slow/" in line]
    assert len(slow_sent) == slow["requests"]
    assert len(set(slow_sent)) == len(slow_sent)


async def _one_list(seconds: float) -> dict[str, object]:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    slow = [encode_request("GET", f"/slow/{i}", {}, None) for i in range(10_000)]
    async with server:
        return await run(port, slow, 3, seconds)


def test_one_list_is_sent_by_every_connection_each_request_once() -> None:
    SEEN.clear()
    figures = asyncio.run(_one_list(0.4))
    assert figures["errors"] == 0
    assert figures["seconds"] == pytest.approx(0.4, abs=0.05)
    assert figures["p50_ms"] >= 5.0  # type: ignore[operator]
    assert figures["requests"] == len(SEEN) > 3
    assert len(set(SEEN)) == len(SEEN)
