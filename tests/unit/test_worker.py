"""Worker: run_once / run_until_idle, ordering, per-handler defaults, background loop,
lease heartbeats and reclaiming (DESIGN §1, §3, §5)."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jobkit
from jobkit import step
from jobkit.clock import FakeClock
from jobkit.core.model import PRIORITIES, JobStatus, Priority
from jobkit.core.retry import RetryPolicy
from tests.helpers import wait_for


def fake_kit() -> jobkit.JobKit:
    return jobkit.connect("memory://", clock=FakeClock())


def worker_threads(worker: jobkit.Worker) -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.name.endswith(worker.worker_id) and t.name.startswith("jobkit-")
    ]


# -- run_once / run_until_idle ---------------------------------------------------------------


def test_run_once_and_run_until_idle_with_max_jobs() -> None:
    kit = fake_kit()
    seen: list[int] = []
    kit.register("rec", lambda a: seen.append(a["i"]))
    for i in range(5):
        kit.enqueue("rec", {"i": i})
    worker = kit.worker()
    assert worker.run_once() is True
    assert seen == [0]
    assert worker.run_until_idle(max_jobs=2) == 2
    assert seen == [0, 1, 2]
    assert worker.run_until_idle() == 2
    assert seen == [0, 1, 2, 3, 4]
    assert worker.run_once() is False
    assert worker.run_until_idle() == 0
    status = worker.status()
    assert (status.processed, status.succeeded, status.failed) == (5, 5, 0)
    assert status.running is False and status.current_job_id is None
    assert all(j.status is JobStatus.COMPLETED for j in kit.find(limit=None))


def test_run_until_idle_max_jobs_zero_does_nothing() -> None:
    kit = fake_kit()
    kit.register("t", lambda a: None)
    kit.enqueue("t")
    assert kit.worker().run_until_idle(max_jobs=0) == 0
    assert kit.stats().statuses["pending"] == 1


def test_run_until_idle_leaves_scheduled_jobs_and_retries_for_their_time() -> None:
    kit = fake_kit()
    kit.register("fail", lambda a: 1 / 0)
    kit.register("later", lambda a: "ran")
    kit.enqueue("fail")
    later = kit.schedule("later", {}, delay=60)
    worker = kit.worker()
    assert worker.run_until_idle() == 1  # the failure; its retry waits 30 s
    assert kit.get(later.id).status is JobStatus.SCHEDULED
    kit.clock.advance(30)
    assert worker.run_until_idle() == 1  # the retry
    kit.clock.advance(30)
    assert worker.run_until_idle() == 1  # the scheduled job
    assert kit.get(later.id).result == "ran"


def test_worker_counts_successes_and_failures() -> None:
    kit = fake_kit()
    kit.register("ok", lambda a: 1)
    kit.register("bad", lambda a: 1 / 0)
    kit.register("odd", lambda a: object())  # non-JSON result: a failure
    for t in ("ok", "bad", "odd", "ok"):
        kit.enqueue(t)
    worker = kit.worker()
    assert worker.run_until_idle() == 4
    assert (worker.processed, worker.succeeded, worker.failed) == (4, 2, 2)


# -- ordering -------------------------------------------------------------------------------


def test_priority_order_of_processing() -> None:
    kit = fake_kit()
    order: list[str] = []
    kit.register("rec", lambda a: order.append(a["name"]))
    for prio in ["bulk", "low", "default", "critical", "high", "low", "critical"]:
        kit.enqueue("rec", {"name": f"{prio}-{len(kit.find(limit=None))}"}, priority=prio)
    kit.worker().run_until_idle()
    assert order == [
        "critical-3",
        "critical-6",
        "high-4",
        "default-2",
        "low-1",
        "low-5",
        "bulk-0",
    ]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(PRIORITIES), min_size=1, max_size=30))
def test_priority_then_fifo_order_property(priorities: list[Priority]) -> None:
    kit = fake_kit()
    order: list[int] = []
    kit.register("rec", lambda a: order.append(a["i"]))
    for i, prio in enumerate(priorities):
        kit.enqueue("rec", {"i": i}, priority=prio)
    assert kit.worker().run_until_idle() == len(priorities)
    expected = sorted(range(len(priorities)), key=lambda i: (priorities[i].rank, i))
    assert order == expected


def test_queues_list_is_strict_order() -> None:
    kit = fake_kit()
    order: list[str] = []
    kit.register("rec", lambda a: order.append(a["tag"]))
    kit.enqueue("rec", {"tag": "b-critical"}, queue="b", priority="critical")
    kit.enqueue("rec", {"tag": "a-bulk"}, queue="a", priority="bulk")
    kit.enqueue("rec", {"tag": "c-critical"}, queue="c", priority="critical")
    kit.enqueue("rec", {"tag": "a-high"}, queue="a", priority="high")
    kit.enqueue("rec", {"tag": "b-low"}, queue="b", priority="low")
    worker = kit.worker(queues=["a", "b"])
    assert worker.run_until_idle() == 4
    assert order == ["a-high", "a-bulk", "b-critical", "b-low"]
    # queue c is not served by this worker
    assert kit.sizes("c")[Priority.CRITICAL] == 1


def test_queues_strict_order_picks_up_new_work_in_earlier_queue() -> None:
    kit = fake_kit()
    order: list[str] = []

    def rec(args: dict) -> None:
        order.append(args["tag"])
        if args["tag"] == "b1":
            kit.enqueue("rec", {"tag": "a-new"}, queue="a")

    kit.register("rec", rec)
    kit.enqueue("rec", {"tag": "b1"}, queue="b")
    kit.enqueue("rec", {"tag": "b2"}, queue="b")
    kit.worker(queues=["a", "b"]).run_until_idle()
    assert order == ["b1", "a-new", "b2"]


def test_queues_none_serves_every_queue() -> None:
    kit = fake_kit()
    seen: list[str] = []
    kit.register("rec", lambda a: seen.append(jobkit.current_job().queue))
    names = ["alpha", "beta", "gamma", "default"]
    for name in names:
        for _ in range(3):
            kit.enqueue("rec", queue=name)
    worker = kit.worker(queues=None)
    assert worker.run_until_idle() == 12
    assert sorted(seen) == sorted(n for n in names for _ in range(3))
    assert kit.stats().statuses["completed"] == 12


def test_queues_none_does_not_starve_a_queue() -> None:
    """With queues=None the start queue rotates: a queue that keeps getting work does
    not keep the others waiting."""
    kit = fake_kit()
    seen: list[str] = []

    def busy(args: dict) -> None:
        seen.append("busy")
        kit.enqueue("busy", queue="aaa")  # always more work in the first queue

    kit.register("busy", busy)
    kit.register("quiet", lambda a: seen.append("quiet"))
    kit.enqueue("busy", queue="aaa")
    kit.enqueue("quiet", queue="zzz")
    kit.worker(queues=None).run_until_idle(max_jobs=10)
    assert "quiet" in seen


def test_queues_given_as_a_single_string() -> None:
    kit = fake_kit()
    kit.register("t", lambda a: None)
    kit.enqueue("t", queue="mail")
    worker = kit.worker(queues="mail")
    assert worker.queues == ["mail"]
    assert worker.run_until_idle() == 1


# -- per-handler defaults ---------------------------------------------------------------------


def test_registration_defaults_queue_priority_max_retries_retry_policy() -> None:
    kit = fake_kit()
    calls: list[object] = []

    @kit.handler(
        "mail.send",
        max_retries=1,
        retry_policy=RetryPolicy.constant(10),
        queue="mail",
        priority="high",
    )
    def send(args: dict) -> None:
        calls.append(kit.clock.now())
        raise ConnectionError("smtp down")

    job = kit.enqueue("mail.send", {"to": "a@example.org"})
    assert (job.queue, job.priority, job.max_retries) == ("mail", Priority.HIGH, 1)

    default_only = kit.worker(queues=["default"])
    assert default_only.run_until_idle() == 0  # not its queue

    worker = kit.worker(queues=["mail"], retry_policy=RetryPolicy.constant(999))
    start = kit.clock.now()
    assert worker.run_until_idle() == 1
    retrying = kit.get(job.id)
    assert retrying.status is JobStatus.RETRYING
    assert retrying.run_at == start + timedelta(seconds=10)  # the handler's policy wins
    kit.clock.advance(10)
    assert worker.run_until_idle() == 1
    dead = kit.get(job.id)
    assert dead.status is JobStatus.DEAD
    assert dead.retry_count == 1
    assert calls == [start, start + timedelta(seconds=10)]


def test_enqueue_options_override_registration_defaults() -> None:
    kit = fake_kit()
    kit.register("t", lambda a: 1 / 0, max_retries=5, queue="q1", priority="low")
    job = kit.enqueue("t", max_retries=0, queue="q2", priority="critical")
    assert (job.queue, job.priority, job.max_retries) == ("q2", Priority.CRITICAL, 0)
    kit.worker(queues=["q2"]).run_until_idle()
    assert kit.get(job.id).status is JobStatus.DEAD


def test_worker_retry_policy_applies_to_handlers_without_their_own() -> None:
    kit = fake_kit()
    kit.register("t", lambda a: 1 / 0)
    job = kit.enqueue("t")
    now = kit.clock.now()
    kit.worker(retry_policy=RetryPolicy.constant(42)).run_until_idle()
    assert kit.get(job.id).run_at == now + timedelta(seconds=42)


def test_jittered_policy_is_reproducible_with_a_seeded_rng() -> None:
    runs = []
    for _ in range(2):
        kit = fake_kit()
        kit.register("t", lambda a: 1 / 0, retry_policy=RetryPolicy.constant(100, jitter=0.5))
        ids = [kit.enqueue("t").id for _ in range(5)]
        kit.worker(rng=random.Random(7)).run_until_idle()
        runs.append([kit.get(i).run_at for i in ids])
    assert runs[0] == runs[1]
    assert len(set(runs[0])) > 1  # jitter did spread them


# -- background loop -----------------------------------------------------------------------------


def test_handler_exception_never_kills_a_background_worker() -> None:
    kit = jobkit.connect("memory://")
    done: list[str] = []

    def bad(args: dict) -> None:
        done.append("bad")
        raise RuntimeError("handler bug")

    kit.register("bad", bad)
    kit.register("good", lambda a: done.append("good") or "ok")
    worker = kit.worker(poll_interval=0.05)
    worker.start()
    try:
        assert worker.running
        bad_job = kit.enqueue("bad", max_retries=0)
        good_job = kit.enqueue("good")
        assert wait_for(lambda: kit.get(good_job.id).status is JobStatus.COMPLETED)
        assert done == ["bad", "good"]
        assert kit.get(bad_job.id).status is JobStatus.DEAD
        assert worker.running
        # and it keeps working afterwards
        again = kit.enqueue("good")
        assert wait_for(lambda: kit.get(again.id).status is JobStatus.COMPLETED)
        assert worker.status().processed == 3
    finally:
        worker.stop(timeout=5)
    assert not worker.running
    assert worker_threads(worker) == []


def test_background_worker_survives_a_backend_hiccup(caplog: pytest.LogCaptureFixture) -> None:
    kit = jobkit.connect("memory://")
    kit.register("good", lambda a: "ok")
    worker = kit.worker(poll_interval=0.05)
    real = kit.backend.dequeue
    failures = [0]

    def flaky_dequeue(*args: object, **kwargs: object) -> object:
        if failures[0] < 2:
            failures[0] += 1
            raise ConnectionError("backend blip")
        return real(*args, **kwargs)

    kit.backend.dequeue = flaky_dequeue  # type: ignore[method-assign]
    job = kit.enqueue("good")
    worker.start()
    try:
        assert wait_for(lambda: kit.get(job.id).status is JobStatus.COMPLETED)
        assert worker.running
    finally:
        worker.stop(timeout=5)
    assert failures[0] == 2
    assert "backend blip" in caplog.text
    assert not worker.running


def test_start_twice_is_harmless_and_stop_is_idempotent() -> None:
    kit = jobkit.connect("memory://")
    worker = kit.worker(poll_interval=0.05)
    worker.start()
    threads = list(worker._threads)
    worker.start()
    assert worker._threads == threads
    worker.stop(timeout=5)
    worker.stop(timeout=5)
    assert not worker.running
    assert worker_threads(worker) == []


def test_worker_can_restart_after_stop() -> None:
    kit = jobkit.connect("memory://")
    kit.register("t", lambda a: "ok")
    worker = kit.worker(poll_interval=0.05)
    worker.start()
    worker.stop(timeout=5)
    worker.start()
    try:
        job = kit.enqueue("t")
        assert wait_for(lambda: kit.get(job.id).status is JobStatus.COMPLETED)
    finally:
        worker.stop(timeout=5)
    assert not worker.running


def test_stop_returns_promptly_when_idle() -> None:
    kit = jobkit.connect("memory://")
    worker = kit.worker(poll_interval=0.05)
    worker.start()
    t0 = time.monotonic()
    worker.stop(timeout=5)
    assert time.monotonic() - t0 < 1.0
    assert not worker.running


# -- leases ------------------------------------------------------------------------------------


def test_heartbeat_renews_the_lease_of_a_long_handler() -> None:
    kit = jobkit.connect("memory://")  # SystemClock-backed
    calls: list[str] = []
    running = threading.Event()

    def slow(args: dict) -> str:
        calls.append(jobkit.current_job().id)
        running.set()
        time.sleep(2.5)  # 2.5 leases long; renewals every 0.1 s leave 0.9 s of slack
        return "done"

    kit.register("slow", slow)
    opts = {"visibility_timeout": 1.0, "heartbeat_interval": 0.1, "poll_interval": 0.05}
    a = kit.worker(worker_id="A", **opts)
    b = kit.worker(worker_id="B", **opts)  # reclaims expired leases every 0.1 s
    a.start()
    try:
        job = kit.enqueue("slow")
        assert running.wait(5)
        assert a.status().current_job_id == job.id
        b.start()
        assert wait_for(lambda: kit.get(job.id).status is JobStatus.COMPLETED, timeout=10)
        time.sleep(0.2)  # give B a chance to (wrongly) pick it up again
    finally:
        a.stop(timeout=5)
        b.stop(timeout=5)
    assert calls == [job.id]
    stored = kit.get(job.id)
    assert stored.result == "done"
    assert stored.reclaim_count == 0
    stats = kit.stats()
    assert stats["reclaimed"] == 0
    assert stats["lease_lost"] == 0
    assert stats["processed"] == stats["succeeded"] == 1
    assert (a.processed, b.processed) == (1, 0)


def test_without_heartbeats_a_long_handler_loses_its_lease() -> None:
    """The control for the test above: with renewals refused, the job is reclaimed and
    run by the other worker, and the first worker's late outcome is refused."""
    kit = jobkit.connect("memory://")
    calls: list[str] = []
    first_running = threading.Event()

    def slow_once(args: dict) -> str:
        n = len(calls)
        calls.append(threading.current_thread().name)
        if n == 0:
            first_running.set()
            time.sleep(1.0)
        return f"attempt {n + 1}"

    kit.register("slow", slow_once)
    kit.backend.heartbeat = lambda claim, **kw: claim  # type: ignore[method-assign,assignment]
    opts = {"visibility_timeout": 0.3, "heartbeat_interval": 0.1, "poll_interval": 0.05}
    a = kit.worker(worker_id="A", **opts)
    b = kit.worker(worker_id="B", **opts)
    a.start()
    try:
        job = kit.enqueue("slow")
        assert first_running.wait(5)
        b.start()
        assert wait_for(lambda: kit.stats()["lease_lost"] == 1, timeout=10)
    finally:
        a.stop(timeout=5)
        b.stop(timeout=5)
    assert len(calls) == 2
    stored = kit.get(job.id)
    assert stored.status is JobStatus.COMPLETED
    assert stored.result == "attempt 2"  # B's result, not overwritten by A
    assert stored.reclaim_count == 1
    assert kit.stats()["reclaimed"] == 1


