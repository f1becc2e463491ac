"""The ports every backend, registry, worker and clock implements (typing.Protocol).

They mirror the seed's IJobQueue, IJobStore, IJobStats, IJobRegistry and IJobWorker.
A backend is one object that is a JobQueue, a JobStore and a JobStats at once
(`JobBackend`). Methods that take `now=None` use the backend's own clock then.

Reliable delivery: `dequeue` hands out a `Claim` — the job, already `running`, plus a
lease token and expiry. The job stays in flight until `ack` records its outcome
(completed, retrying or dead) in one atomic step. A claim whose lease expired is
returned to the queue by `reclaim_abandoned`; its old owner's `ack` and `heartbeat`
then raise LeaseLostError, so it can never overwrite the new owner's result.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

from jobkit.core.model import Job, JobStatus, Priority
from jobkit.core.stats import Stats


@runtime_checkable
class Clock(Protocol):
    """Where time comes from."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` (a fake clock advances instead)."""
        ...


class Claim(NamedTuple):
    """A job handed to one worker: the running job, its lease token and lease expiry.

    Immutable. A NamedTuple rather than a frozen dataclass: one is made per claimed job
    and per renewal, and a tuple is built about four times faster."""

    job: Job
    token: str
    worker_id: str
    lease_expires_at: datetime


@runtime_checkable
class JobQueue(Protocol):
    """Ready jobs by queue and priority, scheduled jobs by time, leases for jobs in flight."""

    def enqueue(self, job: Job) -> Job:
        """Store a new pending or scheduled job and make it ready or scheduled.

        Raises DuplicateJobError if the id exists, InvalidJobError for a job in
        another status. Enqueueing a job that is stored exactly so, untouched since, is
        a no-op, so a call retried after a lost reply is safe. Returns the stored job."""
        ...

    def enqueue_many(self, jobs: Sequence[Job]) -> list[Job]:
        """Enqueue all jobs or none: every job is checked before any is stored (a batch
        that is entirely stored exactly so already is a no-op, as for `enqueue`)."""
        ...

    def dequeue(
        self,
        queue: str,
        worker_id: str,
        *,
        lease_seconds: float = 30.0,
        now: datetime | None = None,
        tenants: Collection[str | None] | None = None,
    ) -> Claim | None:
        """Claim the most urgent ready job of `queue`: strict priority; within a
        priority, tenants take turns (one job each per round, jobs without a tenant
        being one more group; rounds in arrival order) when the backend is fair (the
        default), else first in, first out. Only jobs of `tenants` (None in it: jobs
        without a tenant), if given.

        Due scheduled/retrying jobs of the queue are promoted first. The job is
        started (`running`, `started_at=now`) and leased to `worker_id` until
        `now + lease_seconds`. None when nothing is ready."""
        ...

    def dequeue_many(
        self,
        queue: str,
        worker_id: str,
        count: int,
        *,
        lease_seconds: float = 30.0,
        now: datetime | None = None,
        tenants: Collection[str | None] | None = None,
    ) -> list[Claim]:
        """Claim up to `count` ready jobs at once, in the order `dequeue` would."""
        ...

    def heartbeat(
        self, claim: Claim, *, lease_seconds: float = 30.0, now: datetime | None = None
    ) -> Claim:
        """Extend a held lease to `now + lease_seconds`; LeaseLostError if not held."""
        ...

    def heartbeat_many(
        self, claims: Sequence[Claim], *, lease_seconds: float = 30.0, now: datetime | None = None
    ) -> list[Claim | None]:
        """`heartbeat` for many claims in one call; None where the lease is not held."""
        ...

    def ack(self, claim: Claim, outcome: Job, *, now: datetime | None = None) -> Job:
        """Record the outcome of a claimed job and release its lease, atomically.

        `outcome` is the claimed job after `complete` or `fail` (status completed,
        retrying or dead). Retrying jobs are scheduled at their `run_at`; dead ones go
        to the dead-letter queue; counters are bumped. LeaseLostError (and a
        `lease_lost` count) if the lease is no longer held by this claim."""
        ...

    def ack_many(
        self, pairs: Sequence[tuple[Claim, Job]], *, now: datetime | None = None
    ) -> list[Job | None]:
        """`ack` for many (claim, outcome) pairs in one call. Every outcome is checked
        first (InvalidJobError: nothing recorded); then each is recorded only if its own
        lease is held — None (refused, counted as `lease_lost`) where it is not."""
        ...

    def release(self, claims: Sequence[Claim], *, now: datetime | None = None) -> list[Job]:
        """Give back claimed jobs whose handler never ran (a stopping worker's prefetched
        batch): each goes to the front of its ready list as pending, in the given order,
        with nothing counted (`lifecycle.release`). Claims whose lease is no longer held
        are skipped. Returns the released jobs as stored."""
        ...

    def reclaim_abandoned(
        self, queue: str | None = None, *, now: datetime | None = None
    ) -> list[Job]:
        """Return jobs whose lease expired (`lease_expires_at <= now`) to the front of
        their priority (or, past the reclaim limit, to the dead-letter queue as
        `WorkerLost`); the jobs as stored."""
        ...

    def promote_due(self, now: datetime | None = None, queue: str | None = None) -> int:
        """Move scheduled/retrying jobs with `run_at <= now` to ready; how many moved."""
        ...

    def next_due_at(self, queue: str | None = None) -> datetime | None:
        """The earliest `run_at` of a scheduled/retrying job, or None if there is none."""
        ...

    def peek(self, queue: str, limit: int = 10) -> list[Job]:
        """The next ready jobs of `queue` in dequeue order, without claiming them."""
        ...

    def delete(self, job_id: str) -> bool:
        """Remove a job from every index and from storage; False if it did not exist."""
        ...

    def cancel(self, job_id: str, *, now: datetime | None = None) -> Job:
        """Cancel a pending, scheduled or retrying job (InvalidTransitionError otherwise)."""
        ...

    def size(self, queue: str) -> int:
        """How many jobs of `queue` are ready now (due scheduled jobs count once
        promoted: by `promote_due` or the next `dequeue`)."""
        ...

    def sizes(self, queue: str) -> dict[Priority, int]:
        """Ready jobs of `queue` per priority; every priority is present."""
        ...

    def queues(self) -> list[str]:
        """Names of every queue that holds or held a job, sorted."""
        ...

    def wait_for_jobs(
        self,
        queues: Iterable[str] | None,
        timeout: float,
        *,
        tenants: Collection[str | None] | None = None,
    ) -> bool:
        """Block up to `timeout` real seconds until a job (of `tenants`, if given) may
        be ready in `queues` (None: any queue). True if one is ready, or was made ready
        while waiting (another worker may have claimed it since: dequeue to know);
        may return early."""
        ...


