"""WorkerPool: N workers on threads over one backend (DESIGN §1, §9)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

import jobkit
from jobkit.core.model import JobStatus
from tests.helpers import wait_for


def jobkit_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("jobkit-") and t.is_alive()]


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    assert jobkit_threads() == []
    yield
    assert jobkit_threads() == []


@pytest.fixture
def kit() -> jobkit.JobKit:
    return jobkit.connect("memory://")  # real clock: the pool runs on real threads


def test_pool_processes_10000_jobs_exactly_once(kit: jobkit.JobKit) -> None:
    n = 10_000
    calls: Counter[int] = Counter()
    threads: Counter[str] = Counter()
    lock = threading.Lock()

    def noop(args: dict) -> None:
        with lock:
            calls[args["i"]] += 1
            threads[threading.current_thread().name] += 1

    kit.register("noop", noop)
    kit.enqueue_many({"job_type": "noop", "args": {"i": i}} for i in range(n))
    pool = kit.pool(worker_count=5, poll_interval=0.05)
    assert len(pool.workers) == 5
    pool.start()
    try:
        assert pool.wait_until_idle(timeout=30)
    finally:
        pool.stop(timeout=10)

    assert not pool.running
    assert jobkit_threads() == []
    assert len(calls) == n
    assert set(calls) == set(range(n))
    assert max(calls.values()) == 1  # none twice
    stats = kit.stats()
    assert stats["processed"] == stats["succeeded"] == n
    assert stats["failed"] == stats["reclaimed"] == stats["lease_lost"] == 0
    assert stats.statuses["completed"] == n
    assert stats.statuses["pending"] == stats.statuses["running"] == 0
    assert pool.processed == n
    assert sum(s.processed for s in pool.status()) == n
    assert sum(s.succeeded for s in pool.status()) == n
    assert all(name.startswith("jobkit-worker-") for name in threads)
    assert len(threads) >= 2  # the work was really shared


def test_stop_leaves_no_jobkit_thread_alive(kit: jobkit.JobKit) -> None:
    pool = kit.pool(worker_count=5, poll_interval=0.05).start()
    assert pool.running
    names = {t.name for t in jobkit_threads()}
    assert len([n for n in names if n.startswith("jobkit-worker-")]) == 5
    assert len([n for n in names if n.startswith("jobkit-heartbeat-")]) == 5
    t0 = time.monotonic()
    pool.stop()
    assert time.monotonic() - t0 < 2.0
    assert not pool.running
    assert jobkit_threads() == []
    pool.stop()  # a second stop is harmless


def test_context_manager_form(kit: jobkit.JobKit) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def square(args: dict) -> int:
        with lock:
            results.append(args["x"])
        return args["x"] ** 2

    kit.register("square", square)
    with kit.pool(worker_count=3, poll_interval=0.05) as pool:
        assert isinstance(pool, jobkit.WorkerPool)
        assert pool.running
        jobs = [kit.enqueue("square", {"x": x}) for x in range(50)]
        assert pool.wait_until_idle(timeout=10)
    assert not pool.running
    assert jobkit_threads() == []
    assert sorted(results) == list(range(50))
    assert [kit.get(j.id).result for j in jobs] == [x * x for x in range(50)]


def test_context_manager_stops_the_pool_when_the_block_raises(kit: jobkit.JobKit) -> None:
    pool = kit.pool(worker_count=2, poll_interval=0.05)
    with pytest.raises(RuntimeError, match="user code"), pool:
        assert pool.running
        raise RuntimeError("user code")
    assert not pool.running
    assert jobkit_threads() == []


def test_status_snapshots(kit: jobkit.JobKit) -> None:
    release = threading.Event()
    started = threading.Semaphore(0)

    def block(args: dict) -> str:
        started.release()
        assert release.wait(10)
        return "released"

    kit.register("block", block)
    pool = kit.pool(worker_count=2, poll_interval=0.05, name="snap")
    before = pool.status()
    assert [s.worker_id for s in before] == ["snap/0", "snap/1"]
    assert all(not s.running and s.processed == 0 and s.current_job_id is None for s in before)

    pool.start()
    try:
        ids = {kit.enqueue("block").id for _ in range(2)}
        assert started.acquire(timeout=5) and started.acquire(timeout=5)
        during = pool.status()
        assert all(s.running for s in during)
        assert {s.current_job_id for s in during} == ids  # each holds one job
        assert kit.stats().statuses["running"] == 2
        release.set()
        assert pool.wait_until_idle(timeout=5)
        assert wait_for(lambda: all(s.current_job_id is None for s in pool.status()))
    finally:
        release.set()
        pool.stop(timeout=5)
    after = pool.status()
    assert all(not s.running for s in after)
    assert sum(s.processed for s in after) == 2
    assert sum(s.succeeded for s in after) == 2
    assert "WorkerPool(workers=2" in repr(pool)


def test_wait_until_idle(kit: jobkit.JobKit) -> None:
    release = threading.Event()
    kit.register("block", lambda a: release.wait(10) and None)
    kit.register("later", lambda a: None)
    pool = kit.pool(worker_count=2, poll_interval=0.05)
    assert pool.wait_until_idle(timeout=0.1)  # nothing at all: idle at once
    kit.schedule("later", {}, delay=3600)  # scheduled jobs do not count
    assert pool.wait_until_idle(timeout=0.1)
    with pool:
        kit.enqueue("block")
        t0 = time.monotonic()
        assert pool.wait_until_idle(timeout=0.2) is False  # a job is running
        assert time.monotonic() - t0 >= 0.19
        release.set()
        assert pool.wait_until_idle(timeout=5) is True
    assert kit.stats().statuses["scheduled"] == 1


def test_graceful_stop_finishes_the_jobs_in_hand(kit: jobkit.JobKit) -> None:
    started = threading.Semaphore(0)

    def slow(args: dict) -> str:
        started.release()
        time.sleep(0.3)
        return f"finished {args['i']}"

    kit.register("slow", slow)
    kit.register("queued", lambda a: "should not run")
    pool = kit.pool(worker_count=2, poll_interval=0.05).start()
    in_hand = [kit.enqueue("slow", {"i": i}, priority="high") for i in range(2)]
    queued = [kit.enqueue("queued") for _ in range(3)]
    assert started.acquire(timeout=5) and started.acquire(timeout=5)
    t0 = time.monotonic()
    pool.stop(timeout=10)
    assert time.monotonic() - t0 >= 0.1  # it waited for the handlers
    assert not pool.running
    for i, job in enumerate(in_hand):
        done = kit.get(job.id)
        assert done.status is JobStatus.COMPLETED
        assert done.result == f"finished {i}"
    # no new job was taken after stop was requested
    assert [kit.get(j.id).status for j in queued] == [JobStatus.PENDING] * 3


def test_stop_from_another_thread_while_a_job_runs(kit: jobkit.JobKit) -> None:
    running = threading.Event()
    kit.register("slow", lambda a: running.set() or time.sleep(0.2) or "ok")
    pool = kit.pool(worker_count=1, poll_interval=0.05).start()
    job = kit.enqueue("slow")
    assert running.wait(5)
    stopper = threading.Thread(target=pool.stop, kwargs={"timeout": 5})
    stopper.start()
    stopper.join(5)
    assert not stopper.is_alive()
    assert kit.get(job.id).status is JobStatus.COMPLETED
    assert not pool.running


def test_failing_handlers_do_not_stop_the_pool(kit: jobkit.JobKit) -> None:
    kit.register("bad", lambda a: 1 / 0)
    kit.register("good", lambda a: "ok")
    with kit.pool(worker_count=3, poll_interval=0.05) as pool:
        for i in range(30):
            kit.enqueue("bad" if i % 2 else "good", max_retries=0)
        assert pool.wait_until_idle(timeout=10)
        assert pool.running
        assert all(s.running for s in pool.status())
    stats = kit.stats()
    assert (stats["succeeded"], stats["failed"], stats["dead"]) == (15, 15, 15)


def test_pool_serves_only_its_queues(kit: jobkit.JobKit) -> None:
    kit.register("t", lambda a: None)
    with kit.pool(worker_count=2, poll_interval=0.05, queues=["a"]) as pool:
        a = kit.enqueue("t", queue="a")
        b = kit.enqueue("t", queue="b")
        assert wait_for(lambda: kit.get(a.id).status is JobStatus.COMPLETED)
        time.sleep(0.1)
        assert pool.running
    assert kit.get(b.id).status is JobStatus.PENDING


def cpu_over(seconds: float) -> float:
    c0 = time.process_time()
    time.sleep(seconds)
    return time.process_time() - c0


def test_an_idle_pool_does_not_busy_spin(kit: jobkit.JobKit) -> None:
    kit.register("t", lambda a: 1 / 0)
    kit.register("other", lambda a: None)
    with kit.pool(worker_count=5, poll_interval=0.05, queues=["default"]) as pool:
        time.sleep(0.1)
        empty = cpu_over(0.5)
        # waiting work that is not for now: a retry due in 30 s, a job far in the
        # future, a ready job in a queue this pool does not serve
        kit.enqueue("t")
        assert wait_for(lambda: kit.stats().statuses["retrying"] == 1)
        kit.schedule("other", {}, delay=3600)
        kit.enqueue("other", queue="elsewhere")
        time.sleep(0.1)
        waiting = cpu_over(0.5)
        assert pool.running
    assert empty < 0.25, f"idle pool used {empty:.3f} s CPU in 0.5 s"
    assert waiting < 0.25, f"pool with only future work used {waiting:.3f} s CPU in 0.5 s"


def test_pool_worker_ids_are_distinct(kit: jobkit.JobKit) -> None:
    pool = kit.pool(worker_count=4)
    ids = [w.worker_id for w in pool.workers]
    assert len(set(ids)) == 4
    other = kit.pool(worker_count=4)
    assert not set(ids) & {w.worker_id for w in other.workers}


def test_pool_passes_kit_settings_to_its_workers(kit: jobkit.JobKit) -> None:
    pool = kit.pool(worker_count=2, poll_interval=0.2, visibility_timeout=60, heartbeat_interval=5)
    for w in pool.workers:
        assert w.clock is kit.clock
        assert w.retry_policy is kit.retry_policy
        assert w.poll_interval == 0.2
        assert (w.visibility_timeout, w.heartbeat_interval) == (60, 5)


def test_wait_until_idle_only_waits_for_the_pools_queues(kit: jobkit.JobKit) -> None:
    kit.register("t", lambda a: None)
    other = kit.enqueue("t", queue="elsewhere")  # nobody here serves it
    with kit.pool(worker_count=2, poll_interval=0.05, queues=["a", "b"]) as pool:
        for q in ("a", "b"):
            kit.enqueue("t", queue=q)
        assert pool.wait_until_idle(timeout=5) is True
        assert kit.find(queue="a")[0].status is JobStatus.COMPLETED
        assert kit.find(queue="b")[0].status is JobStatus.COMPLETED
    assert kit.get(other.id).status is JobStatus.PENDING
