"""The `jobkit` console script, run as a real subprocess the way a user runs it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

JOBKIT = shutil.which("jobkit", path=str(Path(sys.executable).parent))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [JOBKIT, *args] if JOBKIT else [sys.executable, "-m", "jobkit", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_demo_runs_the_whole_lifecycle_and_shows_the_seed_timeline():
    done = run_cli("demo")

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "enqueued 26 jobs" in out
    assert "critical=3, high=6, default=4, low=4, bulk=8" in out
    # the flaky email recovers on attempt 3; the hopeless webhook dies after attempt 4
    assert "attempt 3 at +5m30s     completed" in out
    assert "attempt 4 at +1h5m30s   dead" in out
    assert "dead-letter queue: 1 job(s)" in out
    assert done.stderr == ""


def test_demo_is_reproducible_for_a_seed():
    first, second = run_cli("demo", "--seed", "7"), run_cli("demo", "--seed", "7")
    assert first.stdout == second.stdout


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("--version",), 0, "jobkit 0.1.0"),
        ((), 2, "usage: jobkit"),
        (("demo", "--workers", "0"), 2, "--workers=0 must be at least 1"),
    ],
)
def test_cli_arguments(args, code, needle):
    done = run_cli(*args)
    assert done.returncode == code
    assert needle in done.stdout + done.stderr
