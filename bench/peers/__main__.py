"""jobkit and its peers side by side on one private Redis.

    python -m bench.peers [--only jobkit,huey] [--jobs 20000] [--runs 3] [--pin]
                          [--rate 500] [--latency-seconds 3] [--json out.json]
                          [--profile-jobkit profile.txt]

Starts a private redis-server on a free loopback port (no persistence). For each library,
`--runs` times: enqueue N no-op jobs one call at a time; process them with ONE worker
process (jobs/s from the first handler call to the last); bulk enqueue where the
library has one; end-to-end latency at a steady rate. Redis commands and round trips
per job from INFO commandstats / total_reads_processed. `--pin` puts redis-server on CPU
0 and every client and worker on CPU 1 (taskset). Prints min / median / max and the
ratio of jobkit to the best peer, and to bare redis-py (one LPUSH per job through
redis-py, no queue: the floor under any enqueue figure). See bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.peers import FLOORS, LIBRARIES
from bench.peers.harness import CLIENT_CPU, Bench, Settings, private_redis

#: (phase, metric, higher is better) for the summary and the ratio line
THROUGHPUT = (("enqueue", "one call each"), ("bulk", "bulk"), ("process", "process, 1 worker"))


def main() -> None:
    """Parse the flags, run every selected library, print and save the figures."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.peers", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--only",
        default=",".join(LIBRARIES),
        help="comma-separated libraries (default: all): " + ",".join(LIBRARIES),
    )
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs per phase (N)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--pin",
        action="store_true",
        help="redis-server on CPU 0, clients and workers on CPU 1 (taskset)",
    )
    parser.add_argument("--rate", type=float, default=500.0, help="latency phase: jobs/s")
    parser.add_argument("--latency-seconds", type=float, default=3.0)
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each run, wait up to SECONDS for the machine to be quiet",
    )
    parser.add_argument("--json", type=Path, help="save every figure here")
    parser.add_argument(
        "--profile-jobkit",
        type=Path,
        metavar="FILE",
        help="also profile jobkit's worker on N jobs with py-spy; "
        "top functions by own time to FILE",
    )
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    for name in names:
        if name not in LIBRARIES:
            parser.error(f"unknown library {name!r}; known: {', '.join(LIBRARIES)}")
    if args.pin:
        if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
            parser.error("--pin needs taskset and at least 2 CPUs")
        os.sched_setaffinity(0, {CLIENT_CPU})
    settings = Settings(
        jobs=args.jobs,
        runs=args.runs,
        pin=args.pin,
        rate=args.rate,
        latency_seconds=args.latency_seconds,
    )
    started = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    with private_redis(settings) as admin:
        version = admin.info("server")["redis_version"]
        print(
            f"redis-server {version}, CPython {platform.python_version()}, {settings.jobs} jobs,"
            f" {settings.runs} runs, {'pinned' if settings.pin else 'unpinned'}",
            flush=True,
        )
        bench = Bench(settings, admin)
        for name in names:
            results[name] = run_library(bench, name, args.wait_quiet)
        profile = None
        if args.profile_jobkit:
            profile = profile_jobkit(bench, args.profile_jobkit)
    print()
    print(summary(results, settings))
    print(f"\n(whole run: {time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "settings": vars(settings),
                    "redis": version,
                    "python": platform.python_version(),
                    "results": results,
                    "jobkit_profile": profile,
                },
                indent=1,
            )
        )


def run_library(bench: Bench, name: str, wait_quiet: float = 0.0) -> dict[str, Any]:
    """Every run of library `name`; stops early when a whole run failed."""
    config = configuration(bench, name)
    runs: list[dict[str, Any]] = []
    for i in range(bench.settings.runs):
        if wait_quiet > 0:
            bench.wait_quiet(wait_quiet)
        t0 = time.monotonic()
        run = bench.run(name)
        runs.append(run)
        print(f"{name:8} run {i + 1}: {one_line(run)}  ({time.monotonic() - t0:.0f} s)", flush=True)
        if all("failed" in v for v in run.values() if isinstance(v, dict)):
            break
    return {"config": config, "runs": runs}


