"""Tenants on every backend, through the port API only: tenants take turns within a
priority (fair scheduling, on by default), tenant-restricted claims never touch another
tenant's job, and counters and status tallies are kept per tenant.

The differential test at the end replays random sequences of enqueues, restricted and
unrestricted claims, releases and cancels on each backend and on the in-memory one side
by side: both must serve the same jobs in the same order.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobkit.adapters.memory import InMemoryBackend
from jobkit.clock import FakeClock
from jobkit.core import lifecycle
from jobkit.core.errors import InvalidJobError, LeaseLostError
from jobkit.core.model import Job, JobError, JobStatus, build_job
from jobkit.core.retry import RetryPolicy
from jobkit.ports import JobBackend
from tests.adapters.conftest import JobMaker

POLICY = RetryPolicy.default()


def served(backend: JobBackend, queue: str = "default", **kw: object) -> list[str]:
    """Claim every ready job of `queue` one at a time; ids in the order served."""
    out = []
    while (c := backend.dequeue(queue, "w", **kw)) is not None:  # type: ignore[arg-type]
        out.append(c.job.id)
    return out


def many(make_job: JobMaker, n: int, prefix: str, **options: object) -> list[Job]:
    return [make_job(id=f"{prefix}{i}", **options) for i in range(n)]  # type: ignore[arg-type]


# -- fair turns -----------------------------------------------------------------------------


class TestFairTurns:
    def test_a_small_tenant_is_not_starved_by_a_large_backlog(self, backend, make_job) -> None:
        big = many(make_job, 50, "big", tenant_id="bigco")
        small = many(make_job, 3, "small", tenant_id="tiny")
        backend.enqueue_many(big + small)
        order = served(backend)
        # the small tenant joins the current round: one job of each tenant per round
        assert order[:7] == ["big0", "small0", "big1", "small1", "big2", "small2", "big3"]
        assert order[7:] == [j.id for j in big[4:]]

    def test_switched_off_each_priority_is_first_in_first_out(
        self, backend_factory, clock, make_job
    ) -> None:
        backend = backend_factory(clock, fair=False)
        jobs = many(make_job, 5, "big", tenant_id="bigco") + many(make_job, 2, "s", tenant_id="t")
        backend.enqueue_many(jobs)
        assert served(backend) == [j.id for j in jobs]

    def test_a_tenant_arriving_later_joins_the_current_round(self, backend, make_job) -> None:
        backend.enqueue_many(many(make_job, 10, "big", tenant_id="bigco"))
        assert [backend.dequeue("default", "w").job.id for _ in range(3)] == [
            "big0",
            "big1",
            "big2",
        ]
        for job in many(make_job, 2, "late", tenant_id="late"):
            backend.enqueue(job)
        assert served(backend)[:5] == ["big3", "late0", "big4", "late1", "big5"]

    def test_jobs_without_a_tenant_are_one_group(self, backend, make_job) -> None:
        backend.enqueue_many(many(make_job, 4, "anon") + many(make_job, 2, "acme", tenant_id="a"))
        assert served(backend) == ["anon0", "acme0", "anon1", "acme1", "anon2", "anon3"]

    def test_three_tenants_take_turns_in_arrival_order(self, backend, make_job) -> None:
        for i in range(3):
            for tenant in ("c", "a", "b"):
                backend.enqueue(make_job(id=f"{tenant}{i}", tenant_id=tenant))
        assert served(backend) == ["c0", "a0", "b0", "c1", "a1", "b1", "c2", "a2", "b2"]

    def test_priority_stays_strict_across_tenants(self, backend, make_job) -> None:
        backend.enqueue_many(many(make_job, 3, "low", tenant_id="a", priority="low"))
        backend.enqueue_many(many(make_job, 2, "crit", tenant_id="b", priority="critical"))
        backend.enqueue_many(many(make_job, 2, "def", tenant_id="a"))
        assert served(backend) == ["crit0", "crit1", "def0", "def1", "low0", "low1", "low2"]

    def test_peek_shows_the_fair_order(self, backend, make_job) -> None:
        backend.enqueue_many(many(make_job, 3, "big", tenant_id="bigco"))
        backend.enqueue_many(many(make_job, 2, "s", tenant_id="s"))
        assert [j.id for j in backend.peek("default", 4)] == ["big0", "s0", "big1", "s1"]
        assert served(backend) == ["big0", "s0", "big1", "s1", "big2"]

    def test_released_jobs_go_back_to_the_front(self, backend, make_job) -> None:
        backend.enqueue_many(many(make_job, 3, "a", tenant_id="a") + many(make_job, 3, "b"))
        claims = backend.dequeue_many("default", "w", 3)
        assert [c.job.id for c in claims] == ["a0", "b0", "a1"]
        backend.release(claims[1:])
        assert served(backend) == ["b0", "a1", "b1", "a2", "b2"]

    def test_reclaimed_jobs_go_back_to_the_front(self, backend, make_job, clock) -> None:
        backend.enqueue_many(many(make_job, 2, "a", tenant_id="a") + many(make_job, 2, "b"))
        backend.dequeue("default", "w", lease_seconds=5)  # a0, abandoned
        clock.advance(6)
        assert [j.id for j in backend.reclaim_abandoned("default")] == ["a0"]
        assert served(backend) == ["a0", "b0", "a1", "b1"]

    def test_retries_rejoin_their_tenants_turn(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job(id="flaky", tenant_id="a"))
        c = backend.dequeue("default", "w")
        backend.ack(c, lifecycle.fail(c.job, JobError("E", "m"), clock.now(), POLICY))
        backend.enqueue_many(many(make_job, 3, "b", tenant_id="b"))
        clock.advance(31)
        assert served(backend) == ["b0", "flaky", "b1", "b2"]

    def test_a_cancelled_job_leaves_its_turn(self, backend, make_job, clock) -> None:
        backend.enqueue_many(many(make_job, 3, "a", tenant_id="a") + many(make_job, 2, "b"))
        backend.cancel("a0", now=clock.now())
        assert backend.delete("b0")
        assert served(backend) == ["a1", "b1", "a2"]
        assert backend.size("default") == 0

    def test_a_resaved_job_moves_to_its_new_tenant(self, backend, make_job) -> None:
        backend.enqueue_many(many(make_job, 2, "a", tenant_id="a") + many(make_job, 2, "n"))
        stored = backend.get("a1")
        backend.save(stored.evolve(tenant_id="b"))
        assert served(backend, tenants=["a"]) == ["a0"]
        # tenant b had no ready job: a1 joined the current round, after n0
        assert served(backend) == ["n0", "a1", "n1"]


# -- restricted claims ----------------------------------------------------------------------


class TestRestrictedClaims:
    @pytest.fixture
    def mixed(self, backend, make_job) -> JobBackend:
        backend.enqueue_many(
            many(make_job, 3, "a", tenant_id="acme")
            + many(make_job, 2, "g", tenant_id="globex")
            + many(make_job, 2, "n")
            + many(make_job, 1, "ha", tenant_id="acme", priority="high")
        )
        return backend

    def test_only_the_given_tenants_jobs_are_claimed(self, mixed) -> None:
        assert served(mixed, tenants=["acme"]) == ["ha0", "a0", "a1", "a2"]
        assert mixed.dequeue("default", "w", tenants=["acme"]) is None
        assert served(mixed) == ["g0", "n0", "g1", "n1"]

    def test_none_stands_for_jobs_without_a_tenant(self, mixed) -> None:
        assert served(mixed, tenants=[None]) == ["n0", "n1"]
        assert served(mixed, tenants=["globex", None]) == ["g0", "g1"]

    def test_several_tenants_keep_their_turns(self, mixed) -> None:
        assert served(mixed, tenants={"acme", "globex"}) == ["ha0", "a0", "g0", "a1", "g1", "a2"]

    def test_batch_claims_respect_the_restriction(self, mixed) -> None:
        claims = mixed.dequeue_many("default", "w", 10, tenants=["globex"])
        assert [c.job.id for c in claims] == ["g0", "g1"]
        assert all(c.job.tenant_id == "globex" for c in claims)
        assert mixed.dequeue_many("default", "w", 10, tenants=[]) == []

    def test_the_rest_keeps_its_order(self, mixed) -> None:
        mixed.dequeue("default", "w", tenants=["globex"])
        assert served(mixed) == ["ha0", "a0", "n0", "a1", "g1", "n1", "a2"]

    def test_an_unknown_tenant_gets_nothing(self, mixed) -> None:
        assert mixed.dequeue("default", "w", tenants=["nobody"]) is None
        assert mixed.size("default") == 8

    def test_due_jobs_are_promoted_for_restricted_claims(self, backend, make_job, clock) -> None:
        backend.enqueue(make_job(id="later", tenant_id="acme", delay=60))
        assert backend.dequeue("default", "w", tenants=["acme"]) is None
        clock.advance(61)
        assert backend.dequeue("default", "w", tenants=["acme"]).job.id == "later"

    def test_waiting_sees_only_the_given_tenants(self, backend, make_job) -> None:
        backend.enqueue(make_job(tenant_id="globex"))
        assert backend.wait_for_jobs(["default"], 0.05, tenants=["acme"]) is False
        assert backend.wait_for_jobs(["default"], 0.05, tenants=["globex"]) is True
        assert backend.wait_for_jobs(None, 0.05, tenants=["acme", "globex"]) is True

    @pytest.mark.parametrize("tenants", ["acme", ["bad id"], [""], [7]])
    def test_bad_restrictions_are_refused(self, backend, make_job, tenants) -> None:
        backend.enqueue(make_job(tenant_id="acme"))
        with pytest.raises(InvalidJobError, match="tenant"):
            backend.dequeue("default", "w", tenants=tenants)
        assert backend.size("default") == 1


# -- per-tenant stats -----------------------------------------------------------------------


def lifecycle_of_one_tenant(backend: JobBackend, make_job: JobMaker, clock: FakeClock) -> None:
    """Every kind of move, all jobs of tenant `acme`."""
    kw = {"tenant_id": "acme"}
    backend.enqueue_many([make_job(id=f"j{i}", **kw) for i in range(5)])
    backend.enqueue(make_job(id="later", delay=60, **kw))
    backend.enqueue(make_job(id="fragile", max_retries=0, **kw))
    c = backend.dequeue("default", "w")
    backend.ack(c, lifecycle.complete(c.job, 1, clock.now()))
    c = backend.dequeue("default", "w")
    backend.ack(c, lifecycle.fail(c.job, JobError("E", "m"), clock.now(), POLICY))
    stale = backend.dequeue("default", "w", lease_seconds=1)
    clock.advance(2)
    backend.reclaim_abandoned("default")
    with pytest.raises(LeaseLostError):
        backend.ack(stale, lifecycle.complete(stale.job, 1, clock.now()))
    backend.cancel("later", now=clock.now())
    claims = backend.dequeue_many("default", "w", 10)
    fragile = next(c for c in claims if c.job.id == "fragile")
    backend.ack(fragile, lifecycle.fail(fragile.job, JobError("E", "m"), clock.now(), POLICY))
    backend.retry_dead("fragile", now=clock.now())
    backend.delete("j4")


class TestTenantStats:
    def test_a_tenants_stats_follow_every_move(self, backend, make_job, clock) -> None:
        lifecycle_of_one_tenant(backend, make_job, clock)
        # with one tenant only, its stats are the backend's
        assert backend.tenant_stats("acme") == backend.stats()
        assert backend.tenant_stats("acme")["enqueued"] == 7
        assert backend.tenants() == ["acme"]

    def test_tenants_are_counted_apart(self, backend, make_job, clock) -> None:
        lifecycle_of_one_tenant(backend, make_job, clock)
        before = backend.tenant_stats("acme")
        backend.enqueue(make_job(id="g1", tenant_id="globex"))
        backend.enqueue(make_job(id="n1"))
        c = backend.dequeue("default", "w", tenants=["globex"])
        backend.ack(c, lifecycle.complete(c.job, 1, clock.now()))
        assert backend.tenant_stats("acme") == before
        globex = backend.tenant_stats("globex")
        assert (globex["enqueued"], globex["succeeded"]) == (1, 1)
        assert globex.statuses["completed"] == 1 and globex.statuses["pending"] == 0
        assert backend.tenants() == ["acme", "globex"]
        assert backend.tenant_stats("nobody")["enqueued"] == 0

    def test_saving_a_job_under_another_tenant_moves_its_tally(self, backend, make_job) -> None:
        backend.enqueue(make_job(id="j", tenant_id="acme"))
        backend.save(backend.get("j").evolve(tenant_id="globex"))
        assert backend.tenant_stats("acme").statuses["pending"] == 0
        assert backend.tenant_stats("globex").statuses["pending"] == 1


# -- the same order on every backend -------------------------------------------------------

TENANTS = st.sampled_from([None, "a", "b", "c"])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("enqueue"), TENANTS, st.sampled_from(["high", "default"])),
        st.tuples(st.just("enqueue_many"), st.lists(TENANTS, min_size=1, max_size=6)),
        st.tuples(
            st.just("claim"),
            st.integers(1, 4),
            st.none() | st.sets(TENANTS, min_size=1, max_size=2),
        ),
        st.tuples(st.just("release"), st.integers(0, 3)),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
    ),
    max_size=40,
)


def replay(backend: JobBackend, ops: list[tuple], clock: FakeClock) -> list[object]:
    """Run `ops` on `backend`; everything it answered, in order."""
    answers: list[object] = []
    held: list = []
    made = 0

    def new(tenant: str | None, priority: str = "default") -> Job:
        nonlocal made
        made += 1
        clock.advance(timedelta(milliseconds=1))
        return build_job(
            "t", {}, id=f"j{made:03}", tenant_id=tenant, priority=priority, now=clock.now()
        )

    for op, *args in ops:
        if op == "enqueue":
            backend.enqueue(new(args[0], args[1]))
        elif op == "enqueue_many":
            backend.enqueue_many([new(t) for t in args[0]])
        elif op == "claim":
            count, tenants = args
            claims = backend.dequeue_many("default", "w", count, tenants=tenants)
            held += claims
            answers.append([c.job.id for c in claims])
        elif op == "release" and held:
            back = held[-1 - args[0] % len(held) :]
            del held[-1 - args[0] % len(held) :]
            answers.append([j.id for j in backend.release(back)])
        elif op == "cancel":
            ready = backend.peek("default", 100)
            if ready:
                answers.append(backend.cancel(ready[args[0] % len(ready)].id, now=clock.now()).id)
    answers.append([j.id for j in backend.peek("default", 100)])
    answers.append(dict(backend.sizes("default")))
    return answers


@pytest.mark.parametrize("fair", [True, False], ids=["fair", "fifo"])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_every_backend_serves_like_the_in_memory_one(backend_factory, fair, ops) -> None:
    expected_clock, clock = FakeClock(), FakeClock()
    expected = replay(InMemoryBackend(expected_clock, fair=fair), ops, expected_clock)
    assert replay(backend_factory(clock, fair=fair), ops, clock) == expected


def test_the_switch_must_be_a_bool(backend_factory, clock) -> None:
    with pytest.raises(ValueError, match="fair='no' must be True or False"):
        backend_factory(clock, fair="no")


def test_statuses_of_a_tenant_are_complete(backend, make_job) -> None:
    backend.enqueue(make_job(tenant_id="acme"))
    assert set(backend.tenant_stats("acme").statuses) == {s.value for s in JobStatus}
