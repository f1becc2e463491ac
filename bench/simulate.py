"""Simulator throughput: jobkit's simulation harness vs an equivalent SimPy model.

Both replay the same kind of workload in one run: N jobs, Poisson arrivals at 0.8
utilisation of 5 workers, 5 priorities drawn uniformly, exponential durations (mean 1 s),
10% of attempts failing, the default retry policy (+30 s, +5 min, +1 h, then dead).
jobkit runs its real worker step on the in-memory backend; SimPy models the same
queue with a PriorityResource and timeouts. Prints wall time, jobs/s and peak RSS
(each side in its own process, so peaks do not mix) and the ratio.

    .venv/bin/pip install -e '.[dev]' -r bench/requirements.txt
    .venv/bin/python bench/simulate.py --jobs 1000000 --runs 1
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time

WORKERS = 5
MEAN_S = 1.0
FAIL = 0.1
DELAYS = (30.0, 300.0, 3600.0)
PRIORITIES = ("critical", "high", "default", "low", "bulk")
# arrivals per second so that busy time / capacity = 0.8 (retries add 1/(1-FAIL) work)
RATE = 0.8 * WORKERS / (MEAN_S / (1 - FAIL))


def run_jobkit(jobs: int, seed: int) -> dict[str, float]:
    from jobkit.sim import Behavior, Simulation, Workload, exponential, rate

    t0 = time.perf_counter()
    workload = Workload.poisson(
        RATE, count=jobs, job_type="work", priority=list(PRIORITIES), seed=seed
    )
    t1 = time.perf_counter()
    sim = Simulation(
        workers=WORKERS,
        seed=seed,
        behaviors={"work": Behavior(duration=exponential(MEAN_S), failure=rate(FAIL))},
    )
    result = sim.run(workload)
    t2 = time.perf_counter()
    frame = result.jobs
    t3 = time.perf_counter()
    return {
        "generate_s": t1 - t0,
        "wall_s": t2 - t1,
        "frames_s": t3 - t2,
        "finished": int(frame["status"].isin(["completed", "dead"]).sum()),
        "dead": int((frame["status"] == "dead").sum()),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_simpy(jobs: int, seed: int) -> dict[str, float]:
    import simpy

    rng = random.Random(seed)
    env = simpy.Environment()
    workers = simpy.PriorityResource(env, capacity=WORKERS)
    # what jobkit's frames hold: a row per job and a row per attempt
    rows: list[tuple[int, int, float, float, float, int, str]] = []
    attempts: list[tuple[int, int, float, float, str]] = []

    def job(number: int, rank: int, enqueued: float):  # type: ignore[no-untyped-def]
        retries, first = 0, None
        while True:
            with workers.request(priority=rank) as claim:
                yield claim
                started = env.now
                if first is None:
                    first = started
                yield env.timeout(rng.expovariate(1 / MEAN_S))
            if rng.random() >= FAIL:
                attempts.append((number, retries + 1, started, env.now, "completed"))
                rows.append((number, rank, enqueued, first, env.now, retries + 1, "completed"))
                return
            if retries >= len(DELAYS):
                attempts.append((number, retries + 1, started, env.now, "dead"))
                rows.append((number, rank, enqueued, first, env.now, retries + 1, "dead"))
                return
            attempts.append((number, retries + 1, started, env.now, "retrying"))
            yield env.timeout(DELAYS[retries])
            retries += 1

    def arrivals():  # type: ignore[no-untyped-def]
        for number in range(jobs):
            yield env.timeout(rng.expovariate(RATE))
            env.process(job(number, rng.randrange(len(PRIORITIES)), env.now))

    env.process(arrivals())
    t0 = time.perf_counter()
    env.run()
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "finished": len(rows),
        "dead": sum(1 for r in rows if r[6] == "dead"),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _child(which: str, jobs: int, seed: int, pin: str | None) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", which, "--jobs", str(jobs), "--seed", str(seed)]
    if pin is not None:  # the same CPU for both sides: one less source of drift
        command = ["taskset", "-c", pin, *command]
    out = subprocess.run(
        command,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pin", metavar="CPU", help="run both sides on this CPU (taskset -c)")
    parser.add_argument("--child", choices=("jobkit", "simpy"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = run_jobkit if args.child == "jobkit" else run_simpy
        print(json.dumps(run(args.jobs, args.seed)))
        return 0
    results: dict[str, list[dict[str, float]]] = {"jobkit": [], "simpy": []}
    for n in range(args.runs):
        for which in ("simpy", "jobkit"):  # alternate, so drift hits both alike
            r = _child(which, args.jobs, args.seed + n, args.pin)
            results[which].append(r)
            speed = args.jobs / r["wall_s"]
            print(
                f"run {n + 1} {which:6}: {r['wall_s']:7.2f} s  {speed:9,.0f} jobs/s"
                f"  peak RSS {r['peak_rss_mb']:6.0f} MB"
                f"  finished {r['finished']:,} (dead {r['dead']})",
                flush=True,
            )
    print(f"\n{args.jobs:,} jobs, {WORKERS} workers, {args.runs} run(s): min / median / max")
    medians = {}
    for which, runs in results.items():
        walls = sorted(r["wall_s"] for r in runs)
        medians[which] = statistics.median(walls)
        rss = max(r["peak_rss_mb"] for r in runs)
        print(
            f"  {which:6}: {walls[0]:.2f} / {medians[which]:.2f} / {walls[-1]:.2f} s"
            f"  ({args.jobs / medians[which]:,.0f} jobs/s median), peak RSS {rss:,.0f} MB"
        )
    extra = statistics.median(r["frames_s"] for r in results["jobkit"])
    print(f"  jobkit building the jobs frame afterwards: {extra:.2f} s (median)")
    print(f"  ratio jobkit / SimPy wall time: {medians['jobkit'] / medians['simpy']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
