"""THE SEED TIMELINE (DESIGN §3) on a FakeClock: attempts at +0, +30 s, +5 min 30 s and
+1 h 5 min 30 s, then dead; flaky handlers; retry_dead."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import jobkit
from jobkit.clock import FakeClock
from jobkit.core.model import JobStatus
from jobkit.core.retry import RetryPolicy


def drive(kit: jobkit.JobKit, clock: FakeClock, max_steps: int = 100) -> int:
    """Run until idle, move the fake clock to the next due job, repeat; how many ran."""
    total = 0
    for _ in range(max_steps):
        total += kit.run_until_idle()
        due = kit.backend.next_due_at()
        if due is None:
            return total
        assert due > clock.now()  # run_until_idle left nothing due behind
        clock.set(due)
    raise AssertionError("the timeline did not settle")


def test_seed_timeline_of_an_always_failing_handler() -> None:
    t0 = time.perf_counter()
    clock = FakeClock()
    kit = jobkit.connect("memory://", clock=clock)
    starts: list[datetime] = []
    clock_at_start: list[datetime] = []

    @kit.handler("always.fails")
    def always_fails(args: dict) -> None:
        job = jobkit.current_job()
        assert job is not None
        starts.append(job.started_at)
        clock_at_start.append(clock.now())
        raise ConnectionError(f"attempt {job.retry_count + 1} failed")

    begin = clock.now()
    job = kit.enqueue("always.fails", {"id": 1})
    assert job.max_retries == 3  # the seed's default

    assert drive(kit, clock) == 4
    offsets = [s - begin for s in starts]
    assert offsets == [
        timedelta(0),
        timedelta(seconds=30),
        timedelta(minutes=5, seconds=30),
        timedelta(hours=1, minutes=5, seconds=30),
    ]
    assert clock_at_start == starts
    assert offsets == RetryPolicy.default().timeline(3)

    dead = kit.get(job.id)
    assert dead is not None
    assert dead.status is JobStatus.DEAD
    assert dead.retry_count == 3
    assert dead.attempts == 4
    assert dead.error is not None
    assert (dead.error.type, dead.error.message) == ("ConnectionError", "attempt 4 failed")
    assert dead.finished_at == begin + timedelta(hours=1, minutes=5, seconds=30)
    assert [j.id for j in kit.dead_letters()] == [job.id]
    assert kit.backend.next_due_at() is None

    stats = kit.stats()
    assert stats["processed"] == 4
    assert stats["failed"] == 4
    assert stats["retried"] == 3
    assert stats["dead"] == 1
    assert stats["succeeded"] == 0
    assert stats.statuses["dead"] == 1

    assert time.perf_counter() - t0 < 1.0  # an hour of retries, played in no time


def test_status_between_attempts_is_retrying_with_run_at() -> None:
    clock = FakeClock()
    kit = jobkit.connect("memory://", clock=clock)
    kit.register("fails", lambda a: 1 / 0)
    begin = clock.now()
    job = kit.enqueue("fails")
    expected = [(1, 30), (2, 330), (3, 3930)]
    for retry_count, offset in expected:
        assert kit.run_until_idle() == 1
        waiting = kit.get(job.id)
        assert waiting.status is JobStatus.RETRYING
        assert waiting.retry_count == retry_count
        assert waiting.run_at == begin + timedelta(seconds=offset)
        assert kit.backend.next_due_at() == waiting.run_at
        # one second early: nothing runs
        clock.set(waiting.run_at - timedelta(seconds=1))
        assert kit.run_until_idle() == 0
        clock.set(waiting.run_at)
    assert kit.run_until_idle() == 1
    assert kit.get(job.id).status is JobStatus.DEAD


def test_flaky_handler_succeeds_on_attempt_3() -> None:
    clock = FakeClock()
    kit = jobkit.connect("memory://", clock=clock)
    attempts: list[int] = []

    @kit.handler("flaky")
    def flaky(args: dict) -> dict:
        attempts.append(jobkit.current_job().retry_count + 1)
        if len(attempts) < 3:
            raise TimeoutError("try again")
        return {"ok": True, "attempt": len(attempts)}

    begin = clock.now()
    job = kit.enqueue("flaky")
    assert drive(kit, clock) == 3
    done = kit.get(job.id)
    assert done.status is JobStatus.COMPLETED
    assert done.retry_count == 2
    assert done.attempts == 3
    assert done.result == {"ok": True, "attempt": 3}
    assert done.error is None
    assert done.started_at == begin + timedelta(minutes=5, seconds=30)
    assert attempts == [1, 2, 3]
    assert kit.dead_letters() == []
    stats = kit.stats()
    assert (stats["processed"], stats["succeeded"], stats["failed"], stats["retried"]) == (
        3,
        1,
        2,
        2,
    )


def test_job_max_retries_shortens_the_timeline() -> None:
    clock = FakeClock()
    kit = jobkit.connect("memory://", clock=clock)
    kit.register("fails", lambda a: 1 / 0)
    job = kit.enqueue("fails", max_retries=1)
    assert drive(kit, clock) == 2
    assert kit.get(job.id).status is JobStatus.DEAD
    assert clock.now() - job.created_at == timedelta(seconds=30)


def test_retry_dead_puts_the_job_back_and_it_runs_again() -> None:
    clock = FakeClock()
    kit = jobkit.connect("memory://", clock=clock)
    healthy = {"now": False}
    calls: list[datetime] = []

    @kit.handler("sync.crm")
    def sync_crm(args: dict) -> str:
        calls.append(clock.now())
        if not healthy["now"]:
            raise ConnectionError("crm down")
        return "synced"

    job = kit.enqueue("sync.crm", {"account": 7})
    drive(kit, clock)
    assert kit.get(job.id).status is JobStatus.DEAD
    assert len(calls) == 4

    clock.advance(timedelta(days=1))  # somebody fixes the CRM, then retries by hand
    healthy["now"] = True
    revived = kit.retry_dead(job.id)
    assert revived.status is JobStatus.PENDING
    assert revived.retry_count == 0
    assert revived.run_at == clock.now()
    assert kit.get(job.id) == revived
    assert kit.dead_letters() == []

    assert kit.run_until_idle() == 1
    done = kit.get(job.id)
    assert done.status is JobStatus.COMPLETED
    assert done.result == "synced"
    assert done.retry_count == 0
    assert done.args == {"account": 7}
    assert calls[-1] == clock.now()
    assert len(calls) == 5


def test_retry_dead_gets_the_full_retry_budget_again() -> None:
    clock = FakeClock()
    kit = jobkit.connect("memory://", clock=clock)
    calls: list[datetime] = []
    kit.register("fails", lambda a: calls.append(clock.now()) or 1 / 0)
    job = kit.enqueue("fails")
    drive(kit, clock)
    assert len(calls) == 4
    restart = clock.now()
    kit.retry_dead(job.id)
    drive(kit, clock)
    assert len(calls) == 8
    assert [c - restart for c in calls[4:]] == RetryPolicy.default().timeline(3)
    assert kit.get(job.id).status is JobStatus.DEAD
    assert [j.id for j in kit.dead_letters()] == [job.id]


def test_many_jobs_share_one_clock_and_finish_by_their_own_schedule() -> None:
    clock = FakeClock()
    kit = jobkit.connect("memory://", clock=clock)
    fail_first = {"a": 0, "b": 1, "c": 2, "d": 9}
    seen: dict[str, int] = {}

    def handler(args: dict) -> str:
        name = args["name"]
        seen[name] = seen.get(name, 0) + 1
        if seen[name] <= fail_first[name]:
            raise RuntimeError("not yet")
        return name

    kit.register("h", handler)
    ids = {name: kit.enqueue("h", {"name": name}).id for name in fail_first}
    drive(kit, clock)
    final = {name: kit.get(i) for name, i in ids.items()}
    assert {n: j.status for n, j in final.items()} == {
        "a": JobStatus.COMPLETED,
        "b": JobStatus.COMPLETED,
        "c": JobStatus.COMPLETED,
        "d": JobStatus.DEAD,
    }
    assert {n: j.retry_count for n, j in final.items()} == {"a": 0, "b": 1, "c": 2, "d": 3}
    assert seen == {"a": 1, "b": 2, "c": 3, "d": 4}
