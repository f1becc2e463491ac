"""drain, perform and the enqueue assertions, called directly."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jobkit
from jobkit import Failure, FakeClock
from jobkit.errors import InvalidJobError, NoHandlerError
from jobkit.testing import (
    JobFailedError,
    all_enqueued,
    assert_enqueued,
    assert_not_enqueued,
    drain,
    perform,
)
from jobkit.testing.strategies import jobs, retry_policies, workloads

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def kit() -> jobkit.JobKit:
    return jobkit.connect("memory://", clock=FakeClock(START))


class TestDrain:
    def test_scheduled_jobs_run_when_the_clock_jumps(self, kit: jobkit.JobKit) -> None:
        kit.register("tick", lambda args: kit.clock.now().isoformat())
        later = kit.schedule("tick", {}, delay=timedelta(days=2))
        now = kit.enqueue("tick")
        result = drain(kit)
        assert result.succeeded == 2
        assert kit.get(now.id).result == START.isoformat()
        assert kit.get(later.id).result == (START + timedelta(days=2)).isoformat()
        assert (result.started_at, result.ended_at) == (START, START + timedelta(days=2))

    def test_with_scheduled_false_or_a_cutoff(self, kit: jobkit.JobKit) -> None:
        kit.register("tick", lambda args: None)
        for hours in (1, 5):
            kit.schedule("tick", {}, delay=timedelta(hours=hours))
        assert drain(kit, with_scheduled=False).processed == 0
        assert drain(kit, with_scheduled=START + timedelta(hours=2)).processed == 1
        assert kit.clock.now() == START + timedelta(hours=1)
        assert len(all_enqueued(kit, "tick")) == 1

    def test_a_real_clock_never_jumps_or_sleeps(self) -> None:
        kit = jobkit.connect("memory://")
        kit.register("tick", lambda args: None)
        kit.enqueue("tick")
        kit.schedule("tick", {}, delay=3600)
        result = drain(kit)
        assert result.processed == 1 and len(all_enqueued(kit, "tick")) == 1

    def test_limit(self, kit: jobkit.JobKit) -> None:
        kit.register("again", lambda args: kit.enqueue("again") and None)  # enqueues itself
        kit.enqueue("again")
        assert drain(kit, limit=25).processed == 25
        with pytest.raises(ValueError, match="limit=-1"):
            drain(kit, limit=-1)

    def test_queues(self, kit: jobkit.JobKit) -> None:
        kit.register("a", lambda args: None)
        kit.enqueue("a", queue="fast")
        kit.enqueue("a", queue="slow")
        assert drain(kit, queues=["fast"]).processed == 1
        assert_enqueued(kit, "a", queue="slow", count=1)

    def test_a_missing_handler_follows_the_retry_path(self, kit: jobkit.JobKit) -> None:
        job = kit.enqueue("nobody.handles.this")
        result = drain(kit)
        assert (result.failed, result.retried, result.dead) == (4, 3, 1)
        assert kit.get(job.id).error.type == "NoHandlerError"

    def test_raise_errors_on_a_returned_failure(self, kit: jobkit.JobKit) -> None:
        kit.register("charge", lambda args: Failure("declined", type="Declined"))
        kit.enqueue("charge")
        with pytest.raises(JobFailedError, match="Declined: declined") as info:
            drain(kit, raise_errors=True)
        assert info.value.job.status == "retrying"  # recorded before raising

    def test_jobs_enqueued_by_other_threads_are_drained(self, kit: jobkit.JobKit) -> None:
        kit.register("n", lambda args: args["n"])
        threads = [threading.Thread(target=kit.enqueue, args=("n", {"n": i})) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert drain(kit).succeeded == 8

    def test_repr(self, kit: jobkit.JobKit) -> None:
        assert repr(drain(kit)) == (
            "DrainResult(processed=0, succeeded=0, failed=0, retried=0, dead=0)"
        )


class TestPerform:
    def test_the_job_and_tenant_are_visible_inside(self, kit: jobkit.JobKit) -> None:
        @kit.handler("who", queue="q1")
        def who(args: dict) -> dict:  # type: ignore[type-arg]
            job = jobkit.current_job()
            assert job is not None
            return {"queue": job.queue, "tenant": jobkit.current_tenant(), "status": job.status}

        assert perform(kit, "who", {}, tenant_id="acme") == {
            "queue": "q1", "tenant": "acme", "status": "running",
        }  # fmt: skip

    def test_async_handlers(self, kit: jobkit.JobKit) -> None:
        async def double(args: dict) -> int:  # type: ignore[type-arg]
            await asyncio.sleep(0)
            return args["n"] * 2

        kit.register("double", double)
        assert perform(kit, "double", {"n": 21}) == 42

    def test_errors(self, kit: jobkit.JobKit) -> None:
        kit.register("weird", lambda args: {1: "int key"})
        kit.register("fail", lambda args: Failure("no", type="Nope"))
        with pytest.raises(NoHandlerError, match="'missing'"):
            perform(kit, "missing")
        with pytest.raises(InvalidJobError, match="result"):
            perform(kit, "weird")
        with pytest.raises(InvalidJobError, match="args"):
            perform(kit, "weird", {"when": datetime.now(UTC)})
        with pytest.raises(JobFailedError, match="Nope: no"):
            perform(kit, "fail")

    def test_args_are_a_json_copy(self, kit: jobkit.JobKit) -> None:
        kit.register("echo", lambda args: args)
        original = {"items": (1, 2)}
        assert perform(kit, "echo", original) == {"items": [1, 2]}


class TestAssertions:
    def test_partial_args_match_nested_dicts(self, kit: jobkit.JobKit) -> None:
        kit.enqueue("sync", {"user": {"id": 7, "name": "Ada"}, "full": True})
        assert_enqueued(kit, "sync", {"user": {"id": 7}})
        assert_not_enqueued(kit, "sync", {"user": {"id": 8}})
        assert_not_enqueued(kit, "sync", {"user": 7})
        assert_not_enqueued(kit, "sync", {"missing": None})

    def test_filters_and_count(self, kit: jobkit.JobKit) -> None:
        kit.enqueue("a", queue="q", priority="high")
        kit.enqueue("a", queue="q", priority="high", tenant_id="acme")
        kit.enqueue("a", queue="other")
        assert len(assert_enqueued(kit, "a", queue="q", priority="HIGH", count=2)) == 2
        assert_enqueued(kit, "a", tenant_id="acme", count=1)
        assert_enqueued(kit.for_tenant("acme"), "a", count=1)  # a tenant's kit sees its own
        with pytest.raises(AssertionError, match=r"expected 1 enqueued job\(s\) matching "):
            assert_enqueued(kit, "a", count=1)

    def test_finished_jobs_are_not_enqueued(self, kit: jobkit.JobKit) -> None:
        kit.register("a", lambda args: None)
        kit.enqueue("a")
        drain(kit)
        assert all_enqueued(kit) == []
        with pytest.raises(AssertionError, match=r"Nothing is enqueued\."):
            assert_enqueued(kit, "a")

    def test_long_listings_are_cut(self, kit: jobkit.JobKit) -> None:
        kit.enqueue_many([{"job_type": "b", "args": {"n": n}} for n in range(25)])
        with pytest.raises(AssertionError, match=r"(?s)Enqueued jobs \(25\):.*\.\.\. and 5 more"):
            assert_enqueued(kit, "a")


class TestStrategies:
    @settings(max_examples=40, deadline=None)
    @given(job=jobs(job_types=["email.send"], queues=["mail"], now=START))
    def test_jobs_can_be_enqueued_and_run(self, job: jobkit.Job) -> None:
        kit = jobkit.connect("memory://", clock=FakeClock(START))
        kit.register("email.send", lambda args: sorted(args))
        kit.backend.enqueue(job)
        assert drain(kit).succeeded == 1
        assert kit.get(job.id).status == "completed"

    @settings(max_examples=20)
    @given(job=jobs(scheduled=True, now=START))
    def test_scheduled_jobs(self, job: jobkit.Job) -> None:
        assert job.status == "scheduled" and job.run_at > START

    @settings(max_examples=60)
    @given(policy=retry_policies(), n=st.integers(min_value=1, max_value=50))
    def test_retry_policies_are_valid(self, policy: jobkit.RetryPolicy, n: int) -> None:
        assert policy.delay(n).total_seconds() >= 0

    @settings(max_examples=20, deadline=None)
    @given(workload=workloads(job_types=["a", "b"], max_arrivals=20, tenants=["t1", "t2"]))
    def test_workloads_simulate(self, workload: object) -> None:
        from jobkit.sim import Simulation

        result = Simulation(workers=2).run(workload)  # type: ignore[arg-type]
        assert len(result.jobs) == len(workload)  # type: ignore[arg-type]