def test_expired_lease_is_reclaimed_by_another_workers_loop_before_it_dequeues() -> None:
    clock = FakeClock()
    kit = jobkit.connect("memory://", clock=clock)
    results: list[str] = []
    kit.register("t", lambda a: results.append(jobkit.current_job().started_at.isoformat()) or "ok")
    job = kit.enqueue("t")

    a = kit.worker(worker_id="A", visibility_timeout=30, heartbeat_interval=10)
    b = kit.worker(worker_id="B", visibility_timeout=30, heartbeat_interval=10)
    claim = a.begin()
    assert claim is not None and claim.job.id == job.id
    outcome = step.run(kit.registry, claim.job)

    assert b.run_once() is False  # the lease is still valid: nothing to do
    clock.advance(31)  # A's lease has expired
    assert b.run_once() is True  # reclaims, then dequeues and processes it
    stored = kit.get(job.id)
    assert stored.status is JobStatus.COMPLETED
    assert stored.reclaim_count == 1
    assert kit.stats()["reclaimed"] == 1

    assert a.finish(claim, outcome) is None  # A's late outcome is refused
    assert kit.stats()["lease_lost"] == 1
    assert kit.get(job.id) == stored
    assert len(results) == 2


def test_reclaim_runs_at_most_once_per_heartbeat_interval() -> None:
    clock = FakeClock()
    kit = jobkit.connect("memory://", clock=clock)
    worker = kit.worker(visibility_timeout=30, heartbeat_interval=10)
    passes = []
    real = kit.backend.reclaim_abandoned

    def counting(*args: object, **kwargs: object) -> list[jobkit.Job]:
        passes.append(clock.now())
        return real(*args, **kwargs)

    kit.backend.reclaim_abandoned = counting  # type: ignore[method-assign]
    for _ in range(5):
        worker.run_once()
    assert len(passes) == 1
    clock.advance(10)
    worker.run_once()
    worker.run_once()
    assert len(passes) == 2


