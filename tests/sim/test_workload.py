"""Tests for jobkit.sim.workload: reading, generating, combining and writing workloads."""

from __future__ import annotations

import io
import itertools
import json
import math
import random
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobkit.clock import FAKE_EPOCH
from jobkit.core.model import MAX_JOB_TYPE_LENGTH, Priority
from jobkit.errors import InvalidWorkloadError
from jobkit.sim import (
    ARRIVAL_FIELDS,
    Arrival,
    Behavior,
    Workload,
    any_of,
    constant,
    empirical,
    exponential,
    first_attempts,
    lognormal,
    rate,
    uniform,
    window,
)
from tests.strategies import aware_datetimes, json_dicts, names

START = datetime(2026, 1, 1, tzinfo=UTC)
LATER = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(*lines: Any) -> str:
    """JSON Lines text; str items are written verbatim, anything else as JSON."""
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)


def assert_names(exc: InvalidWorkloadError, *parts: str) -> None:
    message = str(exc)
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


def sample_behaviors() -> dict[str, Behavior]:
    return {
        "send_email": Behavior(
            duration=lognormal(median=0.4, sigma=0.6),
            failure=any_of(rate(0.02), window("2026-01-01T10:00Z", "2026-01-01T10:20Z")),
        ),
        "resize": Behavior(
            duration=uniform(0.5, 2.0),
            failure=first_attempts(2),
            handler=True,
            error_type="Timeout",
            error_message="took too long",
        ),
        "report": Behavior(duration=empirical([0.1, 0.2, 0.3]), failure=window(10.0, 20.0, 0.5)),
        "ping": Behavior(duration=exponential(3.0)),
        "noop": Behavior(duration=constant(0.0)),
    }


# -- Arrival ----------------------------------------------------------------------------


def test_arrival_defaults_and_to_record_leaves_out_unset_fields():
    arrival = Arrival(1.5, "a")
    assert arrival.args == {}
    assert arrival.priority is None and arrival.queue is None and arrival.tenant_id is None
    assert arrival.to_record() == {"at": 1.5, "job_type": "a"}


def test_arrival_to_record_has_every_set_field_and_rounds_at():
    arrival = Arrival(1.23456789, "a", {"x": [1, 2]}, Priority.HIGH, "mail", "t-1")
    assert arrival.to_record() == {
        "at": 1.234568,
        "job_type": "a",
        "args": {"x": [1, 2]},
        "priority": "high",
        "queue": "mail",
        "tenant_id": "t-1",
    }


def test_arrival_fields_constant():
    assert ARRIVAL_FIELDS == ("at", "job_type", "args", "priority", "queue", "tenant_id")


# -- from_records -----------------------------------------------------------------------


def test_from_records_numbers_are_seconds_since_default_start():
    w = Workload.from_records([{"at": 5, "job_type": "b"}, {"at": 1.5, "job_type": "a"}])
    assert w.start == FAKE_EPOCH == START
    assert [a.at for a in w] == [1.5, 5.0]
    assert [a.job_type for a in w] == ["a", "b"]
    assert w.name is None and w.description is None and w.behaviors == {}


def test_from_records_keeps_order_of_simultaneous_arrivals():
    records = [{"at": 1, "job_type": t} for t in "dcba"] + [{"at": 0, "job_type": "z"}]
    w = Workload.from_records(records)
    assert [a.job_type for a in w] == ["z", "d", "c", "b", "a"]


def test_from_records_every_field():
    w = Workload.from_records(
        [
            {
                "at": 2,
                "job_type": "send",
                "args": {"to": "x@example.com", "n": [1, {"k": None}]},
                "priority": "HIGH",
                "queue": "mail",
                "tenant_id": "acme",
            }
        ]
    )
    (arrival,) = w.arrivals
    assert arrival.at == 2
    assert arrival.job_type == "send"
    assert arrival.args == {"to": "x@example.com", "n": [1, {"k": None}]}
    assert arrival.priority is Priority.HIGH
    assert arrival.queue == "mail"
    assert arrival.tenant_id == "acme"


def test_from_records_null_optional_fields_are_unset():
    w = Workload.from_records(
        [
            {
                "at": 0,
                "job_type": "a",
                "args": None,
                "priority": None,
                "queue": None,
                "tenant_id": None,
            }
        ]
    )
    assert w.arrivals == [Arrival(0, "a")]


def test_from_records_copies_args():
    args = {"items": [1, 2]}
    w = Workload.from_records([{"at": 0, "job_type": "a", "args": args}])
    args["items"].append(3)
    assert w.arrivals[0].args == {"items": [1, 2]}


def test_from_records_absolute_times_start_at_the_earliest():
    w = Workload.from_records(
        [
            {"at": "2026-02-01T10:00:30Z", "job_type": "b"},
            {"at": datetime(2026, 2, 1, 10, 0, tzinfo=UTC), "job_type": "a"},
            {"at": "2026-02-01T11:00:00+01:00", "job_type": "c"},  # 10:00 UTC
        ]
    )
    assert w.start == datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
    assert [(a.job_type, a.at) for a in w] == [("a", 0.0), ("c", 0.0), ("b", 30.0)]


def test_from_records_mixed_numbers_and_times_share_the_earliest_time_as_start():
    w = Workload.from_records(
        [{"at": 10, "job_type": "n"}, {"at": "2026-05-05T00:00:05Z", "job_type": "t"}]
    )
    assert w.start == datetime(2026, 5, 5, 0, 0, 5, tzinfo=UTC)
    assert [(a.job_type, a.at) for a in w] == [("t", 0.0), ("n", 10.0)]


def test_from_records_explicit_start_is_normalised_to_utc():
    start = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    w = Workload.from_records([{"at": "2026-01-01T10:01:00Z", "job_type": "a"}], start=start)
    assert w.start == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert w.start.tzinfo is UTC
    assert w.arrivals[0].at == 60.0


def test_from_records_metadata():
    behaviors = sample_behaviors()
    w = Workload.from_records(
        [{"at": 0, "job_type": "a"}], name="n", description="d", behaviors=behaviors
    )
    assert (w.name, w.description, w.behaviors) == ("n", "d", behaviors)


def test_from_records_empty():
    w = Workload.from_records([])
    assert len(w) == 0 and w.span == 0.0 and w.job_types() == [] and w.start == START


