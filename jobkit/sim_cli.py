"""`jobkit simulate`: replay a workload file and print what happened.

    jobkit simulate fixtures/workloads/outage.jsonl --workers 5 --out results/

Reads a JSON Lines or CSV workload (behaviors come from its header, or from
`--behaviors FILE.json`), runs the simulation with a progress bar on long runs, prints
a summary table (throughput, waits per priority and tenant, dead jobs) and, with
`--out`, writes every frame as CSV or Parquet.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from jobkit.core.errors import InvalidBehaviorError, InvalidUrlError, InvalidWorkloadError


def add_simulate_parser(sub: Any) -> None:
    """Add the `simulate` subcommand to the `jobkit` parser."""
    parser = sub.add_parser(
        "simulate",
        help="replay a workload file through the real worker code on a fake clock",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("workload", help="a .jsonl or .csv workload file")
    parser.add_argument("--workers", type=int, default=5, help="virtual workers (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    parser.add_argument(
        "--backend",
        default="memory://",
        help="where jobs live during the run: memory:// (default), fakeredis://, redis://...",
    )
    parser.add_argument(
        "--behaviors",
        metavar="FILE",
        help="JSON object {job_type: behavior}; overrides the workload header's behaviors",
    )
    parser.add_argument(
        "--queue",
        action="append",
        dest="queues",
        metavar="NAME",
        help="queue the workers serve, most important first (repeat; default: all)",
    )
    parser.add_argument(
        "--until", type=float, metavar="SECONDS", help="stop this many seconds after the start"
    )
    parser.add_argument(
        "--sample-every", type=float, metavar="SECONDS", help="seconds between queue-depth samples"
    )
    parser.add_argument(
        "--no-fair",
        action="store_false",
        dest="fair",
        help="serve each priority first in, first out (default: tenants take turns)",
    )
    parser.add_argument("--out", metavar="DIR", help="write the frames into this directory")
    parser.add_argument(
        "--format", choices=("csv", "parquet"), default="csv", help="format of --out (default csv)"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on long runs"
    )


def run_simulate(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run `jobkit simulate` with parsed `args`, printing to `out` / `err` (default: the
    process's stdout / stderr); returns the exit code (2 for bad input)."""
    from jobkit.sim import Simulation, Workload

    out = out or sys.stdout
    err = err or sys.stderr

    if args.workers < 1:
        print(f"jobkit simulate: --workers={args.workers} must be at least 1", file=err)
        return 2
    try:
        workload = Workload.load(args.workload)
        behaviors = _read_behaviors(args.behaviors) if args.behaviors else None
        sim = Simulation(
            workers=args.workers,
            seed=args.seed,
            behaviors=behaviors,
            backend=args.backend,
            queues=args.queues,
            sample_every=args.sample_every,
            fair=args.fair,
        )
        progress = None if args.no_progress else _progress_bar(len(workload), err)
        began = time.perf_counter()
        try:
            result = sim.run(workload, until=args.until, progress=progress)
        finally:
            if progress is not None:
                progress.close()
        took = time.perf_counter() - began
    except (InvalidWorkloadError, InvalidBehaviorError, InvalidUrlError, ValueError) as exc:
        print(f"jobkit simulate: {exc}", file=err)
        return 2
    _print_report(result, workload, took, out)
    if args.out:
        written = (
            result.to_parquet(args.out) if args.format == "parquet" else result.to_csv(args.out)
        )
        names = ", ".join(
            sorted(p.name for p in Path(written).iterdir() if p.suffix == f".{args.format}")
        )
        print(f"\nwrote {names} to {written}/", file=out)
    return 0


def _read_behaviors(path: str) -> dict[str, Any]:
    """{job_type: Behavior} from a JSON file; InvalidWorkloadError naming what is wrong."""
    from jobkit.sim import behaviors_from_dict

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidWorkloadError(path, None, "behaviors", path, "no such file") from None
    except ValueError as exc:
        raise InvalidWorkloadError(
            path, None, "behaviors", path, f"is not valid JSON ({exc})"
        ) from None
    try:
        return behaviors_from_dict(data)
    except InvalidBehaviorError as exc:
        raise InvalidWorkloadError(
            path, None, f"behaviors.{exc.field}", exc.value, exc.expected
        ) from None


class _Bar:
    """A tqdm bar over finished jobs, shown only once a run has lasted a second."""

    def __init__(self, total: int, stream: TextIO) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=total, unit="job", delay=1.0, file=stream, leave=False, dynamic_ncols=True
        )

    def __call__(self, done: int, total: int) -> None:
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def _progress_bar(total: int, stream: TextIO) -> _Bar | None:
    try:
        return _Bar(total, stream)
    except ImportError:  # tqdm is optional: no bar then
        return None


def _print_report(result: Any, workload: Any, took: float, out: TextIO) -> None:
    jobs = result.jobs
    status = jobs["status"].value_counts()
    virtual = (result.end - result.start).total_seconds()
    name = f" {workload.name!r}" if workload.name else ""
    print(
        f"simulated{name}: {len(jobs):,} jobs on {result.workers} workers (seed {result.seed}) "
        f"in {took:.2f} s; {_duration(virtual)} of virtual time",
        file=out,
    )
    print(
        "  "
        + ", ".join(
            f"{int(status.get(s, 0)):,} {s}"
            for s in ("completed", "dead", "retrying", "pending", "running")
            if status.get(s, 0)
        ),
        file=out,
    )
    table = result.summary()
    print("", file=out)
    print(table.to_string(float_format=lambda v: f"{v:,.2f}"), file=out)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{seconds:.1f} s"
