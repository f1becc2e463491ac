"""Worker (one loop) and WorkerPool (N workers on threads).

A Worker drives `jobkit.step` — begin → run → finish — either inline
(`run_once`, `run_until_idle`: single-threaded and deterministic, for tests and
notebooks) or on a background thread (`start` / `stop`), where a companion thread
renews the lease of the job in hand every `heartbeat_interval` seconds. Before it
claims, every loop reclaims expired leases at most once per heartbeat interval.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

from jobkit import step
from jobkit.clock import SystemClock
from jobkit.core.errors import JobkitError
from jobkit.core.model import Job, JobStatus, validate_name
from jobkit.core.retry import RetryPolicy
from jobkit.ports import Claim, Clock, JobBackend
from jobkit.registry import Registry

log = logging.getLogger("jobkit.worker")

_T = TypeVar("_T")
_ACK_ATTEMPTS = 7  # about 3 s of backoff in all, well inside a lease

_worker_numbers = itertools.count(1)
#: claims between re-reads of the backend's queue list by a worker serving all queues
#: (a new queue is served within this many claims; an empty claim re-reads at once)
_QUEUE_REFRESH = 100


def _tenant_list(tenants: Collection[str | None] | None) -> list[str | None] | None:
    """A worker's `tenants` checked: a collection of tenant ids (or None for jobs without
    a tenant), not a bare string and not empty."""
    if tenants is None:
        return None
    if isinstance(tenants, str):  # one tenant id, not its characters
        tenants = [tenants]
    checked = [None if t is None else validate_name("tenant_id", t) for t in tenants]
    if not checked:
        raise ValueError("tenants=[] serves nothing; pass tenant ids, or None for every tenant")
    return checked


def default_worker_id() -> str:
    """`host:pid:n`, unique per worker in this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{next(_worker_numbers)}"


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    """A snapshot of one worker."""

    worker_id: str
    running: bool
    processed: int
    succeeded: int
    failed: int
    current_job_id: str | None