def configuration(bench: Bench, name: str) -> str:
    """The library's version and the peer module's CONFIG line (imported in a child
    process, so a library that is missing or broken cannot take the harness down)."""
    code = (
        "import importlib.metadata as m, bench.peers as p, sys\n"
        f"mod = p.load({name!r})\n"
        f"print(m.version({name!r}) + ': ' + mod.CONFIG)"
    )
    if name == "bare":
        code = code.replace("m.version('bare')", "'redis-py ' + m.version('redis')")
    if name == "taskiq":
        code = code.replace("m.version('taskiq')", "m.version('taskiq') + ', taskiq-redis ' + "
                            "m.version('taskiq-redis')")  # fmt: skip
    out = subprocess.run(
        [bench.settings.python, "-c", code], capture_output=True, text=True, cwd=Path.cwd()
    )
    return out.stdout.strip() or f"failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}"


def one_line(run: dict[str, Any]) -> str:
    """A run's headline figures (or failures) on one line."""
    parts = []
    for phase, figures in run.items():
        if figures is None:
            continue
        if phase == "other load":
            parts.append(f"other load {figures:.2f} CPU")
            continue
        if "failed" in figures:
            parts.append(f"{phase} failed: {figures['failed']}")
        elif "jobs/s" in figures:
            parts.append(f"{phase} {figures['jobs/s']:,.0f}/s")
        else:
            parts.append(f"p50 {figures['p50 ms']:.1f} ms p99 {figures['p99 ms']:.1f} ms")
    return ", ".join(parts)


def values(entry: dict[str, Any], phase: str, metric: str) -> list[float]:
    """One metric of one phase over the runs that measured it."""
    return [
        r[phase][metric] for r in entry["runs"] if r.get(phase) is not None and metric in r[phase]
    ]


def failure(entry: dict[str, Any], phase: str) -> str | None:
    """Why a phase failed in some run (None if it never failed)."""
    reasons = [r[phase]["failed"] for r in entry["runs"] if r.get(phase) and "failed" in r[phase]]
    return reasons[0] if reasons else None


def spread(xs: list[float]) -> str:
    """min / median / max."""
    return f"{min(xs):,.0f} / {statistics.median(xs):,.0f} / {max(xs):,.0f}"


def summary(results: dict[str, dict[str, Any]], settings: Settings) -> str:
    """The figures as a Markdown table, plus jobkit's ratio to the best peer."""
    head = (
        "| library (version: configuration) | enqueue, one call each (jobs/s) | bulk enqueue"
        " (jobs/s) | process, 1 worker (jobs/s) | worker CPU µs/job | latency p50 / p99"
        f" at {settings.rate:,.0f}/s (ms) | commands / round trips per job: enqueue"
        " | … bulk | … process | other load (CPU) |"
    )
    lines = [head, "|" + "---|" * 10]
    for name, entry in results.items():
        cells = [f"**{name}** ({entry['config']})"]
        for phase, _ in THROUGHPUT:
            xs = values(entry, phase, "jobs/s")
            why = failure(entry, phase)
            cells.append(spread(xs) if xs else (f"failed: {why}" if why else "n/a"))
        cpu = values(entry, "process", "worker CPU us/job")
        cells.append(f"{statistics.median(cpu):,.0f}" if cpu else "-")
        p50, p99 = values(entry, "latency", "p50 ms"), values(entry, "latency", "p99 ms")
        why = failure(entry, "latency")
        cells.append(
            f"{statistics.median(p50):.1f} / {statistics.median(p99):.1f}"
            if p50
            else (f"failed: {why}" if why else "-")
        )
        for phase in ("enqueue", "bulk", "process"):
            c, r = values(entry, phase, "commands/job"), values(entry, phase, "round trips/job")
            cells.append(f"{statistics.median(c):.2f} / {statistics.median(r):.3f}" if c else "-")
        load = [r["other load"] for r in entry["runs"] if "other load" in r]
        cells.append(f"{max(load):.2f}" if load else "-")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.extend(ratios(results))
    return "\n".join(lines)