def test_constructor_requires_an_aware_start():
    with pytest.raises(ValueError, match="start"):
        Workload([], start=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("record", "field", "shown"),
    [
        ({"job_type": "a"}, "at", "is required"),
        ({"at": 1}, "job_type", "is required"),
        ({"at": -1, "job_type": "a"}, "at", "-1"),
        ({"at": math.nan, "job_type": "a"}, "at", "nan"),
        ({"at": math.inf, "job_type": "a"}, "at", "inf"),
        ({"at": True, "job_type": "a"}, "at", "True"),
        ({"at": [1], "job_type": "a"}, "at", "[1]"),
        ({"at": "soon", "job_type": "a"}, "at", "'soon'"),
        ({"at": "2026-01-01T00:00:00", "job_type": "a"}, "at", "'2026-01-01T00:00:00'"),
        ({"at": datetime(2026, 1, 1), "job_type": "a"}, "at", "datetime"),
        ({"at": 0, "job_type": ""}, "job_type", "''"),
        ({"at": 0, "job_type": "   "}, "job_type", "'   '"),
        ({"at": 0, "job_type": 7}, "job_type", "7"),
        ({"at": 0, "job_type": "x" * (MAX_JOB_TYPE_LENGTH + 1)}, "job_type", "xxx"),
        ({"at": 0, "job_type": "a", "priority": "urgent"}, "priority", "'urgent'"),
        ({"at": 0, "job_type": "a", "priority": 3}, "priority", "3"),
        ({"at": 0, "job_type": "a", "queue": "bad queue!"}, "queue", "'bad queue!'"),
        ({"at": 0, "job_type": "a", "queue": ""}, "queue", "''"),
        ({"at": 0, "job_type": "a", "tenant_id": "x" * 65}, "tenant_id", "xxx"),
        ({"at": 0, "job_type": "a", "args": [1, 2]}, "args", "[1, 2]"),
        ({"at": 0, "job_type": "a", "args": "x=1"}, "args", "'x=1'"),
        ({"at": 0, "job_type": "a", "args": {"x": math.nan}}, "args", "nan"),
        ({"at": 0, "job_type": "a", "args": {"x": object()}}, "args", "object"),
        ({"at": 0, "job_type": "a", "colour": "red"}, "colour", "'red'"),
    ],
)
def test_from_records_errors_name_source_record_field_and_value(record, field, shown):
    records = [{"at": 0, "job_type": "ok"}, record]
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_records(records)
    exc = info.value
    assert (exc.source, exc.line, exc.field) == ("records", 2, field)
    assert_names(exc, "records", "line 2", field, shown)


def test_from_records_record_not_a_mapping():
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_records([["at", 0]])  # type: ignore[list-item]
    assert (info.value.line, info.value.field) == (1, "record")


def test_from_records_custom_source_is_named():
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_records([{"at": -2, "job_type": "a"}], source="my-fixture")
    assert_names(info.value, "my-fixture", "line 1", "at", "-2")


def test_from_records_absolute_at_before_explicit_start():
    records = [{"at": 0, "job_type": "a"}, {"at": "2025-12-31T23:59:59Z", "job_type": "b"}]
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_records(records, start=START)
    assert (info.value.line, info.value.field) == (2, "at")
    assert_names(info.value, "records", "line 2", "at", "2025", "before", "2026-01-01")


def test_from_records_naive_start_with_absolute_times_is_a_workload_error():
    # A naive `start=` must be reported like every other bad input, not as a TypeError
    # from subtracting naive and aware datetimes.
    with pytest.raises(InvalidWorkloadError, match="start"):
        Workload.from_records(
            [{"at": "2026-01-01T00:00:10Z", "job_type": "a"}], start=datetime(2026, 1, 1)
        )


# -- JSON Lines ---------------------------------------------------------------------------


def test_from_jsonl_with_header(tmp_path):
    path = write(
        tmp_path,
        "w.jsonl",
        jsonl(
            {
                "workload": {
                    "name": "outage",
                    "description": "mail provider down",
                    "start": "2026-01-01T09:30:00Z",
                    "behaviors": {"send_email": {"duration": {"kind": "constant", "seconds": 2}}},
                }
            },
            "",
            {"at": 5, "job_type": "send_email", "args": {"to": "a"}, "priority": "high"},
            "   ",
            {"at": "2026-01-01T09:31:00Z", "job_type": "report", "queue": "q", "tenant_id": "t"},
        ),
    )
    w = Workload.from_jsonl(path)
    assert w.name == "outage"
    assert w.description == "mail provider down"
    assert w.start == datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
    assert w.behaviors == {"send_email": Behavior(duration=constant(2.0))}
    assert w.arrivals == [
        Arrival(5.0, "send_email", {"to": "a"}, Priority.HIGH),
        Arrival(60.0, "report", {}, None, "q", "t"),
    ]


def test_from_jsonl_accepts_str_path_and_file_objects(tmp_path):
    text = jsonl({"at": 1, "job_type": "a"}, {"at": 2, "job_type": "b"})
    path = write(tmp_path, "w.jsonl", text)
    expected = Workload.from_jsonl(path).arrivals
    assert Workload.from_jsonl(str(path)).arrivals == expected
    assert Workload.from_jsonl(io.StringIO(text)).arrivals == expected
    with path.open(encoding="utf-8") as handle:
        assert Workload.from_jsonl(handle).arrivals == expected


def test_from_jsonl_without_header_defaults():
    w = Workload.from_jsonl(io.StringIO(jsonl({"at": 0, "job_type": "a"})))
    assert (w.name, w.description, w.behaviors, w.start) == (None, None, {}, START)


def test_from_jsonl_start_argument_overrides_header_start():
    text = jsonl({"workload": {"start": "2026-01-01T09:30:00Z"}}, {"at": 1, "job_type": "a"})
    w = Workload.from_jsonl(io.StringIO(text), start=LATER)
    assert w.start == LATER


def test_from_jsonl_handles_crlf_and_no_trailing_newline():
    text = '{"at": 1, "job_type": "a"}\r\n{"at": 2, "job_type": "b"}'
    w = Workload.from_jsonl(io.StringIO(text))
    assert [a.job_type for a in w] == ["a", "b"]


def test_from_jsonl_strings_may_hold_unicode_line_separators():
    # U+2028 / U+0085 are legal unescaped inside a JSON string (json.dumps with
    # ensure_ascii=False writes them raw); only "\n" separates JSON Lines records.
    text = (
        json.dumps(
            {"at": 0, "job_type": "a", "args": {"text": "x\u2028y\x85z"}}, ensure_ascii=False
        )
        + "\n"
    )
    w = Workload.from_jsonl(io.StringIO(text))
    assert w.arrivals[0].args == {"text": "x\u2028y\x85z"}


def test_from_jsonl_empty_file(tmp_path):
    w = Workload.from_jsonl(write(tmp_path, "empty.jsonl", ""))
    assert len(w) == 0 and w.start == START


