"""Simulation: replay workloads through the real worker code on a fake clock.

>>> from jobkit import sim
>>> workload = sim.Workload.poisson(4.0, count=200, job_type="email", priority=["high", "bulk"])
>>> behaviors = {"email": sim.Behavior(duration=sim.exponential(1.0), failure=sim.rate(0.1))}
>>> result = sim.Simulation(workers=3, seed=1, behaviors=behaviors).run(workload)
>>> len(result.jobs), int(result.stats.loc["global", "enqueued"])
(200, 200)

See DESIGN.md §6: `Workload` (records, JSON Lines, CSV, `poisson` / `burst` /
`diurnal`), `Behavior` per job type (durations and failure models), `Simulation`
(N virtual workers on any backend) and `SimulationResult` (typed DataFrames).
"""

from jobkit.sim.behavior import (
    AttemptInfo,
    Behavior,
    Duration,
    FailureModel,
    any_of,
    behavior_from_dict,
    behaviors_from_dict,
    constant,
    empirical,
    exponential,
    first_attempts,
    lognormal,
    never,
    rate,
    uniform,
    when,
    window,
)
from jobkit.sim.engine import Progress, Simulation
from jobkit.sim.result import SimulationResult, compare
from jobkit.sim.workload import ARRIVAL_FIELDS, Arrival, Workload

__all__ = [
    "ARRIVAL_FIELDS",
    "Arrival",
    "AttemptInfo",
    "Behavior",
    "Duration",
    "FailureModel",
    "Progress",
    "Simulation",
    "SimulationResult",
    "Workload",
    "any_of",
    "behavior_from_dict",
    "behaviors_from_dict",
    "compare",
    "constant",
    "empirical",
    "exponential",
    "first_attempts",
    "lognormal",
    "never",
    "rate",
    "uniform",
    "when",
    "window",
]