def test_job_reclaimed_too_often_goes_dead_as_worker_lost() -> None:
    clock = FakeClock()
    kit = jobkit.connect("memory://", clock=clock, max_reclaims=2)
    kit.register("crashy", lambda a: "never finished")
    job = kit.enqueue("crashy")
    for i in range(3):
        w = kit.worker(worker_id=f"w{i}", visibility_timeout=5, heartbeat_interval=1)
        claim = w.begin()
        assert claim is not None  # w "crashes" holding it
        clock.advance(6)
    w = kit.worker(worker_id="final", visibility_timeout=5, heartbeat_interval=1)
    assert w.run_once() is False
    dead = kit.get(job.id)
    assert dead.status is JobStatus.DEAD
    assert dead.error is not None and dead.error.type == "WorkerLost"
    assert [j.id for j in kit.dead_letters()] == [job.id]


# -- constructor validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"visibility_timeout": 0},
        {"visibility_timeout": -1},
        {"heartbeat_interval": 0},
        {"poll_interval": 0},
        {"poll_interval": -0.5},
        {"visibility_timeout": 10, "heartbeat_interval": 10},
        {"visibility_timeout": 5, "heartbeat_interval": 10},
        {"visibility_timeout": float("nan")},
        {"visibility_timeout": float("inf")},
        {"heartbeat_interval": float("nan")},
        {"poll_interval": float("nan")},
        {"poll_interval": float("inf")},
        {"poll_interval": "1"},
        {"visibility_timeout": True, "heartbeat_interval": 0.5},
        {"queues": ["bad queue!"]},
        {"queues": [""]},
        {"queues": [1]},
        {"tenants": []},
        {"tenants": ["bad tenant!"]},
        {"tenants": [""]},
    ],
)
def test_invalid_worker_arguments_raise_value_error(kwargs: dict) -> None:
    kit = fake_kit()
    opts = {"visibility_timeout": 30.0, "heartbeat_interval": 10.0, **kwargs}
    with pytest.raises(ValueError):
        jobkit.Worker(kit.backend, kit.registry, **opts)