def test_from_jsonl_header_only(tmp_path):
    path = write(
        tmp_path, "h.jsonl", jsonl({"workload": {"name": "x", "start": "2026-06-01T00:00Z"}})
    )
    w = Workload.from_jsonl(path)
    assert (len(w), w.name, w.start) == (0, "x", datetime(2026, 6, 1, tzinfo=UTC))


_GOOD = [{"at": 0, "job_type": "a"}, {"at": 1, "job_type": "b"}]


@pytest.mark.parametrize(
    ("line", "field", "shown"),
    [
        ('{"at": 1, "job_type": ', "line", "not valid JSON"),
        ("not json at all", "line", "not json at all"),
        ({"at": 1, "job_type": "a", "priority": "urgent"}, "priority", "'urgent'"),
        ({"job_type": "a"}, "at", "is required"),
        ({"at": 3}, "job_type", "is required"),
        ({"at": -0.5, "job_type": "a"}, "at", "-0.5"),
        ('{"at": NaN, "job_type": "a"}', "at", "nan"),
        ('{"at": Infinity, "job_type": "a"}', "at", "inf"),
        ({"at": "yesterday", "job_type": "a"}, "at", "'yesterday'"),
        ({"at": 1, "job_type": "a", "colour": "red"}, "colour", "'red'"),
        ({"at": 1, "job_type": "a", "queue": "no spaces"}, "queue", "'no spaces'"),
        ({"at": 1, "job_type": "a", "tenant_id": "a/b"}, "tenant_id", "'a/b'"),
        ({"at": 1, "job_type": "a", "args": [1]}, "args", "[1]"),
        ({"at": 1, "job_type": "a", "args": "x"}, "args", "'x'"),
        ({"at": 1, "job_type": "a", "args": 5}, "args", "5"),
        ({"at": 1, "job_type": ""}, "job_type", "''"),
        ([1, 2], "record", "[1, 2]"),
        ("42", "record", "42"),
        ({"workload": {"name": "late"}}, "workload", "first line"),
    ],
)
def test_from_jsonl_errors_name_file_line_field_and_value(tmp_path, line, field, shown):
    path = write(tmp_path, "bad.jsonl", jsonl(*_GOOD, line))
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_jsonl(path)
    exc = info.value
    assert (exc.source, exc.line, exc.field) == (str(path), 3, field)
    assert_names(exc, str(path), "line 3", field, shown)


def test_from_jsonl_line_numbers_count_blank_lines(tmp_path):
    path = write(
        tmp_path,
        "bad.jsonl",
        jsonl({"at": 0, "job_type": "a"}, "", "", {"at": -1, "job_type": "b"}),
    )
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_jsonl(path)
    assert info.value.line == 4
    assert_names(info.value, "line 4")


def test_from_jsonl_first_bad_line_is_reported(tmp_path):
    path = write(
        tmp_path,
        "bad.jsonl",
        jsonl({"at": 0, "job_type": "a", "priority": "urgent"}, {"at": -1, "job_type": "b"}),
    )
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_jsonl(path)
    assert (info.value.line, info.value.field) == (1, "priority")


def test_from_jsonl_file_object_is_named_when_possible(tmp_path):
    path = write(tmp_path, "bad.jsonl", jsonl({"at": -1, "job_type": "a"}))
    with path.open(encoding="utf-8") as handle, pytest.raises(InvalidWorkloadError) as info:
        Workload.from_jsonl(handle)
    assert_names(info.value, str(path), "line 1", "at")
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_jsonl(io.StringIO(jsonl({"at": -1, "job_type": "a"})))
    assert_names(info.value, "<file>", "line 1", "at")


def test_from_jsonl_absolute_at_before_header_start(tmp_path):
    path = write(
        tmp_path,
        "early.jsonl",
        jsonl(
            {"workload": {"start": "2026-01-01T10:00:00Z"}},
            {"at": 0, "job_type": "a"},
            {"at": "2026-01-01T09:59:00Z", "job_type": "b"},
        ),
    )
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_jsonl(path)
    assert (info.value.line, info.value.field) == (3, "at")
    assert_names(info.value, str(path), "line 3", "at", "59", "before", "10:00:00")


def test_from_jsonl_absolute_at_before_start_argument(tmp_path):
    path = write(tmp_path, "early.jsonl", jsonl({"at": "2026-01-01T00:00:00Z", "job_type": "a"}))
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_jsonl(path, start=LATER)
    assert_names(info.value, str(path), "line 1", "at")


@pytest.mark.parametrize(
    ("header", "field", "shown"),
    [
        ({"workload": "outage"}, "workload", "'outage'"),
        ({"workload": {"name": "x", "owner": "me"}}, "workload", "owner"),
        ({"workload": {"name": "x"}, "extra": 1}, "workload", "extra"),
        ({"workload": {"name": 5}}, "workload.name", "5"),
        ({"workload": {"description": ["d"]}}, "workload.description", "['d']"),
        ({"workload": {"start": "2026-01-01T00:00:00"}}, "workload.start", "2026-01-01T00:00:00"),
        ({"workload": {"start": "tomorrow"}}, "workload.start", "'tomorrow'"),
        ({"workload": {"start": 5}}, "workload.start", "5"),
        ({"workload": {"behaviors": ["send"]}}, "workload.behaviors", "['send']"),
        (
            {"workload": {"behaviors": {"send": {"duration": {"kind": "gaussian"}}}}},
            "workload.behaviors",
            "'gaussian'",
        ),
        (
            {"workload": {"behaviors": {"send": {"failure": {"kind": "rate", "p": 2}}}}},
            "workload.behaviors",
            "2",
        ),
        (
            {"workload": {"behaviors": {"send": {"duration": {"kind": "constant"}}}}},
            "workload.behaviors",
            "seconds",
        ),
        ({"workload": {"behaviors": {"send": {"speed": 1}}}}, "workload.behaviors", "speed"),
    ],
)
def test_from_jsonl_bad_header(tmp_path, header, field, shown):
    path = write(tmp_path, "h.jsonl", jsonl(header, {"at": 0, "job_type": "send"}))
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_jsonl(path)
    exc = info.value
    assert exc.line == 1
    assert exc.field.startswith(field)
    assert_names(exc, str(path), "line 1", field, shown)


def test_from_jsonl_bad_header_behavior_names_the_job_type(tmp_path):
    # With several behaviors declared, the error must say which job type's is wrong.
    header = {
        "workload": {
            "behaviors": {
                "send_email": {"duration": {"kind": "constant", "seconds": 1}},
                "resize": {"duration": {"kind": "gaussian"}},
            }
        }
    }
    path = write(tmp_path, "h.jsonl", jsonl(header))
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_jsonl(path)
    assert_names(info.value, "resize", "duration", "'gaussian'")


