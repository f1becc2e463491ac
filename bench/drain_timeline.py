"""How long `jobkit.testing.drain` takes to play the seed's whole retry timeline.

A test enqueues one job whose handler always fails and drains: attempts at +0, +30 s,
+5 min 30 s, +1 h 5 min 30 s of FakeClock time, then the dead-letter queue. Timed here
(the issue's bar: under 10 ms on memory), never in a test. Prints min / median / p99
over many repeats, for the drain alone and for the whole test body (connect, register,
enqueue, drain).

    .venv/bin/python bench/drain_timeline.py --repeats 2000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import jobkit
from jobkit.testing import drain


def one_timeline() -> tuple[float, float]:
    """(seconds for the whole test body, seconds for drain alone)."""
    began = time.perf_counter()
    kit = jobkit.connect("memory://", clock=jobkit.FakeClock())

    def flaky(args: dict[str, object]) -> None:
        raise ConnectionError("still down")

    kit.register("flaky", flaky)
    kit.enqueue("flaky", {"to": "ada@example.com"})
    draining = time.perf_counter()
    result = drain(kit)
    ended = time.perf_counter()
    assert (result.failed, result.retried, result.dead) == (4, 3, 1)
    return ended - began, ended - draining


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2000)
    args = parser.parse_args()
    one_timeline()  # warm up imports and caches
    runs = [one_timeline() for _ in range(args.repeats)]
    for label, values in (
        ("whole test body", [r[0] for r in runs]),
        ("drain", [r[1] for r in runs]),
    ):
        ms = sorted(v * 1000 for v in values)
        p99 = ms[int(len(ms) * 0.99) - 1]
        print(
            f"{label:16} min {ms[0]:.3f} ms  median {statistics.median(ms):.3f} ms  "
            f"p99 {p99:.3f} ms  ({args.repeats} repeats)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
