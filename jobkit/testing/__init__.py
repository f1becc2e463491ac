"""Testing jobs with jobkit: helpers for test suites (the pytest plugin's fixtures are in
`jobkit.testing.plugin`, loaded automatically when jobkit is installed).

    from jobkit.testing import assert_enqueued, drain, perform

- `drain(kit)`: run every job now, jumping a FakeClock through scheduled jobs and retries;
- `perform(kit, job_type, args)`: run one handler inline (args and result JSON-checked);
- `assert_enqueued` / `assert_not_enqueued` / `all_enqueued`: what code under test enqueued;
- `jobkit.testing.strategies`: Hypothesis strategies (jobs, workloads, retry policies).

Importing this package imports no pandas, ipywidgets, redis or hypothesis.
"""

from jobkit.testing.assertions import (
    ENQUEUED_STATUSES,
    all_enqueued,
    assert_enqueued,
    assert_not_enqueued,
)
from jobkit.testing.drain import DrainResult, JobFailedError, drain, perform

__all__ = [
    "ENQUEUED_STATUSES",
    "DrainResult",
    "JobFailedError",
    "all_enqueued",
    "assert_enqueued",
    "assert_not_enqueued",
    "drain",
    "perform",
]
