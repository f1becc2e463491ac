"""The backend contract: every promise of `jobkit.ports` (JobQueue, JobStore, JobStats,
JobBackend), checked through the port API only, on every backend in `BACKENDS`.

Conventions: `make_job` advances the fake clock by 1 ms per job (so `created_at`
strictly increases), so tests read `clock.now()` *after* building their jobs.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from jobkit.clock import FakeClock
from jobkit.core import lifecycle
from jobkit.core.errors import (
    DuplicateJobError,
    InvalidJobError,
    InvalidTransitionError,
    JobNotFoundError,
    LeaseLostError,
)
from jobkit.core.model import PRIORITIES, Job, JobError, JobStatus, Priority
from jobkit.core.retry import RetryPolicy
from jobkit.core.stats import COUNTERS, Stats
from jobkit.ports import Claim, JobBackend, JobQueue, JobStats, JobStore

POLICY = RetryPolicy.default()
BOOM = JobError("Boom", "it broke")
ALL_STATUSES = [s.value for s in JobStatus]


# -- helpers -----------------------------------------------------------------------------


def failed(job: Job, now, *, retryable: bool = True) -> Job:  # type: ignore[no-untyped-def]
    """The outcome of a failed attempt of running `job` under the default policy."""
    return lifecycle.fail(job, BOOM, now, POLICY, retryable=retryable)


def claim(backend: JobBackend, queue: str = "default", worker: str = "w1", **kw) -> Claim:  # type: ignore[no-untyped-def]
    got = backend.dequeue(queue, worker, **kw)
    assert got is not None, f"expected a ready job in {queue!r}"
    return got


def complete(backend: JobBackend, c: Claim, clock: FakeClock, result: object = 1) -> Job:
    """Ack `c` as completed with `result` at `clock.now()`; the stored job."""
    return backend.ack(c, lifecycle.complete(c.job, result, clock.now()))


def drain(backend: JobBackend, queue: str = "default") -> list[str]:
    """Claim every ready job of `queue`; their ids in the order they were served."""
    ids = []
    while (c := backend.dequeue(queue, "drainer")) is not None:
        ids.append(c.job.id)
    return ids


def counters(stats: Stats) -> dict[str, int]:
    return {name: stats[name] for name in COUNTERS}


def expect_counters(stats: Stats, **nonzero: int) -> None:
    """Every counter is zero except those given."""
    expected = dict.fromkeys(COUNTERS, 0)
    expected.update(nonzero)
    assert counters(stats) == expected


def statuses(**nonzero: int) -> dict[str, int]:
    """Jobs per status: every status zero except those given."""
    expected = dict.fromkeys(ALL_STATUSES, 0)
    expected.update(nonzero)
    return expected


def ids(jobs: list[Job]) -> list[str]:
    return [j.id for j in jobs]


# -- protocol conformance ------------------------------------------------------------


def test_backend_implements_the_ports(backend: JobBackend) -> None:
    assert isinstance(backend, JobQueue)
    assert isinstance(backend, JobStore)
    assert isinstance(backend, JobStats)
    assert isinstance(backend, JobBackend)


# -- enqueue -----------------------------------------------------------------------------


class TestEnqueue:
    def test_pending_job_is_stored_and_ready(self, backend, make_job) -> None:
        job = make_job(
            "email",
            {"to": "ada@example.com"},
            priority="high",
            tenant_id="t1",
            metadata={"k": [1, 2]},
        )
        assert job.status is JobStatus.PENDING
        stored = backend.enqueue(job)
        assert stored == job
        assert backend.get(job.id) == job
        assert backend.size("default") == 1
        assert backend.sizes("default")[Priority.HIGH] == 1
        assert ids(backend.peek("default")) == [job.id]

    def test_scheduled_job_is_not_ready_until_due(self, backend, make_job, clock) -> None:
        job = make_job(delay=60)
        assert job.status is JobStatus.SCHEDULED
        assert backend.enqueue(job) == job
        assert backend.size("default") == 0
        assert backend.peek("default") == []
        assert backend.next_due_at() == job.run_at
        assert backend.next_due_at("default") == job.run_at
        assert backend.dequeue("default", "w1") is None
        clock.advance(59)
        assert backend.dequeue("default", "w1") is None
        assert backend.get(job.id).status is JobStatus.SCHEDULED
        clock.set(job.run_at)  # due exactly at run_at
        got = claim(backend)
        assert got.job.id == job.id
        assert got.job.status is JobStatus.RUNNING

    def test_duplicate_id_raises_and_keeps_the_original(self, backend, make_job) -> None:
        first = make_job("a", id="same")
        backend.enqueue(first)
        with pytest.raises(DuplicateJobError):
            backend.enqueue(make_job("b", id="same", priority="critical"))
        assert backend.get("same") == first
        assert backend.size("default") == 1
        assert backend.stats()["enqueued"] == 1

    def test_enqueueing_the_identical_job_again_is_a_no_op(self, backend, make_job, clock) -> None:
        """A call retried after a lost reply must not fail or duplicate the job."""
        job, other = make_job(), make_job()
        assert backend.enqueue(job) == job
        assert backend.enqueue(job) == job
        assert backend.enqueue_many([job]) == [job]
        assert backend.size("default") == 1
        assert backend.stats()["enqueued"] == 1
        with pytest.raises(DuplicateJobError):  # not all of the batch is stored already
            backend.enqueue_many([job, other])
        assert backend.get(other.id) is None
        delayed = make_job(delay=10)
        backend.enqueue(delayed)
        clock.advance(10)
        backend.promote_due()
        with pytest.raises(DuplicateJobError):  # changed since: promoted
            backend.enqueue(delayed)
        assert backend.size("default") == 2

    def test_duplicate_of_a_finished_job_raises(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job(id="x"))
        c = claim(backend)
        backend.ack(c, lifecycle.complete(c.job, 1, clock.now()))
        with pytest.raises(DuplicateJobError):
            backend.enqueue(make_job(id="x"))
        assert backend.get("x").status is JobStatus.COMPLETED

    @pytest.mark.parametrize(
        "status",
        [
            JobStatus.RUNNING,
            JobStatus.COMPLETED,
            JobStatus.RETRYING,
            JobStatus.DEAD,
            JobStatus.CANCELLED,
        ],
    )
    def test_job_in_a_non_new_status_is_refused(self, backend, make_job, status) -> None:
        job = make_job().evolve(status=status)
        with pytest.raises(InvalidJobError):
            backend.enqueue(job)
        assert backend.get(job.id) is None
        assert backend.size("default") == 0
        assert backend.next_due_at() is None
        assert backend.dead_letters() == []
        assert backend.stats()["enqueued"] == 0

    def test_enqueue_counts_and_status_tallies(self, backend, make_job) -> None:
        backend.enqueue(make_job())
        backend.enqueue(make_job(delay=10))
        backend.enqueue(make_job(queue="other"))
        expect_counters(backend.stats(), enqueued=3)
        expect_counters(backend.queue_stats("default"), enqueued=2)
        expect_counters(backend.queue_stats("other"), enqueued=1)
        assert backend.stats().statuses == statuses(pending=2, scheduled=1)
        assert backend.queue_stats("default").statuses == statuses(pending=1, scheduled=1)


class TestEnqueueMany:
    def test_all_are_stored_in_order(self, backend, make_job) -> None:
        jobs = [make_job(priority=p) for p in ("low", "high", "low", "critical")]
        stored = backend.enqueue_many(jobs)
        assert stored == jobs
        assert all(backend.get(j.id) == j for j in jobs)
        assert drain(backend) == [jobs[3].id, jobs[1].id, jobs[0].id, jobs[2].id]
        assert backend.stats()["enqueued"] == 4

    def test_mixed_batch_counts_per_queue_tenant_and_status(self, backend, make_job) -> None:
        """One call over two queues, two tenants and none, pending and scheduled: each
        job counted once, in its queue, its tenant and the totals."""
        batch = [
            make_job(tenant_id="acme"),
            make_job(queue="other", tenant_id="acme", delay=30),
            make_job(),
            make_job(tenant_id="globex", priority="high"),
            make_job(queue="other"),
            make_job(tenant_id="acme", delay=5),
            make_job(queue="other", tenant_id="globex"),
        ]
        assert backend.enqueue_many(batch) == batch
        assert all(backend.get(j.id) == j for j in batch)
        expect_counters(backend.stats(), enqueued=7)
        expect_counters(backend.queue_stats("default"), enqueued=4)
        expect_counters(backend.queue_stats("other"), enqueued=3)
        expect_counters(backend.tenant_stats("acme"), enqueued=3)
        expect_counters(backend.tenant_stats("globex"), enqueued=2)
        assert backend.stats().statuses == statuses(pending=5, scheduled=2)
        assert backend.queue_stats("default").statuses == statuses(pending=3, scheduled=1)
        assert backend.queue_stats("other").statuses == statuses(pending=2, scheduled=1)
        assert backend.tenant_stats("acme").statuses == statuses(pending=1, scheduled=2)
        assert backend.tenant_stats("globex").statuses == statuses(pending=2)
        assert sorted(backend.queues()) == ["default", "other"]
        assert drain(backend) == [batch[3].id, batch[0].id, batch[2].id]
        assert drain(backend, "other") == [batch[4].id, batch[6].id]

    def test_empty_batch(self, backend) -> None:
        assert backend.enqueue_many([]) == []
        assert backend.stats()["enqueued"] == 0

    def test_one_bad_status_stores_none(self, backend, make_job) -> None:
        good = [make_job(), make_job(delay=5)]
        bad = make_job().evolve(status=JobStatus.COMPLETED)
        with pytest.raises(InvalidJobError):
            backend.enqueue_many([*good, bad])
        self._assert_nothing_stored(backend, [*good, bad])

    def test_one_existing_id_stores_none(self, backend, make_job) -> None:
        existing = make_job(id="taken")
        backend.enqueue(existing)
        batch = [make_job(), make_job(id="taken"), make_job(queue="other")]
        with pytest.raises(DuplicateJobError):
            backend.enqueue_many(batch)
        assert backend.get("taken") == existing
        assert backend.get(batch[0].id) is None
        assert backend.get(batch[2].id) is None
        assert backend.size("default") == 1
        assert backend.size("other") == 0
        assert backend.stats()["enqueued"] == 1

    def test_duplicate_ids_within_the_batch_store_none(self, backend, make_job) -> None:
        batch = [make_job(id="a"), make_job(id="b"), make_job(id="a")]
        with pytest.raises(DuplicateJobError):
            backend.enqueue_many(batch)
        self._assert_nothing_stored(backend, batch)

    @staticmethod
    def _assert_nothing_stored(backend: JobBackend, jobs: list[Job]) -> None:
        for job in jobs:
            assert backend.get(job.id) is None
        assert backend.size("default") == 0
        assert backend.next_due_at() is None
        assert backend.find(limit=None) == []
        assert backend.stats()["enqueued"] == 0
        assert sum(backend.stats().statuses.values()) == 0


# -- dequeue -----------------------------------------------------------------------------


class TestDequeue:
    def test_strict_priority_then_fifo_across_all_priorities(self, backend, make_job) -> None:
        order = ["bulk", "low", "default", "high", "critical"] * 3
        jobs = [make_job(priority=p) for p in order]
        for job in jobs:
            backend.enqueue(job)
        expected = [j.id for p in PRIORITIES for j in jobs if j.priority is p]
        assert ids(backend.peek("default", limit=100)) == expected
        assert drain(backend) == expected

    def test_claim_holds_the_running_job_and_its_lease(self, backend, make_job, clock) -> None:
        job = make_job()
        backend.enqueue(job)
        clock.advance(5)
        now = clock.now()
        c = backend.dequeue("default", "worker-7", lease_seconds=12.5)
        assert isinstance(c, Claim)
        assert c.worker_id == "worker-7"
        assert c.token
        assert c.lease_expires_at == now + timedelta(seconds=12.5)
        assert c.job.id == job.id
        assert c.job.status is JobStatus.RUNNING
        assert c.job.started_at == now
        assert c.job.finished_at is None
        assert c.job == lifecycle.start(job, now)
        assert backend.get(job.id) == c.job
        assert backend.size("default") == 0
        assert backend.stats().statuses["running"] == 1

    def test_default_lease_is_30_seconds(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend)
        assert c.lease_expires_at == clock.now() + timedelta(seconds=30)

    def test_explicit_now_overrides_the_clock(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        later = clock.now() + timedelta(hours=1)
        c = backend.dequeue("default", "w1", lease_seconds=10, now=later)
        assert c is not None
        assert c.job.started_at == later
        assert c.lease_expires_at == later + timedelta(seconds=10)

    def test_empty_and_unknown_queues_give_none(self, backend, make_job) -> None:
        assert backend.dequeue("default", "w1") is None
        backend.enqueue(make_job(queue="other"))
        assert backend.dequeue("default", "w1") is None
        assert backend.dequeue("nope", "w1") is None
        assert backend.dequeue_many("nope", "w1", 5) == []
        assert backend.size("other") == 1

    def test_queues_are_independent(self, backend, make_job) -> None:
        a = make_job(queue="a", priority="bulk")
        b = make_job(queue="b", priority="critical")
        backend.enqueue_many([a, b])
        assert claim(backend, "a").job.id == a.id
        assert claim(backend, "b").job.id == b.id

    def test_each_job_is_claimed_once(self, backend, make_job) -> None:
        backend.enqueue(make_job())
        claim(backend)
        assert backend.dequeue("default", "w2") is None

    def test_promotes_due_scheduled_jobs_of_its_queue(self, backend, make_job, clock) -> None:
        early = make_job(delay=10)
        late = make_job(delay=20)
        later = make_job(delay=30)
        backend.enqueue_many([later, late, early])
        clock.advance(25)
        assert backend.size("default") == 0  # nothing promotes on its own
        c1 = claim(backend)
        assert c1.job.id == early.id
        # `late` was promoted along with `early`; `later` is still waiting.
        assert backend.get(late.id).status is JobStatus.PENDING
        assert backend.get(later.id).status is JobStatus.SCHEDULED
        assert backend.size("default") == 1
        assert backend.next_due_at() == later.run_at
        assert claim(backend).job.id == late.id
        assert backend.dequeue("default", "w1") is None

    def test_promoted_jobs_queue_behind_ready_ones(self, backend, make_job, clock) -> None:
        sched_high = make_job(priority="high", delay=5)
        ready_default = make_job()
        ready_high = make_job(priority="high")
        backend.enqueue_many([sched_high, ready_default, ready_high])
        clock.advance(10)
        assert drain(backend) == [ready_high.id, sched_high.id, ready_default.id]

    def test_promotes_due_retrying_jobs(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend)
        out = backend.ack(c, failed(c.job, clock.now()))
        clock.set(out.run_at)
        again = claim(backend)
        assert again.job.id == out.id
        assert again.job.retry_count == 1
        assert again.job.status is JobStatus.RUNNING


class TestDequeueMany:
    def test_claims_up_to_count_in_dequeue_order(self, backend, make_job, clock) -> None:
        jobs = [make_job(priority=p) for p in ("low", "critical", "default", "critical")]
        backend.enqueue_many(jobs)
        now = clock.now()
        claims = backend.dequeue_many("default", "w1", 3, lease_seconds=7)
        assert [c.job.id for c in claims] == [jobs[1].id, jobs[3].id, jobs[2].id]
        assert len({c.token for c in claims}) == 3
        for c in claims:
            assert c.job.status is JobStatus.RUNNING
            assert c.job.started_at == now
            assert c.worker_id == "w1"
            assert c.lease_expires_at == now + timedelta(seconds=7)
            assert backend.get(c.job.id).status is JobStatus.RUNNING
        rest = backend.dequeue_many("default", "w1", 10)
        assert [c.job.id for c in rest] == [jobs[0].id]
        assert backend.dequeue_many("default", "w1", 10) == []

    def test_zero_count_claims_nothing(self, backend, make_job) -> None:
        backend.enqueue(make_job())
        assert backend.dequeue_many("default", "w1", 0) == []
        assert backend.size("default") == 1

    def test_promotes_due_jobs_first(self, backend, make_job, clock) -> None:
        backend.enqueue_many([make_job(delay=1), make_job(delay=2)])
        clock.advance(3)
        assert len(backend.dequeue_many("default", "w1", 5)) == 2

    def test_each_claim_can_be_acked(self, backend, make_job, clock) -> None:
        backend.enqueue_many([make_job(), make_job()])
        for c in backend.dequeue_many("default", "w1", 2):
            backend.ack(c, lifecycle.complete(c.job, None, clock.now()))
        assert backend.stats()["succeeded"] == 2


# -- heartbeat ---------------------------------------------------------------------------


class TestHeartbeat:
    def test_extends_the_lease(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend, lease_seconds=10)
        clock.advance(8)
        renewed = backend.heartbeat(c, lease_seconds=10)
        assert renewed.lease_expires_at == clock.now() + timedelta(seconds=10)
        assert renewed.token == c.token
        assert renewed.job.id == c.job.id
        assert renewed.worker_id == c.worker_id
        clock.advance(5)  # past the first expiry, before the renewed one
        assert backend.reclaim_abandoned() == []
        assert backend.get(c.job.id).status is JobStatus.RUNNING
        done = backend.ack(renewed, lifecycle.complete(c.job, "ok", clock.now()))
        assert done.status is JobStatus.COMPLETED

    def test_explicit_now(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend)
        at = clock.now() + timedelta(seconds=3)
        assert backend.heartbeat(c, lease_seconds=40, now=at).lease_expires_at == at + timedelta(
            seconds=40
        )

    def test_the_original_claim_still_acks(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend)
        backend.heartbeat(c)
        assert complete(backend, c, clock).status is JobStatus.COMPLETED

    def test_wrong_token_raises(self, backend, make_job) -> None:
        backend.enqueue(make_job())
        c = claim(backend)
        forged = Claim(c.job, c.token + "x", c.worker_id, c.lease_expires_at)
        with pytest.raises(LeaseLostError):
            backend.heartbeat(forged)
        assert backend.get(c.job.id).status is JobStatus.RUNNING
        backend.heartbeat(c)  # the real owner still holds it

    def test_after_ack_raises(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend)
        backend.ack(c, lifecycle.complete(c.job, 1, clock.now()))
        with pytest.raises(LeaseLostError):
            backend.heartbeat(c)

    def test_after_reclaim_raises(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend, lease_seconds=5)
        clock.advance(6)
        assert ids(backend.reclaim_abandoned()) == [c.job.id]
        with pytest.raises(LeaseLostError):
            backend.heartbeat(c)


# -- ack ---------------------------------------------------------------------------------


class TestAck:
    def test_completed(self, backend, make_job, clock) -> None:
        job = make_job("email")
        backend.enqueue(job)
        c = claim(backend)
        clock.advance(2)
        outcome = lifecycle.complete(c.job, {"sent": True}, clock.now())
        stored = backend.ack(c, outcome)
        assert stored == outcome
        assert backend.get(job.id) == outcome
        assert backend.size("default") == 0
        assert backend.next_due_at() is None
        assert backend.dead_letters() == []
        assert backend.dequeue("default", "w1") is None
        for s in (backend.stats(), backend.queue_stats("default")):
            expect_counters(s, enqueued=1, processed=1, succeeded=1)
            assert s.statuses == statuses(completed=1)
            assert s.success_rate == 1.0
        assert backend.history() == [outcome]

    def test_retrying_waits_until_run_at_then_is_dequeuable(self, backend, make_job, clock) -> None:
        job = make_job()
        backend.enqueue(job)
        c = claim(backend)
        outcome = failed(c.job, clock.now())
        assert outcome.status is JobStatus.RETRYING
        assert backend.ack(c, outcome) == outcome
        assert backend.get(job.id) == outcome
        assert backend.next_due_at() == outcome.run_at == clock.now() + timedelta(seconds=30)
        assert backend.size("default") == 0
        assert backend.dead_letters() == []
        for s in (backend.stats(), backend.queue_stats("default")):
            expect_counters(s, enqueued=1, processed=1, failed=1, retried=1)
            assert s.statuses == statuses(retrying=1)
        clock.advance(29)
        assert backend.dequeue("default", "w1") is None
        clock.advance(1)
        again = claim(backend)
        assert again.job.id == job.id
        assert again.job.retry_count == 1
        assert again.job.error == BOOM

    def test_dead_goes_to_dead_letters(self, backend, make_job, clock) -> None:
        job = make_job(max_retries=0)
        backend.enqueue(job)
        c = claim(backend)
        outcome = failed(c.job, clock.now())
        assert outcome.status is JobStatus.DEAD
        assert backend.ack(c, outcome) == outcome
        assert backend.get(job.id) == outcome
        assert backend.dead_letters() == [outcome]
        assert backend.next_due_at() is None
        assert backend.size("default") == 0
        for s in (backend.stats(), backend.queue_stats("default")):
            expect_counters(s, enqueued=1, processed=1, failed=1, dead=1)
            assert s.statuses == statuses(dead=1)
            assert s.success_rate == 0.0

    def test_full_retry_path_ends_dead(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job(max_retries=3))
        delays = []
        for _ in range(3):
            c = claim(backend)
            out = backend.ack(c, failed(c.job, clock.now()))
            assert out.status is JobStatus.RETRYING
            delays.append((out.run_at - clock.now()).total_seconds())
            clock.set(out.run_at)
        c = claim(backend)
        out = backend.ack(c, failed(c.job, clock.now()))
        assert out.status is JobStatus.DEAD
        assert out.retry_count == 3
        assert delays == [30.0, 300.0, 3600.0]
        expect_counters(backend.stats(), enqueued=1, processed=4, failed=4, retried=3, dead=1)
        assert ids(backend.dead_letters()) == [out.id]

    def test_non_retryable_failure_goes_dead(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job(max_retries=3))
        c = claim(backend)
        out = backend.ack(c, failed(c.job, clock.now(), retryable=False))
        assert out.status is JobStatus.DEAD
        assert ids(backend.dead_letters()) == [out.id]

    def test_counters_are_per_queue(self, backend, make_job, clock) -> None:
        backend.enqueue_many([make_job(queue="a"), make_job(queue="b", max_retries=0)])
        ca, cb = claim(backend, "a"), claim(backend, "b")
        backend.ack(ca, lifecycle.complete(ca.job, 1, clock.now()))
        backend.ack(cb, failed(cb.job, clock.now()))
        expect_counters(backend.stats(), enqueued=2, processed=2, succeeded=1, failed=1, dead=1)
        expect_counters(backend.queue_stats("a"), enqueued=1, processed=1, succeeded=1)
        expect_counters(backend.queue_stats("b"), enqueued=1, processed=1, failed=1, dead=1)
        assert backend.stats().success_rate == 0.5

    def test_wrong_token_is_refused_and_counted(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend)
        running = backend.get(c.job.id)
        forged = Claim(c.job, "not-" + c.token, "w2", c.lease_expires_at)
        with pytest.raises(LeaseLostError):
            backend.ack(forged, lifecycle.complete(c.job, "forged", clock.now()))
        assert backend.get(c.job.id) == running
        for s in (backend.stats(), backend.queue_stats("default")):
            expect_counters(s, enqueued=1, lease_lost=1)
        assert backend.history() == []
        # the real owner is unaffected
        assert backend.ack(c, lifecycle.complete(c.job, "real", clock.now())).result == "real"

    def test_second_ack_is_refused(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend)
        done = backend.ack(c, lifecycle.complete(c.job, 1, clock.now()))
        with pytest.raises(LeaseLostError):
            backend.ack(c, failed(c.job, clock.now()))
        assert backend.get(c.job.id) == done
        assert backend.stats()["lease_lost"] == 1
        assert backend.stats()["processed"] == 1
        assert backend.next_due_at() is None

    @pytest.mark.parametrize(
        "status", [JobStatus.PENDING, JobStatus.RUNNING, JobStatus.SCHEDULED, JobStatus.CANCELLED]
    )
    def test_outcome_in_a_wrong_status_is_refused(self, backend, make_job, clock, status) -> None:
        backend.enqueue(make_job())
        c = claim(backend)
        with pytest.raises(InvalidJobError):
            backend.ack(c, c.job.evolve(status=status))
        assert backend.get(c.job.id) == c.job
        assert backend.stats()["processed"] == 0
        # the lease is still held: the right outcome is accepted afterwards
        assert complete(backend, c, clock).status is JobStatus.COMPLETED

    def test_outcome_for_another_job_is_refused(self, backend, make_job, clock) -> None:
        backend.enqueue_many([make_job(), make_job()])
        c1, c2 = claim(backend), claim(backend)
        with pytest.raises(InvalidJobError):
            backend.ack(c1, lifecycle.complete(c2.job, 1, clock.now()))
        assert backend.get(c1.job.id) == c1.job
        assert backend.get(c2.job.id) == c2.job

    def test_explicit_now_is_accepted(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend)
        at = clock.now() + timedelta(seconds=1)
        assert backend.ack(c, lifecycle.complete(c.job, 1, at), now=at).finished_at == at


# -- reclaim -----------------------------------------------------------------------------


class TestReclaim:
    def test_only_expired_leases_are_reclaimed(self, backend, make_job, clock) -> None:
        backend.enqueue_many([make_job(), make_job()])
        short = claim(backend, lease_seconds=10)
        long = claim(backend, lease_seconds=100)
        assert backend.reclaim_abandoned() == []
        clock.advance(9)
        assert backend.reclaim_abandoned() == []
        clock.advance(2)
        reclaimed = backend.reclaim_abandoned()
        assert ids(reclaimed) == [short.job.id]
        job = reclaimed[0]
        assert job.status is JobStatus.PENDING
        assert job.reclaim_count == 1
        assert job.retry_count == 0
        assert backend.get(job.id) == job
        assert backend.get(long.job.id).status is JobStatus.RUNNING
        assert backend.size("default") == 1
        for s in (backend.stats(), backend.queue_stats("default")):
            expect_counters(s, enqueued=2, reclaimed=1)
            assert s.statuses == statuses(pending=1, running=1)
        assert backend.reclaim_abandoned() == []

    def test_explicit_now(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend, lease_seconds=10)
        assert backend.reclaim_abandoned(now=clock.now() + timedelta(seconds=5)) == []
        assert ids(backend.reclaim_abandoned(now=clock.now() + timedelta(seconds=11))) == [c.job.id]

    def test_reclaimed_job_goes_to_the_front(self, backend, make_job, clock) -> None:
        first, second = make_job(), make_job()
        backend.enqueue_many([first, second])
        c = claim(backend, lease_seconds=5)
        assert c.job.id == first.id
        late = make_job()
        low = make_job(priority="low")
        urgent = make_job(priority="critical")
        backend.enqueue_many([late, low, urgent])
        clock.advance(6)
        backend.reclaim_abandoned()
        order = [urgent.id, first.id, second.id, late.id, low.id]
        assert ids(backend.peek("default")) == order
        assert drain(backend) == order

    def test_only_the_given_queue(self, backend, make_job, clock) -> None:
        backend.enqueue_many([make_job(queue="a"), make_job(queue="b")])
        ca = claim(backend, "a", lease_seconds=1)
        cb = claim(backend, "b", lease_seconds=1)
        clock.advance(2)
        assert ids(backend.reclaim_abandoned("a")) == [ca.job.id]
        assert backend.get(cb.job.id).status is JobStatus.RUNNING
        assert backend.reclaim_abandoned("nope") == []
        assert ids(backend.reclaim_abandoned()) == [cb.job.id]
        assert backend.size("a") == backend.size("b") == 1

    def test_the_old_owner_cannot_ack_after_a_reclaim(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        old = claim(backend, worker="old", lease_seconds=5)
        clock.advance(6)
        backend.reclaim_abandoned()
        # before anyone else claims it
        with pytest.raises(LeaseLostError):
            backend.ack(old, lifecycle.complete(old.job, "late", clock.now()))
        assert backend.get(old.job.id).status is JobStatus.PENDING
        new = claim(backend, worker="new")
        assert new.token != old.token
        assert new.job.reclaim_count == 1
        # after the new owner claimed it
        with pytest.raises(LeaseLostError):
            backend.ack(old, failed(old.job, clock.now()))
        assert backend.get(new.job.id) == new.job
        done = backend.ack(new, lifecycle.complete(new.job, "new", clock.now()))
        assert backend.get(new.job.id) == done
        assert done.result == "new"
        # and after the new owner finished
        with pytest.raises(LeaseLostError):
            backend.ack(old, lifecycle.complete(old.job, "late", clock.now()))
        assert backend.get(new.job.id) == done
        expect_counters(
            backend.stats(), enqueued=1, reclaimed=1, lease_lost=3, processed=1, succeeded=1
        )

    def test_past_max_reclaims_the_job_dies_as_worker_lost(self, backend, make_job, clock) -> None:
        job = make_job()
        backend.enqueue(job)
        for n in range(1, 4):
            c = claim(backend, lease_seconds=1)
            assert c.job.reclaim_count == n - 1
            clock.advance(2)
            (back,) = backend.reclaim_abandoned()
            assert back.status is JobStatus.PENDING
            assert back.reclaim_count == n
        c = claim(backend, lease_seconds=1)
        clock.advance(2)
        (dead,) = backend.reclaim_abandoned()
        assert dead.status is JobStatus.DEAD
        assert dead.reclaim_count == 4
        assert dead.error is not None
        assert dead.error.type == "WorkerLost"
        assert backend.get(job.id) == dead
        assert backend.dead_letters() == [dead]
        assert backend.size("default") == 0
        assert backend.dequeue("default", "w1") is None
        for s in (backend.stats(), backend.queue_stats("default")):
            expect_counters(s, enqueued=1, reclaimed=4, dead=1)
            assert s.statuses == statuses(dead=1)
        with pytest.raises(LeaseLostError):
            backend.ack(c, lifecycle.complete(c.job, 1, clock.now()))
        assert backend.get(job.id) == dead

    def test_retry_dead_resets_the_reclaim_count(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        for _ in range(4):
            claim(backend, lease_seconds=1)
            clock.advance(2)
            backend.reclaim_abandoned()
        (dead,) = backend.dead_letters()
        revived = backend.retry_dead(dead.id)
        assert revived.reclaim_count == 0
        assert claim(backend).job.reclaim_count == 0


# -- promote_due / next_due_at -------------------------------------------------------------


class TestPromoteDue:
    def test_moves_due_jobs_to_ready(self, backend, make_job, clock) -> None:
        a, b, c = make_job(delay=10), make_job(delay=20, queue="other"), make_job(delay=30)
        backend.enqueue_many([a, b, c])
        assert backend.promote_due() == 0
        clock.advance(20)
        assert backend.promote_due() == 2
        assert backend.get(a.id).status is JobStatus.PENDING
        assert backend.get(b.id).status is JobStatus.PENDING
        assert backend.get(c.id).status is JobStatus.SCHEDULED
        assert backend.size("default") == 1
        assert backend.size("other") == 1
        assert backend.next_due_at() == c.run_at
        assert backend.promote_due() == 0
        assert backend.stats().statuses == statuses(pending=2, scheduled=1)
        expect_counters(backend.stats(), enqueued=3)  # promotion counts nothing

    def test_explicit_now_and_queue(self, backend, make_job, clock) -> None:
        a, b = make_job(delay=10, queue="a"), make_job(delay=10, queue="b")
        backend.enqueue_many([a, b])
        at = clock.now() + timedelta(seconds=10)
        assert backend.promote_due(at, queue="a") == 1
        assert backend.get(b.id).status is JobStatus.SCHEDULED
        assert backend.promote_due(now=at, queue="nope") == 0
        assert backend.promote_due(at) == 1
        assert backend.get(b.id).status is JobStatus.PENDING

    def test_promoted_in_run_at_order(self, backend, make_job, clock) -> None:
        jobs = [make_job(delay=d) for d in (30, 10, 20)]
        backend.enqueue_many(jobs)
        clock.advance(60)
        assert backend.promote_due() == 3
        assert drain(backend) == [jobs[1].id, jobs[2].id, jobs[0].id]

    def test_next_due_at(self, backend, make_job, clock) -> None:
        assert backend.next_due_at() is None
        assert backend.next_due_at("nope") is None
        backend.enqueue(make_job())  # ready jobs are not "due"
        assert backend.next_due_at() is None
        a, b = make_job(delay=50, queue="a"), make_job(delay=20, queue="b")
        backend.enqueue_many([a, b])
        assert backend.next_due_at() == b.run_at
        assert backend.next_due_at("a") == a.run_at
        assert backend.next_due_at("b") == b.run_at
        assert backend.next_due_at("default") is None

    def test_next_due_at_includes_retrying_jobs(self, backend, make_job, clock) -> None:
        backend.enqueue_many([make_job(), make_job(delay=3600)])
        c = claim(backend)
        out = backend.ack(c, failed(c.job, clock.now()))
        assert backend.next_due_at() == out.run_at


# -- peek --------------------------------------------------------------------------------


class TestPeek:
    def test_dequeue_order_without_claiming(self, backend, make_job) -> None:
        jobs = [make_job(priority=p) for p in ("low", "high", "default", "high", "bulk")]
        backend.enqueue_many(jobs)
        expected = [jobs[1].id, jobs[3].id, jobs[2].id, jobs[0].id, jobs[4].id]
        assert ids(backend.peek("default")) == expected
        assert ids(backend.peek("default")) == expected
        assert ids(backend.peek("default", limit=2)) == expected[:2]
        assert all(j.status is JobStatus.PENDING for j in backend.peek("default"))
        assert backend.size("default") == 5
        assert backend.stats().statuses["running"] == 0
        assert drain(backend) == expected

    def test_default_limit_is_10(self, backend, make_job) -> None:
        backend.enqueue_many([make_job() for _ in range(12)])
        assert len(backend.peek("default")) == 10

    def test_skips_claimed_removed_and_scheduled_jobs(self, backend, make_job) -> None:
        jobs = [make_job() for _ in range(5)]
        backend.enqueue_many([*jobs, make_job(delay=10)])
        claim(backend)
        backend.delete(jobs[2].id)
        backend.cancel(jobs[3].id)
        assert ids(backend.peek("default")) == [jobs[1].id, jobs[4].id]

    def test_unknown_queue(self, backend) -> None:
        assert backend.peek("nope") == []


# -- delete ------------------------------------------------------------------------------


class TestDelete:
    def test_ready_job(self, backend, make_job) -> None:
        a, b = make_job(), make_job()
        backend.enqueue_many([a, b])
        assert backend.delete(a.id) is True
        assert backend.get(a.id) is None
        assert backend.size("default") == 1
        assert backend.sizes("default")[Priority.DEFAULT] == 1
        assert ids(backend.peek("default")) == [b.id]
        assert drain(backend) == [b.id]
        assert backend.stats().statuses == statuses(running=1)

    def test_scheduled_job(self, backend, make_job, clock) -> None:
        job = make_job(delay=10)
        backend.enqueue(job)
        assert backend.delete(job.id) is True
        assert backend.next_due_at() is None
        clock.advance(20)
        assert backend.promote_due() == 0
        assert backend.dequeue("default", "w1") is None
        assert backend.get(job.id) is None

    def test_dead_job(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job(max_retries=0))
        c = claim(backend)
        backend.ack(c, failed(c.job, clock.now()))
        assert backend.delete(c.job.id) is True
        assert backend.dead_letters() == []
        assert backend.get(c.job.id) is None
        assert backend.stats().statuses == statuses()
        with pytest.raises(JobNotFoundError):
            backend.retry_dead(c.job.id)

    def test_running_job_then_its_ack_is_refused(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend, lease_seconds=5)
        assert backend.delete(c.job.id) is True
        assert backend.get(c.job.id) is None
        with pytest.raises(LeaseLostError):
            backend.ack(c, lifecycle.complete(c.job, 1, clock.now()))
        assert backend.get(c.job.id) is None
        with pytest.raises(LeaseLostError):
            backend.heartbeat(c)
        clock.advance(10)
        assert backend.reclaim_abandoned() == []
        assert backend.get(c.job.id) is None
        assert backend.stats().statuses == statuses()

    def test_unknown_id(self, backend) -> None:
        assert backend.delete("nope") is False

    def test_twice(self, backend, make_job) -> None:
        job = make_job()
        backend.enqueue(job)
        assert backend.delete(job.id) is True
        assert backend.delete(job.id) is False

    def test_id_can_be_reused_after_delete(self, backend, make_job) -> None:
        old = make_job(id="x", priority="low")
        filler = make_job(priority="high")
        backend.enqueue_many([old, filler])
        backend.delete("x")
        new = make_job(id="x", priority="critical")
        backend.enqueue(new)
        assert backend.get("x") == new
        assert backend.sizes("default") == {
            Priority.CRITICAL: 1,
            Priority.HIGH: 1,
            Priority.DEFAULT: 0,
            Priority.LOW: 0,
            Priority.BULK: 0,
        }
        assert ids(backend.peek("default")) == ["x", filler.id]
        assert drain(backend) == ["x", filler.id]
        assert backend.sizes("default") == dict.fromkeys(PRIORITIES, 0)

    def test_id_can_be_reused_in_another_queue(self, backend, make_job) -> None:
        backend.enqueue(make_job(id="x", queue="a"))
        backend.delete("x")
        backend.enqueue(make_job(id="x", queue="b"))
        assert backend.size("a") == 0
        assert backend.size("b") == 1
        assert drain(backend, "b") == ["x"]
        assert drain(backend, "a") == []


# -- cancel ------------------------------------------------------------------------------


class TestCancel:
    def test_pending(self, backend, make_job, clock) -> None:
        a, b = make_job(), make_job()
        backend.enqueue_many([a, b])
        cancelled = backend.cancel(a.id)
        assert cancelled.status is JobStatus.CANCELLED
        assert cancelled.finished_at == clock.now()
        assert backend.get(a.id) == cancelled
        assert backend.size("default") == 1
        assert drain(backend) == [b.id]
        for s in (backend.stats(), backend.queue_stats("default")):
            expect_counters(s, enqueued=2, cancelled=1)
            assert s.statuses == statuses(cancelled=1, running=1)

    def test_scheduled(self, backend, make_job, clock) -> None:
        job = make_job(delay=10)
        backend.enqueue(job)
        assert backend.cancel(job.id).status is JobStatus.CANCELLED
        assert backend.next_due_at() is None
        clock.advance(20)
        assert backend.promote_due() == 0
        assert backend.dequeue("default", "w1") is None
        assert backend.get(job.id).status is JobStatus.CANCELLED

    def test_retrying(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend)
        backend.ack(c, failed(c.job, clock.now()))
        assert backend.cancel(c.job.id).status is JobStatus.CANCELLED
        assert backend.next_due_at() is None
        clock.advance(3600)
        assert backend.dequeue("default", "w1") is None
        assert backend.get(c.job.id).status is JobStatus.CANCELLED

    def test_explicit_now(self, backend, make_job, clock) -> None:
        job = make_job()
        backend.enqueue(job)
        at = clock.now() + timedelta(seconds=9)
        assert backend.cancel(job.id, now=at).finished_at == at

    def test_running_raises(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend)
        with pytest.raises(InvalidTransitionError):
            backend.cancel(c.job.id)
        assert backend.get(c.job.id) == c.job
        assert complete(backend, c, clock).status is JobStatus.COMPLETED

    def test_completed_raises(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend)
        done = backend.ack(c, lifecycle.complete(c.job, 1, clock.now()))
        with pytest.raises(InvalidTransitionError):
            backend.cancel(c.job.id)
        assert backend.get(c.job.id) == done
        assert backend.stats()["cancelled"] == 0

    def test_cancelled_and_dead_raise(self, backend, make_job, clock) -> None:
        a = make_job()
        backend.enqueue_many([a, make_job(max_retries=0)])
        backend.cancel(a.id)
        with pytest.raises(InvalidTransitionError):
            backend.cancel(a.id)
        c = claim(backend)
        backend.ack(c, failed(c.job, clock.now()))
        with pytest.raises(InvalidTransitionError):
            backend.cancel(c.job.id)
        assert ids(backend.dead_letters()) == [c.job.id]

    def test_unknown_id_raises(self, backend) -> None:
        with pytest.raises(JobNotFoundError):
            backend.cancel("nope")


# -- size / sizes / queues -------------------------------------------------------------------


class TestSizes:
    def test_size_and_sizes(self, backend, make_job) -> None:
        assert backend.size("default") == 0
        assert backend.sizes("nope") == dict.fromkeys(PRIORITIES, 0)
        for p in ("high", "high", "bulk", "critical"):
            backend.enqueue(make_job(priority=p))
        backend.enqueue(make_job(delay=5))  # scheduled: not ready
        sizes = backend.sizes("default")
        assert list(sizes) == list(PRIORITIES)
        assert all(isinstance(k, Priority) for k in sizes)
        assert sizes == {
            Priority.CRITICAL: 1,
            Priority.HIGH: 2,
            Priority.DEFAULT: 0,
            Priority.LOW: 0,
            Priority.BULK: 1,
        }
        assert backend.size("default") == 4
        claim(backend)
        assert backend.sizes("default")[Priority.CRITICAL] == 0
        assert backend.size("default") == 3

    def test_queues(self, backend, make_job, clock) -> None:
        assert backend.queues() == []
        backend.enqueue(make_job(queue="zeta"))
        backend.enqueue(make_job(queue="alpha", delay=10))
        backend.enqueue(make_job(queue="mid"))
        assert backend.queues() == ["alpha", "mid", "zeta"]
        c = claim(backend, "zeta")
        backend.ack(c, lifecycle.complete(c.job, 1, clock.now()))
        assert "zeta" in backend.queues()  # held a job
        assert backend.queues() == sorted(backend.queues())


# -- save / get / find ---------------------------------------------------------------------


class TestSave:
    def test_new_pending_job_is_ready(self, backend, make_job) -> None:
        job = make_job()
        assert backend.save(job) == job
        assert backend.get(job.id) == job
        assert ids(backend.peek("default")) == [job.id]
        assert claim(backend).job.id == job.id

    def test_update_of_a_ready_job_does_not_duplicate_it(self, backend, make_job) -> None:
        job = make_job(args={"n": 1})
        backend.enqueue(job)
        changed = job.evolve(args={"n": 2})
        backend.save(changed)
        assert backend.get(job.id) == changed
        assert backend.size("default") == 1
        assert ids(backend.peek("default")) == [job.id]
        c = claim(backend)
        assert c.job.args == {"n": 2}
        assert backend.dequeue("default", "w1") is None
        assert backend.size("default") == 0

    def test_changing_priority_moves_the_job(self, backend, make_job) -> None:
        job, other = make_job(priority="low"), make_job(priority="high")
        backend.enqueue_many([job, other])
        backend.save(job.evolve(priority=Priority.CRITICAL))
        assert backend.sizes("default") == {
            Priority.CRITICAL: 1,
            Priority.HIGH: 1,
            Priority.DEFAULT: 0,
            Priority.LOW: 0,
            Priority.BULK: 0,
        }
        assert ids(backend.peek("default")) == [job.id, other.id]
        assert drain(backend) == [job.id, other.id]
        assert backend.sizes("default") == dict.fromkeys(PRIORITIES, 0)

    def test_indexes_by_status(self, backend, make_job, clock) -> None:
        scheduled = make_job(delay=100)
        dead = make_job().evolve(status=JobStatus.DEAD, error=BOOM, finished_at=clock.now())
        completed = make_job().evolve(status=JobStatus.COMPLETED, result=1)
        for job in (scheduled, dead, completed):
            assert backend.save(job) == job
            assert backend.get(job.id) == job
        assert backend.next_due_at() == scheduled.run_at
        assert backend.dead_letters() == [dead]
        assert backend.size("default") == 0
        assert ids(backend.find(status="completed")) == [completed.id]
        assert backend.stats().statuses == statuses(scheduled=1, dead=1, completed=1)

    def test_moving_a_ready_job_to_scheduled(self, backend, make_job, clock) -> None:
        job = make_job()
        backend.enqueue(job)
        later = clock.now() + timedelta(seconds=60)
        backend.save(job.evolve(status=JobStatus.SCHEDULED, run_at=later))
        assert backend.size("default") == 0
        assert backend.dequeue("default", "w1") is None
        assert backend.next_due_at() == later
        clock.set(later)
        assert claim(backend).job.id == job.id

    def test_moving_a_dead_job_out_of_dead_letters(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job(max_retries=0))
        c = claim(backend)
        dead = backend.ack(c, failed(c.job, clock.now()))
        backend.save(dead.evolve(status=JobStatus.CANCELLED))
        assert backend.dead_letters() == []
        assert backend.get(dead.id).status is JobStatus.CANCELLED
        assert backend.stats().statuses == statuses(cancelled=1)

    def test_running_jobs_are_refused(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        c = claim(backend)
        with pytest.raises(InvalidJobError):
            backend.save(c.job)
        with pytest.raises(InvalidJobError):
            backend.save(lifecycle.complete(c.job, 1, clock.now()))  # finish with ack
        assert backend.get(c.job.id) == c.job
        assert complete(backend, c, clock).status is JobStatus.COMPLETED
        with pytest.raises(InvalidJobError):
            backend.save(make_job().evolve(status=JobStatus.RUNNING))


class TestGetFind:
    @pytest.fixture
    def jobs(self, backend, make_job, clock) -> list[Job]:
        made = [
            make_job("email", queue="mail", tenant_id="acme"),
            make_job("email", queue="mail", tenant_id="globex"),
            make_job("report", tenant_id="acme"),
            make_job("report", delay=60),
            make_job("email", queue="mail", tenant_id="acme", priority="high"),
        ]
        backend.enqueue_many(made)
        return made

    def test_get(self, backend, jobs) -> None:
        for job in jobs:
            assert backend.get(job.id) == job
        assert backend.get("nope") is None

    def test_get_round_trips_every_field(self, backend, make_job, clock) -> None:
        job = make_job(
            "t",
            {"nested": {"list": [1, 2.5, None, True, "s"]}},
            priority="low",
            max_retries=7,
            tenant_id="t-1",
            metadata={"trace": "abc"},
            queue="q.1",
        )
        backend.enqueue(job)
        assert backend.get(job.id) == job
        c = claim(backend, "q.1")
        out = backend.ack(c, lifecycle.fail(c.job, JobError("E", "m", "tb"), clock.now(), POLICY))
        assert backend.get(job.id) == out
        assert backend.get(job.id).error == JobError("E", "m", "tb")

    def test_find_all_oldest_first(self, backend, jobs) -> None:
        assert backend.find() == jobs
        assert backend.find(limit=None) == jobs

    def test_find_by_status(self, backend, jobs) -> None:
        assert ids(backend.find(status=JobStatus.SCHEDULED)) == [jobs[3].id]
        assert ids(backend.find(status="pending")) == ids([jobs[0], jobs[1], jobs[2], jobs[4]])
        assert backend.find(status="dead") == []

    def test_find_by_job_type(self, backend, jobs) -> None:
        assert ids(backend.find(job_type="report")) == [jobs[2].id, jobs[3].id]
        assert backend.find(job_type="nope") == []

    def test_find_by_queue(self, backend, jobs) -> None:
        assert ids(backend.find(queue="mail")) == ids([jobs[0], jobs[1], jobs[4]])
        assert ids(backend.find(queue="default")) == [jobs[2].id, jobs[3].id]

    def test_find_by_tenant(self, backend, jobs) -> None:
        assert ids(backend.find(tenant_id="acme")) == ids([jobs[0], jobs[2], jobs[4]])
        assert ids(backend.find(tenant_id="globex")) == [jobs[1].id]

    def test_find_with_every_filter(self, backend, jobs) -> None:
        found = backend.find(status="pending", job_type="email", queue="mail", tenant_id="acme")
        assert ids(found) == [jobs[0].id, jobs[4].id]

    def test_find_limit(self, backend, jobs) -> None:
        assert ids(backend.find(limit=2)) == [jobs[0].id, jobs[1].id]
        assert ids(backend.find(tenant_id="acme", limit=1)) == [jobs[0].id]
        assert backend.find(limit=0) == []

    def test_find_default_limit_is_100(self, backend, make_job) -> None:
        backend.enqueue_many([make_job() for _ in range(105)])
        assert len(backend.find()) == 100
        assert len(backend.find(limit=None)) == 105

    def test_find_sees_status_changes(self, backend, jobs, clock) -> None:
        c = claim(backend, "mail")
        assert c.job.id == jobs[4].id
        assert ids(backend.find(status="running")) == [jobs[4].id]
        backend.ack(c, lifecycle.complete(c.job, 1, clock.now()))
        assert ids(backend.find(status="completed")) == [jobs[4].id]
        assert ids(backend.find(status="pending", queue="mail")) == [jobs[0].id, jobs[1].id]


# -- dead letters / retry_dead ---------------------------------------------------------------


def kill(backend: JobBackend, clock: FakeClock, queue: str = "default") -> Job:
    """Claim the next job of `queue` and fail it for good."""
    c = claim(backend, queue)
    clock.advance(1)
    return backend.ack(c, failed(c.job, clock.now(), retryable=False))


class TestDeadLetters:
    def test_oldest_death_first_with_filters_and_limit(self, backend, make_job, clock) -> None:
        a = make_job(queue="a", tenant_id="acme")
        b = make_job(queue="b", tenant_id="acme")
        c = make_job(queue="a", tenant_id="globex")
        backend.enqueue_many([a, b, c])
        dead_b = kill(backend, clock, "b")
        dead_a = kill(backend, clock, "a")
        dead_c = kill(backend, clock, "a")
        assert [dead_a.id, dead_b.id, dead_c.id] == [a.id, b.id, c.id]
        assert ids(backend.dead_letters()) == [dead_b.id, dead_a.id, dead_c.id]
        assert backend.dead_letters() == [dead_b, dead_a, dead_c]
        assert ids(backend.dead_letters(limit=2)) == [dead_b.id, dead_a.id]
        assert ids(backend.dead_letters(None)) == [dead_b.id, dead_a.id, dead_c.id]
        assert ids(backend.dead_letters(queue="a")) == [dead_a.id, dead_c.id]
        assert ids(backend.dead_letters(tenant_id="acme")) == [dead_b.id, dead_a.id]
        assert ids(backend.dead_letters(queue="a", tenant_id="acme")) == [dead_a.id]
        assert ids(backend.dead_letters(1, queue="a")) == [dead_a.id]
        assert backend.dead_letters(queue="nope") == []

    def test_default_limit_is_100(self, backend, make_job, clock) -> None:
        backend.enqueue_many([make_job(max_retries=0) for _ in range(102)])
        for c in backend.dequeue_many("default", "w1", 102):
            backend.ack(c, failed(c.job, clock.now()))
        assert len(backend.dead_letters()) == 100
        assert len(backend.dead_letters(None)) == 102


class TestRetryDead:
    def test_back_to_pending_and_dequeuable(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job(max_retries=2))
        for _ in range(3):
            c = claim(backend)
            out = backend.ack(c, failed(c.job, clock.now()))
            if out.status is JobStatus.RETRYING:
                clock.set(out.run_at)
        assert out.status is JobStatus.DEAD
        assert out.retry_count == 2
        clock.advance(100)
        revived = backend.retry_dead(out.id)
        assert revived.status is JobStatus.PENDING
        assert revived.retry_count == 0
        assert revived.run_at <= clock.now()
        assert backend.get(out.id) == revived
        assert backend.dead_letters() == []
        assert backend.size("default") == 1
        assert backend.stats().statuses == statuses(pending=1)
        again = claim(backend)
        assert again.job.id == out.id
        assert again.job.retry_count == 0
        # it gets the full retry budget again
        assert backend.ack(again, failed(again.job, clock.now())).status is JobStatus.RETRYING

    def test_goes_behind_ready_jobs_of_its_priority(self, backend, make_job, clock) -> None:
        doomed = make_job()
        backend.enqueue(doomed)
        kill(backend, clock)
        other = make_job()
        backend.enqueue(other)
        backend.retry_dead(doomed.id)
        assert drain(backend) == [other.id, doomed.id]

    def test_explicit_now(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job())
        dead = kill(backend, clock)
        at = clock.now() + timedelta(seconds=5)
        assert backend.retry_dead(dead.id, now=at).updated_at == at

    def test_not_dead_raises(self, backend, make_job, clock) -> None:
        job = make_job()
        backend.enqueue(job)
        with pytest.raises(InvalidTransitionError):
            backend.retry_dead(job.id)
        c = claim(backend)
        with pytest.raises(InvalidTransitionError):
            backend.retry_dead(job.id)
        done = backend.ack(c, lifecycle.complete(c.job, 1, clock.now()))
        with pytest.raises(InvalidTransitionError):
            backend.retry_dead(job.id)
        assert backend.get(job.id) == done
        assert backend.size("default") == 0

    def test_unknown_id_raises(self, backend) -> None:
        with pytest.raises(JobNotFoundError):
            backend.retry_dead("nope")


# -- stats / history -------------------------------------------------------------------------


class TestStats:
    def test_empty(self, backend) -> None:
        for s in (backend.stats(), backend.queue_stats("nope")):
            expect_counters(s)
            assert s.statuses == statuses()
            assert s.success_rate is None

    def test_statuses_of_every_kind(self, backend, make_job, clock) -> None:
        jobs = [make_job(queue="a") for _ in range(4)] + [make_job(queue="b", max_retries=0)]
        backend.enqueue_many([*jobs, make_job(queue="b", delay=999), make_job(queue="b")])
        c1, c2, c3 = claim(backend, "a"), claim(backend, "a"), claim(backend, "a")
        backend.ack(c1, lifecycle.complete(c1.job, 1, clock.now()))
        backend.ack(c2, failed(c2.job, clock.now()))
        backend.cancel(jobs[3].id)
        kill(backend, clock, "b")
        assert c3.job.status is JobStatus.RUNNING
        total = backend.stats()
        assert total.statuses == statuses(
            pending=1, scheduled=1, running=1, completed=1, retrying=1, dead=1, cancelled=1
        )
        assert backend.queue_stats("a").statuses == statuses(
            running=1, completed=1, retrying=1, cancelled=1
        )
        assert backend.queue_stats("b").statuses == statuses(pending=1, scheduled=1, dead=1)
        expect_counters(
            total, enqueued=7, processed=3, succeeded=1, failed=2, retried=1, dead=1, cancelled=1
        )
        expect_counters(
            backend.queue_stats("a"),
            enqueued=4,
            processed=2,
            succeeded=1,
            failed=1,
            retried=1,
            cancelled=1,
        )
        expect_counters(backend.queue_stats("b"), enqueued=3, processed=1, failed=1, dead=1)


class TestHistory:
    def test_newest_first_and_filtered(self, backend, make_job, clock) -> None:
        backend.enqueue_many([make_job("a"), make_job("b"), make_job("a", max_retries=0)])
        outs = []
        for finish in ("complete", "fail", "fail"):
            c = claim(backend)
            clock.advance(1)
            out = (
                lifecycle.complete(c.job, 1, clock.now())
                if finish == "complete"
                else failed(c.job, clock.now())
            )
            outs.append(backend.ack(c, out))
        assert [j.status for j in outs] == [JobStatus.COMPLETED, JobStatus.RETRYING, JobStatus.DEAD]
        assert backend.history() == outs[::-1]
        assert backend.history("a") == [outs[2], outs[0]]
        assert backend.history(job_type="b") == [outs[1]]
        assert backend.history("nope") == []
        assert backend.history(limit=2) == [outs[2], outs[1]]
        assert backend.history("a", limit=1) == [outs[2]]

    def test_each_attempt_is_recorded(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job("x"))
        c = claim(backend)
        first = backend.ack(c, failed(c.job, clock.now()))
        clock.set(first.run_at)
        c = claim(backend)
        second = backend.ack(c, lifecycle.complete(c.job, 2, clock.now()))
        assert backend.history() == [second, first]

    def test_unfinished_jobs_are_not_history(self, backend, make_job) -> None:
        backend.enqueue_many([make_job(), make_job(delay=5)])
        claim(backend)
        assert backend.history() == []


# -- clear -------------------------------------------------------------------------------


def test_clear_forgets_everything(backend, make_job, clock) -> None:
    backend.enqueue_many(
        [make_job(), make_job(max_retries=0), make_job(delay=50), make_job(queue="other")]
    )
    c1 = claim(backend)
    backend.ack(c1, lifecycle.complete(c1.job, 1, clock.now()))
    kill(backend, clock)
    held = claim(backend, "other")
    backend.clear()
    assert backend.find(limit=None) == []
    assert backend.get(c1.job.id) is None
    assert backend.queues() == []
    assert backend.size("default") == 0
    assert backend.sizes("other") == dict.fromkeys(PRIORITIES, 0)
    assert backend.next_due_at() is None
    assert backend.dead_letters() == []
    assert backend.history() == []
    assert backend.peek("default") == []
    clock.advance(3600)
    assert backend.promote_due() == 0
    assert backend.reclaim_abandoned() == []
    assert backend.dequeue("default", "w1") is None
    expect_counters(backend.stats())
    assert backend.stats().statuses == statuses()
    expect_counters(backend.queue_stats("default"))
    with pytest.raises(LeaseLostError):
        backend.ack(held, lifecycle.complete(held.job, 1, clock.now()))
    assert backend.get(held.job.id) is None
    # the backend is usable afterwards, ids included
    job = make_job(id=c1.job.id)
    backend.enqueue(job)
    assert claim(backend).job == lifecycle.start(job, clock.now())


# -- wait_for_jobs -----------------------------------------------------------------------


class TestWaitForJobs:
    def test_true_at_once_when_a_job_is_ready(self, backend, make_job) -> None:
        backend.enqueue(make_job(queue="a"))
        started = time.monotonic()
        assert backend.wait_for_jobs(None, timeout=5) is True
        assert backend.wait_for_jobs(["a"], timeout=5) is True
        assert backend.wait_for_jobs(["x", "a"], timeout=5) is True
        assert time.monotonic() - started < 1.0

    def test_false_after_the_timeout_when_none_is_ready(self, backend, make_job) -> None:
        backend.enqueue(make_job(queue="a"))
        backend.enqueue(make_job(queue="b", delay=60))
        for queues in (["b"], ["nope"], []):
            started = time.monotonic()
            assert backend.wait_for_jobs(queues, timeout=0.05) is False
            elapsed = time.monotonic() - started
            assert elapsed < 2.0

    def test_false_after_the_timeout_on_an_empty_backend(self, backend) -> None:
        started = time.monotonic()
        assert backend.wait_for_jobs(None, timeout=0.05) is False
        assert time.monotonic() - started < 2.0

    def test_an_enqueue_from_another_thread_wakes_it(self, backend, make_job) -> None:
        job = make_job()
        timer = threading.Timer(0.05, backend.enqueue, args=(job,))
        timer.start()
        try:
            started = time.monotonic()
            deadline = started + 5
            ready = False
            # "may return early": keep waiting until ready or the deadline.
            while not ready and time.monotonic() < deadline:
                ready = backend.wait_for_jobs(["default"], timeout=deadline - time.monotonic())
            assert ready is True
            assert time.monotonic() - started < 4.0
        finally:
            timer.join()


# -- concurrency -------------------------------------------------------------------------


def test_concurrent_dequeues_claim_each_job_exactly_once(backend, make_job) -> None:
    jobs = [make_job(priority=PRIORITIES[i % 5]) for i in range(200)]
    backend.enqueue_many(jobs)
    seen: list[list[str]] = [[] for _ in range(8)]
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        barrier.wait()
        while (c := backend.dequeue("default", f"w{n}")) is not None:
            seen[n].append(c.job.id)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    claimed = [i for part in seen for i in part]
    assert sorted(claimed) == sorted(j.id for j in jobs)
    assert len(set(claimed)) == len(claimed)
    assert backend.stats().statuses["running"] == 200


# -- batches: heartbeat_many, ack_many, release -------------------------------------------


class TestBatches:
    def test_heartbeat_many_renews_held_leases_and_flags_lost_ones(
        self, backend, make_job, clock
    ) -> None:
        backend.enqueue_many([make_job() for _ in range(3)])
        a, b, c = backend.dequeue_many("default", "w1", 3)
        backend.ack(b, lifecycle.complete(b.job, 1, clock.now()))
        clock.advance(5)
        renewed = backend.heartbeat_many([a, b, c], lease_seconds=60)
        assert renewed[1] is None
        assert [r.lease_expires_at for r in (renewed[0], renewed[2])] == [
            clock.now() + timedelta(seconds=60)
        ] * 2
        assert renewed[0].token == a.token and renewed[2].token == c.token
        assert backend.stats()["lease_lost"] == 1
        assert backend.heartbeat_many([]) == []

    def test_ack_many_records_each_outcome_against_its_own_lease(
        self, backend, make_job, clock
    ) -> None:
        backend.enqueue_many([make_job(), make_job(), make_job(max_retries=0), make_job()])
        a, b, c, d = backend.dequeue_many("default", "w1", 4)
        backend.delete(d.job.id)
        now = clock.now()
        outs = [
            lifecycle.complete(a.job, "ok", now),
            failed(b.job, now),
            failed(c.job, now),
            lifecycle.complete(d.job, "late", now),
        ]
        stored = backend.ack_many(list(zip([a, b, c, d], outs, strict=True)))
        assert stored == [outs[0], outs[1], outs[2], None]
        assert backend.get(a.job.id) == outs[0]
        assert backend.get(b.job.id).status is JobStatus.RETRYING
        assert ids(backend.dead_letters()) == [c.job.id]
        expect_counters(
            backend.stats(),
            enqueued=4,
            processed=3,
            succeeded=1,
            failed=2,
            retried=1,
            dead=1,
            lease_lost=1,
        )
        assert backend.ack_many([]) == []

    def test_ack_many_checks_every_outcome_before_recording_any(
        self, backend, make_job, clock
    ) -> None:
        backend.enqueue_many([make_job(), make_job()])
        a, b = backend.dequeue_many("default", "w1", 2)
        good = lifecycle.complete(a.job, 1, clock.now())
        with pytest.raises(InvalidJobError):
            backend.ack_many([(a, good), (b, b.job)])  # b still running: not an outcome
        assert backend.get(a.job.id).status is JobStatus.RUNNING
        assert backend.stats()["processed"] == 0
        assert backend.ack_many([(a, good)]) == [good]

    def test_release_puts_unstarted_claims_back_in_front_uncounted(
        self, backend, make_job, clock
    ) -> None:
        jobs = [make_job() for _ in range(5)]
        backend.enqueue_many(jobs)
        claims = backend.dequeue_many("default", "w1", 3)
        clock.advance(2)
        released = backend.release(claims[1:])
        assert ids(released) == [jobs[1].id, jobs[2].id]
        for job in released:
            assert job.status is JobStatus.PENDING
            assert job.started_at is None
            assert job.updated_at == clock.now()
            assert backend.get(job.id) == job
        assert ids(backend.peek("default")) == [jobs[1].id, jobs[2].id, jobs[3].id, jobs[4].id]
        assert backend.stats().statuses == statuses(pending=4, running=1)
        expect_counters(backend.stats(), enqueued=5)
        with pytest.raises(LeaseLostError):  # the released claim is no longer held
            backend.ack(claims[1], lifecycle.complete(claims[1].job, 1, clock.now()))
        again = claim(backend)
        assert again.job.id == jobs[1].id
        assert again.job.retry_count == 0 and again.job.reclaim_count == 0

    def test_release_skips_claims_no_longer_held(self, backend, make_job, clock) -> None:
        backend.enqueue_many([make_job(), make_job()])
        a, b = backend.dequeue_many("default", "w1", 2)
        backend.ack(a, lifecycle.complete(a.job, 1, clock.now()))
        assert ids(backend.release([a, b])) == [b.job.id]
        assert backend.get(a.job.id).status is JobStatus.COMPLETED
        assert backend.release([]) == []
