"""jobkit: background jobs that behave the same in production, notebooks and tests.

The public API; see DESIGN.md §9 and README.md.
"""

from jobkit.adapters.memory import InMemoryBackend
from jobkit.clock import FakeClock, SystemClock
from jobkit.core.model import PRIORITIES, Job, JobError, JobStatus, Priority
from jobkit.core.retry import RetryPolicy
from jobkit.core.stats import COUNTERS, Stats
from jobkit.errors import (
    DuplicateHandlerError,
    DuplicateJobError,
    InvalidJobError,
    InvalidPolicyError,
    InvalidTransitionError,
    InvalidUrlError,
    JobkitError,
    JobNotFoundError,
    LeaseLostError,
    NoHandlerError,
)
from jobkit.kit import JobKit, connect, create_job
from jobkit.ports import Claim
from jobkit.registry import Registry
from jobkit.step import Failure, current_job
from jobkit.tenant import current_tenant, tenant_scope
from jobkit.worker import Worker, WorkerPool

__version__ = "0.1.0"

__all__ = [
    "COUNTERS",
    "PRIORITIES",
    "Claim",
    "DuplicateHandlerError",
    "DuplicateJobError",
    "Failure",
    "FakeClock",
    "InMemoryBackend",
    "InvalidJobError",
    "InvalidPolicyError",
    "InvalidTransitionError",
    "InvalidUrlError",
    "Job",
    "JobError",
    "JobKit",
    "JobNotFoundError",
    "JobStatus",
    "JobkitError",
    "LeaseLostError",
    "NoHandlerError",
    "Priority",
    "Registry",
    "RetryPolicy",
    "Stats",
    "SystemClock",
    "Worker",
    "WorkerPool",
    "__version__",
    "connect",
    "create_job",
    "current_job",
    "current_tenant",
    "tenant_scope",
]
