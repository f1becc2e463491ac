"""The fixture workloads load, run and show what fixtures/README.md says they show."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobkit.sim import Simulation, SimulationResult, Workload

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ROOT / "fixtures" / "workloads"


@pytest.fixture(scope="module")
def results() -> dict[str, SimulationResult]:
    return {
        name: Simulation(workers=5, seed=0).run(Workload.load(WORKLOADS / f"{name}.jsonl"))
        for name in ("steady", "burst", "outage", "multi_tenant")
    }


def test_files_are_what_the_script_makes() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "fixtures" / "make_workloads.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", ["steady", "burst", "outage", "multi_tenant"])
def test_each_file_declares_itself_and_finishes(
    name: str, results: dict[str, SimulationResult]
) -> None:
    workload = Workload.load(WORKLOADS / f"{name}.jsonl")
    assert workload.name == name and workload.description
    assert set(workload.job_types()) <= set(workload.behaviors)
    jobs = results[name].jobs
    assert len(jobs) == len(workload)
    assert jobs["status"].isin(["completed", "dead"]).all()


def test_steady_has_short_waits(results: dict[str, SimulationResult]) -> None:
    assert results["steady"].summary().loc[("all", "all"), "wait_p95_s"] < 5


def test_burst_keeps_urgent_work_moving(results: dict[str, SimulationResult]) -> None:
    summary = results["burst"].summary()
    assert summary.loc[("priority", "critical"), "wait_p95_s"] < 5
    assert summary.loc[("priority", "bulk"), "wait_p95_s"] > 120


def test_outage_makes_a_retry_storm(results: dict[str, SimulationResult]) -> None:
    attempts = results["outage"].attempts
    down = datetime(2026, 1, 1, 10, 0, tzinfo=UTC), datetime(2026, 1, 1, 10, 20, tzinfo=UTC)
    inside = attempts[(attempts["started_at"] >= down[0]) & (attempts["started_at"] < down[1])]
    emails = inside[inside["error_type"] == "ProviderUnavailable"]
    assert len(emails) > 100 and (emails["outcome"] == "retrying").all()
    depth = results["outage"].queue_depth.groupby("at")[["pending", "retrying"]].sum()
    assert depth["pending"].max() > 300  # the workers are tied up by timeouts


def test_multi_tenant_has_one_big_tenant(results: dict[str, SimulationResult]) -> None:
    counts = results["multi_tenant"].jobs["tenant_id"].value_counts()
    assert counts.index[0] == "bigco" and counts.iloc[0] > 0.8 * counts.sum()
    assert len(counts) == 6