def test_from_jsonl_header_not_on_first_line(tmp_path):
    path = write(
        tmp_path, "h.jsonl", jsonl({"at": 0, "job_type": "a"}, {"workload": {"name": "x"}})
    )
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_jsonl(path)
    assert (info.value.line, info.value.field) == (2, "workload")
    assert_names(info.value, str(path), "line 2", "workload", "first line")


def test_from_jsonl_header_after_blank_lines_is_still_first():
    text = jsonl("", {"workload": {"name": "x"}}, {"at": 0, "job_type": "a"})
    assert Workload.from_jsonl(io.StringIO(text)).name == "x"


@pytest.mark.parametrize("first", [{"workload": {"name": "one"}}, {"workload": {}}])
def test_from_jsonl_second_header_is_rejected(tmp_path, first):
    path = write(tmp_path, "h.jsonl", jsonl(first, {"workload": {"name": "two"}}))
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_jsonl(path)
    assert (info.value.line, info.value.field) == (2, "workload")


# -- to_jsonl round trip ------------------------------------------------------------------


def full_workload() -> Workload:
    arrivals = [
        Arrival(0.0, "send_email", {"to": "a@example.com"}, Priority.CRITICAL, "mail", "acme"),
        Arrival(0.25, "resize", {"size": [1, 2], "nested": {"k": None}}, Priority.BULK),
        Arrival(0.25, "report", {}, None, "reports", None),
        Arrival(3600.5, "ping"),
    ]
    return Workload(
        arrivals,
        start=LATER,
        name="outage",
        description="the mail provider is down",
        behaviors=sample_behaviors(),
    )


