"""The per-job step (jobkit.step): begin → run → finish, as DESIGN §1, §3 and §4 describe."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

import jobkit
from jobkit import step
from jobkit.clock import FakeClock
from jobkit.core.model import JobStatus
from jobkit.core.retry import RetryPolicy

POLICY = RetryPolicy.default()


def claim_one(
    kit: jobkit.JobKit, worker_id: str = "w1", lease_seconds: float = 30.0
) -> jobkit.Claim:
    claim = step.begin(
        kit.backend,
        kit.queues() or ["default"],
        worker_id,
        kit.clock.now(),
        lease_seconds=lease_seconds,
    )
    assert claim is not None
    return claim


def run_job(kit: jobkit.JobKit, job_type: str, args: dict | None = None, **opts: object):
    """Enqueue, claim, run; returns (claim, outcome)."""
    kit.enqueue(job_type, args or {}, **opts)
    claim = claim_one(kit)
    return claim, step.run(kit.registry, claim.job)


def finish(kit: jobkit.JobKit, claim: jobkit.Claim, outcome: step.Outcome) -> jobkit.Job | None:
    return step.finish(kit.backend, claim, outcome, kit.clock.now(), POLICY)


# -- begin --------------------------------------------------------------------------


def test_begin_claims_first_queue_that_has_a_ready_job(kit: jobkit.JobKit) -> None:
    kit.enqueue("t", {"n": 1}, queue="b")
    assert step.begin(kit.backend, ["a"], "w", kit.clock.now()) is None
    claim = step.begin(kit.backend, ["a", "b"], "w", kit.clock.now(), lease_seconds=12)
    assert claim is not None
    assert claim.job.queue == "b"
    assert claim.job.status is JobStatus.RUNNING
    assert claim.job.started_at == kit.clock.now()
    assert claim.worker_id == "w"
    assert claim.lease_expires_at == kit.clock.now() + timedelta(seconds=12)
    assert step.begin(kit.backend, ["a", "b"], "w", kit.clock.now()) is None


# -- run: outcomes -------------------------------------------------------------------


def test_return_value_is_success(kit: jobkit.JobKit) -> None:
    kit.register("add", lambda a: {"sum": a["x"] + a["y"]})
    claim, outcome = run_job(kit, "add", {"x": 2, "y": 3})
    assert outcome.ok and outcome.error is None
    assert outcome.result == {"sum": 5}
    job = finish(kit, claim, outcome)
    assert job is not None
    assert job.status is JobStatus.COMPLETED
    assert job.result == {"sum": 5}
    assert job.finished_at == kit.clock.now()
    assert kit.get(job.id) == job


def test_none_result_is_success(kit: jobkit.JobKit) -> None:
    kit.register("noop", lambda a: None)
    claim, outcome = run_job(kit, "noop")
    assert outcome.ok
    assert finish(kit, claim, outcome).status is JobStatus.COMPLETED


def test_handler_gets_a_copy_of_args(kit: jobkit.JobKit) -> None:
    def mutate(args: dict) -> str:
        args["added"] = True
        args["items"].append(4)
        return "ok"

    kit.register("mutate", mutate)
    claim, outcome = run_job(kit, "mutate", {"items": [1, 2, 3]})
    assert outcome.ok
    # the top-level dict the handler got is not the job's own
    assert "added" not in claim.job.args


def test_exception_is_failure_with_type_message_and_traceback(kit: jobkit.JobKit) -> None:
    def explode(args: dict) -> None:
        raise ZeroDivisionError(f"cannot divide {args['x']} by zero")

    kit.register("div", explode)
    claim, outcome = run_job(kit, "div", {"x": 7})
    assert not outcome.ok
    assert outcome.retryable
    err = outcome.error
    assert err is not None
    assert err.type == "ZeroDivisionError"
    assert err.message == "cannot divide 7 by zero"
    assert err.traceback is not None
    assert "Traceback" in err.traceback
    assert "explode" in err.traceback
    assert "ZeroDivisionError: cannot divide 7 by zero" in err.traceback

    job = finish(kit, claim, outcome)
    assert job is not None
    assert job.status is JobStatus.RETRYING
    assert job.retry_count == 1
    assert job.error == err
    assert job.run_at == kit.clock.now() + timedelta(seconds=30)


def test_custom_exception_class_name_is_the_type(kit: jobkit.JobKit) -> None:
    class PaymentDeclined(Exception):
        pass

    def pay(args: dict) -> None:
        raise PaymentDeclined("card 4242 declined")

    kit.register("pay", pay)
    _, outcome = run_job(kit, "pay")
    assert outcome.error is not None
    assert (outcome.error.type, outcome.error.message) == ("PaymentDeclined", "card 4242 declined")


def test_failure_value_is_a_failure_without_exception(kit: jobkit.JobKit) -> None:
    kit.register("check", lambda a: jobkit.Failure("quota exceeded", type="QuotaExceeded"))
    claim, outcome = run_job(kit, "check")
    assert not outcome.ok
    assert outcome.retryable
    assert outcome.error == jobkit.JobError("QuotaExceeded", "quota exceeded", None)
    job = finish(kit, claim, outcome)
    assert job is not None
    assert job.status is JobStatus.RETRYING
    assert job.error is not None and job.error.type == "QuotaExceeded"
    assert job.error.traceback is None


def test_failure_default_type(kit: jobkit.JobKit) -> None:
    kit.register("check", lambda a: jobkit.Failure("nope"))
    _, outcome = run_job(kit, "check")
    assert outcome.error == jobkit.JobError("Failure", "nope", None)


def test_non_retryable_failure_goes_dead_at_once(kit: jobkit.JobKit) -> None:
    kit.register(
        "bad", lambda a: jobkit.Failure("malformed address", type="BadInput", retryable=False)
    )
    claim, outcome = run_job(kit, "bad", max_retries=5)
    assert not outcome.retryable
    job = finish(kit, claim, outcome)
    assert job is not None
    assert job.status is JobStatus.DEAD
    assert job.retry_count == 0
    assert [j.id for j in kit.dead_letters()] == [job.id]
    assert kit.stats()["dead"] == 1
    assert kit.stats()["retried"] == 0


def test_non_json_result_becomes_a_failure(kit: jobkit.JobKit) -> None:
    kit.register("weird", lambda a: object())
    claim, outcome = run_job(kit, "weird", max_retries=1)
    job = finish(kit, claim, outcome)
    assert job is not None
    assert job.status is JobStatus.RETRYING
    assert job.result is None
    assert job.error is not None
    assert job.error.type == "InvalidJobError"
    assert "result" in job.error.message
    assert kit.stats()["succeeded"] == 0
    assert kit.stats()["failed"] == 1


@pytest.mark.parametrize("value", [float("nan"), {1: "int key"}, {"s": {1, 2}}, b"bytes"])
def test_non_json_results_of_every_kind_fail(kit: jobkit.JobKit, value: object) -> None:
    kit.register("weird", lambda a: value)
    claim, outcome = run_job(kit, "weird", max_retries=0)
    job = finish(kit, claim, outcome)
    assert job is not None
    assert job.status is JobStatus.DEAD
    assert job.error is not None and job.error.type == "InvalidJobError"


def test_result_goes_through_json(kit: jobkit.JobKit) -> None:
    kit.register("tuple", lambda a: {"pair": (1, 2)})
    claim, outcome = run_job(kit, "tuple")
    job = finish(kit, claim, outcome)
    assert job is not None
    assert job.result == {"pair": [1, 2]}


def test_exception_in_last_attempt_is_dead(kit: jobkit.JobKit) -> None:
    kit.register("boom", lambda a: 1 / 0)
    claim, outcome = run_job(kit, "boom", max_retries=0)
    job = finish(kit, claim, outcome)
    assert job is not None
    assert job.status is JobStatus.DEAD
    assert job.error is not None and job.error.type == "ZeroDivisionError"


# -- run: async handlers ---------------------------------------------------------------


def test_async_handler(kit: jobkit.JobKit) -> None:
    async def fetch(args: dict) -> dict:
        await asyncio.sleep(0)
        return {"url": args["url"], "status": 200}

    kit.register("fetch", fetch)
    claim, outcome = run_job(kit, "fetch", {"url": "https://example.org"})
    assert outcome.ok
    assert outcome.result == {"url": "https://example.org", "status": 200}
    assert finish(kit, claim, outcome).status is JobStatus.COMPLETED


def test_async_handler_exception_and_failure(kit: jobkit.JobKit) -> None:
    async def raises(args: dict) -> None:
        await asyncio.sleep(0)
        raise TimeoutError("upstream took too long")

    async def fails(args: dict) -> jobkit.Failure:
        return jobkit.Failure("gone", type="Gone", retryable=False)

    kit.register("raises", raises)
    kit.register("fails", fails)
    _, outcome = run_job(kit, "raises")
    assert outcome.error is not None
    assert outcome.error.type == "TimeoutError"
    assert outcome.error.message == "upstream took too long"
    assert "raises" in (outcome.error.traceback or "")
    _, outcome = run_job(kit, "fails")
    assert outcome.error == jobkit.JobError("Gone", "gone", None)
    assert not outcome.retryable


def test_async_handler_inside_a_running_event_loop(kit: jobkit.JobKit) -> None:
    """A notebook cell runs inside an event loop; a sync call to run() must still work."""
    seen: dict[str, object] = {}

    async def handler(args: dict) -> int:
        await asyncio.sleep(0)
        job = jobkit.current_job()
        seen["job_id"] = job.id if job else None
        seen["tenant"] = jobkit.current_tenant()
        return args["n"] * 2

    kit.register("double", handler)
    kit.for_tenant("acme").enqueue("double", {"n": 21})
    claim = claim_one(kit)

    def notebook_cell() -> step.Outcome:  # plain sync code, called from async code
        return step.run(kit.registry, claim.job)

    async def main() -> step.Outcome:
        asyncio.get_running_loop()  # really inside a loop
        return notebook_cell()

    outcome = asyncio.run(main())
    assert outcome.ok and outcome.result == 42
    assert seen == {"job_id": claim.job.id, "tenant": "acme"}
    assert finish(kit, claim, outcome).result == 42
    assert not [t for t in threading.enumerate() if t.name == "jobkit-async-handler"]


def test_async_handler_exception_inside_a_running_event_loop(kit: jobkit.JobKit) -> None:
    async def handler(args: dict) -> None:
        raise ValueError("bad value")

    kit.register("bad", handler)
    kit.enqueue("bad")
    claim = claim_one(kit)

    async def main() -> step.Outcome:
        return step.run(kit.registry, claim.job)

    outcome = asyncio.run(main())
    assert not outcome.ok
    assert outcome.error is not None
    assert (outcome.error.type, outcome.error.message) == ("ValueError", "bad value")


def test_callable_object_with_async_call_is_awaited(kit: jobkit.JobKit) -> None:
    class Handler:
        async def __call__(self, args: dict) -> str:
            await asyncio.sleep(0)
            return "awaited"

    kit.register("obj", Handler())
    claim, outcome = run_job(kit, "obj")
    assert outcome.ok and outcome.result == "awaited"
    assert finish(kit, claim, outcome).result == "awaited"


# -- context: current_job / current_tenant ------------------------------------------------


def test_current_job_and_tenant_inside_a_sync_handler(kit: jobkit.JobKit) -> None:
    seen: list[tuple[object, ...]] = []

    def handler(args: dict) -> None:
        job = jobkit.current_job()
        assert job is not None
        seen.append((job.id, job.status, job.started_at, job.tenant_id, jobkit.current_tenant()))

    kit.register("ctx", handler)
    job = kit.for_tenant("acme").enqueue("ctx")
    claim = claim_one(kit)
    assert step.run(kit.registry, claim.job).ok
    assert seen == [(job.id, JobStatus.RUNNING, kit.clock.now(), "acme", "acme")]


def test_current_job_and_tenant_inside_an_async_handler(kit: jobkit.JobKit) -> None:
    seen: list[tuple[object, ...]] = []

    async def handler(args: dict) -> None:
        await asyncio.sleep(0)
        job = jobkit.current_job()
        assert job is not None
        seen.append((job.id, jobkit.current_tenant()))

    kit.register("ctx", handler)
    job = kit.for_tenant("globex").enqueue("ctx")
    claim = claim_one(kit)
    assert step.run(kit.registry, claim.job).ok
    assert seen == [(job.id, "globex")]


def test_current_tenant_is_none_for_a_job_without_tenant(kit: jobkit.JobKit) -> None:
    seen = []
    kit.register("ctx", lambda a: seen.append(jobkit.current_tenant()))
    kit.enqueue("ctx")
    claim = claim_one(kit)
    with jobkit.tenant_scope("outer"):
        step.run(kit.registry, claim.job)
        assert jobkit.current_tenant() == "outer"  # restored afterwards
    assert seen == [None]


def test_context_is_none_outside_handlers(kit: jobkit.JobKit) -> None:
    assert jobkit.current_job() is None
    assert jobkit.current_tenant() is None
    kit.register("boom", lambda a: 1 / 0)
    kit.register("ok", lambda a: "fine")
    for job_type in ("ok", "boom"):
        kit.for_tenant("acme").enqueue(job_type)
        claim = claim_one(kit)
        step.run(kit.registry, claim.job)
        assert jobkit.current_job() is None
        assert jobkit.current_tenant() is None


def test_current_job_is_none_in_other_threads_while_a_handler_runs(kit: jobkit.JobKit) -> None:
    seen = []

    def handler(args: dict) -> None:
        t = threading.Thread(target=lambda: seen.append(jobkit.current_job()))
        t.start()
        t.join()

    kit.register("spawn", handler)
    kit.enqueue("spawn")
    step.run(kit.registry, claim_one(kit).job)
    assert seen == [None]  # a plain thread does not inherit the context


# -- unregistered job types ---------------------------------------------------------------


def test_unregistered_job_type_is_a_no_handler_failure(kit: jobkit.JobKit) -> None:
    kit.register("known", lambda a: None)
    claim, outcome = run_job(kit, "ghost")
    assert not outcome.ok
    assert outcome.retryable
    assert outcome.error is not None
    assert outcome.error.type == "NoHandlerError"
    assert "ghost" in outcome.error.message
    assert "known" in outcome.error.message  # names what is registered
    job = finish(kit, claim, outcome)
    assert job is not None
    assert job.status is JobStatus.RETRYING
    assert job.retry_count == 1


def test_unregistered_job_type_follows_retry_path_to_dead_never_dropped(
    kit: jobkit.JobKit, clock: FakeClock
) -> None:
    job = kit.enqueue("ghost", {"x": 1}, max_retries=2)
    statuses = []
    while True:
        claim = step.begin(kit.backend, ["default"], "w", clock.now())
        assert claim is not None
        stored = finish(kit, claim, step.run(kit.registry, claim.job))
        assert stored is not None
        statuses.append((stored.status, stored.retry_count))
        if stored.status is not JobStatus.RETRYING:
            break
        clock.set(stored.run_at)
    assert statuses == [
        (JobStatus.RETRYING, 1),
        (JobStatus.RETRYING, 2),
        (JobStatus.DEAD, 2),
    ]
    dead = kit.get(job.id)
    assert dead is not None and dead.error is not None
    assert dead.error.type == "NoHandlerError"
    assert dead.args == {"x": 1}
    assert [j.id for j in kit.dead_letters()] == [job.id]


def test_handler_registered_mid_deploy_picks_up_the_retry(
    kit: jobkit.JobKit, clock: FakeClock
) -> None:
    job = kit.enqueue("late", {"v": 5})
    claim = claim_one(kit)
    retrying = finish(kit, claim, step.run(kit.registry, claim.job))
    assert retrying is not None and retrying.status is JobStatus.RETRYING

    kit.register("late", lambda a: a["v"] + 1)  # the new release arrives
    clock.set(retrying.run_at)
    claim = claim_one(kit)
    done = finish(kit, claim, step.run(kit.registry, claim.job))
    assert done is not None
    assert (done.id, done.status, done.result, done.retry_count) == (
        job.id,
        JobStatus.COMPLETED,
        6,
        1,
    )


# -- BaseException passes -------------------------------------------------------------------


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_base_exceptions_are_not_swallowed(
    kit: jobkit.JobKit, exc_type: type[BaseException]
) -> None:
    def handler(args: dict) -> None:
        raise exc_type()

    kit.register("stop", handler)
    kit.for_tenant("acme").enqueue("stop")
    claim = claim_one(kit)
    with pytest.raises(exc_type):
        step.run(kit.registry, claim.job)
    assert jobkit.current_job() is None
    assert jobkit.current_tenant() is None
    # the job is still held (running), to be reclaimed if this process dies
    assert kit.get(claim.job.id).status is JobStatus.RUNNING


def test_keyboard_interrupt_in_async_handler_inside_running_loop_passes(kit: jobkit.JobKit) -> None:
    async def handler(args: dict) -> None:
        raise KeyboardInterrupt

    kit.register("stop", handler)
    kit.enqueue("stop")
    claim = claim_one(kit)

    async def main() -> step.Outcome:
        return step.run(kit.registry, claim.job)

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(main())


# -- finish ------------------------------------------------------------------------------------


def test_finish_with_a_lost_lease_returns_none_and_does_not_overwrite(
    kit: jobkit.JobKit, clock: FakeClock
) -> None:
    calls = []

    def handler(args: dict) -> str:
        calls.append(jobkit.current_job().started_at)
        return f"run {len(calls)}"

    kit.register("slow", handler)
    job = kit.enqueue("slow")
    old = claim_one(kit, "w-old", lease_seconds=10)
    old_outcome = step.run(kit.registry, old.job)

    clock.advance(11)  # the old worker's lease expires
    reclaimed = kit.backend.reclaim_abandoned(now=clock.now())
    assert [j.id for j in reclaimed] == [job.id]
    new = claim_one(kit, "w-new")
    assert new.token != old.token
    new_done = finish(kit, new, step.run(kit.registry, new.job))
    assert new_done is not None and new_done.result == "run 2"

    # the old worker comes back and reports; it is refused
    assert finish(kit, old, old_outcome) is None
    failed_outcome = step.Outcome.failure(jobkit.JobError("Boom", "late failure"))
    assert finish(kit, old, failed_outcome) is None
    stored = kit.get(job.id)
    assert stored == new_done
    assert stored.status is JobStatus.COMPLETED and stored.result == "run 2"
    assert kit.stats()["lease_lost"] == 2
    assert kit.stats()["succeeded"] == 1


def test_finish_refused_while_new_owner_still_runs(kit: jobkit.JobKit, clock: FakeClock) -> None:
    kit.register("t", lambda a: "x")
    kit.enqueue("t")
    old = claim_one(kit, "w-old", lease_seconds=5)
    clock.advance(6)
    kit.backend.reclaim_abandoned(now=clock.now())
    new = claim_one(kit, "w-new")
    assert finish(kit, old, step.Outcome.success("stale")) is None
    still = kit.get(new.job.id)
    assert still.status is JobStatus.RUNNING  # the new owner decides
    assert finish(kit, new, step.Outcome.success("fresh")).result == "fresh"


def test_finish_uses_the_given_policy(kit: jobkit.JobKit, clock: FakeClock) -> None:
    kit.register("f", lambda a: 1 / 0)
    claim, outcome = run_job(kit, "f")
    job = step.finish(kit.backend, claim, outcome, clock.now(), RetryPolicy.constant(7))
    assert job is not None and job.run_at == clock.now() + timedelta(seconds=7)


def test_policy_for_prefers_the_registration(kit: jobkit.JobKit) -> None:
    own = RetryPolicy.constant(5)
    kit.register("mine", lambda a: None, retry_policy=own)
    kit.register("plain", lambda a: None)
    fallback = RetryPolicy.linear(1)
    mine = jobkit.create_job("mine")
    plain = jobkit.create_job("plain")
    ghost = jobkit.create_job("ghost")
    assert step.policy_for(kit.registry, mine, fallback) is own
    assert step.policy_for(kit.registry, plain, fallback) is fallback
    assert step.policy_for(kit.registry, ghost, fallback) is fallback


def test_an_outcome_is_immutable_and_compares_by_value() -> None:
    ok = step.Outcome.success({"n": 1})
    assert ok == step.Outcome(True, {"n": 1}) and ok.ok and ok.error is None
    with pytest.raises(AttributeError):
        ok.ok = False  # type: ignore[misc]
    failed = step.Outcome.failure(jobkit.JobError("Boom", "no"), retryable=False)
    assert (failed.ok, failed.retryable, failed.error.type) == (False, False, "Boom")
