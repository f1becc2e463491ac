"""The JobKit facade and connect() (DESIGN §2, §9)."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import jobkit
from jobkit.clock import FakeClock
from jobkit.core.model import JobStatus, Priority
from jobkit.core.retry import RetryPolicy
from jobkit.errors import (
    DuplicateJobError,
    InvalidJobError,
    InvalidTransitionError,
    InvalidUrlError,
    JobNotFoundError,
)


def assert_empty(kit: jobkit.JobKit) -> None:
    """Nothing was enqueued: no job, no queue, no counter moved."""
    assert kit.find(limit=None) == []
    assert len(kit.backend) == 0
    assert kit.queues() == []
    assert kit.stats()["enqueued"] == 0
    assert sum(kit.stats().statuses.values()) == 0


# -- connect ------------------------------------------------------------------------------


def test_connect_memory(clock: FakeClock) -> None:
    kit = jobkit.connect("memory://", clock=clock)
    assert isinstance(kit, jobkit.JobKit)
    assert isinstance(kit.backend, jobkit.InMemoryBackend)
    assert isinstance(kit.registry, jobkit.Registry)
    assert kit.clock is clock
    assert kit.backend.clock is clock
    assert kit.retry_policy == RetryPolicy.default()


def test_connect_defaults_to_memory_and_system_clock() -> None:
    kit = jobkit.connect()
    assert isinstance(kit.backend, jobkit.InMemoryBackend)
    assert isinstance(kit.clock, jobkit.SystemClock)


def test_connect_passes_policy_registry_and_backend_options(clock: FakeClock) -> None:
    policy = RetryPolicy.constant(5)
    registry = jobkit.Registry()
    kit = jobkit.connect(
        "memory://",
        clock=clock,
        retry_policy=policy,
        registry=registry,
        max_reclaims=7,
        history_size=3,
    )
    assert kit.retry_policy is policy
    assert kit.registry is registry
    assert kit.backend.max_reclaims == 7


def test_two_connects_are_independent() -> None:
    a = jobkit.connect("memory://")
    b = jobkit.connect("memory://")
    a.enqueue("t")
    assert b.find() == []


@pytest.mark.parametrize(
    "url",
    ["amqp://guest:guest@localhost/", "postgresql://db/jobs", "sqs://queue", "memory", "", "://"],
)
def test_unsupported_url_raises_invalid_url_error(url: str) -> None:
    with pytest.raises(InvalidUrlError) as info:
        jobkit.connect(url)
    assert isinstance(info.value, ValueError)
    assert "memory://" in str(info.value)  # says what is supported


@pytest.mark.parametrize("url", [None, 42, b"memory://"])
def test_non_string_url_raises_invalid_url_error(url: object) -> None:
    with pytest.raises(InvalidUrlError):
        jobkit.connect(url)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "nosuch://user:s3cret@host/0",
        "amqp://user:s3cret@host:5672/vhost",
        "nosuch://:s3cret@host",
        "nosuch://user:s3cret@host:6379/0?timeout=5",
        "nosuch://us%40er:s3cret@host/0",
    ],
)
def test_url_password_never_appears_in_the_error(url: str) -> None:
    with pytest.raises(InvalidUrlError) as info:
        jobkit.connect(url)
    message = str(info.value)
    assert "s3cret" not in message
    assert "s3cret" not in repr(info.value)
    assert "host" in message  # still useful: says which URL


@pytest.mark.parametrize(
    "url",
    [
        "nosuch://host:6379/0?password=s3cret",
        "nosuch://user:s3/cret@host/0",
        "nosuch://user:s3#cret@host/0",
        "nosuch://user:s3?cret@host/0",
    ],
)
def test_url_password_in_odd_places_never_appears_in_the_error(url: str) -> None:
    with pytest.raises(InvalidUrlError) as info:
        jobkit.connect(url)
    assert "s3" not in str(info.value) and "cret" not in str(info.value)


@settings(max_examples=50, deadline=None)
@given(
    user=st.text(string.ascii_letters + string.digits, min_size=1, max_size=8),
    password=st.text(
        string.ascii_letters + string.digits + "!$&'()*+,;=~-._", min_size=6, max_size=20
    ),
)
def test_url_password_never_leaks_property(user: str, password: str) -> None:
    assume(password not in f"nosuch://{user}:@db.internal:1234/0")  # else it is not the leak
    url = f"nosuch://{user}:{password}@db.internal:1234/0"
    with pytest.raises(InvalidUrlError) as info:
        jobkit.connect(url)
    assert password not in str(info.value)


# -- enqueue ---------------------------------------------------------------------------------


def test_enqueue_defaults(kit: jobkit.JobKit, clock: FakeClock) -> None:
    job = kit.enqueue("email.send", {"to": "ada@example.org"})
    assert isinstance(job, jobkit.Job)
    assert job.job_type == "email.send"
    assert job.args == {"to": "ada@example.org"}
    assert (job.queue, job.priority, job.status) == ("default", Priority.DEFAULT, JobStatus.PENDING)
    assert (job.retry_count, job.max_retries) == (0, 3)
    assert job.run_at == job.created_at == job.updated_at == clock.now()
    assert job.tenant_id is None and job.metadata == {}
    assert len(job.id) == 32
    assert kit.get(job.id) == job
    assert kit.stats()["enqueued"] == 1


def test_enqueue_without_args(kit: jobkit.JobKit) -> None:
    assert kit.enqueue("tick").args == {}


def test_enqueue_with_every_option(kit: jobkit.JobKit, clock: FakeClock) -> None:
    run_at = clock.now() + timedelta(hours=2)
    job = kit.enqueue(
        "report.build",
        {"month": "2026-01", "ids": (1, 2)},
        queue="reports",
        priority="high",
        max_retries=7,
        run_at=run_at,
        tenant_id="acme",
        metadata={"requested_by": "ada"},
        id="report-2026-01",
    )
    assert job.id == "report-2026-01"
    assert job.args == {"month": "2026-01", "ids": [1, 2]}  # stored as JSON
    assert job.queue == "reports"
    assert job.priority is Priority.HIGH
    assert job.max_retries == 7
    assert job.run_at == run_at
    assert job.status is JobStatus.SCHEDULED
    assert job.tenant_id == "acme"
    assert job.metadata == {"requested_by": "ada"}
    assert kit.get("report-2026-01") == job
    assert kit.queues() == ["reports"]


def test_enqueue_delay_option(kit: jobkit.JobKit, clock: FakeClock) -> None:
    job = kit.enqueue("t", delay=90, priority=Priority.CRITICAL)
    assert job.status is JobStatus.SCHEDULED
    assert job.run_at == clock.now() + timedelta(seconds=90)
    assert job.priority is Priority.CRITICAL


def test_enqueue_args_are_copied(kit: jobkit.JobKit) -> None:
    args = {"items": [1, 2]}
    job = kit.enqueue("t", args)
    args["items"].append(3)
    assert kit.get(job.id).args == {"items": [1, 2]}


def test_enqueue_run_at_in_the_past_is_pending(kit: jobkit.JobKit, clock: FakeClock) -> None:
    job = kit.enqueue("t", run_at=clock.now() - timedelta(days=1))
    assert job.status is JobStatus.PENDING


def test_enqueue_converts_run_at_to_utc(kit: jobkit.JobKit, clock: FakeClock) -> None:
    plus2 = timezone(timedelta(hours=2))
    job = kit.enqueue("t", run_at=(clock.now() + timedelta(hours=1)).astimezone(plus2))
    assert job.run_at.utcoffset() == timedelta(0)
    assert job.run_at == clock.now() + timedelta(hours=1)


def test_duplicate_id_is_refused_and_changes_nothing(kit: jobkit.JobKit) -> None:
    first = kit.enqueue("t", {"v": 1}, id="same")
    with pytest.raises(DuplicateJobError):
        kit.enqueue("t", {"v": 2}, id="same")
    assert kit.get("same") == first
    assert kit.stats()["enqueued"] == 1


def test_ids_are_unique(kit: jobkit.JobKit) -> None:
    ids = {kit.enqueue("t").id for _ in range(200)}
    assert len(ids) == 200


def test_custom_id_factory(clock: FakeClock) -> None:
    counter = iter(range(1, 100))
    kit = jobkit.JobKit(jobkit.InMemoryBackend(clock), id_factory=lambda: f"job-{next(counter)}")
    assert [kit.enqueue("t").id for _ in range(3)] == ["job-1", "job-2", "job-3"]


BAD_ENQUEUES = [
    pytest.param(("",), {}, id="empty-job-type"),
    pytest.param(("   ",), {}, id="blank-job-type"),
    pytest.param((None,), {}, id="none-job-type"),
    pytest.param((5,), {}, id="int-job-type"),
    pytest.param(("x" * 201,), {}, id="long-job-type"),
    pytest.param(("t", [1, 2]), {}, id="args-list"),
    pytest.param(("t", "a=1"), {}, id="args-str"),
    pytest.param(("t", {"x": object()}), {}, id="args-object"),
    pytest.param(("t", {"x": float("nan")}), {}, id="args-nan"),
    pytest.param(("t", {"x": {1: "int key"}}), {}, id="args-int-key"),
    pytest.param(("t", {"x": {1, 2}}), {}, id="args-set"),
    pytest.param(("t",), {"priority": "urgent"}, id="priority-unknown"),
    pytest.param(("t",), {"priority": 1}, id="priority-int"),
    pytest.param(("t",), {"max_retries": -1}, id="max-retries-negative"),
    pytest.param(("t",), {"max_retries": 1.5}, id="max-retries-float"),
    pytest.param(("t",), {"max_retries": True}, id="max-retries-bool"),
    pytest.param(("t",), {"max_retries": "3"}, id="max-retries-str"),
    pytest.param(("t",), {"queue": "has space"}, id="queue-space"),
    pytest.param(("t",), {"queue": "x" * 65}, id="queue-long"),
    pytest.param(("t",), {"queue": "a{b}"}, id="queue-braces"),
    pytest.param(("t",), {"queue": 3}, id="queue-int"),
    pytest.param(("t",), {"run_at": datetime(2026, 1, 2)}, id="run-at-naive"),
    pytest.param(("t",), {"run_at": "2026-01-02T00:00:00Z"}, id="run-at-str"),
    pytest.param(
        ("t",), {"run_at": datetime(2026, 1, 2, tzinfo=UTC), "delay": 5}, id="run-at-and-delay"
    ),
    pytest.param(("t",), {"delay": -1}, id="delay-negative"),
    pytest.param(("t",), {"delay": timedelta(seconds=-1)}, id="delay-negative-timedelta"),
    pytest.param(("t",), {"delay": "5"}, id="delay-str"),
    pytest.param(("t",), {"delay": True}, id="delay-bool"),
    pytest.param(("t",), {"tenant_id": "bad tenant"}, id="tenant-space"),
    pytest.param(("t",), {"tenant_id": ""}, id="tenant-empty"),
    pytest.param(("t",), {"tenant_id": 7}, id="tenant-int"),
    pytest.param(("t",), {"metadata": ["x"]}, id="metadata-list"),
    pytest.param(("t",), {"metadata": {"x": object()}}, id="metadata-object"),
    pytest.param(("t",), {"id": ""}, id="id-empty"),
    pytest.param(("t",), {"id": "x" * 129}, id="id-long"),
    pytest.param(("t",), {"id": 12}, id="id-int"),
]

# formerly kit.py bugs, now fixed
KIT_BUGS = [
    pytest.param(
        ("t",),
        {"queue": ""},
        id="queue-empty",
    ),
    pytest.param(
        ("t",),
        {"priority": ""},
        id="priority-empty",
    ),
    pytest.param(
        ("t",),
        {"delay": float("nan")},
        id="delay-nan",
    ),
    pytest.param(
        ("t",),
        {"delay": float("inf")},
        id="delay-inf",
    ),
    pytest.param(
        ("t",),
        {"delay": 1e13},
        id="delay-huge",
    ),
]


@pytest.mark.parametrize(("args", "kwargs"), BAD_ENQUEUES + KIT_BUGS)
def test_bad_input_raises_invalid_job_error_and_enqueues_nothing(
    kit: jobkit.JobKit, args: tuple, kwargs: dict
) -> None:
    with pytest.raises(InvalidJobError) as info:
        kit.enqueue(*args, **kwargs)
    assert isinstance(info.value, ValueError)
    assert info.value.field  # names the field
    assert info.value.field in str(info.value)
    assert_empty(kit)


def test_invalid_job_error_names_field_and_value(kit: jobkit.JobKit) -> None:
    with pytest.raises(InvalidJobError) as info:
        kit.enqueue("t", priority="urgent")
    assert info.value.field == "priority"
    assert info.value.value == "urgent"
    assert "urgent" in str(info.value) and "critical" in str(info.value)


@settings(max_examples=60, deadline=None)
@given(
    st.text(max_size=12).filter(lambda s: s.lower() not in {p.value for p in Priority} and s != "")
)
def test_any_unknown_priority_is_refused_property(priority: str) -> None:
    kit = jobkit.connect("memory://", clock=FakeClock())
    with pytest.raises(InvalidJobError):
        kit.enqueue("t", priority=priority)
    assert_empty(kit)


@settings(max_examples=60, deadline=None)
@given(
    st.text(min_size=1, max_size=70).filter(  # "" is covered above
        lambda s: (
            not (len(s) <= 64 and all(c in string.ascii_letters + string.digits + "_.-" for c in s))
        )
    )
)
def test_any_invalid_queue_name_is_refused_property(name: str) -> None:
    kit = jobkit.connect("memory://", clock=FakeClock())
    with pytest.raises(InvalidJobError):
        kit.enqueue("t", queue=name)
    assert_empty(kit)


@pytest.mark.parametrize("priority", ["critical", "HIGH", "Default", Priority.LOW, "bulk"])
def test_priority_strings_and_members_are_accepted(kit: jobkit.JobKit, priority: object) -> None:
    job = kit.enqueue("t", priority=priority)
    assert job.priority is Priority.coerce(priority)  # type: ignore[arg-type]


# -- schedule ---------------------------------------------------------------------------------


def test_schedule_with_run_at(kit: jobkit.JobKit, clock: FakeClock) -> None:
    when = clock.now() + timedelta(minutes=10)
    job = kit.schedule("digest", {"user": 1}, run_at=when, priority="low")
    assert (job.status, job.run_at, job.priority) == (JobStatus.SCHEDULED, when, Priority.LOW)
    assert kit.run_until_idle() == 0
    assert kit.backend.next_due_at() == when


def test_schedule_with_delay_seconds_and_timedelta(kit: jobkit.JobKit, clock: FakeClock) -> None:
    a = kit.schedule("t", {}, delay=30)
    b = kit.schedule("t", {}, delay=timedelta(minutes=2))
    c = kit.schedule("t", {}, delay=0.5)
    assert a.run_at == clock.now() + timedelta(seconds=30)
    assert b.run_at == clock.now() + timedelta(minutes=2)
    assert c.run_at == clock.now() + timedelta(seconds=0.5)


def test_scheduled_job_runs_when_due(kit: jobkit.JobKit, clock: FakeClock) -> None:
    ran = []
    kit.register("t", lambda a: ran.append(clock.now()))
    job = kit.schedule("t", {}, delay=60)
    clock.advance(59)
    assert kit.run_until_idle() == 0
    clock.advance(1)
    assert kit.run_until_idle() == 1
    assert ran == [job.run_at]


def test_schedule_delay_zero_is_pending_now(kit: jobkit.JobKit) -> None:
    assert kit.schedule("t", {}, delay=0).status is JobStatus.PENDING


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"run_at": datetime(2026, 1, 2, tzinfo=UTC), "delay": 10},
        {"run_at": datetime(2026, 1, 2)},
        {"run_at": None, "delay": None},
        {"delay": -5},
    ],
)
def test_schedule_needs_exactly_one_valid_time(kit: jobkit.JobKit, kwargs: dict) -> None:
    with pytest.raises(InvalidJobError):
        kit.schedule("t", {}, **kwargs)
    assert_empty(kit)


# -- enqueue_many --------------------------------------------------------------------------------


def test_enqueue_many(kit: jobkit.JobKit) -> None:
    jobs = kit.enqueue_many(
        [
            {"job_type": "a", "args": {"n": 1}},
            {"job_type": "b", "priority": "high", "queue": "other"},
            jobkit.create_job("c", {"n": 3}, now=kit.clock.now()),
        ]
    )
    assert [j.job_type for j in jobs] == ["a", "b", "c"]
    assert [kit.get(j.id) for j in jobs] == jobs
    assert kit.stats()["enqueued"] == 3
    assert kit.enqueue_many([]) == []


def test_enqueue_many_accepts_a_generator(kit: jobkit.JobKit) -> None:
    jobs = kit.enqueue_many({"job_type": "t", "args": {"i": i}} for i in range(5))
    assert [j.args["i"] for j in jobs] == list(range(5))


@pytest.mark.parametrize(
    "bad",
    [
        {"job_type": "t", "priority": "urgent"},
        {"job_type": "", "args": {}},
        {"job_type": "t", "args": {"x": object()}},
    ],
)
def test_enqueue_many_is_atomic_on_bad_input(kit: jobkit.JobKit, bad: dict) -> None:
    items = [{"job_type": "ok", "args": {"i": i}} for i in range(3)] + [bad]
    with pytest.raises(InvalidJobError):
        kit.enqueue_many(items)
    assert_empty(kit)


def test_enqueue_many_is_atomic_on_duplicate_ids(kit: jobkit.JobKit) -> None:
    existing = kit.enqueue("t", id="taken")
    with pytest.raises(DuplicateJobError):
        kit.enqueue_many([{"job_type": "t", "id": "fresh"}, {"job_type": "t", "id": "taken"}])
    assert kit.get("fresh") is None
    assert kit.find(limit=None) == [existing]
    with pytest.raises(DuplicateJobError):
        kit.enqueue_many([{"job_type": "t", "id": "twin"}, {"job_type": "t", "id": "twin"}])
    assert kit.get("twin") is None
    assert kit.stats()["enqueued"] == 1


# -- get / find / cancel / delete -----------------------------------------------------------------


def test_get_unknown_is_none(kit: jobkit.JobKit) -> None:
    assert kit.get("nope") is None


def test_find_filters(kit: jobkit.JobKit) -> None:
    kit.register("ok", lambda a: "done")
    a = kit.enqueue("ok", queue="q1")
    b = kit.enqueue("ok", queue="q2")
    c = kit.enqueue("other", queue="q1", tenant_id="acme")
    d = kit.schedule("ok", {}, delay=60, queue="q1")
    kit.run_until_idle(queues=["q2"])
    ids = lambda jobs: [j.id for j in jobs]  # noqa: E731
    assert ids(kit.find(limit=None)) == [a.id, b.id, c.id, d.id]  # oldest first
    assert ids(kit.find(status="pending")) == [a.id, c.id]
    assert ids(kit.find(status=JobStatus.COMPLETED)) == [b.id]
    assert ids(kit.find(status="scheduled")) == [d.id]
    assert ids(kit.find(job_type="other")) == [c.id]
    assert ids(kit.find(queue="q1")) == [a.id, c.id, d.id]
    assert ids(kit.find(queue="q1", job_type="ok", status="pending")) == [a.id]
    assert ids(kit.find(tenant_id="acme")) == [c.id]
    assert ids(kit.find(limit=2)) == [a.id, b.id]
    assert kit.find(status="dead") == []
    with pytest.raises(InvalidJobError):
        kit.find(status="nonsense")


def test_find_default_limit_is_100(kit: jobkit.JobKit) -> None:
    kit.enqueue_many({"job_type": "t"} for _ in range(150))
    assert len(kit.find()) == 100
    assert len(kit.find(limit=None)) == 150


def test_cancel(kit: jobkit.JobKit, clock: FakeClock) -> None:
    kit.register("t", lambda a: "ran")
    pending = kit.enqueue("t")
    scheduled = kit.schedule("t", {}, delay=60)
    for job in (pending, scheduled):
        cancelled = kit.cancel(job.id)
        assert cancelled.status is JobStatus.CANCELLED
        assert cancelled.finished_at == clock.now()
        assert kit.get(job.id) == cancelled
    clock.advance(120)
    assert kit.run_until_idle() == 0  # neither runs
    assert kit.stats()["cancelled"] == 2
    assert kit.sizes()[Priority.DEFAULT] == 0


def test_cancel_a_retrying_job(kit: jobkit.JobKit, clock: FakeClock) -> None:
    kit.register("f", lambda a: 1 / 0)
    job = kit.enqueue("f")
    kit.run_until_idle()
    assert kit.get(job.id).status is JobStatus.RETRYING
    kit.cancel(job.id)
    clock.advance(3600)
    assert kit.run_until_idle() == 0
    assert kit.get(job.id).status is JobStatus.CANCELLED


def test_cancel_refused_for_started_or_finished_jobs(kit: jobkit.JobKit) -> None:
    kit.register("t", lambda a: "x")
    done = kit.enqueue("t")
    kit.run_until_idle()
    with pytest.raises(InvalidTransitionError):
        kit.cancel(done.id)
    running = kit.enqueue("t")
    claim = kit.worker().begin()
    assert claim is not None and claim.job.id == running.id
    with pytest.raises(InvalidTransitionError):
        kit.cancel(running.id)
    assert kit.get(running.id).status is JobStatus.RUNNING
    with pytest.raises(JobNotFoundError):
        kit.cancel("nope")


def test_delete(kit: jobkit.JobKit) -> None:
    kit.register("t", lambda a: "ran")
    job = kit.enqueue("t")
    keep = kit.enqueue("t")
    assert kit.delete(job.id) is True
    assert kit.get(job.id) is None
    assert kit.delete(job.id) is False
    assert kit.delete("nope") is False
    assert kit.run_until_idle() == 1  # only the kept one
    assert kit.get(keep.id).status is JobStatus.COMPLETED


def test_delete_a_dead_job_removes_it_from_dead_letters(kit: jobkit.JobKit) -> None:
    kit.register("f", lambda a: 1 / 0)
    job = kit.enqueue("f", max_retries=0)
    kit.run_until_idle()
    assert [j.id for j in kit.dead_letters()] == [job.id]
    assert kit.delete(job.id)
    assert kit.dead_letters() == []


# -- dead letters / retry_dead ---------------------------------------------------------------------


def test_dead_letters_and_retry_dead(kit: jobkit.JobKit) -> None:
    died: list[str] = []
    kit.register("f", lambda a: died.append(jobkit.current_job().id) or 1 / 0)
    jobs = [
        kit.enqueue("f", {"i": i}, max_retries=0, queue="q1" if i < 2 else "q2") for i in range(3)
    ]
    kit.run_until_idle()
    assert sorted(died) == sorted(j.id for j in jobs)
    assert [j.id for j in kit.dead_letters()] == died  # oldest death first
    assert [j.id for j in kit.dead_letters(limit=1)] == died[:1]
    assert [j.id for j in kit.dead_letters(queue="q2")] == [jobs[2].id]
    assert all(j.status is JobStatus.DEAD for j in kit.dead_letters())

    revived = kit.retry_dead(jobs[1].id)
    assert revived.status is JobStatus.PENDING
    assert revived.retry_count == 0
    assert [j.id for j in kit.dead_letters()] == [i for i in died if i != jobs[1].id]
    kit.registry.register("f", lambda a: "fixed", replace=True)
    assert kit.run_until_idle() == 1
    assert kit.get(jobs[1].id).result == "fixed"


def test_retry_dead_refuses_live_and_unknown_jobs(kit: jobkit.JobKit) -> None:
    job = kit.enqueue("t")
    with pytest.raises(InvalidTransitionError):
        kit.retry_dead(job.id)
    with pytest.raises(JobNotFoundError):
        kit.retry_dead("nope")


# -- stats / queue_stats / sizes / queues ----------------------------------------------------------


def test_stats_queue_stats_sizes_queues(kit: jobkit.JobKit) -> None:
    kit.register("ok", lambda a: 1)
    kit.register("f", lambda a: 1 / 0)
    assert kit.queues() == []
    assert kit.stats().success_rate is None
    for prio in ["high", "high", "low", "critical"]:
        kit.enqueue("ok", priority=prio)
    kit.enqueue("f", queue="mail", max_retries=0)
    kit.enqueue("f", queue="mail", max_retries=1)
    assert kit.queues() == ["default", "mail"]
    sizes = kit.sizes("default")
    assert set(sizes) == set(Priority)
    assert sizes == {
        Priority.CRITICAL: 1,
        Priority.HIGH: 2,
        Priority.DEFAULT: 0,
        Priority.LOW: 1,
        Priority.BULK: 0,
    }
    assert kit.sizes() == sizes  # "default" by default
    assert kit.sizes("nope") == dict.fromkeys(Priority, 0)

    assert kit.run_until_idle() == 6
    stats = kit.stats()
    assert stats["enqueued"] == 6
    assert stats["processed"] == 6
    assert stats["succeeded"] == 4
    assert stats["failed"] == 2
    assert stats["retried"] == 1
    assert stats["dead"] == 1
    assert stats.success_rate == pytest.approx(4 / 6)
    assert stats.statuses["completed"] == 4
    assert stats.statuses["retrying"] == 1
    assert stats.statuses["dead"] == 1
    assert set(stats.counters) >= set(jobkit.COUNTERS)

    mail = kit.queue_stats("mail")
    assert (mail["enqueued"], mail["processed"], mail["succeeded"], mail["failed"]) == (2, 2, 0, 2)
    assert mail.statuses["dead"] == 1 and mail.statuses["retrying"] == 1
    default = kit.queue_stats("default")
    assert (default["enqueued"], default["succeeded"]) == (4, 4)
    assert kit.queue_stats("unknown")["enqueued"] == 0
    assert kit.sizes("default") == dict.fromkeys(Priority, 0)


def test_run_until_idle_with_queues(kit: jobkit.JobKit) -> None:
    kit.register("t", lambda a: None)
    kit.enqueue("t", queue="a")
    kit.enqueue("t", queue="b")
    assert kit.run_until_idle(queues=["b"]) == 1
    assert kit.find(status="pending")[0].queue == "a"
    assert kit.run_until_idle() == 1


def test_run_until_idle_max_jobs(kit: jobkit.JobKit) -> None:
    kit.register("t", lambda a: None)
    for _ in range(5):
        kit.enqueue("t")
    assert kit.run_until_idle(max_jobs=3) == 3
    assert kit.run_until_idle() == 2


def test_handler_decorator_and_register(kit: jobkit.JobKit) -> None:
    @kit.handler("a")
    def a(args: dict) -> str:
        return "a"

    assert a({}) == "a"  # the decorator returns the function
    kit.register("b", lambda args: "b")
    assert kit.registry.job_types() == ["a", "b"]
    with pytest.raises(jobkit.DuplicateHandlerError):
        kit.register("a", lambda args: "again")


def test_worker_and_pool_share_the_kit(kit: jobkit.JobKit) -> None:
    worker = kit.worker(queues=["x"])
    assert worker.backend is kit.backend and worker.registry is kit.registry
    assert worker.clock is kit.clock and worker.retry_policy is kit.retry_policy
    assert worker.queues == ["x"]
    pool = kit.pool(worker_count=2)
    assert all(w.backend is kit.backend for w in pool.workers)
    assert "JobKit(" in repr(kit)


# -- tenants ------------------------------------------------------------------------------------


def test_for_tenant_enqueues_carry_the_tenant(kit: jobkit.JobKit) -> None:
    acme = kit.for_tenant("acme")
    assert acme.tenant_id == "acme"
    assert acme.backend is kit.backend and acme.registry is kit.registry and acme.clock is kit.clock
    job = acme.enqueue("t", {"x": 1})
    assert job.tenant_id == "acme"
    scheduled = acme.schedule("t", {}, delay=10)
    assert scheduled.tenant_id == "acme"
    many = acme.enqueue_many([{"job_type": "t"}, {"job_type": "u"}])
    assert {j.tenant_id for j in many} == {"acme"}
    assert kit.tenant_id is None  # the original kit is unchanged
    assert kit.enqueue("t").tenant_id is None


def test_for_tenant_sees_only_its_own_jobs(kit: jobkit.JobKit) -> None:
    kit.register("f", lambda a: 1 / 0)
    acme, globex = kit.for_tenant("acme"), kit.for_tenant("globex")
    a = acme.enqueue("f", max_retries=0)
    g = globex.enqueue("f", max_retries=0)
    n = kit.enqueue("f", max_retries=0)

    assert acme.get(a.id) == a
    assert acme.get(g.id) is None
    assert acme.get(n.id) is None
    assert [j.id for j in acme.find()] == [a.id]
    assert [j.id for j in globex.find()] == [g.id]
    assert [j.id for j in acme.find(tenant_id="globex")] == [a.id]  # cannot widen its scope
    assert len(kit.find()) == 3  # the unscoped kit sees everyone

    kit.run_until_idle()
    assert [j.id for j in acme.dead_letters()] == [a.id]
    assert [j.id for j in globex.dead_letters()] == [g.id]
    assert len(kit.dead_letters()) == 3

    # another tenant's job cannot be touched
    with pytest.raises(JobNotFoundError):
        acme.retry_dead(g.id)
    assert acme.delete(g.id) is False
    assert kit.get(g.id) is not None
    revived = acme.retry_dead(a.id)
    assert revived.tenant_id == "acme"


def test_for_tenant_cannot_cancel_another_tenants_job(kit: jobkit.JobKit) -> None:
    g = kit.for_tenant("globex").enqueue("t")
    with pytest.raises(JobNotFoundError):
        kit.for_tenant("acme").cancel(g.id)
    assert kit.get(g.id).status is JobStatus.PENDING


def test_tenant_handlers_see_their_tenant(kit: jobkit.JobKit) -> None:
    seen = []
    kit.register("t", lambda a: seen.append((a["n"], jobkit.current_tenant())))
    kit.for_tenant("acme").enqueue("t", {"n": 1})
    kit.enqueue("t", {"n": 2})
    kit.for_tenant("globex").enqueue("t", {"n": 3})
    kit.run_until_idle()
    assert seen == [(1, "acme"), (2, None), (3, "globex")]


@pytest.mark.parametrize("tenant", ["", "has space", "a/b", "x" * 65, None, 3, "{slot}"])
def test_invalid_tenant_id_raises_invalid_job_error(kit: jobkit.JobKit, tenant: object) -> None:
    with pytest.raises(InvalidJobError):
        kit.for_tenant(tenant)  # type: ignore[arg-type]
    assert_empty(kit)


def test_tenant_kit_cannot_enqueue_for_another_tenant(kit: jobkit.JobKit) -> None:
    acme = kit.for_tenant("acme")
    try:
        job = acme.enqueue("t", tenant_id="globex")
    except InvalidJobError:
        assert_empty(kit)
        return
    assert job.tenant_id == "acme"


# -- build(): later builds copy the first one with the same options ---------------------------

BUILD_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "queue": st.sampled_from(["default", "emails", "q-2"]),
        "priority": st.sampled_from([*Priority, "high", "bulk"]),
        "max_retries": st.integers(0, 5),
        "tenant_id": st.sampled_from([None, "acme", "globex"]),
        "metadata": st.dictionaries(st.sampled_from("ab"), st.integers(), max_size=2),
    },
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(BUILD_OPTIONS, st.dictionaries(st.text(max_size=3), st.integers())),
                min_size=1, max_size=8))  # fmt: skip
def test_every_build_equals_a_full_validated_build_property(
    calls: list[tuple[dict, dict]],
) -> None:
    """Repeated options take the template path; the job is what build_job makes."""
    from jobkit.core.model import build_job

    clock = FakeClock()
    kit = jobkit.connect("memory://", clock=clock)
    for n, (options, args) in enumerate(calls * 2):
        clock.advance(1)
        job = kit.build("t", args, **options)
        full = build_job(
            "t",
            args,
            id=job.id,
            now=clock.now(),
            queue=options.get("queue", "default"),
            priority=options.get("priority", "default"),
            max_retries=options.get("max_retries", 3),
            tenant_id=options.get("tenant_id"),
            metadata=options.get("metadata"),
        )
        assert job == full, n
        assert job.args is not args


def test_builds_get_their_own_id_args_metadata_and_time(
    kit: jobkit.JobKit, clock: FakeClock
) -> None:
    first = kit.build("t", {"n": 1}, metadata={"m": 1})
    clock.advance(5)
    second = kit.build("t", {"n": 2}, metadata={"m": 2})
    assert first.id != second.id
    assert (first.args, second.args) == ({"n": 1}, {"n": 2})
    assert (first.metadata, second.metadata) == ({"m": 1}, {"m": 2})
    assert second.created_at == second.updated_at == second.run_at == clock.now()
    assert first.created_at == clock.now() - timedelta(seconds=5)
    second.args["n"] = 99  # a job's dicts are its own
    assert kit.build("t", {"n": 3}).args == {"n": 3}


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        pytest.param({"max_retries": 1}, {"max_retries": True}, id="max-retries-bool"),
        pytest.param({"max_retries": 1}, {"max_retries": 1.0}, id="max-retries-float"),
        pytest.param({"args": {"a": 1}}, {"args": {"x": object()}}, id="args-object"),
        pytest.param({"args": {"a": 1}}, {"args": [1]}, id="args-list"),
        pytest.param({"id": "ok"}, {"id": ""}, id="id-empty"),
        pytest.param({"metadata": {"a": 1}}, {"metadata": ["x"]}, id="metadata-list"),
        pytest.param({"queue": "q"}, {"queue": ["q"]}, id="queue-unhashable"),
        pytest.param({"priority": "high"}, {"priority": {"high": 1}}, id="priority-unhashable"),
    ],
)
def test_bad_input_is_refused_after_the_same_options_worked(
    kit: jobkit.JobKit, good: dict, bad: dict
) -> None:
    kit.build("t", **good)
    kit.build("t", **good)
    with pytest.raises(InvalidJobError) as info:
        kit.enqueue("t", **bad)
    assert info.value.field == next(iter(bad))
    assert_empty(kit)


def test_builds_follow_a_handler_registered_later(kit: jobkit.JobKit) -> None:
    assert kit.build("t").queue == "default"
    kit.register("t", lambda args: None, queue="q1")
    assert kit.build("t").queue == "q1"
    kit.register("t", lambda args: None, queue="q1", priority="high", max_retries=0, replace=True)
    job = kit.build("t")
    assert (job.queue, job.priority, job.max_retries) == ("q1", Priority.HIGH, 0)


def test_a_tenant_kit_refuses_other_tenants_after_building_its_own(kit: jobkit.JobKit) -> None:
    acme = kit.for_tenant("acme")
    assert acme.build("t").tenant_id == "acme"
    assert acme.build("t", tenant_id="acme").tenant_id == "acme"
    assert kit.build("t", tenant_id="globex").tenant_id == "globex"
    for _ in range(2):
        with pytest.raises(InvalidJobError):
            acme.build("t", tenant_id="globex")
    assert kit.build("t").tenant_id is None


def test_build_keeps_a_bounded_number_of_templates(kit: jobkit.JobKit) -> None:
    for i in range(300):
        assert kit.build("t", queue=f"q{i}").queue == f"q{i}"
    assert 0 < len(kit._templates) <= 256
