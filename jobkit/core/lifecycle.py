"""The job state machine as pure functions `(job, ..., now) -> Job`.

```
              promote (due)                 start               complete
 scheduled ───────────────▶ pending ────────────────▶ running ──────────▶ completed
 retrying  ───────────────▶   ▲  ▲                      │ │
     ▲                        │  └─ reclaim / release ──┘ │ fail, retries left
     └────────────────────────┼───────────────────────────┘
                  retry_dead  │            fail, none left / reclaim limit
 dead ◀───────────────────────┴──────────────────────────────── (from running)
 pending | scheduled | retrying ──cancel──▶ cancelled
```

Every function checks the source status and raises InvalidTransitionError for a
move the machine does not allow; none of them reads a clock or touches storage.
"""

from __future__ import annotations

import random
from datetime import datetime

from jobkit.core.errors import InvalidTransitionError
from jobkit.core.model import Job, JobError, JobStatus, evolved, json_roundtrip
from jobkit.core.retry import RetryPolicy

P, S, R, C, RT, D, X = (
    JobStatus.PENDING,
    JobStatus.SCHEDULED,
    JobStatus.RUNNING,
    JobStatus.COMPLETED,
    JobStatus.RETRYING,
    JobStatus.DEAD,
    JobStatus.CANCELLED,
)

#: action -> statuses it may start from
ALLOWED_FROM: dict[str, frozenset[JobStatus]] = {
    "start": frozenset({P}),
    "complete": frozenset({R}),
    "fail": frozenset({R}),
    "reclaim": frozenset({R}),
    "release": frozenset({R}),
    "promote": frozenset({S, RT}),
    "cancel": frozenset({P, S, RT}),
    "retry_dead": frozenset({D}),
}

#: Error type recorded when a job's worker vanished more often than allowed.
WORKER_LOST = "WorkerLost"


def start(job: Job, now: datetime) -> Job:
    """A running copy of a pending job: `started_at` = now, result and finish cleared."""
    if job.status is not P:  # the one allowed source, checked inline (hot path)
        _check(job, "start")
    return evolved(
        job,
        {"status": R, "started_at": now, "finished_at": None, "result": None, "updated_at": now},
    )


def complete(job: Job, result: object, now: datetime) -> Job:
    """A completed copy of a running job holding `result` (must be JSON)."""
    if job.status is not R:  # the one allowed source, checked inline (hot path)
        _check(job, "complete")
    return evolved(
        job,
        {
            "status": C,
            "result": result if result is None else json_roundtrip("result", result),
            "error": None,
            "finished_at": now,
            "updated_at": now,
        },
    )


def fail(
    job: Job,
    error: JobError,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random | None = None,
    *,
    retryable: bool = True,
) -> Job:
    """The copy of a running job after a failed attempt.

    With retries left (`retry_count < max_retries`) and `retryable`, the job is
    `retrying` with `retry_count + 1` and `run_at = now + policy.delay(retry_count + 1)`.
    Otherwise it is `dead`. The error is kept either way.
    """
    if job.status is not R:  # the one allowed source, checked inline (hot path)
        _check(job, "fail")
    if will_retry(job, retryable=retryable):
        n = job.retry_count + 1
        return evolved(
            job,
            {
                "status": RT,
                "retry_count": n,
                "run_at": now + policy.delay(n, rng),
                "error": error,
                "result": None,
                "finished_at": now,
                "updated_at": now,
            },
        )
    return evolved(
        job, {"status": D, "error": error, "result": None, "finished_at": now, "updated_at": now}
    )


def will_retry(job: Job, *, retryable: bool = True) -> bool:
    """Whether failing this running job now would schedule a retry (not dead)."""
    return retryable and job.retry_count < job.max_retries


def reclaim(job: Job, now: datetime, max_reclaims: int) -> Job:
    """A running job whose worker lost its lease: back to pending, or dead with type
    `WorkerLost` once it has been reclaimed more than `max_reclaims` times."""
    _check(job, "reclaim")
    count = job.reclaim_count + 1
    if count > max_reclaims:
        err = JobError(
            WORKER_LOST,
            f"the worker running this job was lost {count} times (limit {max_reclaims}); "
            "the job may crash its worker. Inspect it, then retry_dead() it.",
        )
        return evolved(
            job,
            {
                "status": D,
                "reclaim_count": count,
                "error": err,
                "finished_at": now,
                "updated_at": now,
            },
        )
    return evolved(job, {"status": P, "reclaim_count": count, "run_at": now, "updated_at": now})


def release(job: Job, now: datetime) -> Job:
    """A claimed job whose handler never ran goes back to pending (a worker stopping
    with a prefetched batch): no attempt used, nothing counted, `started_at` cleared."""
    _check(job, "release")
    return evolved(job, {"status": P, "started_at": None, "updated_at": now})


def promote(job: Job, now: datetime) -> Job:
    """A scheduled or retrying job whose time has come becomes pending."""
    _check(job, "promote")
    return evolved(job, {"status": P, "updated_at": now})


def cancel(job: Job, now: datetime) -> Job:
    """A job that has not started (pending, scheduled or retrying) becomes cancelled."""
    _check(job, "cancel")
    return evolved(job, {"status": X, "finished_at": now, "updated_at": now})


def retry_dead(job: Job, now: datetime) -> Job:
    """A dead job goes back to pending with `retry_count` and `reclaim_count` reset.

    The last error is kept for reference until the next attempt finishes.
    """
    _check(job, "retry_dead")
    return evolved(
        job, {"status": P, "retry_count": 0, "reclaim_count": 0, "run_at": now, "updated_at": now}
    )


def is_due(job: Job, now: datetime) -> bool:
    """Whether a scheduled or retrying job may run at `now`."""
    return job.run_at <= now


def _check(job: Job, action: str) -> None:
    allowed = ALLOWED_FROM[action]
    if job.status not in allowed:
        raise InvalidTransitionError(
            job.id, action, job.status.value, tuple(sorted(s.value for s in allowed))
        )
