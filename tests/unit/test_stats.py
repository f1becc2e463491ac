"""Unit and property tests for the pure counters in jobkit.core.stats."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobkit.core import lifecycle
from jobkit.core.model import Job, JobError, JobStatus, build_job
from jobkit.core.retry import RetryPolicy
from jobkit.core.stats import (
    COUNTERS,
    Stats,
    add_counts,
    empty_counters,
    status_counts,
    transition_counts,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ERR = JobError("ValueError", "boom")
POLICY = RetryPolicy.default()


def new_job(**kw) -> Job:
    kw.setdefault("id", "j1")
    kw.setdefault("now", T0)
    return build_job("x", **kw)


def running(**changes) -> Job:
    return lifecycle.start(new_job(), T0).evolve(**changes)


# (description, status before, job after the move, expected increments)
MOVES = [
    ("enqueue pending", None, new_job(), {"enqueued": 1}),
    ("enqueue scheduled", None, new_job(run_at=T0 + timedelta(hours=1)), {"enqueued": 1}),
    ("start", JobStatus.PENDING, running(), {}),
    (
        "complete",
        JobStatus.RUNNING,
        lifecycle.complete(running(), 1, T0),
        {"processed": 1, "succeeded": 1},
    ),
    (
        "fail, retry",
        JobStatus.RUNNING,
        lifecycle.fail(running(), ERR, T0, POLICY),
        {"processed": 1, "failed": 1, "retried": 1},
    ),
    (
        "fail, dead",
        JobStatus.RUNNING,
        lifecycle.fail(running(retry_count=3), ERR, T0, POLICY),
        {"processed": 1, "failed": 1, "dead": 1},
    ),
    (
        "fail, not retryable",
        JobStatus.RUNNING,
        lifecycle.fail(running(), ERR, T0, POLICY, retryable=False),
        {"processed": 1, "failed": 1, "dead": 1},
    ),
    (
        "handler failure that calls itself WorkerLost",  # only the reclaim path counts reclaims
        JobStatus.RUNNING,
        lifecycle.fail(running(retry_count=3), JobError("WorkerLost", "mine"), T0, POLICY),
        {"processed": 1, "failed": 1, "dead": 1},
    ),
    ("reclaim", JobStatus.RUNNING, lifecycle.reclaim(running(), T0, 3), {"reclaimed": 1}),
    (
        "reclaim, dead",
        JobStatus.RUNNING,
        lifecycle.reclaim(running(reclaim_count=3), T0, 3),
        {"reclaimed": 1, "dead": 1},  # a lost worker is not a processed attempt
    ),
    (
        "promote scheduled",
        JobStatus.SCHEDULED,
        lifecycle.promote(new_job().evolve(status=JobStatus.SCHEDULED), T0),
        {},
    ),
    (
        "promote retrying",
        JobStatus.RETRYING,
        lifecycle.promote(new_job().evolve(status=JobStatus.RETRYING), T0),
        {},
    ),
    ("cancel pending", JobStatus.PENDING, lifecycle.cancel(new_job(), T0), {"cancelled": 1}),
    (
        "cancel scheduled",
        JobStatus.SCHEDULED,
        lifecycle.cancel(new_job().evolve(status=JobStatus.SCHEDULED), T0),
        {"cancelled": 1},
    ),
    (
        "cancel retrying",
        JobStatus.RETRYING,
        lifecycle.cancel(new_job().evolve(status=JobStatus.RETRYING), T0),
        {"cancelled": 1},
    ),
    (
        "retry_dead",
        JobStatus.DEAD,
        lifecycle.retry_dead(new_job().evolve(status=JobStatus.DEAD), T0),
        {},
    ),
]


@pytest.mark.parametrize(("label", "before", "after", "expected"), MOVES, ids=[m[0] for m in MOVES])
def test_transition_counts(label, before, after, expected):
    counts = transition_counts(before, after, reclaimed=label.startswith("reclaim"))
    assert counts == expected
    assert set(counts) <= set(COUNTERS)


def test_counters_are_listed_once():
    assert len(COUNTERS) == len(set(COUNTERS))
    assert COUNTERS[:3] == ("enqueued", "processed", "succeeded")


def test_empty_counters():
    counters = empty_counters()
    assert counters == dict.fromkeys(COUNTERS, 0)
    assert list(counters) == list(COUNTERS)
    counters["enqueued"] = 5
    assert empty_counters()["enqueued"] == 0  # a fresh dict each time


def test_add_counts_in_place():
    counters = empty_counters()
    add_counts(counters, {"processed": 1, "succeeded": 1})
    add_counts(counters, {"processed": 2, "custom": 4})
    assert counters["processed"] == 3
    assert counters["succeeded"] == 1
    assert counters["custom"] == 4  # unknown names are added, not dropped


def test_status_counts():
    jobs = [
        new_job(),
        new_job(),
        running(),
        lifecycle.cancel(new_job(), T0),
        new_job(run_at=T0 + timedelta(seconds=1)),
    ]
    counts = status_counts(jobs)
    assert list(counts) == [s.value for s in JobStatus]
    assert counts == {
        "pending": 2,
        "scheduled": 1,
        "running": 1,
        "completed": 0,
        "retrying": 0,
        "dead": 0,
        "cancelled": 1,
    }


def test_status_counts_of_nothing_and_of_a_generator():
    assert status_counts([]) == dict.fromkeys((s.value for s in JobStatus), 0)
    assert status_counts(new_job(id=str(i)) for i in range(3))["pending"] == 3


# -- Stats ----------------------------------------------------------------------------


def test_stats_defaults():
    stats = Stats()
    assert stats.counters == empty_counters()
    assert stats.statuses == {}
    assert stats.success_rate is None
    assert stats["processed"] == 0
    assert stats["no-such-counter"] == 0


@pytest.mark.parametrize(
    ("processed", "succeeded", "rate"),
    [
        (0, 0, None),  # nothing processed yet
        (4, 3, 0.75),
        (4, 4, 1.0),
        (3, 0, 0.0),
        (3, 1, 1 / 3),
    ],
)
def test_success_rate(processed, succeeded, rate):
    stats = Stats(counters={**empty_counters(), "processed": processed, "succeeded": succeeded})
    assert stats.success_rate == rate


def test_stats_to_dict():
    counters = {**empty_counters(), "enqueued": 5, "processed": 2, "succeeded": 1, "failed": 1}
    statuses = status_counts([new_job(), running()])
    data = Stats(counters=counters, statuses=statuses).to_dict()
    assert data["enqueued"] == 5
    assert data["processed"] == 2
    assert data["success_rate"] == 0.5
    assert data["status_pending"] == 1
    assert data["status_running"] == 1
    assert data["status_dead"] == 0
    assert set(data) == set(COUNTERS) | {f"status_{s.value}" for s in JobStatus} | {"success_rate"}
    assert json.loads(json.dumps(data)) == data


def test_stats_to_dict_without_processing():
    assert Stats().to_dict()["success_rate"] is None


# -- property: counting a whole random history ---------------------------------------


@given(
    outcomes=st.lists(st.sampled_from(["ok", "fail", "lost", "cancel"]), max_size=60),
    seed=st.integers(0, 1000),
)
def test_counters_stay_consistent_over_a_history(outcomes, seed):
    rng = random.Random(seed)
    counters = empty_counters()
    jobs: list[Job] = []
    now = T0
    job = None

    def move(new: Job, before: JobStatus | None) -> Job:
        add_counts(counters, transition_counts(before, new))
        return new

    for i, outcome in enumerate(outcomes):
        now += timedelta(seconds=1)
        if job is None:
            job = move(new_job(id=f"j{i}", now=now, max_retries=2), None)
        if outcome == "cancel":
            job = move(lifecycle.cancel(job, now), job.status)
        else:
            job = move(lifecycle.start(job, now), job.status)
            if outcome == "ok":
                job = move(lifecycle.complete(job, i, now), job.status)
            elif outcome == "fail":
                job = move(lifecycle.fail(job, ERR, now, POLICY, rng), job.status)
            else:
                job = move(lifecycle.reclaim(job, now, 1), job.status)
        if job.status is JobStatus.RETRYING:
            job = move(lifecycle.promote(job, now), job.status)
        if job.status is not JobStatus.PENDING:
            jobs.append(job)
            job = None

    assert counters["processed"] == counters["succeeded"] + counters["failed"]
    assert counters["retried"] <= counters["failed"]
    statuses = status_counts(jobs)
    assert counters["succeeded"] == statuses["completed"]
    assert counters["cancelled"] == statuses["cancelled"]
    assert counters["dead"] == statuses["dead"]
    finished = statuses["completed"] + statuses["cancelled"] + statuses["dead"]
    assert counters["enqueued"] == finished + (0 if job is None else 1)
