"""`jobkit simulate`: a workload file in, a summary table and frames out."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from jobkit.cli import main
from tests.e2e.test_cli import run_cli

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "workloads"
OUTAGE = str(FIXTURES / "outage.jsonl")


def test_outage_as_a_user_runs_it(tmp_path: Path) -> None:
    done = run_cli("simulate", OUTAGE, "--workers", "5", "--out", str(tmp_path / "results"))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "simulated 'outage': 5,308 jobs on 5 workers (seed 0)" in out
    assert "5,307 completed, 1 dead" in out
    for needle in ("wait_p95_s", "priority", "critical", "bulk", "send_email"):
        assert needle in out
    written = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert written == [f"{n}.csv" for n in ("attempts", "jobs", "queue_depth", "stats", "summary")]
    jobs = pd.read_csv(tmp_path / "results" / "jobs.csv")
    assert len(jobs) == 5308


def test_same_seed_same_output_and_parquet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", OUTAGE, "--no-progress", "--seed", "3", "--workers", "8"]
    assert main([*argv, "--out", str(tmp_path), "--format", "parquet"]) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    second = capsys.readouterr().out

    def report(text: str) -> list[str]:  # without the wall time and the files written
        return [
            line
            for line in text.splitlines()
            if line and " s; " not in line and "wrote" not in line
        ]

    assert report(first) == report(second)
    assert len(report(first)) > 10
    attempts = pd.read_parquet(tmp_path / "attempts.parquet")
    assert str(attempts["started_at"].dtype) == "datetime64[ns, UTC]"


def test_behaviors_file_overrides_the_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    behaviors = tmp_path / "b.json"
    never_fails = {"duration": {"kind": "constant", "seconds": 0.1}}
    behaviors.write_text(
        json.dumps({t: never_fails for t in ("send_email", "resize_image", "sync_crm")})
    )
    assert main(["simulate", OUTAGE, "--no-progress", "--behaviors", str(behaviors)]) == 0
    assert "5,308 completed" in capsys.readouterr().out


def test_until_and_queue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", OUTAGE, "--no-progress", "--until", "600", "--queue", "default"]) == 0
    out = capsys.readouterr().out
    assert "10 min 00 s of virtual time" in out


@pytest.mark.parametrize(
    ("line", "needles"),
    [
        ('{"at": 1, "job_type": "a", "priority": "urgent"}', ["line 2", "priority", "'urgent'"]),
        ('{"at": -1, "job_type": "a"}', ["line 2", "at=-1"]),
        ("{nope", ["line 2", "not valid JSON"]),
    ],
)
def test_a_bad_workload_file_names_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, needles: list[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"at": 0, "job_type": "a"}\n' + line + "\n")
    assert main(["simulate", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    for needle in needles:
        assert needle in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["/no/such/file.jsonl"], "no such file"),
        ([OUTAGE, "--workers", "0"], "--workers=0"),
        ([OUTAGE, "--backend", "nosuch://"], "unsupported scheme"),
        ([OUTAGE, "--behaviors", "/no/such.json"], "no such file"),
    ],
)
def test_bad_arguments_exit_2(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", *args, "--no-progress"]) == 2
    assert needle in capsys.readouterr().err


def test_progress_bar_counts_finished_jobs() -> None:
    import io

    from jobkit.sim_cli import _progress_bar

    stream = io.StringIO()
    bar = _progress_bar(10, stream)
    assert bar is not None
    bar(4, 10)
    bar(10, 10)
    assert bar.bar.n == 10
    bar.close()
