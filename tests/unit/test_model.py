"""Unit and property tests for jobkit.core.model: Priority, JobStatus, build_job and Job."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import types
from datetime import UTC, datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jobkit
from jobkit.core import lifecycle
from jobkit.core.errors import InvalidJobError
from jobkit.core.model import (
    JOB_FIELDS,
    MAX_JOB_TYPE_LENGTH,
    PRIORITIES,
    Job,
    JobError,
    JobStatus,
    Priority,
    build_job,
    evolved,
    loads,
)
from jobkit.core.retry import RetryPolicy
from jobkit.kit import create_job
from tests.strategies import any_jobs, build_kwargs, json_dicts, valid_jobs

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NAIVE = datetime(2026, 1, 1, 12, 0)


def make(job_type: str = "email.send", args: object = None, **kw: object) -> Job:
    kw.setdefault("id", "job-1")
    kw.setdefault("now", NOW)
    return build_job(job_type, args, **kw)  # type: ignore[arg-type]


# -- Priority -------------------------------------------------------------------------


def test_priorities_are_listed_most_urgent_first():
    assert PRIORITIES == (
        Priority.CRITICAL,
        Priority.HIGH,
        Priority.DEFAULT,
        Priority.LOW,
        Priority.BULK,
    )
    assert [p.rank for p in PRIORITIES] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("urgent", "lesser"),
    list(itertools.combinations(PRIORITIES, 2)),
    ids=lambda p: p.value,
)
def test_priority_order_is_strict(urgent, lesser):
    assert urgent > lesser
    assert urgent >= lesser
    assert lesser < urgent
    assert lesser <= urgent
    assert not urgent < lesser
    assert not urgent <= lesser
    assert urgent != lesser


@pytest.mark.parametrize("p", list(Priority), ids=str)
def test_priority_compares_equal_to_itself(p):
    assert p <= p
    assert p >= p
    assert not p < p
    assert not p > p


def test_priority_sorting_and_extremes():
    assert sorted(Priority) == [
        Priority.BULK,
        Priority.LOW,
        Priority.DEFAULT,
        Priority.HIGH,
        Priority.CRITICAL,
    ]
    assert max(Priority) is Priority.CRITICAL
    assert min(Priority) is Priority.BULK


@pytest.mark.parametrize(
    ("urgent", "lesser"),
    list(itertools.combinations([p.value for p in PRIORITIES], 2)),
)
def test_priority_compares_with_its_string_names(urgent, lesser):
    # A str enum would otherwise fall back to *lexical* order ("low" > "high").
    assert Priority(urgent) > lesser
    assert Priority(lesser) < urgent
    assert Priority(urgent) >= lesser
    assert Priority(lesser) <= urgent
    assert lesser < Priority(urgent)
    assert urgent > Priority(lesser)


def test_priority_comparison_with_unknown_string_is_an_error():
    with pytest.raises(InvalidJobError) as info:
        _ = Priority.HIGH > "urgent"
    assert info.value.field == "priority"


def test_priority_comparison_with_other_types_is_a_type_error():
    with pytest.raises(TypeError):
        _ = Priority.HIGH < 3


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (Priority.LOW, Priority.LOW),
        ("critical", Priority.CRITICAL),
        ("high", Priority.HIGH),
        ("default", Priority.DEFAULT),
        ("low", Priority.LOW),
        ("bulk", Priority.BULK),
        ("HIGH", Priority.HIGH),  # case-insensitive
        ("Bulk", Priority.BULK),
    ],
)
def test_priority_coerce(given, expected):
    assert Priority.coerce(given) is expected


@pytest.mark.parametrize("bad", ["urgent", "", " high", 1, None, 2.5, JobStatus.PENDING])
def test_priority_coerce_rejects(bad):
    with pytest.raises(InvalidJobError) as info:
        Priority.coerce(bad)
    assert info.value.field == "priority"
    assert info.value.value is bad
    assert repr(bad) in str(info.value)
    assert "critical, high, default, low, bulk" in str(info.value)


def test_priority_coerce_uses_given_field_name():
    with pytest.raises(InvalidJobError) as info:
        Priority.coerce("nope", field_name="min_priority")
    assert info.value.field == "min_priority"


def test_priority_is_a_str():
    assert Priority.HIGH == "high"
    assert str(Priority.HIGH) == "high"
    assert f"{Priority.LOW}" == "low"
    assert json.dumps(Priority.BULK) == '"bulk"'


# -- JobStatus ------------------------------------------------------------------------


def test_job_status_values():
    assert [s.value for s in JobStatus] == [
        "pending",
        "scheduled",
        "running",
        "completed",
        "retrying",
        "dead",
        "cancelled",
    ]
    assert str(JobStatus.DEAD) == "dead"
    assert JobStatus.RUNNING == "running"


@pytest.mark.parametrize("s", list(JobStatus), ids=str)
def test_job_status_coerce(s):
    assert JobStatus.coerce(s) is s
    assert JobStatus.coerce(s.value) is s
    assert JobStatus.coerce(s.value.upper()) is s


@pytest.mark.parametrize("bad", ["done", "", 0, None, Priority.HIGH])
def test_job_status_coerce_rejects(bad):
    with pytest.raises(InvalidJobError) as info:
        JobStatus.coerce(bad)
    assert info.value.field == "status"
    assert repr(bad) in str(info.value)


# -- build_job: valid input -----------------------------------------------------------


def test_build_job_defaults():
    job = make()
    assert job.id == "job-1"
    assert job.job_type == "email.send"
    assert job.queue == "default"
    assert job.args == {}
    assert job.priority is Priority.DEFAULT
    assert job.status is JobStatus.PENDING
    assert job.retry_count == 0
    assert job.max_retries == 3
    assert job.run_at == NOW
    assert job.created_at == NOW
    assert job.updated_at == NOW
    assert job.started_at is None
    assert job.finished_at is None
    assert job.result is None
    assert job.error is None
    assert job.tenant_id is None
    assert job.metadata == {}
    assert job.reclaim_count == 0


def test_build_job_with_every_option():
    run_at = NOW + timedelta(minutes=5)
    job = make(
        "report.build",
        {"n": 1},
        queue="reports",
        priority="HIGH",
        max_retries=0,
        run_at=run_at,
        tenant_id="acme-1",
        metadata={"trace": "abc"},
    )
    assert job.job_type == "report.build"
    assert job.args == {"n": 1}
    assert job.queue == "reports"
    assert job.priority is Priority.HIGH
    assert job.max_retries == 0
    assert job.run_at == run_at
    assert job.tenant_id == "acme-1"
    assert job.metadata == {"trace": "abc"}


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        (timedelta(seconds=1), JobStatus.SCHEDULED),  # later than now
        (timedelta(microseconds=1), JobStatus.SCHEDULED),  # even by a microsecond
        (timedelta(0), JobStatus.PENDING),  # exactly now: due
        (-timedelta(hours=1), JobStatus.PENDING),  # in the past: due at once
    ],
)
def test_status_depends_on_run_at(offset, status):
    job = make(run_at=NOW + offset)
    assert job.status is status
    assert job.run_at == NOW + offset


def test_datetimes_are_normalised_to_utc():
    plus2 = timezone(timedelta(hours=2))
    now = datetime(2026, 1, 1, 14, 0, tzinfo=plus2)  # == NOW
    run_at = datetime(2026, 1, 1, 15, 0, tzinfo=plus2)  # NOW + 1 h
    job = make(now=now, run_at=run_at)
    assert job.created_at == NOW
    assert job.created_at.utcoffset() == timedelta(0)
    assert job.run_at == NOW + timedelta(hours=1)
    assert job.run_at.utcoffset() == timedelta(0)
    assert job.status is JobStatus.SCHEDULED


def test_args_are_deep_copied_through_json():
    nested = {"list": [1, 2], "inner": {"k": "v"}}
    args = {"tuple": (1, 2, (3, 4)), "nested": nested}
    job = make(args=args)
    assert job.args == {"tuple": [1, 2, [3, 4]], "nested": {"list": [1, 2], "inner": {"k": "v"}}}
    assert type(job.args["tuple"]) is list
    args["new"] = 1
    nested["list"].append(3)
    nested["inner"]["k"] = "changed"
    assert job.args == {"tuple": [1, 2, [3, 4]], "nested": {"list": [1, 2], "inner": {"k": "v"}}}
    assert job.args is not args
    assert job.args["nested"] is not nested


def test_metadata_is_deep_copied_through_json():
    meta = {"tags": ("a", "b"), "inner": {"x": [1]}}
    job = make(metadata=meta)
    meta["inner"]["x"].append(2)
    assert job.metadata == {"tags": ["a", "b"], "inner": {"x": [1]}}


@pytest.mark.parametrize("empty", [None, {}, types.MappingProxyType({})])
def test_missing_args_become_empty_dict(empty):
    assert make(args=empty).args == {}
    assert make(metadata=empty).metadata == {}


def test_any_mapping_is_accepted_as_args():
    job = make(args=types.MappingProxyType({"a": 1}))
    assert job.args == {"a": 1}
    assert type(job.args) is dict


@pytest.mark.parametrize(
    "job_type",
    ["x", "email.send", "a" * MAX_JOB_TYPE_LENGTH, "with spaces", "ünïcode:ok/🙂"],
)
def test_valid_job_types(job_type):
    assert make(job_type).job_type == job_type


@pytest.mark.parametrize("name", ["a", "A-z_0.9", "x" * 64, "default", "..", "-"])
def test_valid_queue_and_tenant_names(name):
    job = make(queue=name, tenant_id=name)
    assert job.queue == name
    assert job.tenant_id == name


# -- build_job: every validation error ------------------------------------------------


class Unserialisable:
    def __repr__(self) -> str:
        return "<Unserialisable>"


NAN = float("nan")
BAD_JSON_DICTS = [
    pytest.param({"s": {1, 2}}, id="set"),
    pytest.param({"o": Unserialisable()}, id="object"),
    pytest.param({"n": NAN}, id="nan"),
    pytest.param({"i": float("inf")}, id="inf"),
    pytest.param({"i": float("-inf")}, id="-inf"),
    pytest.param({"b": b"bytes"}, id="bytes"),
    pytest.param({"d": NOW}, id="datetime"),
    pytest.param({1: "a"}, id="int-key"),
    pytest.param({None: "a"}, id="none-key"),
    pytest.param({(1, 2): "a"}, id="tuple-key"),
    pytest.param({"a": {"b": {2.5: "deep"}}}, id="nested-float-key"),
    pytest.param({"l": [{"ok": 1}, {3: "x"}]}, id="key-in-list"),
    pytest.param({"l": [1, {2, 3}]}, id="set-in-list"),
    pytest.param({"ok": 1, True: "bool-key"}, id="bool-key"),
]
NOT_DICTS = [
    pytest.param([("a", 1)], id="list"),
    pytest.param("a=1", id="str"),
    pytest.param(42, id="int"),
    pytest.param((("a", 1),), id="tuple"),
]

INVALID = [
    # (field, keyword overrides passed to build_job)
    ("job_type", {"job_type": ""}),
    ("job_type", {"job_type": "   "}),
    ("job_type", {"job_type": None}),
    ("job_type", {"job_type": 42}),
    ("job_type", {"job_type": b"email"}),
    ("job_type", {"job_type": "x" * (MAX_JOB_TYPE_LENGTH + 1)}),  # one too long
    ("id", {"id": ""}),
    ("id", {"id": 7}),
    ("id", {"id": "i" * 129}),  # 128 is the limit
    ("priority", {"priority": "urgent"}),
    ("priority", {"priority": 0}),
    ("priority", {"priority": None}),
    ("max_retries", {"max_retries": -1}),
    ("max_retries", {"max_retries": 1.5}),
    ("max_retries", {"max_retries": 3.0}),  # a float, even a whole one
    ("max_retries", {"max_retries": "3"}),
    ("max_retries", {"max_retries": True}),  # bool is not an int here
    ("max_retries", {"max_retries": False}),
    ("max_retries", {"max_retries": None}),
    ("now", {"now": NAIVE}),
    ("now", {"now": "2026-01-01T00:00:00+00:00"}),
    ("now", {"now": None}),
    ("now", {"now": 1767225600}),
    ("run_at", {"run_at": NAIVE}),
    ("run_at", {"run_at": NAIVE + timedelta(days=1)}),
    ("run_at", {"run_at": "tomorrow"}),
    ("queue", {"queue": ""}),
    ("queue", {"queue": "has space"}),
    ("queue", {"queue": "q" * 65}),  # 64 is the limit
    ("queue", {"queue": "jobs:{x}"}),  # would break a Redis key / hash tag
    ("queue", {"queue": "ümlaut"}),
    ("queue", {"queue": None}),
    ("queue", {"queue": 5}),
    ("tenant_id", {"tenant_id": ""}),
    ("tenant_id", {"tenant_id": "a b"}),
    ("tenant_id", {"tenant_id": "t{1}"}),
    ("tenant_id", {"tenant_id": "t" * 65}),
    ("tenant_id", {"tenant_id": 5}),
    *[("args", {"args": p.values[0]}) for p in NOT_DICTS + BAD_JSON_DICTS],
    *[("metadata", {"metadata": p.values[0]}) for p in NOT_DICTS + BAD_JSON_DICTS],
]


def _case_id(case):
    field, overrides = case
    return f"{field}={next(iter(overrides.values()))!r}"[:40]


@pytest.mark.parametrize(("field", "overrides"), INVALID, ids=[_case_id(c) for c in INVALID])
def test_build_job_rejects(field, overrides):
    kwargs = {"job_type": "email.send", "args": {"to": "a@b.c"}, "id": "job-1", "now": NOW}
    kwargs.update(overrides)
    value = overrides[field]
    with pytest.raises(InvalidJobError) as info:
        build_job(**kwargs)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.field == field
    message = str(err)
    assert f"{field}=" in message
    assert repr(value) in message


def test_invalid_job_error_keeps_the_value():
    with pytest.raises(InvalidJobError) as info:
        make(max_retries=-5)
    assert info.value.value == -5
    assert "must be an int >= 0" in str(info.value)


def test_naive_datetime_message_says_what_to_do():
    with pytest.raises(InvalidJobError, match="timezone-aware"):
        make(run_at=NAIVE)


def test_job_type_is_checked_before_the_rest():
    with pytest.raises(InvalidJobError) as info:
        build_job("", {"bad": {1, 2}}, id="", now=NAIVE, queue="", max_retries=-1)
    assert info.value.field == "job_type"


def test_tzinfo_without_offset_counts_as_naive():
    class NoOffset(tzinfo):  # a tzinfo whose utcoffset() is None
        def utcoffset(self, dt):
            return None

        def tzname(self, dt):
            return None

        def dst(self, dt):
            return None

    with pytest.raises(InvalidJobError) as info:
        make(now=datetime(2026, 1, 1, tzinfo=NoOffset()))
    assert info.value.field == "now"


# -- Job ------------------------------------------------------------------------------


def test_job_is_frozen():
    job = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.status = JobStatus.RUNNING  # type: ignore[misc]


def test_evolve_returns_a_changed_copy():
    job = make()
    moved = job.evolve(status=JobStatus.RUNNING, started_at=NOW)
    assert moved.status is JobStatus.RUNNING
    assert moved.started_at == NOW
    assert job.status is JobStatus.PENDING
    assert job.started_at is None
    assert moved.id == job.id


def test_evolve_refuses_unknown_fields_and_evolved_matches_it():
    job = make()
    with pytest.raises(TypeError, match="no field"):
        job.evolve(stauts=JobStatus.RUNNING)
    changes = {"status": JobStatus.RUNNING, "started_at": NOW, "updated_at": NOW}
    assert evolved(job, changes) == job.evolve(**changes)
    assert job.status is JobStatus.PENDING  # the original is untouched
    assert evolved(job, {}) == job and evolved(job, {}) is not job


def test_to_dict_shape():
    job = make(args={"a": [1, 2]}, priority="low", tenant_id="t1", metadata={"m": 1})
    d = job.to_dict()
    assert set(d) == set(JOB_FIELDS)
    assert d["priority"] == "low"
    assert d["status"] == "pending"
    assert d["run_at"] == "2026-01-01T12:00:00+00:00"
    assert d["created_at"] == "2026-01-01T12:00:00+00:00"
    assert d["started_at"] is None
    assert d["error"] is None
    assert d["args"] == {"a": [1, 2]}
    assert json.loads(json.dumps(d)) == d


def _full_job() -> Job:
    job = make(
        args={"to": "a@b.c", "n": [1, 2.5, None, True]},
        priority=Priority.CRITICAL,
        tenant_id="acme",
        metadata={"trace": {"id": "x"}},
        max_retries=5,
    )
    return job.evolve(
        status=JobStatus.DEAD,
        retry_count=5,
        started_at=NOW + timedelta(seconds=1, microseconds=123456),
        finished_at=NOW + timedelta(seconds=2),
        updated_at=NOW + timedelta(seconds=2),
        result={"partial": [1, "two"]},
        error=JobError("ValueError", "boom", "Traceback (most recent call last):\n  ..."),
        reclaim_count=2,
    )


@pytest.mark.parametrize("job", [make(), _full_job()], ids=["fresh", "full"])
def test_dict_and_json_round_trip_exactly(job):
    assert Job.from_dict(job.to_dict()) == job
    assert Job.from_dict(json.loads(json.dumps(job.to_dict()))) == job
    text = job.to_json()
    back = Job.from_json(text)
    assert back == job
    assert back.to_dict() == job.to_dict()
    assert back.to_json() == text
    assert Job.from_json(text.encode()) == job
    assert json.loads(text) == job.to_dict()
    for name in ("run_at", "created_at", "updated_at"):
        assert getattr(back, name).utcoffset() == timedelta(0)
    assert back.priority is job.priority
    assert back.status is job.status


def test_to_json_is_compact():
    text = make(args={"a": 1}).to_json()
    assert ", " not in text
    assert '": ' not in text


def test_to_dict_of_a_job_from_a_non_utc_clock_round_trips():
    # Lifecycle functions take `now` as given; an aware non-UTC `now` still round-trips.
    plus9 = timezone(timedelta(hours=9))
    job = lifecycle.start(make(), NOW.astimezone(plus9))
    assert Job.from_json(job.to_json()) == job


def test_job_error_round_trip():
    err = JobError("KeyError", "'x'", None)
    assert JobError.from_dict(err.to_dict()) == err
    assert err.to_dict() == {"type": "KeyError", "message": "'x'", "traceback": None}


# -- from_dict / from_json errors -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not json", "not valid JSON"),
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"a string"', "must be a JSON object"),
        ("null", "must be a JSON object"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_from_json_rejects_non_objects(text, match):
    with pytest.raises(InvalidJobError, match=match) as info:
        Job.from_json(text)
    assert info.value.field == "json"


def test_from_json_previews_long_text():
    text = "x" * 500
    with pytest.raises(InvalidJobError) as info:
        Job.from_json(text)
    assert info.value.value == "x" * 77 + "..."
    assert len(str(info.value)) < 300


@pytest.mark.parametrize(
    "missing",
    [
        "id",
        "job_type",
        "queue",
        "priority",
        "status",
        "max_retries",
        "run_at",
        "created_at",
        "updated_at",
    ],
)
def test_from_dict_names_a_missing_required_field(missing):
    d = make().to_dict()
    del d[missing]
    with pytest.raises(InvalidJobError) as info:
        Job.from_dict(d)
    assert info.value.field == missing
    assert "required" in str(info.value)


@pytest.mark.parametrize(
    "optional",
    [
        "args",
        "retry_count",
        "started_at",
        "finished_at",
        "result",
        "error",
        "tenant_id",
        "metadata",
        "reclaim_count",
    ],
)
def test_from_dict_defaults_optional_fields(optional):
    job = make()
    d = job.to_dict()
    del d[optional]
    assert Job.from_dict(d) == job


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", ""),
        ("id", 5),
        ("job_type", None),
        ("queue", ""),
        ("priority", "urgent"),
        ("status", "finished"),
        ("run_at", "yesterday"),
        ("run_at", 12345),
        ("created_at", "2026-01-01T12:00:00"),  # no offset: naive
        ("started_at", "not a date"),
        ("finished_at", "2026-13-01T00:00:00+00:00"),
        ("max_retries", "three"),
        ("max_retries", None),
        ("retry_count", "abc"),
        ("retry_count", [1]),
        ("reclaim_count", "x"),
        ("args", "a=1"),
        ("args", [1, 2]),
        ("metadata", 5),
        ("error", "boom"),
        ("error", {"message": "no type"}),
    ],
)
def test_from_dict_rejects_bad_field(field, value):
    d = make().to_dict()
    d[field] = value
    with pytest.raises(InvalidJobError) as info:
        Job.from_dict(d)
    assert info.value.field == field
    assert f"{field}=" in str(info.value)


# -- attempts -------------------------------------------------------------------------


def test_attempts_counts_started_attempts():
    policy = RetryPolicy.default()
    job = make(max_retries=2)
    assert job.attempts == 0  # pending, nothing ran
    job = lifecycle.start(job, NOW)
    assert job.attempts == 1  # running attempt counts
    job = lifecycle.fail(job, JobError("E", "x"), NOW, policy)
    assert job.status is JobStatus.RETRYING
    assert job.attempts == 1  # one failed, the retry not started
    job = lifecycle.start(lifecycle.promote(job, NOW), NOW)
    assert job.attempts == 2
    job = lifecycle.fail(job, JobError("E", "x"), NOW, policy)
    job = lifecycle.start(lifecycle.promote(job, NOW), NOW)
    assert job.attempts == 3
    job = lifecycle.fail(job, JobError("E", "x"), NOW, policy)
    assert job.status is JobStatus.DEAD
    assert job.attempts == 3  # first attempt + max_retries


@pytest.mark.parametrize(
    ("status", "retry_count", "attempts"),
    [
        (JobStatus.PENDING, 0, 0),
        (JobStatus.SCHEDULED, 0, 0),
        (JobStatus.RUNNING, 0, 1),
        (JobStatus.COMPLETED, 0, 1),  # succeeded first time
        (JobStatus.COMPLETED, 2, 3),  # succeeded on the third attempt
        (JobStatus.RETRYING, 2, 2),  # two failed, third not yet started
        (JobStatus.DEAD, 3, 4),  # 1 + 3 retries
        (JobStatus.CANCELLED, 1, 1),  # cancelled while waiting for retry 1
    ],
)
def test_attempts_table(status, retry_count, attempts):
    job = make().evolve(status=status, retry_count=retry_count)
    assert job.attempts == attempts


# -- create_job ------------------------------------------------------------------------


def test_create_job_is_the_public_one():
    assert jobkit.create_job is create_job


def test_create_job_fills_id_and_now():
    before = datetime.now(UTC)
    job = create_job("email.send", {"to": "a@b.c"})
    after = datetime.now(UTC)
    assert re.fullmatch(r"[0-9a-f]{32}", job.id)
    assert before <= job.created_at <= after
    assert job.created_at.utcoffset() == timedelta(0)
    assert job.run_at == job.created_at
    assert job.status is JobStatus.PENDING


def test_create_job_ids_are_unique():
    ids = {create_job("x").id for _ in range(200)}
    assert len(ids) == 200


def test_create_job_respects_given_id_and_now():
    job = create_job("x", id="mine", now=NOW, run_at=NOW + timedelta(seconds=30), priority="bulk")
    assert job.id == "mine"
    assert job.created_at == NOW
    assert job.status is JobStatus.SCHEDULED
    assert job.priority is Priority.BULK


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("job_type", {"job_type": ""}),
        ("args", {"job_type": "x", "args": {"s": {1}}}),
        ("now", {"job_type": "x", "now": NAIVE}),
        ("priority", {"job_type": "x", "priority": "asap"}),
    ],
)
def test_create_job_validates(field, kwargs):
    with pytest.raises(InvalidJobError) as info:
        create_job(**kwargs)
    assert info.value.field == field


# -- properties -----------------------------------------------------------------------


@settings(deadline=None)
@given(valid_jobs())
def test_any_valid_job_survives_the_json_round_trip(job):
    assert Job.from_json(job.to_json()) == job
    assert Job.from_dict(json.loads(json.dumps(job.to_dict()))).to_dict() == job.to_dict()


@settings(max_examples=50, deadline=None)
@given(any_jobs())
def test_a_job_in_any_state_survives_the_json_round_trip(job):
    back = Job.from_json(job.to_json())
    assert back == job
    assert back.to_json() == job.to_json()


@settings(deadline=None)
@given(build_kwargs())
def test_build_job_keeps_what_it_was_given(kw):
    job = build_job(**kw)
    assert job.job_type == kw["job_type"]
    assert job.queue == kw["queue"]
    assert job.priority is Priority.coerce(kw["priority"])
    assert job.created_at == kw["now"]
    assert job.created_at.utcoffset() == timedelta(0)
    due = kw["run_at"] if kw["run_at"] is not None else kw["now"]
    assert job.run_at == due
    assert job.status is (JobStatus.SCHEDULED if due > kw["now"] else JobStatus.PENDING)
    assert job.args == (kw["args"] or {})
    assert job.metadata == (kw["metadata"] or {})


@settings(deadline=None)
@given(json_dicts())
def test_args_equal_their_json_image(args):
    job = make(args=args)
    assert job.args == json.loads(json.dumps(args))
    assert job.args is not args


@settings(max_examples=50)
@given(st.text(min_size=1).filter(lambda s: not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", s)))
def test_any_invalid_queue_name_is_rejected(name):
    with pytest.raises(InvalidJobError) as info:
        make(queue=name)
    assert info.value.field == "queue"


@given(job=any_jobs())
def test_json_text_is_the_dict_whichever_codec_writes_it(job: Job) -> None:
    assert json.loads(job.to_json()) == job.to_dict()
    assert Job.from_json(job.to_json()) == job


def test_json_keeps_ints_beyond_64_bits() -> None:
    job = make(args={"n": 2**70})
    assert Job.from_json(job.to_json()).args == {"n": 2**70}
    assert job.to_json_bytes() == job.to_json().encode()


@given(job=any_jobs())
def test_json_bytes_are_the_json_text_in_utf8(job: Job) -> None:
    assert job.to_json_bytes() == job.to_json().encode()
    assert Job.from_json(job.to_json_bytes()) == job


@pytest.mark.parametrize(
    "value",
    [
        2**64 - 1,  # the largest integer orjson reads exactly
        2**64,
        -(2**63),
        -(2**63) - 1,
        10**40,
        {"deep": [1, {"n": -(10**30)}]},
        [1.5, 1e300, -1e300, 2**70],
    ],
)
def test_loads_keeps_integers_of_any_size_exact(value):
    text = json.dumps({"args": {"v": value}, "x": 1})
    for raw in (text, text.encode()):
        parsed = loads(raw)
        assert parsed == json.loads(text)
        assert repr(parsed) == repr(json.loads(text))  # ints stay ints, floats floats


def test_a_job_with_huge_integers_round_trips_through_json():
    job = make(args={"id": 2**80, "ids": [2**64, -(2**70)], "f": 1e19})
    back = Job.from_json(job.to_json())
    assert back == job and type(back.args["id"]) is int and type(back.args["f"]) is float


def test_loads_reads_deeply_nested_json():
    text = "[" * 900 + "2e19" + "]" * 900  # deeper than a walk of the parsed value can go
    parsed = loads(text)
    for _ in range(900):
        (parsed,) = parsed
    assert parsed == 2e19