def test_to_jsonl_header_line(tmp_path):
    path = tmp_path / "out.jsonl"
    full_workload().to_jsonl(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    header = json.loads(lines[0])
    assert list(header) == ["workload"]
    meta = header["workload"]
    assert meta["name"] == "outage"
    assert meta["description"] == "the mail provider is down"
    assert datetime.fromisoformat(meta["start"]) == LATER
    assert set(meta["behaviors"]) == set(sample_behaviors())
    assert meta["behaviors"]["resize"]["handler"] is True
    assert json.loads(lines[1]) == {
        "at": 0.0,
        "job_type": "send_email",
        "args": {"to": "a@example.com"},
        "priority": "critical",
        "queue": "mail",
        "tenant_id": "acme",
    }
    assert json.loads(lines[4]) == {"at": 3600.5, "job_type": "ping"}


def test_to_jsonl_round_trip(tmp_path):
    original = full_workload()
    path = tmp_path / "out.jsonl"
    original.to_jsonl(path)
    back = Workload.from_jsonl(path)
    assert back.name == original.name
    assert back.description == original.description
    assert back.start == original.start
    assert back.behaviors == original.behaviors
    assert back.arrivals == original.arrivals


def test_to_jsonl_str_path_and_file_object_write_the_same(tmp_path):
    w = full_workload()
    w.to_jsonl(str(tmp_path / "a.jsonl"))
    buffer = io.StringIO()
    w.to_jsonl(buffer)
    assert buffer.getvalue() == (tmp_path / "a.jsonl").read_text(encoding="utf-8")
    assert Workload.from_jsonl(io.StringIO(buffer.getvalue())).arrivals == w.arrivals


def test_to_jsonl_minimal_header_and_empty_workload_round_trip():
    buffer = io.StringIO()
    Workload(start=LATER).to_jsonl(buffer)
    assert json.loads(buffer.getvalue()) == {"workload": {"start": LATER.isoformat()}}
    back = Workload.from_jsonl(io.StringIO(buffer.getvalue()))
    assert (len(back), back.start, back.name, back.behaviors) == (0, LATER, None, {})


def test_generated_workload_round_trips_within_rounding(tmp_path):
    w = Workload.poisson(
        5.0, count=300, seed=9, job_type={"a": 1, "b": 2}, priority=["high", "low"], queue="q"
    )
    path = tmp_path / "p.jsonl"
    w.to_jsonl(path)
    back = Workload.load(path)
    assert back.name == w.name and back.start == w.start and len(back) == len(w)
    for a, b in zip(w, back, strict=True):
        assert b.at == pytest.approx(a.at, abs=1e-6)
        assert (b.job_type, b.priority, b.queue, b.args) == (
            a.job_type,
            a.priority,
            a.queue,
            a.args,
        )


def test_header_method():
    w = Workload(start=LATER, name="n")
    assert w.header() == {"workload": {"start": LATER.isoformat(), "name": "n"}}


def test_header_with_when_behavior_cannot_be_written():
    from jobkit.errors import InvalidBehaviorError
    from jobkit.sim import when

    w = Workload(behaviors={"a": Behavior(failure=when(lambda args, attempt: attempt < 2))})
    with pytest.raises(InvalidBehaviorError):
        w.to_jsonl(io.StringIO())


arrival_records = st.fixed_dictionaries(
    {"at": st.integers(min_value=0, max_value=10**9).map(lambda n: n / 1000), "job_type": names()},
    optional={
        "args": json_dicts(),
        "priority": st.sampled_from([p.value for p in Priority]),
        "queue": names(),
        "tenant_id": names(),
    },
)


@settings(max_examples=60, deadline=None)
@given(
    records=st.lists(arrival_records, max_size=15),
    start=aware_datetimes(),
    name=st.none() | st.text(min_size=1, max_size=20),
    description=st.none() | st.text(min_size=1, max_size=40),
)
def test_jsonl_round_trip_property(records, start, name, description):
    w = Workload.from_records(records, start=start, name=name, description=description)
    buffer = io.StringIO()
    w.to_jsonl(buffer)
    back = Workload.from_jsonl(io.StringIO(buffer.getvalue()))
    assert back.arrivals == w.arrivals
    assert (back.start, back.name, back.description) == (w.start, w.name, w.description)
    assert list(back.records()) == list(w.records())


@settings(max_examples=60, deadline=None)
@given(records=st.lists(arrival_records, max_size=15))
def test_from_records_sorts_stably_property(records):
    w = Workload.from_records(records)
    expected = sorted(records, key=lambda r: r["at"])
    assert [(a.at, a.job_type) for a in w] == [(r["at"], r["job_type"]) for r in expected]


# -- CSV ------------------------------------------------------------------------------------


def test_from_csv_every_column(tmp_path):
    text = (
        "at,job_type,args,priority,queue,tenant_id\n"
        '2.5,send,"{""to"": ""a""}",high,mail,acme\n'
        "0,ping,,,,\n"
        "2026-01-01T00:00:10Z,report,,bulk,,t2\n"
    )
    path = write(tmp_path, "w.csv", text)
    w = Workload.from_csv(path, start=START)
    assert w.start == START
    assert w.arrivals == [
        Arrival(0.0, "ping"),
        Arrival(2.5, "send", {"to": "a"}, Priority.HIGH, "mail", "acme"),
        Arrival(10.0, "report", {}, Priority.BULK, None, "t2"),
    ]
    # without start=, the earliest absolute time is the start
    w = Workload.from_csv(path)
    assert w.start == START + timedelta(seconds=10)
    assert [(a.job_type, a.at) for a in w] == [("ping", 0.0), ("report", 0.0), ("send", 2.5)]
    assert (w.name, w.description, w.behaviors) == (None, None, {})


def test_from_csv_columns_in_any_order_and_subset():
    text = "job_type,at\na,1\nb,0.5\n"
    w = Workload.from_csv(io.StringIO(text))
    assert [(a.job_type, a.at) for a in w] == [("b", 0.5), ("a", 1.0)]


def test_from_csv_fewer_cells_means_unset():
    w = Workload.from_csv(io.StringIO("at,job_type,queue\n1,a\n"))
    assert w.arrivals == [Arrival(1.0, "a")]


def test_from_csv_start_argument():
    text = "at,job_type\n2026-03-04T09:31:00Z,a\n5,b\n"
    w = Workload.from_csv(io.StringIO(text), start=LATER)
    assert [(a.job_type, a.at) for a in w] == [("b", 5.0), ("a", 60.0)]


@pytest.mark.parametrize("missing", ["at", "job_type"])
def test_from_csv_missing_column(tmp_path, missing):
    columns = [c for c in ("at", "job_type", "queue") if c != missing]
    path = write(
        tmp_path, "w.csv", ",".join(columns) + "\n" + ",".join("1" for _ in columns) + "\n"
    )
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_csv(path)
    exc = info.value
    assert (exc.source, exc.line, exc.field) == (str(path), 1, "header")
    assert_names(exc, str(path), "line 1", "header", repr(missing))


def test_from_csv_empty_file(tmp_path):
    path = write(tmp_path, "w.csv", "")
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_csv(path)
    assert_names(info.value, str(path), "line 1", "header")


def test_from_csv_header_only_is_empty():
    assert len(Workload.from_csv(io.StringIO("at,job_type\n"))) == 0


@pytest.mark.parametrize(
    ("row", "field", "shown"),
    [
        ("1,a,extra", "row", "'extra'"),
        ('1,a,"{not json"', "args", "'{not json'"),
        ("1,a,[1]", "args", "[1]"),
        ("1,a,,urgent", "priority", "'urgent'"),
        ("1,a,,,bad queue", "queue", "'bad queue'"),
        ("soon,a", "at", "'soon'"),
        ("-3,a", "at", "-3"),
        ("nan,a", "at", "nan"),
        (",a", "at", "is required"),
        ("1,", "job_type", "is required"),
        ("2026-01-01T00:00:00,a", "at", "2026-01-01T00:00:00"),
    ],
)
def test_from_csv_errors_name_file_line_field_and_value(tmp_path, row, field, shown):
    header = "at,job_type,args,priority,queue,tenant_id" if field != "row" else "at,job_type"
    path = write(tmp_path, "w.csv", f"{header}\n0,ok\n{row}\n")
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_csv(path)
    exc = info.value
    assert (exc.source, exc.line, exc.field) == (str(path), 3, field)
    assert_names(exc, str(path), "line 3", field, shown)


def test_from_csv_absolute_at_before_start(tmp_path):
    path = write(tmp_path, "w.csv", "at,job_type\n2026-01-01T00:00:00Z,a\n")
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.from_csv(path, start=LATER)
    assert (info.value.line, info.value.field) == (2, "at")
    assert_names(info.value, str(path), "line 2", "at")


# -- load -------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".json", ".JSONL"])
def test_load_json_lines_by_suffix(tmp_path, suffix):
    path = write(
        tmp_path, f"w{suffix}", jsonl({"workload": {"name": "x"}}, {"at": 1, "job_type": "a"})
    )
    w = Workload.load(path)
    assert w.name == "x" and w.arrivals == [Arrival(1.0, "a")]
    assert Workload.load(str(path)).arrivals == w.arrivals


@pytest.mark.parametrize("suffix", [".csv", ".CSV"])
def test_load_csv_by_suffix(tmp_path, suffix):
    path = write(tmp_path, f"w{suffix}", "at,job_type\n1,a\n")
    assert Workload.load(path).arrivals == [Arrival(1.0, "a")]


def test_load_start_argument(tmp_path):
    path = write(tmp_path, "w.jsonl", jsonl({"at": 1, "job_type": "a"}))
    assert Workload.load(path, start=LATER).start == LATER
    path = write(tmp_path, "w.csv", "at,job_type\n1,a\n")
    assert Workload.load(path, start=LATER).start == LATER


@pytest.mark.parametrize("name", ["w.txt", "w", "w.parquet"])
def test_load_unknown_suffix(tmp_path, name):
    path = write(tmp_path, name, jsonl({"at": 1, "job_type": "a"}))
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.load(path)
    assert (info.value.source, info.value.field) == (str(path), "path")
    assert_names(info.value, str(path), "path", ".jsonl", ".csv")


@pytest.mark.parametrize("name", ["missing.jsonl", "missing.csv"])
def test_load_missing_file(tmp_path, name):
    path = tmp_path / name
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.load(path)
    assert (info.value.source, info.value.line, info.value.field) == (str(path), None, "path")
    assert_names(info.value, str(path), "no such file")


@pytest.mark.parametrize("reader", [Workload.from_jsonl, Workload.from_csv])
def test_missing_file_direct(tmp_path, reader):
    with pytest.raises(InvalidWorkloadError) as info:
        reader(tmp_path / "nope")
    assert_names(info.value, str(tmp_path / "nope"), "no such file")


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"at": 0, "job_type": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.load(path)
    assert (info.value.source, info.value.field) == (str(path), "encoding")
    assert_names(info.value, str(path), "UTF-8")


# -- poisson --------------------------------------------------------------------------------


def test_poisson_count():
    w = Workload.poisson(2.0, count=137)
    assert len(w) == 137
    assert w.name == "poisson(2.0/s)"
    assert w.start == START
    assert all(a.job_type == "job" and a.args == {} for a in w)
    assert all(a.priority is None and a.queue is None and a.tenant_id is None for a in w)
    ats = [a.at for a in w]
    assert ats == sorted(ats) and ats[0] > 0


def test_poisson_count_zero():
    assert len(Workload.poisson(1.0, count=0)) == 0


def test_poisson_duration_bounds_and_expected_count():
    w = Workload.poisson(10.0, duration=500.0, seed=4)
    assert all(0 < a.at < 500.0 for a in w)
    # 5000 expected, sd ~71
    assert abs(len(w) - 5000) < 5 * math.sqrt(5000)


def test_poisson_duration_zero_is_empty():
    assert len(Workload.poisson(10.0, duration=0)) == 0


def test_poisson_offset():
    w = Workload.poisson(4.0, duration=10.0, offset=100.0, seed=1)
    assert len(w) > 0
    assert all(100.0 < a.at < 110.0 for a in w)
    counted = Workload.poisson(4.0, count=20, offset=50.0, seed=1)
    assert len(counted) == 20 and all(a.at > 50.0 for a in counted)


def test_poisson_start_and_args():
    w = Workload.poisson(1.0, count=3, start=LATER, args={"k": [1]})
    assert w.start == LATER
    assert all(a.args == {"k": [1]} for a in w)


def test_poisson_same_seed_same_records_other_seed_different():
    kwargs: dict[str, Any] = dict(
        count=200, job_type=["a", "b"], priority={"high": 1, "bulk": 3}, queue=["q1", "q2"]
    )
    one = list(Workload.poisson(3.0, seed=7, **kwargs).records())
    two = list(Workload.poisson(3.0, seed=7, **kwargs).records())
    other = list(Workload.poisson(3.0, seed=8, **kwargs).records())
    assert one == two
    assert one != other
    assert [r["at"] for r in one] != [r["at"] for r in other]


def test_poisson_default_seed_is_deterministic():
    assert list(Workload.poisson(1.0, count=50).records()) == list(
        Workload.poisson(1.0, count=50).records()
    )


def test_poisson_single_value_fields_do_not_change_the_times():
    plain = [a.at for a in Workload.poisson(2.0, count=100, seed=3)]
    fixed = Workload.poisson(
        2.0, count=100, seed=3, job_type="x", queue="q", tenant_id="t", priority="low"
    )
    assert [a.at for a in fixed] == plain
    assert {(a.job_type, a.queue, a.tenant_id, a.priority) for a in fixed} == {
        ("x", "q", "t", Priority.LOW)
    }


def test_poisson_mean_gap_is_one_over_rate():
    rate_ = 4.0
    w = Workload.poisson(rate_, count=20_000, seed=11)
    ats = [0.0] + [a.at for a in w]
    gaps = [b - a for a, b in itertools.pairwise(ats)]
    assert statistics.fmean(gaps) == pytest.approx(1 / rate_, rel=0.03)
    # exponential gaps: sd equals mean
    assert statistics.pstdev(gaps) == pytest.approx(1 / rate_, rel=0.05)


@pytest.mark.parametrize(
    ("field", "attr", "spec", "expected"),
    [
        ("job_type", "job_type", {"a": 1, "b": 3}, {"a": 0.25, "b": 0.75}),
        (
            "priority",
            "priority",
            {"critical": 1, "bulk": 4},
            {Priority.CRITICAL: 0.2, Priority.BULK: 0.8},
        ),
        ("queue", "queue", {"fast": 2, "slow": 2, "never": 0}, {"fast": 0.5, "slow": 0.5}),
        ("tenant_id", "tenant_id", {"t1": 0.1, "t2": 0.9}, {"t1": 0.1, "t2": 0.9}),
        ("job_type", "job_type", ["a", "b", "c", "d"], dict.fromkeys("abcd", 0.25)),
        ("priority", "priority", ["high", "LOW"], {Priority.HIGH: 0.5, Priority.LOW: 0.5}),
        ("queue", "queue", ("q1", "q2"), {"q1": 0.5, "q2": 0.5}),
        ("tenant_id", "tenant_id", ["x", "y", "z"], dict.fromkeys("xyz", 1 / 3)),
    ],
)
def test_poisson_weights(field, attr, spec, expected):
    n = 8000
    w = Workload.poisson(1.0, count=n, seed=5, **{field: spec})
    counts = Counter(getattr(a, attr) for a in w)
    assert set(counts) == set(expected)
    for value, share in expected.items():
        sd = math.sqrt(share * (1 - share) / n)
        assert abs(counts[value] / n - share) < 5 * sd + 1e-9, (value, counts)


def test_poisson_priority_members_are_accepted():
    w = Workload.poisson(1.0, count=20, priority=[Priority.HIGH, Priority.LOW], seed=2)
    assert {a.priority for a in w} <= {Priority.HIGH, Priority.LOW}
    assert all(isinstance(a.priority, Priority) for a in w)


def test_poisson_one_weight_dict_needs_no_draws():
    plain = [a.at for a in Workload.poisson(2.0, count=50, seed=3)]
    w = Workload.poisson(2.0, count=50, seed=3, priority={"high": 5})
    assert [a.at for a in w] == plain
    assert {a.priority for a in w} == {Priority.HIGH}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rate": 0, "count": 1}, "rate"),
        ({"rate": -1, "count": 1}, "rate"),
        ({"rate": math.nan, "count": 1}, "rate"),
        ({"rate": math.inf, "count": 1}, "rate"),
        ({"rate": True, "count": 1}, "rate"),
        ({"rate": "1", "count": 1}, "rate"),
        ({"rate": 1.0}, "duration"),
        ({"rate": 1.0, "count": 5, "duration": 5.0}, "duration"),
        ({"rate": 1.0, "count": -1}, "count"),
        ({"rate": 1.0, "count": 2.5}, "count"),
        ({"rate": 1.0, "count": True}, "count"),
        ({"rate": 1.0, "duration": -1.0}, "duration"),
        ({"rate": 1.0, "duration": math.nan}, "duration"),
        ({"rate": 1.0, "count": 1, "job_type": ""}, "job_type"),
        ({"rate": 1.0, "count": 1, "job_type": ["a", 3]}, "job_type"),
        ({"rate": 1.0, "count": 1, "job_type": []}, "job_type"),
        ({"rate": 1.0, "count": 1, "priority": "urgent"}, "priority"),
        ({"rate": 1.0, "count": 1, "priority": ["high", "urgent"]}, "priority"),
        ({"rate": 1.0, "count": 1, "priority": {}}, "priority"),
        ({"rate": 1.0, "count": 1, "priority": {"high": -1, "low": 2}}, "priority"),
        ({"rate": 1.0, "count": 1, "priority": {"high": 0, "low": 0}}, "priority"),
        ({"rate": 1.0, "count": 1, "priority": {"high": math.nan}}, "priority"),
        ({"rate": 1.0, "count": 1, "queue": "bad queue"}, "queue"),
        ({"rate": 1.0, "count": 1, "queue": {"ok": 1, "not ok": 1}}, "queue"),
        ({"rate": 1.0, "count": 1, "tenant_id": ["x" * 65]}, "tenant_id"),
    ],
)
def test_poisson_bad_arguments(kwargs, field):
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.poisson(**kwargs)
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize("args", [[1, 2], "x=1", {"x": object()}, {"x": math.inf}])
def test_poisson_bad_args_is_a_workload_error(args):
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.poisson(1.0, count=1, args=args)
    assert info.value.field == "args"


