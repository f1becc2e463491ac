"""The per-job step shared by worker threads, `run_until_idle` and the simulator.

    begin  : claim the most urgent ready job of the first queue that has one, at `now`
             (`begin_many`: a batch of them in one call)
    run    : call its handler (plain or async) inside the job's context
    finish : `settle` the outcome into complete / retry after the policy's delay / dead
             at `now`, and ack it to the backend in one atomic step (`ack_settled`:
             a batch of settled outcomes in one call)

Threads call begin → run → finish at once; the simulator calls `finish` at
`now + duration` in virtual time. Nothing here reads a clock: callers pass `now`.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import random
import threading
import traceback
from collections.abc import Awaitable, Callable, Collection, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from jobkit.core import lifecycle
from jobkit.core.errors import InvalidJobError, LeaseLostError, NoHandlerError
from jobkit.core.model import Job, JobError
from jobkit.core.retry import RetryPolicy
from jobkit.ports import Claim, JobBackend
from jobkit.registry import Registry
from jobkit.tenant import TENANT_VAR

log = logging.getLogger("jobkit.worker")

_current_job: ContextVar[Job | None] = ContextVar("jobkit_job", default=None)


def current_job() -> Job | None:
    """The job whose handler is running in this context, or None outside a handler."""
    return _current_job.get()


@dataclass(frozen=True, slots=True)
class Failure:
    """Return this from a handler to fail the attempt without raising.

    `retryable=False` sends the job straight to the dead-letter queue.
    """

    message: str
    type: str = "Failure"
    retryable: bool = True


class Outcome(NamedTuple):
    """What one handler call produced: a result, or an error.

    Immutable. A NamedTuple rather than a frozen dataclass: one is made per attempt,
    and a tuple is built about four times faster."""

    ok: bool
    result: Any = None
    error: JobError | None = None
    retryable: bool = True
    #: the exception the handler raised, for callers that re-raise it (`jobkit.testing`);
    #: never stored (the error is)
    exception: BaseException | None = None

    @classmethod
    def success(cls, result: Any) -> Outcome:
        """A successful attempt with `result`."""
        return cls(True, result)

    @classmethod
    def failure(
        cls, error: JobError, *, retryable: bool = True, exception: BaseException | None = None
    ) -> Outcome:
        """A failed attempt with `error` (and the exception that caused it, if any)."""
        return cls(False, error=error, retryable=retryable, exception=exception)


def begin(
    backend: JobBackend,
    queues: Sequence[str],
    worker_id: str,
    now: datetime,
    *,
    lease_seconds: float = 30.0,
    tenants: Collection[str | None] | None = None,
) -> Claim | None:
    """Claim one job from the first of `queues` that has a ready one, at `now` (only
    jobs of `tenants`, if given; None in it stands for jobs without a tenant)."""
    for queue in queues:
        claim = backend.dequeue(
            queue, worker_id, lease_seconds=lease_seconds, now=now, tenants=tenants
        )
        if claim is not None:
            return claim
    return None


def begin_many(
    backend: JobBackend,
    queues: Sequence[str],
    worker_id: str,
    now: datetime,
    count: int,
    *,
    lease_seconds: float = 30.0,
    tenants: Collection[str | None] | None = None,
) -> list[Claim]:
    """Claim up to `count` jobs, in one call, from the first of `queues` with ready jobs
    (only jobs of `tenants`, if given)."""
    for queue in queues:
        claims = backend.dequeue_many(
            queue, worker_id, count, lease_seconds=lease_seconds, now=now, tenants=tenants
        )
        if claims:
            return claims
    return []


#: Entered around each handler of a job with a tenant: tenant_id -> context manager
#: (e.g. `jobkit.tenant.postgres_search_path(...)`, switching the database schema).
TenantContext = Callable[[str], AbstractContextManager[Any]]


def run(registry: Registry, job: Job, tenant_context: TenantContext | None = None) -> Outcome:
    """Call the job's handler with its args inside the job's context (and, for a job with
    a tenant, inside `tenant_context(tenant_id)`); never raises for the handler's sake
    (only BaseExceptions such as KeyboardInterrupt pass). An error entering or leaving
    the tenant context is the attempt's failure, like the handler's own."""
    spec = registry.spec(job.job_type)
    if spec is None:
        err = NoHandlerError(job.job_type, tuple(registry.job_types()))
        return Outcome.failure(JobError(type(err).__name__, str(err)))
    job_token = _current_job.set(job)
    tenant_token = TENANT_VAR.set(job.tenant_id)
    try:
        if tenant_context is not None and job.tenant_id is not None:
            with tenant_context(job.tenant_id):
                value = _call(spec.fn, job)
        else:
            value = _call(spec.fn, job)
    except Exception as exc:
        error = JobError(type(exc).__name__, str(exc), traceback.format_exc())
        return Outcome.failure(error, exception=exc)
    finally:
        TENANT_VAR.reset(tenant_token)
        _current_job.reset(job_token)
    if isinstance(value, Failure):
        return Outcome.failure(JobError(value.type, value.message), retryable=value.retryable)
    return Outcome(True, value)


def _call(fn: Any, job: Job) -> Any:
    value = fn(dict(job.args))
    # `async def` handlers, or `async def __call__` (plain JSON values skip the check)
    if type(value) not in _PLAIN and inspect.isawaitable(value):
        value = _run_awaitable(value)
    return value


_PLAIN = frozenset({type(None), str, int, float, bool, dict, list})


def settle(
    claim: Claim,
    outcome: Outcome,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random | None = None,
) -> Job:
    """The claimed job after `outcome` at `now`: completed, retrying after `policy`'s
    delay, or dead. Pure: nothing is stored (see `finish`, `ack_settled`)."""
    job = claim.job
    if outcome.ok:
        try:
            return lifecycle.complete(job, outcome.result, now)
        except InvalidJobError as exc:  # a result that is not JSON
            return lifecycle.fail(job, JobError(type(exc).__name__, str(exc)), now, policy, rng)
    assert outcome.error is not None
    return lifecycle.fail(job, outcome.error, now, policy, rng, retryable=outcome.retryable)


def finish(
    backend: JobBackend,
    claim: Claim,
    outcome: Outcome,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random | None = None,
) -> Job | None:
    """Record `outcome` for `claim` at `now` (see `settle`), then ack. Returns the stored
    job, or None if the lease was lost (the backend refused the outcome; the job's new
    owner decides it)."""
    final = settle(claim, outcome, now, policy, rng)
    try:
        return backend.ack(claim, final, now=now)
    except LeaseLostError as exc:
        log.warning("outcome of job %s refused: %s", claim.job.id, exc)
        return None


def ack_settled(
    backend: JobBackend, settled: Sequence[tuple[Claim, Job]], now: datetime
) -> list[Job | None]:
    """Ack many settled outcomes in one call; None where the lease was lost (refused)."""
    stored = backend.ack_many(settled, now=now)
    for (claim, _), job in zip(settled, stored, strict=True):
        if job is None:
            log.warning(
                "outcome of job %s refused: the lease of token %s is no longer held",
                claim.job.id,
                claim.token,
            )
    return stored


def policy_for(registry: Registry, job: Job, default: RetryPolicy) -> RetryPolicy:
    """The retry policy of the job's handler registration, else `default`."""
    spec = registry.spec(job.job_type)
    return spec.retry_policy if spec is not None and spec.retry_policy is not None else default


def _run_awaitable(awaitable: Awaitable[Any]) -> Any:
    """Run an async handler's awaitable to completion from synchronous code.

    Inside a thread that already runs an event loop (a Jupyter cell), it runs on a
    fresh loop in a helper thread, with this context copied."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(awaitable))
    box: dict[str, Any] = {}
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            box["value"] = ctx.run(asyncio.run, _awaited(awaitable))
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    helper = threading.Thread(target=target, name="jobkit-async-handler")
    helper.start()
    helper.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