@runtime_checkable
class JobStore(Protocol):
    """Job records: look-up, search, the dead-letter queue."""

    def save(self, job: Job) -> Job:
        """Write a job record as given and index it by its status (not for running jobs:
        those are finished with `ack`)."""
        ...

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        ...

    def find(
        self,
        *,
        status: JobStatus | str | None = None,
        job_type: str | None = None,
        queue: str | None = None,
        tenant_id: str | None = None,
        limit: int | None = 100,
    ) -> list[Job]:
        """Jobs matching every given filter, oldest first, at most `limit` (None: all)."""
        ...

    def dead_letters(
        self, limit: int | None = 100, *, queue: str | None = None, tenant_id: str | None = None
    ) -> list[Job]:
        """Jobs in the dead-letter queue, oldest death first."""
        ...

    def retry_dead(self, job_id: str, *, now: datetime | None = None) -> Job:
        """Put a dead job back as pending with its retry count reset."""
        ...


@runtime_checkable
class JobStats(Protocol):
    """Counters and recent history."""

    def stats(self) -> Stats:
        """Global counters and jobs per status."""
        ...

    def queue_stats(self, queue: str) -> Stats:
        """Counters and jobs per status of one queue."""
        ...

    def tenant_stats(self, tenant_id: str) -> Stats:
        """Counters and jobs per status of one tenant, over every queue."""
        ...

    def tenants(self) -> list[str]:
        """Every tenant that had a job, sorted."""
        ...

    def history(self, job_type: str | None = None, limit: int = 100) -> list[Job]:
        """The job as stored after each recent attempt a worker finished (completed,
        retrying or dead), newest first; reclaims are not attempts and are not listed."""
        ...


@runtime_checkable
class JobBackend(JobQueue, JobStore, JobStats, Protocol):
    """Everything a worker and the facade need from storage."""

    def clear(self) -> None:
        """Delete every job, lease and counter of this backend."""
        ...

    def close(self) -> None:
        """Release connections; the backend is not used afterwards."""
        ...


Handler = Callable[[dict[str, Any]], Any]


@runtime_checkable
class JobRegistry(Protocol):
    """Job type -> handler."""

    def register(self, job_type: str, fn: Handler, **options: Any) -> Handler:
        """Register `fn` for `job_type`; returns `fn`."""
        ...

    def get(self, job_type: str) -> Handler | None:
        """The handler for `job_type`, or None."""
        ...

    def job_types(self) -> list[str]:
        """Every registered job type, sorted."""
        ...


@runtime_checkable
class JobWorker(Protocol):
    """Something that takes jobs and runs them."""

    def run_once(self) -> bool:
        """Process at most one job; True if one was processed."""
        ...

    def run_until_idle(self, max_jobs: int | None = None) -> int:
        """Process ready jobs until none is left; how many were processed."""
        ...

    def start(self) -> None:
        """Begin processing in the background."""
        ...

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the job in hand; returns when the background work has ended."""
        ...
