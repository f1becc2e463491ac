"""The `jobkit` command line.

jobkit demo       the end-to-end demo on the in-memory default (FakeClock)
jobkit worker     a production worker pool: --app module:attr [--url URL] [--queue NAME ...]
                  [--workers N]; runs until SIGTERM/SIGINT, then stops gracefully
                  (see `jobkit worker --help` and jobkit.worker_cli)
jobkit simulate   replay a workload file through the real worker code on a fake clock:
                  WORKLOAD.jsonl [--workers N] [--seed S] [--out DIR] (see jobkit.sim_cli)
jobkit --version
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    from jobkit import __version__
    from jobkit.sim_cli import add_simulate_parser
    from jobkit.worker_cli import add_worker_parser

    parser = argparse.ArgumentParser(prog="jobkit", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"jobkit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what workers do")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="run the end-to-end demo on the in-memory backend")
    demo.add_argument("--workers", type=int, default=5, help="worker threads (default 5)")
    demo.add_argument("--seed", type=int, default=0, help="seed for ids and jitter (default 0)")
    add_worker_parser(sub)
    add_simulate_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `jobkit` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        # a production worker reports its start, failures and shutdown at INFO
        level=logging.INFO if args.verbose or args.command == "worker" else logging.ERROR,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "demo":
        from jobkit.demo import main as demo_main

        if args.workers < 1:
            parser.error(f"--workers={args.workers} must be at least 1")
        return demo_main(sys.stdout, seed=args.seed, workers=args.workers)
    if args.command == "worker":
        from jobkit.worker_cli import run_worker

        return run_worker(args)
    if args.command == "simulate":
        from jobkit.sim_cli import run_simulate

        return run_simulate(args)
    parser.print_help()
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
