"""Workers and pools on every backend: single and batched claims, lease renewal of a
whole batch, and a stopping batch worker giving back what it has not started."""

from __future__ import annotations

import threading
import time

import pytest

from jobkit.clock import FakeClock, SystemClock
from jobkit.core.model import JobStatus
from jobkit.kit import JobKit
from jobkit.ports import JobBackend
from jobkit.worker import Worker
from tests.adapters.backends import BackendFactory
from tests.helpers import wait_for


def make_kit(backend: JobBackend, clock: object) -> JobKit:
    return JobKit(backend, clock=clock)  # type: ignore[arg-type]


def real_time_kit(backend_factory: BackendFactory) -> JobKit:
    """A kit on a fresh backend of the kind under test, on the system clock (threads
    and leases in real time)."""
    clock = SystemClock()
    return make_kit(backend_factory(clock), clock)  # type: ignore[arg-type]


@pytest.mark.parametrize("batch_size", [1, 7])
def test_run_until_idle_plays_the_whole_retry_timeline(
    backend: JobBackend, clock: FakeClock, batch_size: int
) -> None:
    kit = make_kit(backend, clock)
    calls: list[int] = []

    @kit.handler("flaky")
    def flaky(args: dict) -> str:
        calls.append(args["n"])
        if args["n"] % 3 == 0:
            raise RuntimeError("down")
        return "ok"

    kit.enqueue_many([{"job_type": "flaky", "args": {"n": n}} for n in range(20)])
    worker = kit.worker(batch_size=batch_size)
    assert worker.run_until_idle() == 20
    for _ in range(3):  # +30 s, +5 min, +1 h
        clock.set(backend.next_due_at())
        assert worker.run_until_idle() == 7
    assert backend.next_due_at() is None
    stats = kit.stats()
    assert stats["processed"] == 20 + 3 * 7
    assert stats["dead"] == 7 and stats["succeeded"] == 13
    assert len(calls) == 41
    assert worker.processed == 41


def test_run_until_idle_respects_max_jobs_in_batches(backend: JobBackend, clock: FakeClock) -> None:
    kit = make_kit(backend, clock)
    kit.handler("noop")(lambda args: None)
    kit.enqueue_many([{"job_type": "noop"} for _ in range(10)])
    worker = kit.worker(batch_size=4)
    assert worker.run_until_idle(max_jobs=6) == 6
    assert backend.size("default") == 4
    assert kit.stats().statuses["running"] == 0


def test_a_batch_keeps_every_lease_alive_until_it_is_acked(
    backend_factory: BackendFactory,
) -> None:
    kit = real_time_kit(backend_factory)

    @kit.handler("slow")
    def slow(args: dict) -> None:
        time.sleep(0.4)

    kit.enqueue_many([{"job_type": "slow"} for _ in range(4)])  # 1.6 s per batch > 1 s lease
    worker = kit.worker(batch_size=4, visibility_timeout=1.0, heartbeat_interval=0.2)
    worker.start()
    try:
        assert wait_for(lambda: kit.stats()["succeeded"] == 4, timeout=20)
    finally:
        worker.stop(timeout=10)
    stats = kit.stats()
    assert stats["reclaimed"] == stats["lease_lost"] == 0
    assert stats["processed"] == 4


def test_a_stopping_batch_worker_gives_back_what_it_did_not_start(
    backend_factory: BackendFactory,
) -> None:
    kit = real_time_kit(backend_factory)
    backend = kit.backend
    started = threading.Event()

    @kit.handler("slow")
    def slow(args: dict) -> None:
        started.set()
        time.sleep(0.3)

    jobs = kit.enqueue_many([{"job_type": "slow", "args": {"n": n}} for n in range(5)])
    worker = Worker(backend, kit.registry, batch_size=5, clock=kit.clock)
    worker.start()
    assert started.wait(10)
    worker.stop(timeout=10)
    stored = [kit.get(j.id) for j in jobs]
    assert [j.status for j in stored] == [JobStatus.COMPLETED] + [JobStatus.PENDING] * 4
    assert [j.id for j in backend.peek("default")] == [j.id for j in jobs[1:]]
    stats = kit.stats()
    assert stats["processed"] == 1 and stats["reclaimed"] == 0
    assert stats.statuses["running"] == 0


def test_a_pool_with_batches_processes_everything_once(
    backend_factory: BackendFactory,
) -> None:
    kit = real_time_kit(backend_factory)
    seen: list[int] = []
    lock = threading.Lock()

    @kit.handler("count")
    def count(args: dict) -> None:
        with lock:
            seen.append(args["n"])

    kit.enqueue_many(
        [
            {"job_type": "count", "args": {"n": n}, "priority": "high" if n % 2 else "low"}
            for n in range(300)
        ]
    )
    with kit.pool(worker_count=3, poll_interval=0.05, batch_size=16) as pool:
        assert pool.wait_until_idle(timeout=30)
    assert sorted(seen) == list(range(300))
    assert kit.stats()["succeeded"] == 300


def test_pools_restricted_to_tenants_never_run_another_tenants_job(
    backend_factory: BackendFactory,
) -> None:
    kit = real_time_kit(backend_factory)
    ran: list[tuple[str | None, str]] = []  # (job's tenant, pool that ran it)
    lock = threading.Lock()

    @kit.handler("work")
    def work(args: dict) -> None:
        with lock:
            worker_id = threading.current_thread().name.removeprefix("jobkit-worker-")
            ran.append((args["tenant"], worker_id.split("/")[0]))

    for n in range(60):
        tenant = ("acme", "globex", None)[n % 3]
        kit.enqueue("work", {"tenant": tenant}, tenant_id=tenant)
    pools = {
        "acme": kit.pool(3, poll_interval=0.05, tenants=["acme"], name="acme"),
        "rest": kit.pool(2, poll_interval=0.05, tenants=["globex", None], name="rest"),
    }
    for pool in pools.values():
        pool.start()
    try:
        assert wait_for(lambda: kit.stats()["succeeded"] == 60, timeout=30)
        assert pools["acme"].wait_until_idle(timeout=5)
    finally:
        for pool in pools.values():
            pool.stop(timeout=10)
    assert len(ran) == 60
    assert {pool for tenant, pool in ran if tenant == "acme"} == {"acme"}
    assert {pool for tenant, pool in ran if tenant != "acme"} == {"rest"}
    assert kit.tenant_stats("acme")["succeeded"] == 20
    assert kit.tenant_stats("globex")["succeeded"] == 20


def test_a_tenants_kit_runs_only_that_tenants_jobs(backend: JobBackend, clock: FakeClock) -> None:
    kit = make_kit(backend, clock)
    kit.handler("t")(lambda args: None)
    kit.for_tenant("acme").enqueue("t")
    kit.for_tenant("globex").enqueue("t")
    kit.enqueue("t")
    acme = kit.for_tenant("acme")
    assert acme.run_until_idle() == 1
    assert acme.stats()["succeeded"] == 1 and acme.stats().statuses["completed"] == 1
    assert kit.stats().statuses["pending"] == 2
    assert kit.run_until_idle() == 2
