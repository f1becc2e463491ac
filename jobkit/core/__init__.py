"""jobkit's pure core: the job model, its state machine, retry policies and counters.

Nothing here performs I/O, reads a clock or uses global randomness; callers pass
`now` and, for jitter, a `random.Random`.
"""

from jobkit.core.errors import InvalidJobError, InvalidPolicyError, InvalidTransitionError
from jobkit.core.model import PRIORITIES, Job, JobError, JobStatus, Priority, build_job
from jobkit.core.retry import RetryPolicy
from jobkit.core.stats import COUNTERS, Stats

__all__ = [
    "COUNTERS",
    "PRIORITIES",
    "InvalidJobError",
    "InvalidPolicyError",
    "InvalidTransitionError",
    "Job",
    "JobError",
    "JobStatus",
    "Priority",
    "RetryPolicy",
    "Stats",
    "build_job",
]