@pytest.mark.parametrize("count", [0, -1, True, 1.5, "5", None])
def test_invalid_pool_worker_count_raises_value_error(count: object) -> None:
    kit = fake_kit()
    with pytest.raises(ValueError):
        jobkit.WorkerPool(kit.backend, kit.registry, worker_count=count)  # type: ignore[arg-type]


def test_pool_validates_worker_options() -> None:
    kit = fake_kit()
    with pytest.raises(ValueError):
        kit.pool(worker_count=2, poll_interval=0)
    with pytest.raises(ValueError):
        kit.pool(worker_count=2, visibility_timeout=1, heartbeat_interval=2)


def test_worker_defaults_and_repr() -> None:
    kit = fake_kit()
    worker = jobkit.Worker(kit.backend, kit.registry)
    assert worker.clock is kit.backend.clock
    assert worker.retry_policy == RetryPolicy.default()
    assert worker.worker_id.count(":") == 2  # host:pid:n
    other = jobkit.Worker(kit.backend, kit.registry)
    assert other.worker_id != worker.worker_id
    assert worker.worker_id in repr(worker)


def test_a_heartbeat_racing_the_ack_is_not_a_lost_lease(caplog: pytest.LogCaptureFixture) -> None:
    """A heartbeat that started just before the handler returned must not be reported
    (or counted) as a lost lease once the job is acked."""
    kit = jobkit.connect("memory://")
    real = kit.backend.heartbeat
    beats: list[str] = []

    def slow_heartbeat(claim: jobkit.Claim, **kwargs: object) -> jobkit.Claim:
        time.sleep(0.2)  # a slow network round trip
        beats.append(claim.job.id)
        return real(claim, **kwargs)

    kit.backend.heartbeat = slow_heartbeat  # type: ignore[method-assign]
    kit.register("quick", lambda a: time.sleep(0.15) or "ok")
    worker = kit.worker(visibility_timeout=5, heartbeat_interval=0.1, poll_interval=0.05)
    worker.start()
    try:
        job = kit.enqueue("quick")
        assert wait_for(lambda: kit.get(job.id).status is JobStatus.COMPLETED)
        time.sleep(0.3)
    finally:
        worker.stop(timeout=5)
    assert beats  # the race really happened: a heartbeat was in flight
    assert kit.stats()["lease_lost"] == 0
    assert "lost the lease" not in caplog.text
    assert kit.get(job.id).result == "ok"


