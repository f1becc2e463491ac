"""Input checks every backend makes before it writes anything (so errors are the same
on every backend, and a refused call leaves no trace)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import NoReturn

from jobkit.core.errors import DuplicateJobError, InvalidJobError
from jobkit.core.model import Job, JobStatus, validate_name
from jobkit.ports import Claim

#: what enqueue accepts
NEW_STATUSES = frozenset({JobStatus.PENDING, JobStatus.SCHEDULED})
#: what ack accepts
OUTCOME_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.RETRYING, JobStatus.DEAD})


def check_new_jobs(jobs: Sequence[Job]) -> None:
    """Every job is pending or scheduled and no id appears twice in the batch."""
    seen: set[str] = set()
    for job in jobs:
        if job.status not in NEW_STATUSES:
            raise InvalidJobError(
                "status", job.status.value, "a new job must be pending or scheduled"
            )
        if job.id in seen:
            raise DuplicateJobError(job.id)
        seen.add(job.id)


def check_outcomes(pairs: Iterable[tuple[Claim, Job]]) -> None:
    """Each outcome is its claimed job, same queue and priority, in an outcome status."""
    for claim, outcome in pairs:
        check_outcome(claim, outcome)


def check_outcome(claim: Claim, outcome: Job) -> None:
    """The outcome is the claimed job, same queue and priority, in an outcome status."""
    claimed = claim.job
    if (
        outcome.id != claimed.id
        or outcome.status not in OUTCOME_STATUSES
        or outcome.queue != claimed.queue
        or outcome.priority is not claimed.priority
    ):
        raise InvalidJobError(
            "outcome",
            f"{outcome.id}:{outcome.queue}:{outcome.priority.value}:{outcome.status.value}",
            f"must be job {claimed.id!r} of queue {claimed.queue!r} and priority "
            f"{claimed.priority.value!r}, in status completed, retrying or dead",
        )


def refuse_running() -> NoReturn:
    """save() never writes a running job (or over one): running jobs end with ack()."""
    raise InvalidJobError("status", "running", "running jobs are finished with ack(), not save()")


def tenant_groups(tenants: Collection[str | None] | None) -> frozenset[str] | None:
    """The ready groups a tenant restriction allows ("" = jobs without a tenant), or
    None for no restriction. Raises InvalidJobError for a malformed tenant id, and for
    a bare string (one tenant id would otherwise be read as its characters)."""
    if tenants is None:
        return None
    if isinstance(tenants, str):
        raise InvalidJobError(
            "tenants", tenants, "must be a collection of tenant ids, e.g. [tenant_id]"
        )
    return frozenset("" if t is None else validate_name("tenant_id", t) for t in tenants)
