"""InMemoryBackend(keep_finished=N): a long-running process does not grow without bound."""

import pytest

import jobkit
from jobkit.adapters.memory import InMemoryBackend


def kit_keeping(n: int | None) -> jobkit.JobKit:
    kit = jobkit.connect("memory://", clock=jobkit.FakeClock(), keep_finished=n)
    kit.register("ok", lambda args: args["n"])
    kit.register("dies", lambda args: jobkit.Failure("no", retryable=False))
    return kit


def test_only_the_newest_finished_jobs_are_kept():
    kit = kit_keeping(2)
    jobs = [kit.enqueue("ok", {"n": n}) for n in range(5)]
    kit.run_until_idle()

    kept = kit.find(limit=None)
    assert [j.result for j in kept] == [3, 4]
    assert kit.get(jobs[0].id) is None
    assert kit.stats().statuses["completed"] == 2
    assert kit.stats()["succeeded"] == 5  # counters still count everything
    assert len(kit.jobs_frame()) == 2


def test_dead_and_unfinished_jobs_are_never_forgotten():
    kit = kit_keeping(0)
    dead = kit.enqueue("dies")
    waiting = kit.schedule("ok", {"n": 1}, delay=60)
    done = kit.enqueue("ok", {"n": 2})
    kit.run_until_idle()

    assert kit.get(done.id) is None
    assert kit.get(dead.id).status is jobkit.JobStatus.DEAD
    assert kit.get(waiting.id).status is jobkit.JobStatus.SCHEDULED
    assert kit.dead_letters() == [kit.get(dead.id)]


def test_cancelled_jobs_count_as_finished():
    kit = kit_keeping(1)
    first = kit.enqueue("ok", {"n": 1})
    second = kit.enqueue("ok", {"n": 2})
    kit.cancel(first.id)
    kit.cancel(second.id)

    assert kit.get(first.id) is None
    assert kit.get(second.id).status is jobkit.JobStatus.CANCELLED
    assert kit.stats().statuses["cancelled"] == 1


def test_default_keeps_everything():
    kit = kit_keeping(None)
    for n in range(50):
        kit.enqueue("ok", {"n": n})
    kit.run_until_idle()
    assert len(kit.find(limit=None)) == 50


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_keep_finished_must_be_a_count(bad):
    with pytest.raises(ValueError, match="keep_finished"):
        InMemoryBackend(keep_finished=bad)