class Worker:
    """Takes jobs from a backend and runs their handlers.

    Args:
        backend: where jobs come from.
        registry: job type -> handler.
        queues: queues to serve, most important first (strict order). None serves
            every queue the backend knows, starting from a different one each time so
            none starves.
        clock: source of `now` (default: the backend's clock, else the system clock).
        retry_policy: delays between attempts (handlers may register their own).
        visibility_timeout: seconds a claimed job stays leased without a heartbeat.
        heartbeat_interval: seconds between lease renewals and between reclaim passes.
        poll_interval: longest real wait between checks when idle in the background.
        rng: source of retry jitter (seed it for reproducible runs).
        batch_size: jobs claimed per call and acknowledged per call. 1 (the default)
            claims one job at a time. Larger batches save round trips to a remote
            backend (for many short jobs); every claimed job stays leased, and its lease
            renewed, until its batch is acknowledged; a stopping worker gives back the
            jobs of its batch it has not started (`release`).
        tenant_context: `tenant_id -> context manager`, entered around the handler of
            each job that has a tenant (e.g. `jobkit.tenant.postgres_search_path(...)`
            to run it in the tenant's database schema); jobs without one run as they are.
        tenants: serve only these tenants' jobs (None in it: jobs without a tenant);
            None (the default) serves every job. A restricted worker never claims
            another tenant's job (dedicated workers for a large tenant, say).
    """

    def __init__(
        self,
        backend: JobBackend,
        registry: Registry,
        *,
        queues: Sequence[str] | None = None,
        clock: Clock | None = None,
        retry_policy: RetryPolicy | None = None,
        worker_id: str | None = None,
        visibility_timeout: float = 30.0,
        heartbeat_interval: float = 10.0,
        poll_interval: float = 0.5,
        rng: random.Random | None = None,
        batch_size: int = 1,
        tenant_context: step.TenantContext | None = None,
        tenants: Collection[str | None] | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} must be an int >= 1")
        for name, value in (
            ("visibility_timeout", visibility_timeout),
            ("heartbeat_interval", heartbeat_interval),
            ("poll_interval", poll_interval),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(f"{name}={value!r} must be a finite number of seconds > 0")
        if heartbeat_interval >= visibility_timeout:
            raise ValueError(
                f"heartbeat_interval={heartbeat_interval} must be shorter than "
                f"visibility_timeout={visibility_timeout}, or leases expire between heartbeats"
            )
        self.backend = backend
        self.registry = registry
        if isinstance(queues, str):  # one queue name, not its characters
            queues = [queues]
        self.queues = None if queues is None else [validate_name("queue", q) for q in queues]
        if self.queues == []:
            raise ValueError("queues=[] serves nothing; pass queue names, or None for all queues")
        self.clock: Clock = clock or getattr(backend, "clock", None) or SystemClock()
        self.retry_policy = retry_policy or RetryPolicy.default()
        self.worker_id = worker_id or default_worker_id()
        self.visibility_timeout = visibility_timeout
        self.heartbeat_interval = heartbeat_interval
        self.poll_interval = poll_interval
        self.rng = rng or random.Random()
        self.batch_size = batch_size
        self.tenant_context = tenant_context
        self.tenants = _tenant_list(tenants)
        self._rotation = 0
        self._known_queues: list[str] | None = None  # the backend's queues, re-read now and then
        self._queue_uses = 0
        # the last reclaim pass and when the next is due (never yet: due at once)
        self._last_reclaim = datetime.max.replace(tzinfo=UTC)
        self._next_reclaim = datetime.min.replace(tzinfo=UTC)
        self._current: Claim | None = None  # the job whose handler is running
        self._held: dict[str, Claim] = {}  # token -> every claim not yet acked
        self._current_lock = threading.Lock()  # guards `_held` against the heartbeat thread
        # held by the heartbeat thread while it renews, and by the worker while it lets
        # go of claims, so a renewal never races the ack (a spurious lease_lost)
        self._lease_lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.processed = self.succeeded = self.failed = 0

    # -- the step, in two halves ------------------------------------------------------

    def begin(self, now: datetime | None = None) -> Claim | None:
        """Reclaim expired leases if due, then claim the next job at `now`."""
        now = now or self.clock.now()
        if not self._last_reclaim <= now < self._next_reclaim:
            self._reclaim(now)
        claim = step.begin(
            self.backend,
            self._queue_order(),
            self.worker_id,
            now,
            lease_seconds=self.visibility_timeout,
            tenants=self.tenants,
        )
        if claim is not None:
            self._hold((claim,))
        else:
            self._known_queues = None
        return claim

    def begin_many(self, count: int, now: datetime | None = None) -> list[Claim]:
        """Reclaim expired leases if due, then claim up to `count` jobs in one call."""
        now = now or self.clock.now()
        if not self._last_reclaim <= now < self._next_reclaim:
            self._reclaim(now)
        claims = step.begin_many(
            self.backend,
            self._queue_order(),
            self.worker_id,
            now,
            count,
            lease_seconds=self.visibility_timeout,
            tenants=self.tenants,
        )
        self._hold(claims)
        if not claims:
            self._known_queues = None
        return claims

    def settle(self, claim: Claim, outcome: step.Outcome, now: datetime | None = None) -> Job:
        """The claimed job after `outcome` at `now` (retry per policy, or dead); pure."""
        policy = step.policy_for(self.registry, claim.job, self.retry_policy)
        return step.settle(claim, outcome, now or self.clock.now(), policy, self.rng)

    def finish(
        self, claim: Claim, outcome: step.Outcome, now: datetime | None = None
    ) -> Job | None:
        """Record `outcome` at `now` (retry per policy, or dead) and ack; see step.finish."""
        now = now or self.clock.now()
        policy = step.policy_for(self.registry, claim.job, self.retry_policy)
        self._let_go((claim,))
        job = self._acking(step.finish, self.backend, claim, outcome, now, policy, self.rng)
        self._count((job,))
        return job

    def finish_many(
        self, settled: Sequence[tuple[Claim, Job]], now: datetime | None = None
    ) -> list[Job | None]:
        """Ack settled outcomes in one call (None where the lease was lost)."""
        self._let_go([claim for claim, _ in settled])
        at = now or self.clock.now()
        stored = self._acking(step.ack_settled, self.backend, settled, at)
        self._count(stored)
        return stored

    def _acking(self, send: Callable[..., _T], *args: Any) -> _T:
        """`send(*args)` (an ack), retried with backoff when the backend fails (a dropped
        connection): an outcome never recorded would make a finished job run again once
        its lease expires. Repeating an ack is safe: the lease token fences it."""
        try:
            return send(*args)
        except JobkitError:
            raise
        except Exception as exc:
            return self._ack_again(send, args, exc)

    def _ack_again(self, send: Callable[..., _T], args: tuple[Any, ...], error: Exception) -> _T:
        """Attempts 2.. of `_acking` after `error`, with backoff between them."""
        delay = 0.05
        for attempt in range(2, _ACK_ATTEMPTS + 1):
            log.warning(
                "worker %s: ack failed (%s: %s); retrying in %.2fs",
                self.worker_id,
                type(error).__name__,
                error,
                delay,
            )
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
            try:
                return send(*args)
            except JobkitError:
                raise
            except Exception as exc:
                if attempt == _ACK_ATTEMPTS:
                    raise
                error = exc
        raise AssertionError("unreachable")  # pragma: no cover

    def process(self, claim: Claim) -> Job | None:
        """Run a claimed job's handler and finish it now; the stored job (None if the
        lease was lost meanwhile)."""
        return self.finish(claim, self.run_handler(claim))

    def run_handler(self, claim: Claim) -> step.Outcome:
        """Run a claimed job's handler (the job in hand meanwhile); its outcome, never raising
        for the handler's sake. `finish` records it."""
        self._current = claim  # one reference, written and read whole: no lock needed
        try:
            outcome = step.run(self.registry, claim.job, self.tenant_context)
        finally:
            self._current = None
        if not outcome.ok and outcome.error is not None:
            log.info(
                "job %s (%s) failed: %s: %s",
                claim.job.id,
                claim.job.job_type,
                outcome.error.type,
                outcome.error.message,
            )
        return outcome

    # -- driving it -------------------------------------------------------------------

    def run_once(self) -> bool:
        """Process at most one ready job; True if one was processed."""
        claim = self.begin()
        if claim is None:
            return False
        self.process(claim)
        return True

    def run_batch(self, max_jobs: int | None = None) -> int:
        """Claim up to `batch_size` jobs (at most `max_jobs`) in one call, run them one
        after another, and acknowledge them together in one call; how many ran.
        If a stop is requested mid-batch, the jobs not started are given back."""
        count = self.batch_size if max_jobs is None else min(self.batch_size, max_jobs)
        claims = self.begin_many(count) if count > 0 else []
        settled: list[tuple[Claim, Job]] = []
        try:
            for claim in claims:
                if settled and self._stopping.is_set():
                    break
                outcome = self.run_handler(claim)
                settled.append((claim, self.settle(claim, outcome)))
        finally:
            try:
                if settled:
                    self.finish_many(settled)
            finally:
                unstarted = claims[len(settled) :]
                if unstarted:
                    self._let_go(unstarted)
                    self.backend.release(unstarted)
        return len(settled)

    def run_until_idle(self, max_jobs: int | None = None) -> int:
        """Process ready jobs in this thread until none is ready (or `max_jobs` were
        processed); returns how many. Scheduled jobs wait for their time: move a
        FakeClock forward to make them due. With `batch_size` > 1, in batches."""
        count = 0
        while max_jobs is None or count < max_jobs:
            if self.batch_size > 1:
                done = self.run_batch(None if max_jobs is None else max_jobs - count)
                if not done:
                    break
                count += done
            elif self.run_once():
                count += 1
            else:
                break
        return count

    def start(self) -> None:
        """Process jobs on a background thread until `stop()`."""
        if self.running:
            return
        self._stopping.clear()
        self._threads = [
            threading.Thread(
                target=self._loop, name=f"jobkit-worker-{self.worker_id}", daemon=True
            ),
            threading.Thread(
                target=self._heartbeats, name=f"jobkit-heartbeat-{self.worker_id}", daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()

    def request_stop(self) -> None:
        """Ask the background loop to stop after the job in hand; returns at once."""
        self._stopping.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the job in hand and wait up to `timeout` seconds for it."""
        self.request_stop()
        self.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the background threads to end (after `request_stop`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)

    @property
    def running(self) -> bool:
        """Whether the background loop is alive."""
        return any(t.is_alive() for t in self._threads)

    def status(self) -> WorkerStatus:
        """Counts and the job in hand."""
        in_hand = self._current
        current = in_hand.job.id if in_hand is not None else None
        return WorkerStatus(
            self.worker_id, self.running, self.processed, self.succeeded, self.failed, current
        )

    def __repr__(self) -> str:
        tenants = "" if self.tenants is None else f", tenants={self.tenants!r}"
        return (
            f"Worker({self.worker_id!r}, queues={self.queues!r}{tenants}, "
            f"processed={self.processed})"
        )

    # -- internals --------------------------------------------------------------------

    def _queue_order(self) -> list[str]:
        if self.queues is not None:
            return self.queues
        names = self._known_queues
        if names is None or self._queue_uses >= _QUEUE_REFRESH:
            names = self._known_queues = self.backend.queues()
            self._queue_uses = 0
        self._queue_uses += 1
        if len(names) < 2:  # nothing to rotate
            return names
        self._rotation = (self._rotation + 1) % len(names)
        return names[self._rotation :] + names[: self._rotation]

    def _reclaim(self, now: datetime) -> None:
        """Hand back expired leases (callers do it at most once per heartbeat interval,
        or at once when the clock was set back)."""
        self._last_reclaim = now
        self._next_reclaim = now + timedelta(seconds=self.heartbeat_interval)
        scopes: list[str | None] = list(self.queues) if self.queues is not None else [None]
        for queue in scopes:
            for job in self.backend.reclaim_abandoned(queue, now=now):
                log.warning(
                    "reclaimed job %s (%s): its lease expired; now %s",
                    job.id,
                    job.job_type,
                    job.status.value,
                )

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.run_batch() if self.batch_size > 1 else self.run_once():
                    continue
                self.backend.wait_for_jobs(self.queues, self.poll_interval, tenants=self.tenants)
            except Exception:  # a backend hiccup must not kill the worker
                log.exception(
                    "worker %s: error in loop; retrying in %ss", self.worker_id, self.poll_interval
                )
                self._stopping.wait(self.poll_interval)

    def _heartbeats(self) -> None:
        loop = self._threads[0]
        while True:
            loop.join(self.heartbeat_interval)  # wakes early when the loop ends
            if not loop.is_alive():
                return
            with self._lease_lock:
                self._renew_lease()

    def _renew_lease(self) -> None:
        """Extend the lease of every claim not yet acked (call with `_lease_lock` held)."""
        with self._current_lock:
            claims = list(self._held.values())
        if not claims:
            return
        try:
            renewed = self.backend.heartbeat_many(claims, lease_seconds=self.visibility_timeout)
        except Exception:
            log.exception("worker %s: heartbeat failed", self.worker_id)
            return
        with self._current_lock:
            for old, new in zip(claims, renewed, strict=True):
                if new is None:
                    log.warning("worker %s lost the lease on job %s", self.worker_id, old.job.id)
                elif old.token in self._held:
                    self._held[old.token] = new

    # `_held` is for the heartbeat thread alone. A worker that never started its threads
    # (run_once, run_until_idle, the simulator, which renews leases itself) keeps nothing.

    def _hold(self, claims: Sequence[Claim]) -> None:
        if not self._threads:
            return
        with self._current_lock:
            for claim in claims:
                self._held[claim.token] = claim

    def _let_go(self, claims: Sequence[Claim]) -> None:
        if not self._threads:
            return
        with self._lease_lock, self._current_lock:
            for claim in claims:
                self._held.pop(claim.token, None)

    def _count(self, stored: Sequence[Job | None]) -> None:
        for job in stored:
            if job is None:  # refused: the job's new owner will count it
                continue
            self.processed += 1
            if job.status is JobStatus.COMPLETED:
                self.succeeded += 1
            else:
                self.failed += 1


class WorkerPool:
    """`worker_count` Workers on background threads, sharing one backend and registry.

    Use as a context manager, or `start()` / `stop()`. `stop()` is graceful: each
    worker finishes the job in hand, then its thread ends.
    """

    def __init__(
        self,
        backend: JobBackend,
        registry: Registry,
        *,
        worker_count: int = 5,
        poll_interval: float = 0.5,
        queues: Sequence[str] | None = None,
        name: str | None = None,
        **worker_options: object,
    ) -> None:
        if isinstance(worker_count, bool) or not isinstance(worker_count, int) or worker_count < 1:
            raise ValueError(f"worker_count={worker_count!r} must be an int >= 1")
        base = name or default_worker_id()
        self.backend = backend
        self.workers = [
            Worker(
                backend,
                registry,
                queues=queues,
                worker_id=f"{base}/{i}",
                poll_interval=poll_interval,
                **worker_options,  # type: ignore[arg-type]
            )
            for i in range(worker_count)
        ]

    def start(self) -> WorkerPool:
        """Start every worker's thread; returns the pool."""
        for worker in self.workers:
            worker.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Ask every worker to stop, then wait (up to `timeout` in all) for them."""
        for worker in self.workers:
            worker.request_stop()
        deadline = None if timeout is None else time.monotonic() + timeout
        for worker in self.workers:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            worker.join(remaining)

    def wait_until_idle(self, timeout: float | None = None, *, interval: float = 0.01) -> bool:
        """Block until no job of the pool's queues is pending or running (scheduled ones
        may remain); False if `timeout` seconds passed first. A pool restricted to
        tenants (none of them None) waits for those tenants' jobs only."""
        deadline = None if timeout is None else time.monotonic() + timeout
        queues, tenants = self.workers[0].queues, self.workers[0].tenants
        while True:
            if tenants is not None and None not in tenants:
                snapshots = [self.backend.tenant_stats(t).statuses for t in tenants if t]
            elif queues is None:
                snapshots = [self.backend.stats().statuses]
            else:
                snapshots = [self.backend.queue_stats(q).statuses for q in queues]
            if all(s.get("pending", 0) == 0 and s.get("running", 0) == 0 for s in snapshots):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(interval)

    @property
    def running(self) -> bool:
        """Whether any worker thread is alive."""
        return any(w.running for w in self.workers)

    @property
    def processed(self) -> int:
        """Jobs processed by all workers so far."""
        return sum(w.processed for w in self.workers)

    def status(self) -> list[WorkerStatus]:
        """One snapshot per worker."""
        return [w.status() for w in self.workers]

    def __enter__(self) -> WorkerPool:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"WorkerPool(workers={len(self.workers)}, running={self.running}, "
            f"processed={self.processed})"
        )
