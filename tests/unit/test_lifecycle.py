"""Unit and property tests for the pure job state machine in jobkit.core.lifecycle."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobkit.core import lifecycle
from jobkit.core.errors import InvalidJobError, InvalidTransitionError
from jobkit.core.lifecycle import ALLOWED_FROM, RT, WORKER_LOST, C, D, P, R, S, X
from jobkit.core.model import TERMINAL_STATUSES, Job, JobError, JobStatus, build_job
from jobkit.core.retry import RetryPolicy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(minutes=10)
ERR = JobError("ValueError", "boom", "Traceback ...")
DEFAULT = RetryPolicy.default()


def job_in(status: JobStatus, **changes) -> Job:
    base = build_job(
        "email.send", {"to": "a@b.c", "tags": ["x"]}, id="job-42", now=T0, metadata={"m": [1]}
    )
    return base.evolve(status=status, **changes)


#: one way to invoke each action; every call gets NOW
ACTIONS = {
    "start": lambda job: lifecycle.start(job, NOW),
    "complete": lambda job: lifecycle.complete(job, {"ok": True}, NOW),
    "fail": lambda job: lifecycle.fail(job, ERR, NOW, DEFAULT),
    "reclaim": lambda job: lifecycle.reclaim(job, NOW, max_reclaims=3),
    "release": lambda job: lifecycle.release(job, NOW),
    "promote": lambda job: lifecycle.promote(job, NOW),
    "cancel": lambda job: lifecycle.cancel(job, NOW),
    "retry_dead": lambda job: lifecycle.retry_dead(job, NOW),
}


def test_allowed_from_table():
    expected = {
        "start": {P},
        "complete": {R},
        "fail": {R},
        "reclaim": {R},
        "release": {R},
        "promote": {S, RT},
        "cancel": {P, S, RT},
        "retry_dead": {D},
    }
    assert expected == ALLOWED_FROM
    assert set(ACTIONS) == set(ALLOWED_FROM)


# -- legal transitions ----------------------------------------------------------------


def test_start():
    job = job_in(P, result="stale", finished_at=T0)
    started = lifecycle.start(job, NOW)
    assert started.status is R
    assert started.started_at == NOW
    assert started.finished_at is None
    assert started.result is None
    assert started.updated_at == NOW
    assert started.retry_count == 0
    assert started.created_at == T0
    assert started.args == job.args


def test_start_keeps_the_previous_error_for_reference():
    job = job_in(P, error=ERR)
    assert lifecycle.start(job, NOW).error == ERR


def test_complete():
    running = lifecycle.start(job_in(P, error=ERR), T0)
    done = lifecycle.complete(running, {"sent": ("a", "b")}, NOW)
    assert done.status is C
    assert done.result == {"sent": ["a", "b"]}  # JSON image: tuple -> list
    assert done.error is None
    assert done.finished_at == NOW
    assert done.updated_at == NOW
    assert done.started_at == T0


@pytest.mark.parametrize("result", [None, 0, "ok", 1.5, True, [1, [2]], {"a": {"b": None}}])
def test_complete_accepts_any_json_result(result):
    done = lifecycle.complete(job_in(R), result, NOW)
    assert done.result == result


def test_complete_copies_the_result():
    result = {"items": [1, 2]}
    done = lifecycle.complete(job_in(R), result, NOW)
    result["items"].append(3)
    assert done.result == {"items": [1, 2]}


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({1, 2}, id="set"),
        pytest.param(object(), id="object"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="inf"),
        pytest.param({"when": T0}, id="datetime"),
        pytest.param({1: "a"}, id="int-key"),
        pytest.param({"a": {2: "b"}}, id="nested-int-key"),
        pytest.param([{3: "c"}], id="int-key-inside-list"),
        pytest.param(b"raw", id="bytes"),
    ],
)
def test_complete_rejects_a_non_json_result(result):
    with pytest.raises(InvalidJobError) as info:
        lifecycle.complete(job_in(R), result, NOW)
    assert info.value.field == "result"
    assert "result=" in str(info.value)


@pytest.mark.parametrize(
    ("retry_count", "delay"),
    [
        (0, timedelta(seconds=30)),  # 1st failure: attempt 2 after 30 s
        (1, timedelta(minutes=5)),  # 2nd failure: attempt 3 after 5 min
        (2, timedelta(hours=1)),  # 3rd failure: attempt 4 after 1 h
    ],
)
def test_fail_with_retries_left_schedules_a_retry(retry_count, delay):
    job = job_in(R, retry_count=retry_count, result=None, started_at=T0)
    failed = lifecycle.fail(job, ERR, NOW, DEFAULT)
    assert failed.status is RT
    assert failed.retry_count == retry_count + 1
    assert failed.run_at == NOW + delay
    assert failed.error == ERR
    assert failed.result is None
    assert failed.finished_at == NOW
    assert failed.updated_at == NOW
    assert failed.started_at == T0


@pytest.mark.parametrize(
    ("retry_count", "max_retries"),
    [
        (3, 3),  # default: the 4th attempt failed
        (0, 0),  # no retries at all
        (5, 5),
    ],
)
def test_fail_with_no_retries_left_is_dead(retry_count, max_retries):
    job = job_in(R, retry_count=retry_count, max_retries=max_retries)
    dead = lifecycle.fail(job, ERR, NOW, DEFAULT)
    assert dead.status is D
    assert dead.retry_count == retry_count
    assert dead.error == ERR
    assert dead.finished_at == NOW
    assert dead.run_at == job.run_at
    assert dead.attempts == retry_count + 1


def test_fail_not_retryable_is_dead_even_with_retries_left():
    job = job_in(R, retry_count=0, max_retries=3)
    dead = lifecycle.fail(job, ERR, NOW, DEFAULT, retryable=False)
    assert dead.status is D
    assert dead.retry_count == 0
    assert dead.error == ERR


@pytest.mark.parametrize(
    ("retry_count", "max_retries", "retryable", "expected"),
    [
        (0, 3, True, True),
        (2, 3, True, True),
        (3, 3, True, False),
        (0, 0, True, False),
        (0, 3, False, False),
    ],
)
def test_will_retry_agrees_with_fail(retry_count, max_retries, retryable, expected):
    job = job_in(R, retry_count=retry_count, max_retries=max_retries)
    assert lifecycle.will_retry(job, retryable=retryable) is expected
    after = lifecycle.fail(job, ERR, NOW, DEFAULT, retryable=retryable)
    assert (after.status is RT) is expected


def test_fail_draws_jitter_from_the_given_rng_only():
    policy = RetryPolicy.constant(100, jitter=0.5)
    job = job_in(R)
    a = lifecycle.fail(job, ERR, NOW, policy, random.Random(7))
    b = lifecycle.fail(job, ERR, NOW, policy, random.Random(7))
    assert a.run_at == b.run_at
    assert NOW + timedelta(seconds=50) <= a.run_at <= NOW + timedelta(seconds=150)
    nominal = lifecycle.fail(job, ERR, NOW, policy)
    assert nominal.run_at == NOW + timedelta(seconds=100)


def test_fail_uses_the_given_policy():
    policy = RetryPolicy.linear(10)
    job = job_in(R, retry_count=2, max_retries=5)
    assert lifecycle.fail(job, ERR, NOW, policy).run_at == NOW + timedelta(seconds=30)  # 10 * 3


def test_default_walk_runs_four_attempts_then_dies():
    """Attempts at 0, 30 s, 5 min 30 s and 1 h 5 min 30 s; then dead (DESIGN §3)."""
    job = build_job("x", id="j", now=T0)
    now = T0
    starts = []
    for _ in range(10):
        job = lifecycle.start(job, now)
        starts.append(now - T0)
        job = lifecycle.fail(job, ERR, now, DEFAULT)
        if job.status is D:
            break
        assert job.status is RT
        assert not lifecycle.is_due(job, now)
        now = job.run_at
        assert lifecycle.is_due(job, now)
        job = lifecycle.promote(job, now)
    assert job.status is D
    assert starts == DEFAULT.timeline(3)
    assert job.attempts == 4
    assert job.retry_count == 3


@pytest.mark.parametrize("max_reclaims", [1, 2, 5])
def test_reclaim_returns_to_pending_until_the_limit(max_reclaims):
    job = job_in(P)
    for n in range(1, max_reclaims + 1):
        job = lifecycle.reclaim(lifecycle.start(job, T0), NOW, max_reclaims)
        assert job.status is P
        assert job.reclaim_count == n
        assert job.run_at == NOW
        assert job.updated_at == NOW
        assert job.error is None
    dead = lifecycle.reclaim(lifecycle.start(job, T0), NOW, max_reclaims)
    assert dead.status is D
    assert dead.reclaim_count == max_reclaims + 1
    assert dead.error is not None
    assert dead.error.type == WORKER_LOST == "WorkerLost"
    assert f"lost {max_reclaims + 1} times" in dead.error.message
    assert f"limit {max_reclaims}" in dead.error.message
    assert dead.finished_at == NOW


def test_release_gives_back_a_claim_without_using_anything():
    running = lifecycle.start(job_in(P, retry_count=1), T0)
    released = lifecycle.release(running, NOW)
    assert released.status is P
    assert released.started_at is None
    assert released.updated_at == NOW
    assert (released.retry_count, released.reclaim_count) == (1, 0)
    assert released.error == running.error and released.result is None


def test_reclaim_with_zero_limit_is_dead_at_once():
    dead = lifecycle.reclaim(job_in(R), NOW, 0)
    assert dead.status is D
    assert dead.reclaim_count == 1
    assert dead.error.type == WORKER_LOST


def test_reclaim_does_not_use_a_retry():
    job = lifecycle.reclaim(job_in(R, retry_count=1), NOW, 3)
    assert job.retry_count == 1


@pytest.mark.parametrize("status", [S, RT])
def test_promote(status):
    due = NOW - timedelta(seconds=1)
    job = job_in(status, run_at=due, retry_count=1 if status is RT else 0)
    promoted = lifecycle.promote(job, NOW)
    assert promoted.status is P
    assert promoted.run_at == due
    assert promoted.updated_at == NOW
    assert promoted.retry_count == job.retry_count


@pytest.mark.parametrize("status", [P, S, RT])
def test_cancel(status):
    cancelled = lifecycle.cancel(job_in(status), NOW)
    assert cancelled.status is X
    assert cancelled.finished_at == NOW
    assert cancelled.updated_at == NOW
    assert cancelled.status in TERMINAL_STATUSES


def test_retry_dead_resets_counts():
    dead = job_in(D, retry_count=3, reclaim_count=2, error=ERR, finished_at=T0)
    back = lifecycle.retry_dead(dead, NOW)
    assert back.status is P
    assert back.retry_count == 0
    assert back.reclaim_count == 0
    assert back.run_at == NOW
    assert back.updated_at == NOW
    assert back.error == ERR  # kept until the next attempt finishes
    assert back.attempts == 0


def test_retry_dead_job_gets_a_full_set_of_retries_again():
    dead = job_in(D, retry_count=3)
    job = lifecycle.start(lifecycle.retry_dead(dead, NOW), NOW)
    assert lifecycle.fail(job, ERR, NOW, DEFAULT).status is RT


@pytest.mark.parametrize(
    ("offset", "due"),
    [(timedelta(seconds=-1), True), (timedelta(0), True), (timedelta(microseconds=1), False)],
)
def test_is_due(offset, due):
    assert lifecycle.is_due(job_in(S, run_at=NOW + offset), NOW) is due


# -- illegal transitions --------------------------------------------------------------

ILLEGAL = [
    (action, status)
    for action, allowed in ALLOWED_FROM.items()
    for status in JobStatus
    if status not in allowed
]


def test_illegal_table_is_complete():
    # 8 actions x 7 statuses, minus the 11 legal pairs
    assert len(ILLEGAL) == 8 * 7 - 11


@pytest.mark.parametrize(("action", "status"), ILLEGAL, ids=[f"{a}-{s.value}" for a, s in ILLEGAL])
def test_illegal_transition_raises(action, status):
    job = job_in(status)
    with pytest.raises(InvalidTransitionError) as info:
        ACTIONS[action](job)
    err = info.value
    assert err.job_id == "job-42"
    assert err.action == action
    assert err.status == status.value
    assert set(err.allowed_from) == {s.value for s in ALLOWED_FROM[action]}
    message = str(err)
    assert "'job-42'" in message
    assert action in message
    assert f"'{status.value}'" in message
    for allowed in err.allowed_from:
        assert allowed in message


@pytest.mark.parametrize(
    ("action", "status"),
    [(a, s) for a, allowed in ALLOWED_FROM.items() for s in sorted(allowed)],
)
def test_every_legal_pair_is_accepted(action, status):
    ACTIONS[action](job_in(status))


# -- purity ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "status"),
    [(a, s) for a, allowed in ALLOWED_FROM.items() for s in sorted(allowed)],
)
def test_transitions_leave_the_input_unchanged(action, status):
    job = job_in(status, error=ERR if status is D else None)
    snapshot = copy.deepcopy(job)
    before = job.to_json()
    after = ACTIONS[action](job)
    assert job == snapshot
    assert job.to_json() == before
    assert after is not job
    assert after.updated_at == NOW


def test_failed_transition_leaves_the_input_unchanged():
    job = job_in(C)
    before = job.to_json()
    with pytest.raises(InvalidTransitionError):
        lifecycle.start(job, NOW)
    assert job.to_json() == before


# -- properties -----------------------------------------------------------------------


def _legal_moves(job: Job) -> list[str]:
    return [a for a, allowed in ALLOWED_FROM.items() if job.status in allowed]


@settings(max_examples=60, deadline=None)
@given(
    max_retries=st.integers(min_value=0, max_value=4),
    choices=st.lists(st.integers(min_value=0, max_value=6), max_size=30),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_random_walks_keep_the_invariants(max_retries, choices, seed):
    rng = random.Random(seed)
    policy = RetryPolicy.exponential(1, jitter=0.2)
    job = build_job("x", id="walk", now=T0, max_retries=max_retries)
    now = T0
    for choice in choices:
        moves = _legal_moves(job)
        if not moves:
            assert job.status in {C, X}  # only dead has a way out (retry_dead)
            break
        action = moves[choice % len(moves)]
        now += timedelta(seconds=1)
        before = job
        if action == "start":
            job = lifecycle.start(job, now)
        elif action == "complete":
            job = lifecycle.complete(job, {"n": choice}, now)
        elif action == "fail":
            job = lifecycle.fail(job, ERR, now, policy, rng, retryable=choice % 5 != 0)
        elif action == "reclaim":
            job = lifecycle.reclaim(job, now, 2)
        else:
            job = getattr(lifecycle, action)(job, now)
        assert 0 <= job.retry_count <= job.max_retries
        assert 0 <= job.reclaim_count <= 3
        assert job.updated_at == now
        assert job.id == before.id and job.created_at == before.created_at
        assert job.attempts >= 0
        if job.status is RT:
            assert job.run_at > now
        assert Job.from_json(job.to_json()) == job
