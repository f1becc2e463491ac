"""InMemoryBackend: the embedded default. Thread-safe; everything lives in this process.

Layout, per queue:
- ready jobs: one `ReadyLevel` per priority, where tenants take turns (fair scheduling,
  see ready_level.py; FIFO with `fair=False`);
- scheduled and retrying jobs: a heap ordered by `run_at` (O(log n));
- in flight: leases by job id (token, owner, expiry);
- the dead-letter queue: ids in order of death.
Per tenant: counters and jobs per status (`tenant_stats`).

Entries that leave a heap out of order (cancel, delete, save) are not searched for;
they are skipped when they reach the front (`ReadyLevel.live` / `_sched_seq`).
Every public method runs under one lock, so each is atomic, like a Redis script.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from jobkit.adapters.checks import (
    NEW_STATUSES,
    check_new_jobs,
    check_outcome,
    check_outcomes,
    refuse_running,
    tenant_groups,
)
from jobkit.adapters.ready_level import ReadyLevel
from jobkit.clock import SystemClock
from jobkit.core import lifecycle
from jobkit.core.errors import (
    DuplicateJobError,
    JobNotFoundError,
    LeaseLostError,
)
from jobkit.core.model import PRIORITIES, WAITING_STATUSES, Job, JobStatus, Priority
from jobkit.core.stats import (
    Stats,
    add_counts,
    empty_counters,
    transition_counts,
)
from jobkit.ports import Claim, Clock

_READY = JobStatus.PENDING
_T = TypeVar("_T")
_FORGETTABLE = frozenset({JobStatus.COMPLETED, JobStatus.CANCELLED})  # see keep_finished
#: (before, after status, reclaimed) -> counter increments (transition_counts, memoised:
#: it depends on nothing else, and _store runs for every move of every job)
_DELTAS: dict[tuple[JobStatus | None, JobStatus, bool], dict[str, int]] = {}


_LEASES: dict[float, timedelta] = {}
_RANK = {p: p.rank for p in PRIORITIES}  # a dict lookup, not a property call, per job


def _seconds(seconds: float) -> timedelta:
    """timedelta(seconds=...), remembered: lease lengths repeat on every claim."""
    found = _LEASES.get(seconds)
    if found is None:
        found = _LEASES[seconds] = timedelta(seconds=seconds)
    return found


class _Tally:
    """Counters and jobs per status (of one queue, or of one tenant)."""

    __slots__ = ("counters", "statuses")

    def __init__(self) -> None:
        self.counters = empty_counters()
        self.statuses: dict[JobStatus, int] = dict.fromkeys(JobStatus, 0)

    def stats(self) -> Stats:
        return Stats(dict(self.counters), {s.value: n for s, n in self.statuses.items()})


class _QueueIndex(_Tally):
    """The ready levels, the scheduled heap and the counters of one queue."""

    __slots__ = ("ready", "scheduled")

    def __init__(self) -> None:
        super().__init__()
        self.ready = [ReadyLevel() for _ in PRIORITIES]
        self.scheduled: list[tuple[datetime, int, str]] = []  # (run_at, seq, id)


class InMemoryBackend:
    """A complete JobBackend held in this process (see `jobkit.ports`).

    Args:
        clock: where `now` comes from when a method is called without one.
        max_reclaims: leases a job may lose before it goes dead as `WorkerLost`.
        history_size: how many finished attempts `history()` remembers.
        keep_finished: how many completed and cancelled jobs to keep (the newest);
            older ones are forgotten so a long-running process does not grow without
            bound. None (the default) keeps them all. Dead jobs are always kept.
        fair: within each priority, serve tenants in turns (True, the default) so one
            tenant's backlog cannot starve another's jobs; False serves each priority
            strictly first in, first out.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        max_reclaims: int = 3,
        history_size: int = 1000,
        keep_finished: int | None = None,
        fair: bool = True,
    ) -> None:
        if keep_finished is not None and (
            isinstance(keep_finished, bool)
            or not isinstance(keep_finished, int)
            or keep_finished < 0
        ):
            raise ValueError(f"keep_finished={keep_finished!r} must be None or an int >= 0")
        self.clock: Clock = clock or SystemClock()
        self.max_reclaims = max_reclaims
        self.keep_finished = keep_finished
        if not isinstance(fair, bool):
            raise ValueError(f"fair={fair!r} must be True or False")
        self.fair = fair
        self._lock = threading.RLock()
        self._work = threading.Condition(self._lock)
        self._waiting = 0  # threads inside wait_for_jobs (nobody to wake: skip notify)
        self._history_size = history_size
        self._tokens = itertools.count(1)
        self._reset()

    def _reset(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._queues: dict[str, _QueueIndex] = {}
        self._sched_seq: dict[str, int] = {}  # the live heap entry of each waiting job
        self._seq = itertools.count()
        # job id -> the claim holding its lease (token, owner, expiry), replaced on renewal
        self._leases: dict[str, Claim] = {}
        self._dead: dict[str, None] = {}  # insertion-ordered set
        self._counters = empty_counters()
        self._tenants: dict[str, _Tally] = {}
        self._history: deque[tuple[str, Job]] = deque(maxlen=self._history_size)
        self._finished: deque[str] = deque()  # completed/cancelled ids, oldest first

    # -- queue ---------------------------------------------------------------------

    def enqueue(self, job: Job) -> Job:
        """See JobQueue.enqueue."""
        with self._lock:
            stored = self._jobs.get(job.id)
            if stored is not None or job.status not in NEW_STATUSES:
                return self.enqueue_many([job])[0]  # the checks and errors live there
            self._index(job, index=self._store(job, None))
            self._wake()
            return job

    def enqueue_many(self, jobs: Sequence[Job]) -> list[Job]:
        """See JobQueue.enqueue_many: all or nothing."""
        with self._lock:
            check_new_jobs(jobs)
            existing = [job for job in jobs if job.id in self._jobs]
            if len(existing) == len(jobs) and all(self._jobs[j.id] == j for j in jobs):
                return list(jobs)  # a retried call (or empty): already stored exactly so
            if existing:
                raise DuplicateJobError(existing[0].id)
            for job in jobs:
                self._index(job, index=self._store(job, None))
            if jobs:
                self._wake()
            return list(jobs)

    def dequeue(
        self,
        queue: str,
        worker_id: str,
        *,
        lease_seconds: float = 30.0,
        now: datetime | None = None,
        tenants: Collection[str | None] | None = None,
    ) -> Claim | None:
        """See JobQueue.dequeue."""
        with self._lock:
            now = now or self.clock.now()
            index = self._queues.get(queue)
            if index is None:
                return None
            self._promote_queue(index, now)
            job_id = self._pop_ready(index, None if tenants is None else tenant_groups(tenants))
            if job_id is None:
                return None
            return self._claim(job_id, worker_id, now, now + _seconds(lease_seconds))

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
        """See JobQueue.dequeue_many."""
        with self._lock:
            now = now or self.clock.now()
            index = self._queues.get(queue)
            if index is None or count <= 0:
                return []
            self._promote_queue(index, now)
            expires = now + _seconds(lease_seconds)
            groups = tenant_groups(tenants)
            claims: list[Claim] = []
            while len(claims) < count and (job_id := self._pop_ready(index, groups)) is not None:
                claims.append(self._claim(job_id, worker_id, now, expires))
            return claims

    def _claim(self, job_id: str, worker_id: str, now: datetime, expires: datetime) -> Claim:
        """Start a job just taken off its ready deque and lease it to `worker_id` (lock held)."""
        running = lifecycle.start(self._jobs[job_id], now)
        # what _store does for this move, which bumps no counter (pending -> running)
        self._jobs[job_id] = running
        statuses = self._queues[running.queue].statuses
        statuses[_READY] -= 1
        statuses[JobStatus.RUNNING] += 1
        if running.tenant_id is not None:
            statuses = self._tenants[running.tenant_id].statuses
            statuses[_READY] -= 1
            statuses[JobStatus.RUNNING] += 1
        claim = Claim(running, f"{next(self._tokens):x}.{worker_id}", worker_id, expires)
        self._leases[job_id] = claim
        return claim

    def heartbeat(
        self, claim: Claim, *, lease_seconds: float = 30.0, now: datetime | None = None
    ) -> Claim:
        """See JobQueue.heartbeat."""
        with self._lock:
            self._held(claim)
            expires = (now or self.clock.now()) + timedelta(seconds=lease_seconds)
            renewed = self._leases[claim.job.id] = claim._replace(lease_expires_at=expires)
            return renewed

    def heartbeat_many(
        self, claims: Sequence[Claim], *, lease_seconds: float = 30.0, now: datetime | None = None
    ) -> list[Claim | None]:
        """See JobQueue.heartbeat_many."""
        with self._lock:
            return [
                self._try(self.heartbeat, c, lease_seconds=lease_seconds, now=now) for c in claims
            ]

    def ack(self, claim: Claim, outcome: Job, *, now: datetime | None = None) -> Job:
        """See JobQueue.ack."""
        with self._lock:
            self._held(claim)
            check_outcome(claim, outcome)
            return self._record(outcome)

    def ack_many(
        self, pairs: Sequence[tuple[Claim, Job]], *, now: datetime | None = None
    ) -> list[Job | None]:
        """See JobQueue.ack_many."""
        with self._lock:
            check_outcomes(pairs)
            stored: list[Job | None] = []
            for claim, outcome in pairs:
                held = self._try(self._held, claim)
                stored.append(None if held is None else self._record(outcome))
            return stored

    def _record(self, outcome: Job) -> Job:
        """Store the checked outcome of a held claim and drop its lease (lock held)."""
        del self._leases[outcome.id]
        index = self._store(outcome, JobStatus.RUNNING)
        if outcome.status is not JobStatus.COMPLETED:  # completed jobs sit in no index
            self._index(outcome, index=index)
            if outcome.status is JobStatus.RETRYING:
                self._wake()
        if self._history_size:
            self._history.append((outcome.job_type, outcome))
        return outcome

    def release(self, claims: Sequence[Claim], *, now: datetime | None = None) -> list[Job]:
        """See JobQueue.release."""
        with self._lock:
            now = now or self.clock.now()
            released = []
            for claim in claims:
                lease = self._leases.get(claim.job.id)
                if lease is None or lease.token != claim.token:
                    continue
                del self._leases[claim.job.id]
                job = lifecycle.release(self._jobs[claim.job.id], now)
                self._store(job, JobStatus.RUNNING)
                released.append(job)
            for job in reversed(released):
                self._index(job, front=True)
            if released:
                self._wake()
            return released

    def reclaim_abandoned(
        self, queue: str | None = None, *, now: datetime | None = None
    ) -> list[Job]:
        """See JobQueue.reclaim_abandoned."""
        with self._lock:
            now = now or self.clock.now()
            expired = [
                job_id
                for job_id, lease in self._leases.items()
                if lease.lease_expires_at <= now
                and (queue is None or self._jobs[job_id].queue == queue)
            ]
            reclaimed = []
            for job_id in expired:
                del self._leases[job_id]
                job = lifecycle.reclaim(self._jobs[job_id], now, self.max_reclaims)
                self._store(job, JobStatus.RUNNING, reclaimed=True)
                self._index(job, front=True)
                reclaimed.append(job)
            if reclaimed:
                self._wake()
            return reclaimed

    def promote_due(self, now: datetime | None = None, queue: str | None = None) -> int:
        """See JobQueue.promote_due."""
        with self._lock:
            now = now or self.clock.now()
            names = list(self._queues) if queue is None else [queue]
            moved = sum(
                self._promote_queue(self._queues[q], now) for q in names if q in self._queues
            )
            if moved:
                self._wake()
            return moved

    def next_due_at(self, queue: str | None = None) -> datetime | None:
        """See JobQueue.next_due_at."""
        with self._lock:
            names = list(self._queues) if queue is None else [queue]
            best: datetime | None = None
            for name in names:
                index = self._queues.get(name)
                if index is None:
                    continue
                self._drop_stale_scheduled(index)
                if index.scheduled:
                    due = index.scheduled[0][0]
                    best = due if best is None or due < best else best
            return best

    def peek(self, queue: str, limit: int = 10) -> list[Job]:
        """See JobQueue.peek."""
        with self._lock:
            index = self._queues.get(queue)
            if index is None:
                return []
            out: list[Job] = []
            for level in index.ready:
                if len(out) >= limit:
                    break
                out += (self._jobs[i] for i in level.ordered(limit - len(out)))
            return out

    def delete(self, job_id: str) -> bool:
        """See JobQueue.delete. A running job's lease goes too; its worker's ack is refused."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return False
            self._unindex(job)
            self._leases.pop(job_id, None)
            self._dead.pop(job_id, None)
            self._count_status(job, -1)
            del self._jobs[job_id]
            return True

    def cancel(self, job_id: str, *, now: datetime | None = None) -> Job:
        """See JobQueue.cancel."""
        with self._lock:
            job = self._require(job_id)
            cancelled = lifecycle.cancel(job, now or self.clock.now())
            self._unindex(job)
            self._store(cancelled, job.status)
            return cancelled

    def size(self, queue: str) -> int:
        """See JobQueue.size."""
        with self._lock:
            index = self._queues.get(queue)
            return 0 if index is None else sum(len(level) for level in index.ready)

    def sizes(self, queue: str) -> dict[Priority, int]:
        """See JobQueue.sizes."""
        with self._lock:
            index = self._queues.get(queue)
            counts = [0] * len(PRIORITIES) if index is None else map(len, index.ready)
            return dict(zip(PRIORITIES, counts, strict=True))

    def queues(self) -> list[str]:
        """See JobQueue.queues."""
        with self._lock:
            return sorted(self._queues)

    def wait_for_jobs(
        self,
        queues: Iterable[str] | None,
        timeout: float,
        *,
        tenants: Collection[str | None] | None = None,
    ) -> bool:
        """See JobQueue.wait_for_jobs. Woken by enqueue, promotion, retries and reclaims."""
        names = None if queues is None else list(queues)
        groups = tenant_groups(tenants)
        with self._work:
            if self._any_ready(names, groups):
                return True
            self._waiting += 1
            try:
                self._work.wait(timeout)
            finally:
                self._waiting -= 1
            return self._any_ready(names, groups)

    # -- store ---------------------------------------------------------------------

    def save(self, job: Job) -> Job:
        """See JobStore.save. Running jobs are refused: finish them with `ack`."""
        with self._lock:
            if job.status is JobStatus.RUNNING or job.id in self._leases:
                refuse_running()
            old = self._jobs.get(job.id)
            if old is not None:
                self._unindex(old)
                self._dead.pop(job.id, None)
            self._store(job, None if old is None else old.status, count=False)
            self._index(job)
            self._wake()
            return job

    def get(self, job_id: str) -> Job | None:
        """See JobStore.get."""
        return self._jobs.get(job_id)

    def find(
        self,
        *,
        status: JobStatus | str | None = None,
        job_type: str | None = None,
        queue: str | None = None,
        tenant_id: str | None = None,
        limit: int | None = 100,
    ) -> list[Job]:
        """See JobStore.find."""
        wanted = None if status is None else JobStatus.coerce(status)
        with self._lock:
            matches = (
                job
                for job in self._jobs.values()
                if (wanted is None or job.status is wanted)
                and (job_type is None or job.job_type == job_type)
                and (queue is None or job.queue == queue)
                and (tenant_id is None or job.tenant_id == tenant_id)
            )
            return list(itertools.islice(matches, limit))

    def dead_letters(
        self, limit: int | None = 100, *, queue: str | None = None, tenant_id: str | None = None
    ) -> list[Job]:
        """See JobStore.dead_letters."""
        with self._lock:
            jobs = (self._jobs[i] for i in self._dead)
            matches = (
                j
                for j in jobs
                if (queue is None or j.queue == queue)
                and (tenant_id is None or j.tenant_id == tenant_id)
            )
            return list(itertools.islice(matches, limit))

    def retry_dead(self, job_id: str, *, now: datetime | None = None) -> Job:
        """See JobStore.retry_dead."""
        with self._lock:
            job = self._require(job_id)
            revived = lifecycle.retry_dead(job, now or self.clock.now())
            self._dead.pop(job_id, None)
            self._index(revived, index=self._store(revived, job.status))
            self._wake()
            return revived

    # -- stats ---------------------------------------------------------------------

    def stats(self) -> Stats:
        """See JobStats.stats."""
        with self._lock:
            totals: dict[str, int] = {s.value: 0 for s in JobStatus}
            for index in self._queues.values():
                for status, n in index.statuses.items():
                    totals[status.value] += n
            return Stats(dict(self._counters), totals)

    def queue_stats(self, queue: str) -> Stats:
        """See JobStats.queue_stats."""
        with self._lock:
            return (self._queues.get(queue) or _Tally()).stats()

    def tenant_stats(self, tenant_id: str) -> Stats:
        """See JobStats.tenant_stats."""
        with self._lock:
            return (self._tenants.get(tenant_id) or _Tally()).stats()

    def tenants(self) -> list[str]:
        """See JobStats.tenants."""
        with self._lock:
            return sorted(self._tenants)

    def history(self, job_type: str | None = None, limit: int = 100) -> list[Job]:
        """See JobStats.history."""
        with self._lock:
            items = (job for t, job in reversed(self._history) if job_type is None or t == job_type)
            return list(itertools.islice(items, limit))

    # -- lifecycle of the backend ----------------------------------------------------

    def clear(self) -> None:
        """Forget every job, lease and counter."""
        with self._lock:
            self._reset()

    def close(self) -> None:
        """Nothing to release; present for the JobBackend contract."""

    def __len__(self) -> int:
        return len(self._jobs)

    def __repr__(self) -> str:
        return f"InMemoryBackend(jobs={len(self._jobs)}, clock={self.clock!r})"

    # -- internals (call with the lock held) -------------------------------------------

    def _wake(self) -> None:
        """Wake the threads waiting in wait_for_jobs, if any."""
        if self._waiting:
            self._work.notify_all()

    def _require(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFoundError(job_id)
        return job

    @staticmethod
    def _try(method: Callable[..., _T], *args: Any, **kwargs: Any) -> _T | None:
        """`method(...)`, or None if it raised LeaseLostError (batch calls)."""
        try:
            return method(*args, **kwargs)
        except LeaseLostError:
            return None

    def _held(self, claim: Claim) -> Claim:
        lease = self._leases.get(claim.job.id)
        if lease is None or lease.token != claim.token:
            self._bump(claim.job, {"lease_lost": 1})
            raise LeaseLostError(claim.job.id, claim.token)
        return lease

    def _index_for(self, queue: str) -> _QueueIndex:
        index = self._queues.get(queue)
        if index is None:
            index = self._queues[queue] = _QueueIndex()
        return index

    def _store(
        self, job: Job, before: JobStatus | None, *, count: bool = True, reclaimed: bool = False
    ) -> _QueueIndex:
        """Write `job`, keep status tallies, and bump the counters of the move; returns
        the job's queue index (for `_index`)."""
        job_id = job.id
        status = job.status
        old = self._jobs.get(job_id)
        index = self._index_for(job.queue)
        tenant_id = job.tenant_id
        tenant = None if tenant_id is None else self._tenant(tenant_id)
        if old is not None:
            home = index if old.queue == job.queue else self._index_for(old.queue)
            home.statuses[old.status] -= 1
            if old.tenant_id is not None:
                home_tenant = tenant if old.tenant_id == tenant_id else self._tenant(old.tenant_id)
                assert home_tenant is not None
                home_tenant.statuses[old.status] -= 1
        if status in _FORGETTABLE and self.keep_finished is not None:
            if self.keep_finished == 0:
                self._jobs.pop(job_id, None)  # nothing finished is kept: forget it at once
            else:
                self._keep(job, index, tenant)
                self._forget_oldest_finished(job_id)
        else:
            self._keep(job, index, tenant)
        if count:
            key = (before, status, reclaimed)
            delta = _DELTAS.get(key)
            if delta is None:
                delta = _DELTAS[key] = transition_counts(before, job, reclaimed=reclaimed)
            if delta:
                self._add_counts(delta, index, tenant)
        return index

    def _keep(self, job: Job, index: _QueueIndex, tenant: _Tally | None) -> None:
        """Hold `job` and count it in its status (lock held)."""
        self._jobs[job.id] = job
        index.statuses[job.status] += 1
        if tenant is not None:
            tenant.statuses[job.status] += 1

    def _tenant(self, tenant_id: str) -> _Tally:
        tally = self._tenants.get(tenant_id)
        if tally is None:
            tally = self._tenants[tenant_id] = _Tally()
        return tally

    def _forget_oldest_finished(self, job_id: str) -> None:
        """Record a newly finished job; drop the oldest finished ones past keep_finished."""
        assert self.keep_finished is not None
        self._finished.append(job_id)
        while len(self._finished) > self.keep_finished:
            old = self._jobs.get(self._finished.popleft())
            if old is not None and old.status in _FORGETTABLE:
                self._count_status(old, -1)
                del self._jobs[old.id]

    def _count_status(self, job: Job, delta: int) -> None:
        self._index_for(job.queue).statuses[job.status] += delta
        if job.tenant_id is not None:
            self._tenant(job.tenant_id).statuses[job.status] += delta

    def _bump(self, job: Job, delta: dict[str, int]) -> None:
        tenant = None if job.tenant_id is None else self._tenant(job.tenant_id)
        self._add_counts(delta, self._index_for(job.queue), tenant)

    def _add_counts(self, delta: dict[str, int], index: _QueueIndex, tenant: _Tally | None) -> None:
        """Add counter increments to the global counters, the queue's and the tenant's."""
        add_counts(self._counters, delta)
        add_counts(index.counters, delta)
        if tenant is not None:
            add_counts(tenant.counters, delta)

    def _index(self, job: Job, *, front: bool = False, index: _QueueIndex | None = None) -> None:
        """Put a stored job where its status says: ready, scheduled or dead letters
        (`index`: its queue's, when the caller has it at hand)."""
        if index is None:
            index = self._index_for(job.queue)
        if job.status is _READY:
            index.ready[_RANK[job.priority]].push(
                job.id, job.tenant_id or "", fair=self.fair, front=front
            )
        elif job.status in WAITING_STATUSES:
            seq = next(self._seq)
            self._sched_seq[job.id] = seq
            heapq.heappush(index.scheduled, (job.run_at, seq, job.id))
        elif job.status is JobStatus.DEAD:
            self._dead[job.id] = None

    def _unindex(self, job: Job) -> None:
        """Take a stored job out of the ready deque or scheduled heap it sits in."""
        index = self._index_for(job.queue)
        if job.status is _READY:
            index.ready[_RANK[job.priority]].remove(job.id)
        elif job.status in WAITING_STATUSES:
            self._sched_seq.pop(job.id, None)

    def _pop_ready(self, index: _QueueIndex, groups: frozenset[str] | None) -> str | None:
        """Take the next ready job id (strict priority, then tenants' turns; only of
        `groups`, if given), or None."""
        for level in index.ready:
            if level.live:
                job_id = level.pop(groups)
                if job_id is not None:
                    return job_id
        return None

    def _promote_queue(self, index: _QueueIndex, now: datetime) -> int:
        """Move the queue's scheduled/retrying jobs due at `now` to its ready deques."""
        heap = index.scheduled
        moved = 0
        while heap and heap[0][0] <= now:
            _, seq, job_id = heapq.heappop(heap)
            if self._sched_seq.get(job_id) != seq:
                continue
            del self._sched_seq[job_id]
            promoted = lifecycle.promote(self._jobs[job_id], now)
            self._index(promoted, index=self._store(promoted, None, count=False))
            moved += 1
        return moved

    def _drop_stale_scheduled(self, index: _QueueIndex) -> None:
        heap = index.scheduled
        while heap and self._sched_seq.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)

    def _any_ready(self, names: list[str] | None, groups: frozenset[str] | None) -> bool:
        indexes = (
            self._queues.values()
            if names is None
            else (self._queues[n] for n in names if n in self._queues)
        )
        return any(level.has(groups) for index in indexes for level in index.ready)
