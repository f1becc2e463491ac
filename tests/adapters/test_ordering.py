"""Property: whatever the interleaving of enqueues (random priorities, one queue) and
dequeues, jobs are served in strict priority order, FIFO within a priority."""

from __future__ import annotations

from collections import deque

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobkit.clock import FakeClock
from jobkit.core.model import PRIORITIES, Priority, build_job

# Priorities as enum members and as their strings: both are accepted anywhere.
priorities = st.sampled_from([*PRIORITIES, *(p.value for p in PRIORITIES)])

ops = st.lists(
    st.one_of(
        st.tuples(st.just("enqueue"), priorities),
        st.tuples(st.just("enqueue_many"), st.lists(priorities, max_size=6)),
        st.tuples(st.just("dequeue"), st.just(1)),
        st.tuples(st.just("dequeue_many"), st.integers(min_value=1, max_value=4)),
    ),
    max_size=60,
)

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    # The factory fixture is shared across examples on purpose: every example builds
    # its own backend (and clock) with it.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


class Model:
    """The expected ready jobs: one FIFO per priority."""

    def __init__(self) -> None:
        self.ready: list[deque[str]] = [deque() for _ in PRIORITIES]

    def add(self, job_id: str, priority: Priority | str) -> None:
        self.ready[Priority.coerce(priority).rank].append(job_id)

    def take(self, count: int) -> list[str]:
        out: list[str] = []
        for dq in self.ready:
            while dq and len(out) < count:
                out.append(dq.popleft())
        return out

    def order(self) -> list[str]:
        return [job_id for dq in self.ready for job_id in dq]


@SETTINGS
@given(prios=st.lists(priorities, max_size=40))
def test_enqueued_jobs_are_served_by_priority_then_fifo(backend_factory, prios) -> None:
    clock = FakeClock()
    backend = backend_factory(clock)
    jobs = [build_job("t", id=f"j{n}", now=clock.now(), priority=p) for n, p in enumerate(prios)]
    for job in jobs:
        backend.enqueue(job)
    expected = [j.id for j in sorted(jobs, key=lambda j: j.priority.rank)]  # stable sort
    assert [j.id for j in backend.peek("default", limit=len(jobs) + 1)] == expected
    served = []
    while (claim := backend.dequeue("default", "w")) is not None:
        served.append(claim.job.id)
    assert served == expected


@SETTINGS
@given(steps=ops)
def test_any_interleaving_is_served_by_priority_then_fifo(backend_factory, steps) -> None:
    clock = FakeClock()
    backend = backend_factory(clock)
    model = Model()
    serial = 0

    def new_job(priority: Priority | str):  # type: ignore[no-untyped-def]
        nonlocal serial
        serial += 1
        clock.advance(0.001)
        return build_job("t", id=f"j{serial}", now=clock.now(), priority=priority)

    for op, arg in steps:
        if op == "enqueue":
            job = new_job(arg)
            backend.enqueue(job)
            model.add(job.id, arg)
        elif op == "enqueue_many":
            batch = [new_job(p) for p in arg]
            backend.enqueue_many(batch)
            for job, p in zip(batch, arg, strict=True):
                model.add(job.id, p)
        elif op == "dequeue":
            claim = backend.dequeue("default", "w")
            expected = model.take(1)
            assert ([] if claim is None else [claim.job.id]) == expected
        else:
            claims = backend.dequeue_many("default", "w", arg)
            assert [c.job.id for c in claims] == model.take(arg)
        assert backend.size("default") == len(model.order())
        assert backend.sizes("default") == {
            p: len(dq) for p, dq in zip(PRIORITIES, model.ready, strict=True)
        }
    assert [j.id for j in backend.peek("default", limit=1000)] == model.order()
    assert [c.job.id for c in backend.dequeue_many("default", "w", 1000)] == model.order()
