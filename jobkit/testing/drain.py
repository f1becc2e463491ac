"""Run jobs inside a test: `drain` a kit's queues, or `perform` one handler inline.

`drain` is the worker loop a test wants: it processes every ready job in the calling
thread and, when the queues are idle and the kit runs on a `FakeClock`, moves the clock
straight to the next scheduled job or retry — so the whole default retry timeline
(+0, +30 s, +5 min 30 s, +1 h 5 min 30 s, dead) plays in milliseconds. It never sleeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobkit import step
from jobkit.clock import FakeClock
from jobkit.core.errors import JobkitError, NoHandlerError
from jobkit.core.model import Job, JobError, JobStatus, json_object, json_roundtrip

if TYPE_CHECKING:
    from jobkit.kit import JobKit


class JobFailedError(JobkitError):
    """A job failed while a test ran it with `raise_errors=True` (or via `perform`) and
    there is no exception object to re-raise (the handler returned `Failure`, or had no
    handler)."""

    def __init__(self, job: Job, error: JobError) -> None:
        self.job = job
        self.error = error
        super().__init__(
            f"job {job.id!r} ({job.job_type}) failed on attempt {job.attempts}: "
            f"{error.type}: {error.message}"
        )


@dataclass(frozen=True)
class DrainResult:
    """What `drain` did: counts per outcome, and every attempt's stored job in order."""

    succeeded: int = 0  #: attempts that completed
    failed: int = 0  #: attempts that failed (retried or dead)
    retried: int = 0  #: failures that scheduled another attempt
    dead: int = 0  #: jobs that went to the dead-letter queue
    attempts: list[Job] = field(default_factory=list)  #: the stored job after each attempt
    started_at: datetime | None = None  #: the kit's clock when the drain began
    ended_at: datetime | None = None  #: ... and when it ended (later if the clock jumped)

    @property
    def processed(self) -> int:
        """Attempts run."""
        return self.succeeded + self.failed

    def __repr__(self) -> str:
        return (
            f"DrainResult(processed={self.processed}, succeeded={self.succeeded}, "
            f"failed={self.failed}, retried={self.retried}, dead={self.dead})"
        )


def drain(
    kit: JobKit,
    with_scheduled: bool | datetime = True,
    limit: int | None = None,
    raise_errors: bool = False,
    *,
    queues: list[str] | None = None,
) -> DrainResult:
    """Run every job of `kit` in this thread until nothing is left to run; returns counts.

    Args:
        with_scheduled: on a FakeClock, when nothing is ready, jump the clock to the next
            scheduled job or retry and go on (True); only up to that time (a datetime);
            or stop (False). On a real clock only jobs already due run: drain never sleeps.
        limit: stop after this many attempts (None: no limit; a job that enqueues
            itself forever would then never stop).
        raise_errors: re-raise a failing handler's exception at once (the attempt is
            recorded first, as a worker records it), instead of following the retry path.
        queues: the queues to serve, most important first (default: all).
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit={limit!r} must be None or an int >= 0")
    worker = kit.worker(worker_id="jobkit-drain", queues=queues)
    clock = kit.clock
    began = clock.now()
    counts = {"succeeded": 0, "failed": 0, "retried": 0, "dead": 0}
    attempts: list[Job] = []
    while limit is None or len(attempts) < limit:
        claim = worker.begin()
        if claim is None:
            if not _jump_to_next_due(kit, with_scheduled, queues):
                break
            continue
        outcome = worker.run_handler(claim)
        stored = worker.finish(claim, outcome)
        if stored is None:  # the lease was lost (cannot happen on a FakeClock that only jumps)
            continue
        attempts.append(stored)
        _count(counts, stored)
        if raise_errors and not outcome.ok:
            if outcome.exception is not None:
                raise outcome.exception
            assert stored.error is not None
            raise JobFailedError(stored, stored.error)
    return DrainResult(**counts, attempts=attempts, started_at=began, ended_at=clock.now())


def _jump_to_next_due(
    kit: JobKit, with_scheduled: bool | datetime, queues: list[str] | None
) -> bool:
    """Move a FakeClock to the next due job, if allowed; whether there is more to run."""
    if with_scheduled is False or not isinstance(kit.clock, FakeClock):
        return False
    names: list[str | None] = list(queues) if queues is not None else [None]
    due = [d for d in (kit.backend.next_due_at(q) for q in names) if d is not None]
    if not due:
        return False
    when = min(due)
    if isinstance(with_scheduled, datetime) and when > with_scheduled:
        return False
    if when > kit.clock.now():
        kit.clock.set(when)
    return True


def _count(counts: dict[str, int], stored: Job) -> None:
    if stored.status is JobStatus.COMPLETED:
        counts["succeeded"] += 1
        return
    counts["failed"] += 1
    if stored.status is JobStatus.RETRYING:
        counts["retried"] += 1
    elif stored.status is JobStatus.DEAD:
        counts["dead"] += 1


def perform(
    kit: JobKit, job_type: str, args: Mapping[str, Any] | None = None, **options: Any
) -> Any:
    """Run `job_type`'s handler once, inline, as a worker would, and return its result.

    The args make a JSON round trip first, and so does the result, so a test catches
    what production would refuse (InvalidJobError names the field). Inside the handler
    `jobkit.current_job()` is a running job built with `options` (queue, priority,
    tenant_id, ...). A raised exception propagates as is; a returned `Failure` raises
    JobFailedError; a job type without a handler raises NoHandlerError. Nothing is
    enqueued or stored.
    """
    from jobkit.core import lifecycle

    if kit.registry.spec(job_type) is None:
        raise NoHandlerError(job_type, tuple(kit.registry.job_types()))
    job = kit.build(job_type, json_object("args", args), **options)
    running = lifecycle.start(job, kit.clock.now())
    outcome = step.run(kit.registry, running)
    if outcome.ok:
        return json_roundtrip("result", outcome.result)
    if outcome.exception is not None:
        raise outcome.exception
    assert outcome.error is not None
    raise JobFailedError(running, outcome.error)
