"""Fair scheduling across tenants, shown with the simulator on the multi_tenant fixture
(one big tenant's 2,700-job batch and five small tenants' steady trickle, 5 workers).

The bound: with fairness on (the default) every small tenant's p95 wait stays under
5 s (measured: 0.5-0.8 s); with it off, the small tenants wait behind the batch
(measured: 433-495 s). The figures are in fixtures/README.md and bench/README.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jobkit.sim import Simulation, SimulationResult, Workload

WORKLOAD = Path(__file__).resolve().parents[2] / "fixtures" / "workloads" / "multi_tenant.jsonl"
SMALL = ["acme", "globex", "initech", "umbrella", "hooli"]
SMALL_P95_BOUND_S = 5.0


@pytest.fixture(scope="module")
def runs() -> dict[str, SimulationResult]:
    workload = Workload.load(WORKLOAD)
    return {
        "fair": Simulation(workers=5, seed=0).run(workload),
        "fifo": Simulation(workers=5, seed=0, fair=False).run(workload),
    }


def p95_wait(result: SimulationResult, tenant: str) -> float:
    return float(result.summary().loc[("tenant", tenant), "wait_p95_s"])


@pytest.mark.parametrize("tenant", SMALL)
def test_with_fairness_small_tenants_wait_seconds(runs, tenant) -> None:
    assert p95_wait(runs["fair"], tenant) < SMALL_P95_BOUND_S


@pytest.mark.parametrize("tenant", SMALL)
def test_without_it_they_wait_behind_the_batch(runs, tenant) -> None:
    assert p95_wait(runs["fifo"], tenant) > 300


def test_fairness_is_on_by_default() -> None:
    assert Simulation().fair is True


def test_the_big_tenant_pays_little_and_no_work_is_lost(runs) -> None:
    fair, fifo = runs["fair"], runs["fifo"]
    assert (fair.jobs["status"] == "completed").all() and (fifo.jobs["status"] == "completed").all()
    # the same work in the same time: turns only change who waits
    last = fair.jobs["finished_at"].max() - fifo.jobs["finished_at"].max()
    assert abs(last.total_seconds()) < 30
    assert p95_wait(fair, "bigco") < 1.1 * p95_wait(fifo, "bigco")


def test_fair_runs_are_deterministic_and_equal_on_fakeredis() -> None:
    workload = Workload.load(WORKLOAD)  # until 09:07: the batch has arrived, contention
    memory = Simulation(workers=5, seed=3).run(workload, until=420)
    again = Simulation(workers=5, seed=3).run(workload, until=420)
    redis = Simulation(workers=5, seed=3, backend="fakeredis://").run(workload, until=420)
    for name in ("jobs", "attempts", "queue_depth"):
        assert getattr(memory, name).equals(getattr(again, name))
        assert getattr(memory, name).equals(getattr(redis, name)), name