@pytest.mark.parametrize("weight", ["lots", None, [1]])
def test_poisson_non_numeric_weight_is_a_workload_error(weight):
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.poisson(1.0, count=1, priority={"high": 1, "low": weight})
    assert info.value.field == "priority"


def test_poisson_tiny_positive_weights_never_fail_to_draw():
    # A positive total passes validation, so every draw must return one of the values.
    w = Workload.poisson(1.0, count=200, seed=0, priority={"high": 0.0, "low": 5e-324})
    assert {a.priority for a in w} == {Priority.LOW}


def test_poisson_job_type_longer_than_records_allow_is_rejected():
    # from_records (and so from_jsonl) refuse such a job type; a generated workload
    # holding one would not survive to_jsonl -> from_jsonl.
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.poisson(1.0, count=1, job_type="x" * (MAX_JOB_TYPE_LENGTH + 1))
    assert info.value.field == "job_type"


@pytest.mark.parametrize("offset", [-10.0, math.nan, math.inf])
def test_poisson_bad_offset_is_rejected(offset):
    # Arrivals must be at finite times >= 0 (from_records rejects anything else).
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.poisson(1.0, count=3, offset=offset)
    assert info.value.field == "offset"


# -- burst ------------------------------------------------------------------------------------


def test_burst_all_at_once():
    w = Workload.burst(50, at=30.0)
    assert len(w) == 50
    assert {a.at for a in w} == {30.0}
    assert w.name == "burst(50)"
    assert w.span == 30.0