def ratios(results: dict[str, dict[str, Any]]) -> list[str]:
    """jobkit's median against the best peer's median, per throughput and latency figure."""
    if "jobkit" not in results or len(results) < 2:
        return []
    out = ["jobkit ÷ best peer (medians):"]
    mine = results["jobkit"]
    peers = {k: v for k, v in results.items() if k != "jobkit" and k not in FLOORS}
    for phase, label in THROUGHPUT:
        ours = values(mine, phase, "jobs/s")
        best = max(
            ((statistics.median(values(v, phase, "jobs/s")), k) for k, v in peers.items()
             if values(v, phase, "jobs/s")),
            default=None,
        )  # fmt: skip
        if ours and best:
            m = statistics.median(ours)
            out.append(f"- {label}: {m:,.0f} ÷ {best[0]:,.0f} ({best[1]}) = {m / best[0]:.2f}x")
    for metric in ("p50 ms", "p99 ms"):
        ours = values(mine, "latency", metric)
        best = min(
            ((statistics.median(values(v, "latency", metric)), k) for k, v in peers.items()
             if values(v, "latency", metric)),
            default=None,
        )  # fmt: skip
        if ours and best:
            m = statistics.median(ours)
            out.append(
                f"- latency {metric[:3]}: {m:.1f} ms ÷ {best[0]:.1f} ms ({best[1]}) = "
                f"{m / best[0]:.2f}x (lower is better)"
            )
    for floor in FLOORS:
        if floor not in results:
            continue
        out.append(f"jobkit ÷ {floor} (the least a call through redis-py costs; medians):")
        for phase, label in THROUGHPUT:
            ours, base = values(mine, phase, "jobs/s"), values(results[floor], phase, "jobs/s")
            if ours and base:
                m, b = statistics.median(ours), statistics.median(base)
                out.append(f"- {label}: {m:,.0f} ÷ {b:,.0f} = {m / b:.2f}x")
    return out


def profile_jobkit(bench: Bench, path: Path) -> dict[str, Any] | None:
    """jobkit's worker on N jobs under py-spy (all threads, by function); top 15 by own
    time written to `path` and printed."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("profile: py-spy not found (pip install -r bench/requirements-peers.txt)")
        return None
    raw = Path(tempfile.mkdtemp(prefix="jobkit-profile-")) / "worker.txt"
    bench.admin.flushall()
    bench.enqueue("jobkit", "enqueue")
    wrapper = [spy, "record", "--nonblocking", "--function", "-r", "1000", "-f", "raw",
               "-o", str(raw), "--"]  # fmt: skip
    figures = bench.process("jobkit", wrapper)
    bench.admin.flushall()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "Worker._loop" not in stack:  # start-up (imports) and idle threads left out
            continue
        leaf = stack.rsplit(";", 1)[-1]
        leaf = re.sub(r"\(/\S*/(site-packages|python3\.\d+)/", "(", leaf)
        own[leaf.replace(str(Path.cwd()) + "/", "")] += int(count)
        total += int(count)
    top = own.most_common(15)
    text = [
        f"jobkit worker under py-spy, {bench.settings.jobs} jobs: {figures['jobs/s']:,.0f} jobs/s,"
        f" {figures['worker CPU us/job']:.0f} µs of worker CPU per job (all threads);"
        f" {total} samples at 1 kHz in the worker loop's thread; own time:",
        *(f"{100 * c / total:5.1f}%  {frame}" for frame, c in top),
    ]
    path.write_text("\n".join(text) + "\n")
    print("\n".join(text))
    return {"figures": figures, "samples": total, "top": top}


if __name__ == "__main__":
    main()
