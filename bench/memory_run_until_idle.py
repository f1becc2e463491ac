"""In-memory `run_until_idle` throughput on no-op jobs.

    python bench/memory_run_until_idle.py [--jobs 100000] [--runs 3]

Enqueues N no-op jobs (bulk, via enqueue_many, and one call at a time), then times
`kit.run_until_idle()` on a FakeClock. Prints min / median / max jobs/s over the runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jobkit


def one_run(n: int) -> tuple[float, float, float]:
    """(enqueue one at a time jobs/s, enqueue_many jobs/s, run_until_idle jobs/s)."""
    kit = jobkit.connect("memory://", clock=jobkit.FakeClock())
    kit.register("noop", lambda args: None)

    t0 = time.perf_counter()
    for _ in range(n):
        kit.enqueue("noop")
    single = n / (time.perf_counter() - t0)
    kit.run_until_idle()

    jobs = [kit.build("noop") for _ in range(n)]
    t0 = time.perf_counter()
    kit.backend.enqueue_many(jobs)
    bulk = n / (time.perf_counter() - t0)
    # Only the backend holds the jobs now, as when an application enqueues and moves on.
    # Kept alive here, each replaced job's memory could not be reused at once (about 20%
    # slower on this machine: cache misses, not instructions).
    del jobs

    t0 = time.perf_counter()
    done = kit.run_until_idle()
    run = done / (time.perf_counter() - t0)
    assert done == n and kit.stats()["succeeded"] == 2 * n
    return single, bulk, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    results = [one_run(opts.jobs) for _ in range(opts.runs)]
    labels = ("enqueue (one call each)", "enqueue_many", "run_until_idle")
    for label, column in zip(labels, zip(*results, strict=True), strict=True):
        values = sorted(column)
        print(
            f"{label:<24} min {values[0]:>10,.0f}  median {statistics.median(values):>10,.0f}"
            f"  max {values[-1]:>10,.0f} jobs/s  (N={opts.jobs:,}, runs={opts.runs})"
        )


if __name__ == "__main__":
    main()