def test_burst_spread_over():
    w = Workload.burst(500, at=10.0, over=5.0, seed=2)
    ats = [a.at for a in w]
    assert len(ats) == 500
    assert ats == sorted(ats)
    assert all(10.0 <= t < 15.0 for t in ats)
    assert statistics.fmean(ats) == pytest.approx(12.5, abs=0.3)
    assert len(set(ats)) > 490


def test_burst_seeded_and_weighted():
    kwargs: dict[str, Any] = dict(
        at=1.0, over=2.0, job_type={"a": 1, "b": 1}, tenant_id=["t1", "t2"]
    )
    one = list(Workload.burst(100, seed=3, **kwargs).records())
    assert one == list(Workload.burst(100, seed=3, **kwargs).records())
    assert one != list(Workload.burst(100, seed=4, **kwargs).records())
    assert {r["job_type"] for r in one} == {"a", "b"}
    assert {r["tenant_id"] for r in one} == {"t1", "t2"}


def test_burst_zero_and_start():
    w = Workload.burst(0, start=LATER)
    assert len(w) == 0 and w.start == LATER


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"count": -1}, "count"),
        ({"count": 1.5}, "count"),
        ({"count": 3, "at": -1.0}, "at"),
        ({"count": 3, "at": math.nan}, "at"),
        ({"count": 3, "over": -1.0}, "over"),
        ({"count": 3, "over": math.inf}, "over"),
        ({"count": 3, "queue": "a b"}, "queue"),
    ],
)
def test_burst_bad_arguments(kwargs, field):
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.burst(**kwargs)
    assert info.value.field == field


# -- diurnal ------------------------------------------------------------------------------------

DAY = 86_400.0
HOUR = 3600.0


def count_between(w: Workload, low: float, high: float) -> int:
    return sum(low <= a.at < high for a in w)


def test_diurnal_more_arrivals_near_peak_than_at_trough():
    w = Workload.diurnal(0.05, seed=3)  # peak 14:00, trough 02:00
    assert len(w) == pytest.approx(0.05 * DAY, rel=0.1)
    assert all(0 <= a.at < DAY for a in w)
    near_peak = count_between(w, 12 * HOUR, 16 * HOUR)
    near_trough = count_between(w, 0, 4 * HOUR)
    assert near_peak > 3 * near_trough
    assert w.name == "diurnal(0.05/s)"


def test_diurnal_custom_peak():
    w = Workload.diurnal(0.05, peak_at=3 * HOUR, seed=1)  # trough at 15:00
    assert count_between(w, 1 * HOUR, 5 * HOUR) > 3 * count_between(w, 13 * HOUR, 17 * HOUR)


def test_diurnal_hourly_shape_follows_the_cosine():
    mean_rate, amplitude = 0.1, 0.5
    w = Workload.diurnal(mean_rate, amplitude=amplitude, seed=6)
    for hour in (2, 8, 14, 20):
        centre = (hour + 0.5) * HOUR
        expected = (
            mean_rate * HOUR * (1 + amplitude * math.cos(2 * math.pi * (centre - 14 * HOUR) / DAY))
        )
        assert count_between(w, hour * HOUR, (hour + 1) * HOUR) == pytest.approx(
            expected, abs=5 * math.sqrt(expected)
        )


def test_diurnal_amplitude_zero_is_flat():
    w = Workload.diurnal(0.05, amplitude=0.0, seed=8)
    first, second = count_between(w, 0, DAY / 2), count_between(w, DAY / 2, DAY)
    assert abs(first - second) < 5 * math.sqrt(len(w))


def test_diurnal_duration_and_determinism():
    w = Workload.diurnal(0.2, duration=2 * HOUR, seed=4, priority=["high", "low"])
    assert all(a.at < 2 * HOUR for a in w)
    assert list(w.records()) == list(
        Workload.diurnal(0.2, duration=2 * HOUR, seed=4, priority=["high", "low"]).records()
    )
    assert list(w.records()) != list(
        Workload.diurnal(0.2, duration=2 * HOUR, seed=5, priority=["high", "low"]).records()
    )
    assert {a.priority for a in w} == {Priority.HIGH, Priority.LOW}


def test_diurnal_multiple_days_repeat():
    w = Workload.diurnal(0.02, duration=3 * DAY, seed=2)
    for day in range(3):
        peak = count_between(w, day * DAY + 12 * HOUR, day * DAY + 16 * HOUR)
        trough = count_between(w, day * DAY, day * DAY + 4 * HOUR)
        assert peak > 2 * trough


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"mean_rate": 0}, "mean_rate"),
        ({"mean_rate": -1}, "mean_rate"),
        ({"mean_rate": 1, "duration": -5}, "duration"),
        ({"mean_rate": 1, "amplitude": 1.5}, "amplitude"),
        ({"mean_rate": 1, "amplitude": -0.1}, "amplitude"),
        ({"mean_rate": 1, "amplitude": math.nan}, "amplitude"),
        ({"mean_rate": 1, "tenant_id": "bad tenant"}, "tenant_id"),
    ],
)
def test_diurnal_bad_arguments(kwargs, field):
    with pytest.raises(InvalidWorkloadError) as info:
        Workload.diurnal(**kwargs)
    assert info.value.field == field


