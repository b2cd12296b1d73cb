"""Run every benchmark (``python -m bench``) or the ones named (``python -m bench synth ingest``).

Each ``bench/bench_<name>.py`` has a ``main()`` that prints its figures. Sizes come from the
environment variables each benchmark documents, so `make bench` on a laptop can be scaled down.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def _names() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )


def main(argv: list[str]) -> int:
    """Run the named benchmarks, or all of them."""
    names = argv or _names()
    unknown = sorted(set(names) - set(_names()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(_names())}")
        return 2
    for name in names:
        print(f"== bench {name} ==", flush=True)
        started = time.perf_counter()
        # Each benchmark reads its own options from argv; under the runner it gets none.
        sys.argv = [f"bench_{name}"]
        importlib.import_module(f"bench.bench_{name}").main()
        print(f"== bench {name}: {time.perf_counter() - started:.1f} s ==", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