@pytest.mark.parametrize("batch_size", [1, 3])
def test_a_failed_ack_is_retried_so_the_job_does_not_run_again(
    monkeypatch: pytest.MonkeyPatch, batch_size: int
) -> None:
    kit = fake_kit()
    runs: list[int] = []
    kit.handler("once")(lambda args: runs.append(args["n"]))
    kit.enqueue_many([{"job_type": "once", "args": {"n": n}} for n in range(3)])
    backend = kit.backend
    failures = {"left": 2}
    method = "ack" if batch_size == 1 else "ack_many"
    real = getattr(backend, method)

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("connection reset by peer")
        return real(*args, **kwargs)

    monkeypatch.setattr(backend, method, flaky)
    monkeypatch.setattr(time, "sleep", lambda s: None)
    worker = kit.worker(batch_size=batch_size)
    assert worker.run_until_idle() == 3
    assert sorted(runs) == [0, 1, 2]
    assert kit.stats()["succeeded"] == 3 and kit.stats()["lease_lost"] == 0


def test_an_ack_that_keeps_failing_is_raised_after_the_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kit = fake_kit()
    kit.handler("once")(lambda args: None)
    kit.enqueue("once")
    calls = []

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        raise ConnectionError("down")

    monkeypatch.setattr(kit.backend, "ack", broken)
    monkeypatch.setattr(time, "sleep", lambda s: None)
    with pytest.raises(ConnectionError):
        kit.worker().run_once()
    assert len(calls) == 7


def test_a_worker_restricted_to_tenants_says_so() -> None:
    kit = fake_kit()
    one = kit.worker(tenants="acme")  # one tenant id, not its characters
    assert one.tenants == ["acme"]
    assert "tenants=['acme']" in repr(one)
    both = kit.worker(tenants=("acme", None))
    assert both.tenants == ["acme", None]
    assert "tenants" not in repr(kit.worker())
