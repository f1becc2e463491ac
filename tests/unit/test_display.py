"""jobkit.core.display: pure HTML builders, and the `_repr_html_` methods built on them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

import jobkit
from jobkit import Failure, FakeClock, JobStatus
from jobkit.core.display import (
    Markup,
    error_html,
    escape,
    fields_html,
    format_duration,
    format_time,
    job_fields,
    job_html,
    kit_html,
    preview,
    status_badge,
    status_counts_html,
    table_html,
)
from jobkit.core.model import JobError, build_job

HOSTILE = "<script>alert('x')</script>"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def hostile_job(**changes):
    job = build_job(
        HOSTILE,
        {"html": "<img src=x onerror=alert(1)>", "n": 1},
        id="job-<1>",
        now=NOW,
        tenant_id="acme",
        metadata={"note": '"quoted" & <b>bold</b>'},
    )
    return job.__class__(**{**job.__dict__, **changes})


def assert_no_live_markup(html: str) -> None:
    assert "<script" not in html
    assert "<img src=x" not in html
    assert "<b>bold</b>" not in html


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (1.5, "1.5 s"),
        (30, "30 s"),
        (59.25, "59.2 s"),
        (60, "1 min"),
        (330, "5 min 30 s"),
        (3600, "1 h"),
        (3930, "1 h 5 min 30 s"),
        (90061, "1 d 1 h 1 min 1 s"),
        (-90, "-1 min 30 s"),
        (float("inf"), "inf s"),
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_format_time():
    assert format_time(None) == ""
    assert format_time(NOW + timedelta(seconds=5)) == "2026-01-01 00:00:05Z"
    assert format_time(NOW + timedelta(microseconds=7)) == "2026-01-01 00:00:00.000007Z"


def test_escape_and_preview():
    assert escape(None) == ""
    assert escape(HOSTILE) == "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"
    assert escape('a"b') == "a&quot;b"
    assert preview({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert preview("x" * 500, limit=10) == '"xxxxxx...'
    assert len(preview(list(range(1000)))) == 300


def test_table_html_escapes_cells_header_and_caption():
    html = table_html([[HOSTILE, 1], [Markup("<i>ok</i>"), None]], [HOSTILE, "n"], caption=HOSTILE)
    assert_no_live_markup(html)
    assert html.count("&lt;script&gt;") == 3
    assert "<i>ok</i>" in html  # Markup passes through
    assert html.count("<tr>") == 3
    assert table_html([], ["a", "b"], empty="nothing <here>").count('colspan="2"') == 1
    assert "nothing &lt;here&gt;" in table_html([], ["a", "b"], empty="nothing <here>")


def test_fields_html():
    html = fields_html([("name", HOSTILE), (HOSTILE, Markup("<u>u</u>"))], caption=HOSTILE)
    assert_no_live_markup(html)
    assert "<u>u</u>" in html
    assert html.count("<tr>") == 2


def test_status_counts_html_has_every_status_in_the_exact_form():
    html = status_counts_html({"dead": 2, "completed": 7, "bogus": 3})
    found = re.findall(r'<span class="jobkit-count" data-status="(\w+)">(\d+)</span>', html)
    assert [s for s, _ in found] == [s.value for s in JobStatus]
    assert dict(found) == {
        "pending": "0",
        "scheduled": "0",
        "running": "0",
        "completed": "7",
        "retrying": "0",
        "dead": "2",
        "cancelled": "0",
    }
    assert "bogus" not in html


def test_status_badge_escapes():
    assert "&lt;x&gt;" in status_badge("<x>")
    assert 'data-status="dead"' in status_badge("dead")


def test_error_html():
    html = error_html(HOSTILE, HOSTILE, "Traceback <most recent>")
    assert_no_live_markup(html)
    assert "<details>" in html and "Traceback &lt;most recent&gt;" in html
    assert "<details>" not in error_html("E", "m")


def test_job_html_escapes_every_user_value():
    job = hostile_job(
        status=JobStatus.DEAD,
        started_at=NOW,
        finished_at=NOW + timedelta(seconds=90),
        error=JobError(HOSTILE, HOSTILE, "tb <frame>"),
        result={"out": HOSTILE},
    )
    html = job_html(job)
    assert_no_live_markup(html)
    assert "&lt;script&gt;" in html
    assert "job-&lt;1&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "1 min 30 s" in html  # duration
    assert 'data-status="dead"' in html
    assert html.startswith('<div class="jobkit-job">')


def test_job_fields_leave_out_empty_ones():
    names = [name for name, _ in job_fields(build_job("t", None, id="j", now=NOW))]
    assert names == [
        "id",
        "job_type",
        "status",
        "queue",
        "priority",
        "attempts",
        "args",
        "created_at",
        "run_at",
        "updated_at",
    ]


def test_job_repr_html_is_job_html():
    job = hostile_job()
    assert job._repr_html_() == job_html(job)


def test_kit_html():
    html = kit_html(
        backend=HOSTILE,
        handlers=[HOSTILE, "ok"],
        counts={"pending": 4},
        counters={"processed": 9},
        queues={"default": {"critical": 1, "high": 0}},
        tenant_id="acme",
        clock="FakeClock()",
    )
    assert_no_live_markup(html)
    assert 'data-status="pending">4<' in html
    assert "processed 9" in html
    assert "<th" in html and "critical" in html


def test_kit_repr_html():
    kit = jobkit.connect("memory://", clock=FakeClock())
    kit.register(HOSTILE, lambda args: Failure("no", type="X", retryable=False))
    kit.enqueue(HOSTILE, priority="high")
    html = kit._repr_html_()
    assert_no_live_markup(html)
    assert 'data-status="pending">1<' in html
    assert "FakeClock" in html
    kit.run_until_idle()
    assert 'data-status="dead">1<' in kit._repr_html_()


def test_kit_repr_html_survives_a_broken_backend():
    kit = jobkit.connect("memory://", clock=FakeClock())

    def broken():
        raise ConnectionError("<down>")

    kit.backend.stats = broken
    html = kit._repr_html_()
    assert "jobkit-error" in html and "&lt;down&gt;" in html


def test_simulation_result_repr_html():
    from jobkit.sim import Behavior, Simulation, Workload, constant, rate

    workload = Workload.poisson(
        1.0, count=20, seed=1, job_type="mail", priority=["high", "low"]
    ).named(HOSTILE)
    workload = workload.with_behaviors(
        {"mail": Behavior(duration=constant(0.5), failure=rate(0.3))}
    )
    result = Simulation(workers=2, seed=1).run(workload)
    html = result._repr_html_()
    assert_no_live_markup(html)
    assert "all jobs" in html and "high" in html and "low" in html
    assert "&lt;script&gt;" in html
    assert html.count("<tr>") >= 1 + 3  # header, all jobs, two priorities