# -- combining --------------------------------------------------------------------------------


def test_add_same_start_merges_in_time_order_left_first_on_ties():
    left = Workload([Arrival(0, "l0"), Arrival(2, "l2"), Arrival(5, "l5")], name="left")
    right = Workload([Arrival(1, "r1"), Arrival(2, "r2"), Arrival(9, "r9")], name="right")
    merged = left + right
    assert [a.job_type for a in merged] == ["l0", "r1", "l2", "r2", "l5", "r9"]
    assert merged.name == "left" and merged.start == left.start
    # operands are unchanged
    assert len(left) == 3 and len(right) == 3


def test_add_shifts_the_right_by_the_start_difference():
    left = Workload([Arrival(0, "a"), Arrival(100, "b")], start=START)
    right = Workload([Arrival(0, "c"), Arrival(30, "d")], start=START + timedelta(seconds=60))
    merged = left + right
    assert [(a.job_type, a.at) for a in merged] == [("a", 0), ("c", 60), ("d", 90), ("b", 100)]
    assert merged.start == START
    # absolute times are kept
    frame = merged.to_frame()
    assert list(frame["at"]) == [
        pd.Timestamp(START + timedelta(seconds=s)) for s in (0, 60, 90, 100)
    ]


def test_add_keeps_fields_of_shifted_arrivals():
    right = Workload(
        [Arrival(1, "c", {"x": 1}, Priority.HIGH, "q", "t")], start=START + timedelta(seconds=5)
    )
    (arrival,) = (Workload() + right).arrivals
    assert arrival == Arrival(6, "c", {"x": 1}, Priority.HIGH, "q", "t")


def test_add_generated_workloads():
    base = Workload.poisson(1.0, count=100, seed=1, job_type="steady")
    spike = Workload.burst(50, at=20.0, over=1.0, job_type="spike")
    merged = base + spike
    assert len(merged) == 150
    ats = [a.at for a in merged]
    assert ats == sorted(ats)
    assert merged.job_types() == ["spike", "steady"]
    assert merged.name == base.name


def test_add_merges_behaviors_left_wins_and_keeps_description():
    left = Workload(
        name="l",
        description="left",
        behaviors={"a": Behavior(duration=constant(1)), "b": Behavior()},
    )
    right = Workload(
        behaviors={"a": Behavior(duration=constant(9)), "c": Behavior(duration=constant(3))}
    )
    merged = left + right
    assert merged.description == "left"
    assert merged.behaviors == {
        "a": Behavior(duration=constant(1)),
        "b": Behavior(),
        "c": Behavior(duration=constant(3)),
    }


def test_add_right_starting_earlier_is_rejected():
    left = Workload([Arrival(0, "a")], start=START + timedelta(seconds=60))
    right = Workload([Arrival(10, "b")], start=START)
    with pytest.raises(InvalidWorkloadError) as info:
        left + right
    assert info.value.field == "start"
    # arrivals that still land at/after the left start are fine
    ok = left + Workload([Arrival(60, "b")], start=START)
    assert [(a.job_type, a.at) for a in ok] == [("a", 0), ("b", 0)]


def test_add_non_workload():
    not_a_workload: Any = [Arrival(0, "a")]
    with pytest.raises(TypeError):
        Workload() + not_a_workload


def test_named_and_with_behaviors():
    w = Workload([Arrival(1, "a")], start=LATER, behaviors={"a": Behavior()})
    named = w.named("n", "d")
    assert (named.name, named.description, named.start, named.arrivals) == (
        "n",
        "d",
        LATER,
        w.arrivals,
    )
    assert named.named("m").description == "d"
    assert w.name is None
    more = named.with_behaviors({"a": Behavior(duration=constant(2)), "b": Behavior()})
    assert more.behaviors == {"a": Behavior(duration=constant(2)), "b": Behavior()}
    assert named.behaviors == {"a": Behavior()}
    assert (more.name, more.description) == ("n", "d")


# -- span, len, job_types, repr, to_frame ---------------------------------------------------


def test_span_len_iter_job_types():
    w = Workload([Arrival(3, "b"), Arrival(1, "a"), Arrival(7.5, "b")])
    assert len(w) == 3
    assert w.span == 7.5
    assert w.job_types() == ["a", "b"]
    assert [a.at for a in w] == [1, 3, 7.5]
    assert Workload().span == 0.0


def test_repr():
    w = Workload([Arrival(90, "a")], name="x")
    assert repr(w) == "Workload 'x'(1 arrivals over 90s from 2026-01-01T00:00:00+00:00)"
    assert repr(Workload()).startswith("Workload(0 arrivals")


def test_to_frame_values_and_dtypes():
    w = full_workload()
    frame = w.to_frame()
    assert list(frame.columns) == list(ARRIVAL_FIELDS)
    assert len(frame) == 4
    assert isinstance(frame["at"].dtype, pd.DatetimeTZDtype)
    assert str(frame["at"].dt.tz) == "UTC"
    assert frame["at"].iloc[0] == pd.Timestamp(LATER)
    assert frame["at"].iloc[3] == pd.Timestamp(LATER + timedelta(seconds=3600.5))
    assert pd.api.types.is_string_dtype(frame["job_type"])
    assert list(frame["job_type"]) == ["send_email", "resize", "report", "ping"]
    assert frame["priority"].iloc[0] == "critical"
    assert pd.isna(frame["priority"].iloc[2])
    assert frame["args"].iloc[1] == {"size": [1, 2], "nested": {"k": None}}
    assert frame["queue"].iloc[2] == "reports"


def test_to_frame_dtypes_do_not_depend_on_the_data():
    full = full_workload().to_frame().dtypes
    sparse = Workload([Arrival(1, "a")]).to_frame().dtypes  # no queue/tenant/priority set
    empty = Workload().to_frame().dtypes
    assert full["at"] == pd.DatetimeTZDtype("ns", "UTC")
    assert sparse["at"] == full["at"]
    assert empty["at"] == full["at"]
    for column in ("priority", "queue", "tenant_id"):
        assert not pd.api.types.is_numeric_dtype(sparse[column]), (column, sparse[column])


def test_generated_workload_can_be_shuffled_into_records_again():
    w = Workload.poisson(3.0, count=50, seed=1, queue=["a", "b"])
    records = list(w.records())
    random.Random(0).shuffle(records)
    assert Workload.from_records(records).arrivals == [
        Arrival(round(a.at, 6), a.job_type, a.args, a.priority, a.queue, a.tenant_id) for a in w
    ]
