"""A Hypothesis state machine of a JobBackend against a small pure-Python model.

`make_machine(backend_factory)` returns a `unittest.TestCase` class that drives a fresh
backend (made by `backend_factory(FakeClock())`) through random sequences of
enqueue, dequeue, heartbeat, ack (complete / fail), stale acks, clock moves,
promote_due, reclaim_abandoned, retry_dead, cancel and delete, and after every step
checks that the backend agrees with the model on:

- ready jobs per queue and priority (`size`, `sizes`) and the next dequeue order (`peek`);
- every job's status, retry and reclaim counts, priority, queue and due time;
- the dead-letter set (oldest death first);
- the jobs in flight, `next_due_at`, status tallies and every counter, globally and per queue;
- no job is ever lost (`find` sees exactly the model's jobs) or held by two claims
  (a claim the model considers stale is always refused).

Where the ports leave an order open, the model does too: jobs that become ready in one
call with the same `run_at` (promotion), or together (one `reclaim_abandoned` call),
form a *group* whose members may be served in any order among themselves.
Lease lengths are half seconds and clock moves whole seconds, so no check depends on
whether a lease expiring exactly `now` counts as expired.

Only the port API is used, so the same machine runs on every backend
(`tests/adapters/test_stateful.py`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from jobkit.clock import FakeClock
from jobkit.core import lifecycle
from jobkit.core.errors import InvalidTransitionError, LeaseLostError
from jobkit.core.lifecycle import RT, C, D, P, R, S, X
from jobkit.core.model import PRIORITIES, Job, JobError, JobStatus, Priority, build_job
from jobkit.core.retry import RetryPolicy
from jobkit.core.stats import COUNTERS
from jobkit.ports import Claim, JobBackend

BackendFactory = Callable[[FakeClock], JobBackend]

QUEUES = ("alpha", "beta")
LEASES = (10.5, 95.5)  # never a whole number of seconds: see the module docstring
ADVANCES = (1, 10, 30, 61, 300, 3600)
DELAYS = (1, 30, 90, 400)
POLICY = RetryPolicy.default()
MAX_RECLAIMS = 3  # the backends' default
BOOM = JobError("Boom", "the handler failed")

WAITING = (S, RT)
CANCELLABLE = (P, S, RT)

DEFAULT_SETTINGS = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass
class ModelJob:
    id: str
    queue: str
    priority: Priority
    status: JobStatus
    max_retries: int
    run_at: datetime
    retry_count: int = 0
    reclaim_count: int = 0
    token: str | None = None  # the live lease, if running
    lease_expires_at: datetime | None = None


class Model:
    """What a correct backend holds, in plain Python."""

    def __init__(self) -> None:
        self.jobs: dict[str, ModelJob] = {}
        # queue -> priority rank -> groups, in dequeue order; members of one group
        # may be served in any order among themselves.
        self.ready: dict[str, list[list[set[str]]]] = {q: [[] for _ in PRIORITIES] for q in QUEUES}
        self.dead: list[str] = []
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.queue_counters: dict[str, dict[str, int]] = {
            q: dict.fromkeys(COUNTERS, 0) for q in QUEUES
        }

    def bump(self, queue: str, **counts: int) -> None:
        for name, n in counts.items():
            self.counters[name] += n
            self.queue_counters[queue][name] += n

    # -- ready groups ---------------------------------------------------------------

    def append(self, queue: str, rank: int, members: set[str]) -> None:
        if members:
            self.ready[queue][rank].append(set(members))

    def prepend(self, queue: str, rank: int, members: set[str]) -> None:
        if members:
            self.ready[queue][rank].insert(0, set(members))

    def unready(self, job: ModelJob) -> None:
        groups = self.ready[job.queue][job.priority.rank]
        for group in groups:
            if job.id in group:
                group.discard(job.id)
                if not group:
                    groups.remove(group)
                return
        raise AssertionError(f"model: {job.id} is not ready")

    def head(self, queue: str) -> set[str] | None:
        for groups in self.ready[queue]:
            if groups:
                return groups[0]
        return None

    def sizes(self, queue: str) -> dict[Priority, int]:
        return {
            p: sum(len(g) for g in groups)
            for p, groups in zip(PRIORITIES, self.ready[queue], strict=True)
        }

    # -- moves ------------------------------------------------------------------------

    def promote(self, queue: str, now: datetime) -> int:
        due = sorted(
            (
                j
                for j in self.jobs.values()
                if j.queue == queue and j.status in WAITING and j.run_at <= now
            ),
            key=lambda j: j.run_at,
        )
        for _, same_time in itertools.groupby(due, key=lambda j: j.run_at):
            batch = list(same_time)
            for rank in range(len(PRIORITIES)):
                self.append(queue, rank, {j.id for j in batch if j.priority.rank == rank})
        for job in due:
            job.status = P
        return len(due)

    def remove(self, job_id: str) -> None:
        job = self.jobs.pop(job_id)
        if job.status is P:
            self.ready[job.queue][job.priority.rank] = [
                g - {job_id} for g in self.ready[job.queue][job.priority.rank] if g - {job_id}
            ]
        if job.status is D:
            self.dead.remove(job_id)


class BackendMachine(RuleBasedStateMachine):
    """One backend, one model, one fake clock; see the module docstring."""

    backend_factory: ClassVar[Callable[[FakeClock], JobBackend]]

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.backend = type(self).backend_factory(self.clock)
        self.model = Model()
        self.claims: list[Claim] = []  # every claim ever handed out, live or stale
        self.serial = itertools.count(1)
        self.deleted: list[str] = []  # ids that may be reused
        self.workers = itertools.count(1)

    def teardown(self) -> None:
        try:
            self.backend.clear()
        finally:
            self.backend.close()

    # -- helpers ----------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def live(self, claim: Claim) -> bool:
        job = self.model.jobs.get(claim.job.id)
        return job is not None and job.status is R and job.token == claim.token

    def _held_ids(self) -> set[str]:
        return {j.id for j in self.model.jobs.values() if j.status is R}

    def live_claims(self) -> list[Claim]:
        return [c for c in self.claims if self.live(c)]

    def stale_claims(self) -> list[Claim]:
        return [c for c in self.claims if not self.live(c)]

    def _add(self, job: Job) -> None:
        self.model.jobs[job.id] = ModelJob(
            job.id, job.queue, job.priority, job.status, job.max_retries, job.run_at
        )
        if job.status is P:
            self.model.append(job.queue, job.priority.rank, {job.id})
        self.model.bump(job.queue, enqueued=1)

    def _new_job(self, data: st.DataObject) -> Job:
        reuse = bool(self.deleted) and data.draw(st.booleans(), label="reuse a deleted id")
        job_id = self.deleted.pop() if reuse else f"j{next(self.serial)}"
        delay = data.draw(st.one_of(st.none(), st.sampled_from(DELAYS)), label="delay")
        now = self.now()
        return build_job(
            "task",
            {"n": job_id},
            id=job_id,
            now=now,
            queue=data.draw(st.sampled_from(QUEUES), label="queue"),
            priority=data.draw(st.sampled_from(PRIORITIES), label="priority"),
            max_retries=data.draw(st.integers(0, 2), label="max_retries"),
            run_at=None if delay is None else now + timedelta(seconds=delay),
        )

    # -- rules --------------------------------------------------------------------------

    @initialize(data=st.data(), n=st.integers(0, 4))
    def seed(self, data: st.DataObject, n: int) -> None:
        for _ in range(n):
            self.enqueue(data, 0)

    @rule(data=st.data(), n=st.integers(0, 3))
    def enqueue(self, data: st.DataObject, n: int) -> None:
        """n=0: one job with `enqueue`; n>0: a batch of n with `enqueue_many`."""
        jobs = [self._new_job(data) for _ in range(max(n, 1))]  # ids are distinct
        if n == 0:
            assert self.backend.enqueue(jobs[0]) == jobs[0]
        else:
            assert self.backend.enqueue_many(jobs) == jobs
        for job in jobs:
            self._add(job)

    @rule(
        queue=st.sampled_from(QUEUES),
        lease=st.sampled_from(LEASES),
        count=st.integers(0, 3),
        reclaim_first=st.booleans(),
    )
    def dequeue(self, queue: str, lease: float, count: int, reclaim_first: bool) -> None:
        """count=0: `dequeue`; count>0: `dequeue_many(count)`. With `reclaim_first`, a
        worker loop's `reclaim_abandoned(queue)` runs before (DESIGN §5)."""
        if reclaim_first:
            self.reclaim_abandoned(queue)
        now = self.now()
        self.model.promote(queue, now)
        worker = f"w{next(self.workers)}"
        if count == 0:
            one = self.backend.dequeue(queue, worker, lease_seconds=lease)
            claims = [] if one is None else [one]
        else:
            claims = self.backend.dequeue_many(queue, worker, count, lease_seconds=lease)
        wanted = min(max(count, 1), sum(self.model.sizes(queue).values()))
        assert len(claims) == wanted, f"dequeue({queue!r}, {count}) gave {len(claims)} claims"
        for claim in claims:
            self._check_claim(claim, queue, worker, lease, now)

    def _check_claim(
        self, claim: Claim, queue: str, worker: str, lease: float, now: datetime
    ) -> None:
        head = self.model.head(queue)
        assert head is not None
        job = self.model.jobs.get(claim.job.id)
        assert claim.job.id in head, f"dequeue({queue!r}) gave {claim.job.id}, not one of {head}"
        assert job is not None
        self.model.unready(job)
        assert claim.job.status is R
        assert claim.job.started_at == now
        assert claim.job.queue == queue
        assert claim.job.retry_count == job.retry_count
        assert claim.job.reclaim_count == job.reclaim_count
        assert claim.worker_id == worker
        assert claim.lease_expires_at == now + timedelta(seconds=lease)
        assert all(c.token != claim.token for c in self.claims), "a lease token was reused"
        job.status = R
        job.token = claim.token
        job.lease_expires_at = claim.lease_expires_at
        self.claims.append(claim)

    @precondition(lambda self: self.claims)
    @rule(
        data=st.data(),
        kind=st.sampled_from(("complete", "fail", "heartbeat", "stale")),
        lease=st.sampled_from(LEASES),
    )
    def finish(self, data: st.DataObject, kind: str, lease: float) -> None:
        """A worker acks (complete / fail) or heartbeats a claim it holds, or a worker
        that lost its lease tries to ack ("stale", or whenever no claim is live)."""
        live, stale = self.live_claims(), self.stale_claims()
        if not live or (kind == "stale" and stale):
            # Most telling: an old owner whose job another worker now holds.
            usurped = [c for c in stale if c.job.id in self._held_ids()]
            pool = usurped if usurped and data.draw(st.booleans(), label="usurped") else stale
            claim = data.draw(st.sampled_from(pool), label="stale claim")
            self._ack_stale(claim, complete=data.draw(st.booleans(), label="complete"))
            return
        claim = data.draw(st.sampled_from(live), label="claim")
        if kind == "heartbeat":
            self._heartbeat(claim, lease)
        elif kind == "fail":
            self._ack_fail(claim)
        else:
            self._ack_complete(claim)

    def _heartbeat(self, claim: Claim, lease: float) -> None:
        renewed = self.backend.heartbeat(claim, lease_seconds=lease)
        assert renewed.token == claim.token
        assert renewed.lease_expires_at == self.now() + timedelta(seconds=lease)
        self.model.jobs[claim.job.id].lease_expires_at = renewed.lease_expires_at

    def _ack_complete(self, claim: Claim) -> None:
        outcome = lifecycle.complete(claim.job, {"ok": claim.job.id}, self.now())
        assert self.backend.ack(claim, outcome) == outcome
        job = self.model.jobs[claim.job.id]
        job.status, job.token, job.lease_expires_at = C, None, None
        self.model.bump(job.queue, processed=1, succeeded=1)

    def _ack_fail(self, claim: Claim) -> None:
        job = self.model.jobs[claim.job.id]
        outcome = lifecycle.fail(claim.job, BOOM, self.now(), POLICY)
        assert self.backend.ack(claim, outcome) == outcome
        job.token, job.lease_expires_at = None, None
        if job.retry_count < job.max_retries:
            assert outcome.status is RT
            job.status = RT
            job.retry_count += 1
            job.run_at = self.now() + POLICY.delay(job.retry_count)
            assert outcome.run_at == job.run_at
            self.model.bump(job.queue, processed=1, failed=1, retried=1)
        else:
            assert outcome.status is D
            job.status = D
            self.model.dead.append(job.id)
            self.model.bump(job.queue, processed=1, failed=1, dead=1)

    def _ack_stale(self, claim: Claim, *, complete: bool) -> None:
        """A worker that lost its lease (reclaimed, acked, deleted) must be refused."""
        now = self.now()
        outcome = (
            lifecycle.complete(claim.job, "late", now)
            if complete
            else lifecycle.fail(claim.job, BOOM, now, POLICY)
        )
        try:
            self.backend.ack(claim, outcome)
        except LeaseLostError:
            pass
        else:
            raise AssertionError(f"a stale claim on {claim.job.id} was allowed to ack")
        self.model.bump(claim.job.queue, lease_lost=1)

    @rule(seconds=st.sampled_from(ADVANCES))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule(queue=st.sampled_from((None, *QUEUES)))
    def promote_due(self, queue: str | None) -> None:
        now = self.now()
        names = QUEUES if queue is None else (queue,)
        expected = sum(self.model.promote(q, now) for q in names)
        assert self.backend.promote_due(queue=queue) == expected

    @rule(queue=st.sampled_from((None, *QUEUES)))
    def reclaim_abandoned(self, queue: str | None) -> None:
        now = self.now()
        expired = {
            j.id: j
            for j in self.model.jobs.values()
            if j.status is R
            and j.lease_expires_at is not None
            and j.lease_expires_at <= now
            and queue in (None, j.queue)
        }
        got = self.backend.reclaim_abandoned(queue)
        assert sorted(j.id for j in got) == sorted(expired)
        front: dict[tuple[str, int], set[str]] = {}
        for stored in got:
            job = expired[stored.id]
            job.token = job.lease_expires_at = None
            job.reclaim_count += 1
            assert stored.reclaim_count == job.reclaim_count
            if job.reclaim_count > MAX_RECLAIMS:
                assert stored.status is D
                assert stored.error is not None and stored.error.type == "WorkerLost"
                job.status = D
                self.model.dead.append(job.id)
                self.model.bump(job.queue, reclaimed=1, dead=1)
            else:
                assert stored.status is P
                job.status = P
                front.setdefault((job.queue, job.priority.rank), set()).add(job.id)
                self.model.bump(job.queue, reclaimed=1)
        for (q, rank), members in front.items():
            self.model.prepend(q, rank, members)

    @precondition(lambda self: self.model.dead)
    @rule(data=st.data(), dead=st.booleans())
    def retry_dead(self, data: st.DataObject, dead: bool) -> None:
        """A dead job if `dead`, else a job that is not dead, which must be refused."""
        if not dead:
            self._retry_not_dead(data)
            return
        job_id = data.draw(st.sampled_from(self.model.dead), label="dead job")
        revived = self.backend.retry_dead(job_id)
        assert revived.status is P
        assert revived.retry_count == 0
        assert revived.reclaim_count == 0
        job = self.model.jobs[job_id]
        self.model.dead.remove(job_id)
        job.status, job.retry_count, job.reclaim_count, job.run_at = P, 0, 0, revived.run_at
        self.model.append(job.queue, job.priority.rank, {job_id})

    def _retry_not_dead(self, data: st.DataObject) -> None:
        ids = sorted(j.id for j in self.model.jobs.values() if j.status is not D)
        if not ids:
            return
        job_id = data.draw(st.sampled_from(ids), label="job that is not dead")
        try:
            self.backend.retry_dead(job_id)
        except InvalidTransitionError:
            return
        status = self.model.jobs[job_id].status
        raise AssertionError(f"retry_dead({job_id!r}) accepted a {status} job")

    @precondition(lambda self: self.model.jobs)
    @rule(data=st.data(), delete=st.booleans())
    def remove(self, data: st.DataObject, delete: bool) -> None:
        """`cancel` (refused unless pending/scheduled/retrying) or `delete` any job."""
        job_id = data.draw(st.sampled_from(sorted(self.model.jobs)), label="job")
        if delete:
            self._delete(job_id)
        else:
            self._cancel(job_id)

    def _cancel(self, job_id: str) -> None:
        job = self.model.jobs[job_id]
        if job.status not in CANCELLABLE:
            try:
                self.backend.cancel(job_id)
            except InvalidTransitionError:
                return
            raise AssertionError(f"cancel({job_id!r}) accepted a {job.status} job")
        assert self.backend.cancel(job_id).status is X
        if job.status is P:
            self.model.unready(job)
        job.status = X
        self.model.bump(job.queue, cancelled=1)

    def _delete(self, job_id: str) -> None:
        assert self.backend.delete(job_id) is True
        self.model.remove(job_id)
        self.deleted.append(job_id)

    # -- invariants ---------------------------------------------------------------------

    @invariant()
    def ready_jobs_and_dequeue_order(self) -> None:
        for q in QUEUES:
            expected = self.model.sizes(q)
            assert self.backend.sizes(q) == expected, q
            assert self.backend.size(q) == sum(expected.values()), q
            peeked = self.backend.peek(q, limit=10_000)
            order = [j.id for j in peeked]
            assert len(order) == len(set(order)), f"{q}: a job is ready twice: {order}"
            pos = 0
            for groups in self.model.ready[q]:
                for group in groups:
                    chunk = order[pos : pos + len(group)]
                    assert set(chunk) == group, (
                        f"{q}: dequeue order {order} does not match the model {self.model.ready[q]}"
                    )
                    pos += len(group)
            assert pos == len(order)
            assert all(j.status is P for j in peeked)

    @invariant()
    def every_job_as_modelled(self) -> None:
        stored = self.backend.find(limit=None)
        assert sorted(j.id for j in stored) == sorted(self.model.jobs), "a job was lost or invented"
        for job in stored:
            m = self.model.jobs[job.id]
            got = (job.status, job.queue, job.priority, job.retry_count, job.reclaim_count)
            want = (m.status, m.queue, m.priority, m.retry_count, m.reclaim_count)
            assert got == want, f"{job.id}: stored {got}, model {want}"
            if m.status in WAITING:
                assert job.run_at == m.run_at, job.id
            assert self.backend.get(job.id) == job
        for job_id in self.deleted:
            assert self.backend.get(job_id) is None

    @invariant()
    def in_flight_jobs(self) -> None:
        running = sorted(j.id for j in self.backend.find(status=R, limit=None))
        assert running == sorted(j.id for j in self.model.jobs.values() if j.status is R)
        holders: dict[str, int] = {}
        for claim in self.live_claims():
            holders[claim.job.id] = holders.get(claim.job.id, 0) + 1
        assert all(n == 1 for n in holders.values()), f"a job is held by two claims: {holders}"
        assert sorted(holders) == running

    @invariant()
    def dead_letters(self) -> None:
        dead = self.backend.dead_letters(None)
        assert sorted(j.id for j in dead) == sorted(self.model.dead)
        assert len(dead) == len(self.model.dead)
        assert all(j.status is D for j in dead)
        deaths = [j.finished_at for j in dead]
        assert None not in deaths
        assert deaths == sorted(deaths), "dead letters are not oldest death first"  # type: ignore[type-var]
        for q in QUEUES:
            assert sorted(j.id for j in self.backend.dead_letters(None, queue=q)) == sorted(
                i for i in self.model.dead if self.model.jobs[i].queue == q
            )

    @invariant()
    def due_times(self) -> None:
        def earliest(queue: str | None) -> datetime | None:
            times = [
                j.run_at
                for j in self.model.jobs.values()
                if j.status in WAITING and queue in (None, j.queue)
            ]
            return min(times, default=None)

        assert self.backend.next_due_at() == earliest(None)
        for q in QUEUES:
            assert self.backend.next_due_at(q) == earliest(q), q

    @invariant()
    def counters_and_statuses(self) -> None:
        def tally(queue: str | None) -> dict[str, int]:
            out = {s.value: 0 for s in JobStatus}
            for j in self.model.jobs.values():
                if queue in (None, j.queue):
                    out[j.status.value] += 1
            return out

        stats = self.backend.stats()
        assert {c: stats[c] for c in COUNTERS} == self.model.counters
        assert stats.statuses == tally(None)
        for q in QUEUES:
            qs = self.backend.queue_stats(q)
            assert {c: qs[c] for c in COUNTERS} == self.model.queue_counters[q], q
            assert qs.statuses == tally(q), q


def make_machine(
    backend_factory: BackendFactory,
    *,
    name: str = "Backend",
    settings: settings = DEFAULT_SETTINGS,
) -> type[Any]:
    """The `unittest.TestCase` class that runs `BackendMachine` on `backend_factory`.

    The machine class itself is the returned class's `machine` attribute, e.g. for
    `hypothesis.stateful.run_state_machine_as_test(case.machine, settings=...)`."""
    machine = type(
        f"{name}StateMachine",
        (BackendMachine,),
        {"backend_factory": staticmethod(backend_factory)},
    )
    case = machine.TestCase
    case.settings = settings
    case.machine = machine
    return case  # type: ignore[no-any-return]
