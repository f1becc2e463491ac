"""Redis adapter: enqueue and processing throughput, and what each job costs Redis.

    python bench/redis_worker.py [--jobs 20000] [--runs 3] [--batch 1 100]

Starts a private `redis-server` on a free loopback port (no persistence), then for each
run: enqueues N no-op jobs one call at a time, N more with `enqueue_many` (chunks of
1,000), and processes them with ONE worker (this process, `Worker.run_until_idle`)
claiming `--batch` jobs per round trip, results stored, leases and acks as in
production. Redis commands per job come from `INFO commandstats` (script calls and
the commands they run, separately) and round trips per job from
`total_reads_processed`. Prints min / median / max over the runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

import jobkit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: find bench
from bench.peers.harness import throwaway_redis

SCRIPT_CALLS = ("cmdstat_fcall", "cmdstat_evalsha", "cmdstat_eval")


def counts(client: redis.Redis) -> tuple[int, int, int]:
    """(script calls, commands run inside or outside scripts, reads processed)."""
    stats = client.info("commandstats")
    scripts = sum(v["calls"] for k, v in stats.items() if k in SCRIPT_CALLS)
    commands = sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")
    reads = int(client.info("stats")["total_reads_processed"])
    return scripts, commands, reads


def measure(client: redis.Redis, n: int, work: Callable[[], Any]) -> dict[str, float]:
    """Run `work`; jobs/s and Redis cost per job."""
    before = counts(client)
    t0 = time.perf_counter()
    work()
    elapsed = time.perf_counter() - t0
    after = counts(client)
    scripts, commands, reads = (a - b for a, b in zip(after, before, strict=True))
    return {
        "jobs/s": n / elapsed,
        "scripts/job": scripts / n,
        "commands/job": (commands - scripts) / n,
        "round trips/job": (reads - 2) / n,  # minus the two INFO calls
    }


def one_run(port: int, n: int, batch: int) -> dict[str, dict[str, float]]:
    kit = jobkit.connect(f"redis://127.0.0.1:{port}/0", prefix="bench")
    admin = redis.Redis(port=port)
    try:
        kit.backend.clear()
        kit.register("noop", lambda args: None)
        out = {"enqueue": measure(admin, n, lambda: [kit.enqueue("noop") for _ in range(n)])}
        jobs = [kit.build("noop") for _ in range(n)]

        def bulk() -> None:
            for start in range(0, n, 1000):
                kit.enqueue_many(jobs[start : start + 1000])

        out["enqueue_many"] = measure(admin, n, bulk)
        worker = kit.worker(batch_size=batch, queues=["default"])
        out[f"process (batch {batch})"] = measure(admin, 2 * n, worker.run_until_idle)
        assert kit.stats()["succeeded"] == 2 * n, kit.stats()
        return out
    finally:
        kit.backend.clear()
        kit.close()
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 100])
    args = parser.parse_args()
    with throwaway_redis() as client:
        port = client.connection_pool.connection_kwargs["port"]
        print(f"redis-server {client.info('server')['redis_version']}, {args.jobs} jobs, "
              f"{args.runs} runs")  # fmt: skip
        for batch in args.batch:
            runs = [one_run(port, args.jobs, batch) for _ in range(args.runs)]
            for phase in runs[0]:
                if phase.startswith("enqueue") and batch != args.batch[0]:
                    continue
                jps = sorted(r[phase]["jobs/s"] for r in runs)
                cost = {k: statistics.median(r[phase][k] for r in runs) for k in runs[0][phase]}
                print(
                    f"{phase:22} jobs/s min {jps[0]:9,.0f}  median {statistics.median(jps):9,.0f}"
                    f"  max {jps[-1]:9,.0f}   scripts/job {cost['scripts/job']:.3f}"
                    f"  commands/job {cost['commands/job']:.2f}"
                    f"  round trips/job {cost['round trips/job']:.3f}"
                )


if __name__ == "__main__":
    main()
