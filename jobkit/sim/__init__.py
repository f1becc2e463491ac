"""Simulation: replay workloads through the real worker code on a fake clock.

>>> from jobkit import sim
>>> workload = sim.Workload.poisson(rate=4.0, count=200, priority=["high", "bulk"], seed=1)
>>> result = sim.Simulation(workers=3, seed=1).run(
...     workload, ) if False else None

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
