"""jobkit.widgets and the jobkit.frames functions behind them.

Every widget is built on a memory kit with a FakeClock (one Dashboard on fakeredis),
its buttons are clicked with `button.click()`, and the test checks what it shows and
what happened to the queue.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pandas as pd
import pytest

import jobkit
from jobkit import Failure, FakeClock, JobStatus, RetryPolicy
from jobkit.core.errors import InvalidPolicyError
from jobkit.frames import (
    DEPTH_COLUMNS,
    JOB_COLUMNS,
    RETRY_SCHEDULE_COLUMNS,
    SIM_DEPTH_COLUMNS,
    dead_letters_frame,
    depth_frame,
    processed_total,
    recent_jobs_frame,
    retry_schedule_frame,
    simulation_attempts,
    simulation_depth,
    simulation_job_ids,
    status_counts,
    throughput,
)
from jobkit.sim import Behavior, Simulation, Workload, constant, first_attempts, rate
from jobkit.widgets import (
    ClockControl,
    Dashboard,
    RetryTimeline,
    SimulationExplorer,
    parse_delays,
)
from tests.helpers import wait_for

HOSTILE = "<script>alert('x')</script>"
COUNT = re.compile(r'<span class="jobkit-count" data-status="(\w+)">(\d+)</span>')


def make_kit(url: str = "memory://") -> jobkit.JobKit:
    """A kit on a FakeClock with `ok` (succeeds), `bad` (fails for good: dead at once)
    and `flaky` (fails its first attempt, then succeeds) handlers."""
    kit = jobkit.connect(url, clock=FakeClock())
    seen: set[str] = set()
    kit.register("ok", lambda args: {"n": args.get("n")})
    kit.register("bad", lambda args: Failure(HOSTILE, type="Boom", retryable=False))

    def flaky(args: dict) -> str:
        job = jobkit.current_job()
        if job.id not in seen:
            seen.add(job.id)
            raise RuntimeError("first run fails")
        return "ok"

    kit.register("flaky", flaky)
    return kit


def counts_of(dash: Dashboard) -> dict[str, int]:
    return {s: int(n) for s, n in COUNT.findall(dash.status_counts.value)}


def dead_rows(dash: Dashboard) -> list:
    return [c for c in dash.dead_letters.children if "jobkit-dead-row" in c._dom_classes]


def row_parts(row) -> tuple:
    label, retry, delete = row.children
    return label, retry, delete


@pytest.fixture
def kit() -> jobkit.JobKit:
    return make_kit()


@pytest.fixture
def dash_factory():
    made: list[Dashboard] = []

    def build(kit: jobkit.JobKit, **options) -> Dashboard:
        options.setdefault("autostart", False)
        dash = Dashboard(kit, **options)
        made.append(dash)
        return dash

    yield build
    for dash in made:
        dash.close()


# -- frames behind the widgets ---------------------------------------------------------


class TestFrames:
    def test_depth_frame_one_row_per_queue_and_priority(self, kit):
        kit.enqueue("ok", priority="high")
        kit.enqueue("ok", priority="high")
        kit.enqueue("ok", priority="bulk", queue="mail")
        frame = depth_frame(kit)
        assert list(frame.columns) == list(DEPTH_COLUMNS)
        assert len(frame) == 10  # 2 queues x 5 priorities
        assert frame["priority"].cat.ordered
        pending = {(q, p): n for q, p, n in frame.itertuples(index=False)}
        assert pending[("default", "high")] == 2
        assert pending[("mail", "bulk")] == 1
        assert sum(pending.values()) == 3
        assert frame["pending"].dtype == "int64"

    def test_depth_frame_empty_backend(self, kit):
        frame = depth_frame(kit)
        assert frame.empty
        assert list(frame.columns) == list(DEPTH_COLUMNS)

    def test_status_counts_has_every_status(self, kit):
        kit.enqueue("ok")
        kit.enqueue("bad")
        kit.schedule("ok", delay=60)
        kit.run_until_idle()
        counts = status_counts(kit)
        assert list(counts) == [s.value for s in JobStatus]
        assert counts["completed"] == 1
        assert counts["dead"] == 1
        assert counts["scheduled"] == 1
        assert processed_total(kit) == 2

    def test_throughput(self):
        assert throughput(10, 40, 3.0) == 10.0
        assert throughput(10, 40, 0.0) == 0.0
        assert throughput(40, 10, 1.0) == 0.0  # counters cleared

    def test_dead_letters_frame_newest_first_and_limited(self, kit):
        ids = []
        for n in range(4):
            ids.append(kit.enqueue("bad", {"n": n}).id)
            kit.run_until_idle()
            kit.clock.advance(1)
        frame = dead_letters_frame(kit, limit=3)
        assert list(frame.columns) == list(JOB_COLUMNS)
        assert frame["id"].tolist() == ids[::-1][:3]
        assert frame["error_type"].tolist() == ["Boom"] * 3
        assert len(dead_letters_frame(kit, limit=None)) == 4

    def test_dead_letters_frame_is_tenant_scoped(self, kit):
        kit.for_tenant("acme").enqueue("bad")
        kit.enqueue("bad")
        kit.run_until_idle()
        assert len(dead_letters_frame(kit)) == 2
        assert dead_letters_frame(kit.for_tenant("acme"))["tenant_id"].tolist() == ["acme"]

    def test_recent_jobs_frame_newest_first(self, kit):
        first = kit.enqueue("ok").id
        kit.run_until_idle()
        kit.clock.advance(1)
        second = kit.enqueue("bad").id
        kit.run_until_idle()
        frame = recent_jobs_frame(kit, limit=10)
        assert frame["id"].tolist() == [second, first]
        assert recent_jobs_frame(kit, limit=1)["id"].tolist() == [second]
        assert recent_jobs_frame(kit, limit=0).empty
        kit.for_tenant("acme").enqueue("ok")
        kit.run_until_idle()
        assert len(recent_jobs_frame(kit.for_tenant("acme"))) == 1

    def test_retry_schedule_frame_default(self):
        frame = retry_schedule_frame(RetryPolicy.default())
        assert list(frame.columns) == list(RETRY_SCHEDULE_COLUMNS)
        assert frame["attempt"].tolist() == [1, 2, 3, 4]
        assert frame["delay_s"].tolist() == [0, 30, 300, 3600]
        assert frame["at_s"].tolist() == [0, 30, 330, 3930]

    def test_retry_schedule_frame_jitter_bounds(self):
        policy = RetryPolicy.constant(100, jitter=0.5)
        frame = retry_schedule_frame(policy, 2, jitter_bounds=True)
        assert frame["earliest_s"].tolist() == [0, 50, 100]
        assert frame["latest_s"].tolist() == [0, 150, 300]
        with pytest.raises(InvalidPolicyError, match="max_retries"):
            retry_schedule_frame(policy, -1)


@pytest.fixture(scope="module")
def sim_result():
    workload = Workload.poisson(
        2.0, count=40, seed=5, job_type={"mail": 3, "resize": 1}, priority=["high", "low"]
    ).with_behaviors(
        {
            "mail": Behavior(duration=constant(0.5), failure=rate(0.2)),
            "resize": Behavior(duration=constant(2.0), failure=first_attempts(1)),
        }
    )
    return Simulation(workers=2, seed=3).run(workload)


class TestSimulationFrames:
    def test_job_ids_put_retried_jobs_first(self, sim_result):
        ids = simulation_job_ids(sim_result)
        attempts = sim_result.jobs.set_index("id")["attempts"]
        assert sorted(ids) == sorted(sim_result.jobs["id"])
        many = [i for i in ids if attempts[i] > 1]
        assert many, "the workload has retries"
        assert ids[: len(many)] == many
        assert [attempts[i] for i in many] == sorted((attempts[i] for i in many), reverse=True)
        assert simulation_job_ids(sim_result, limit=3) == ids[:3]

    def test_attempts_of_one_job(self, sim_result):
        job_id = simulation_job_ids(sim_result)[0]
        rows = simulation_attempts(sim_result, job_id)
        assert (rows["id"] == job_id).all()
        assert rows["attempt"].tolist() == list(range(1, len(rows) + 1))
        with pytest.raises(KeyError, match="no job 'nope'"):
            simulation_attempts(sim_result, "nope")

    def test_depth_summed_over_queues(self, sim_result):
        depth = simulation_depth(sim_result)
        assert list(depth.columns) == list(SIM_DEPTH_COLUMNS)
        total = sim_result.queue_depth["pending"].sum()
        assert depth["pending"].sum() == total


# -- Dashboard -------------------------------------------------------------------------


class TestDashboard:
    def test_sections_and_classes(self, kit, dash_factory):
        dash = dash_factory(kit)
        assert "jobkit-dashboard" in dash._dom_classes
        for section, css in (
            (dash.depth, "jobkit-depth"),
            (dash.status_counts, "jobkit-status-counts"),
            (dash.throughput, "jobkit-throughput"),
            (dash.dead_letters, "jobkit-dead-letters"),
            (dash.recent, "jobkit-recent"),
            (dash.pause_button, "jobkit-pause"),
            (dash.error, "jobkit-error"),
        ):
            assert css in section._dom_classes
        assert dash.pause_button.description == "Pause"
        empty = dash.dead_letters.children
        assert len(empty) == 1 and "jobkit-dead-empty" in empty[0]._dom_classes
        assert empty[0].value == "No dead jobs."
        assert not dash.running  # autostart=False

    def test_status_counts_show_every_status(self, kit, dash_factory):
        for _ in range(3):
            kit.enqueue("ok")
        kit.enqueue("bad")
        kit.enqueue("bad")
        kit.schedule("ok", delay=60)
        kit.run_until_idle()
        kit.enqueue("ok")
        dash = dash_factory(kit)
        assert counts_of(dash) == {
            "pending": 1,
            "scheduled": 1,
            "running": 0,
            "completed": 3,
            "retrying": 0,
            "dead": 2,
            "cancelled": 0,
        }

    def test_depth_rows_per_queue_and_priority(self, kit, dash_factory):
        kit.enqueue("ok", priority="high")
        kit.enqueue("ok", priority="high")
        kit.enqueue("ok", priority="low", queue="mail")
        dash = dash_factory(kit)
        rows = dash.depth.children
        assert len(rows) == 10
        assert all("jobkit-depth-row" in r._dom_classes for r in rows)
        values = {(r.children[0].value, r.children[1].value) for r in rows}
        assert ("<code>default</code> high", 2) in values
        assert ("<code>mail</code> low", 1) in values
        assert rows[0].children[1].max == 2
        kit.run_until_idle()
        dash.refresh()
        assert dash.depth.children == rows  # same row widgets, updated in place
        assert all(r.children[1].value == 0 for r in rows)

    def test_no_queues_yet(self, kit, dash_factory):
        dash = dash_factory(kit)
        (only,) = dash.depth.children
        assert "jobkit-depth-empty" in only._dom_classes

    def test_dead_rows_newest_first_with_escaped_label(self, kit, dash_factory):
        old = kit.enqueue("bad").id
        kit.run_until_idle()
        kit.clock.advance(5)
        new = kit.enqueue("bad").id
        kit.run_until_idle()
        dash = dash_factory(kit)
        rows = dead_rows(dash)
        assert len(rows) == 2
        labels = [row_parts(r)[0] for r in rows]
        assert new in labels[0].value and old in labels[1].value
        assert "jobkit-dead-label" in labels[0]._dom_classes
        assert "bad" in labels[0].value and "Boom" in labels[0].value
        assert "<script>" not in labels[0].value
        assert "&lt;script&gt;" in labels[0].value
        _, retry, delete = row_parts(rows[0])
        assert retry.description == "Retry" and "jobkit-retry" in retry._dom_classes
        assert delete.description == "Delete" and "jobkit-delete" in delete._dom_classes

    def test_dead_limit(self, kit, dash_factory):
        for _ in range(5):
            kit.enqueue("bad")
        kit.run_until_idle()
        dash = dash_factory(kit, dead_limit=3)
        assert len(dead_rows(dash)) == 3
        assert "2 older dead jobs" in dash.dead_letters.children[-1].value

    def test_retry_click_moves_the_job_back_to_pending(self, kit, dash_factory):
        kit.enqueue("ok")
        job = kit.enqueue("flaky", max_retries=0)
        kit.run_until_idle()
        dash = dash_factory(kit)
        assert counts_of(dash)["dead"] == 1
        (row,) = dead_rows(dash)
        row_parts(row)[1].click()
        assert kit.get(job.id).status is JobStatus.PENDING
        assert kit.get(job.id).retry_count == 0
        assert dead_rows(dash) == []
        assert counts_of(dash)["dead"] == 0
        assert counts_of(dash)["pending"] == 1
        assert dash.last_error is None
        kit.run_until_idle()  # the second run succeeds
        dash.refresh()
        assert counts_of(dash)["completed"] == 2

    def test_delete_click_removes_the_job(self, kit, dash_factory):
        keep = kit.enqueue("bad").id
        kit.clock.advance(1)
        gone = kit.enqueue("bad").id
        kit.run_until_idle()
        dash = dash_factory(kit)
        first, second = dead_rows(dash)
        assert gone in row_parts(first)[0].value
        row_parts(first)[2].click()
        assert kit.get(gone) is None
        assert kit.get(keep).status is JobStatus.DEAD
        (left,) = dead_rows(dash)
        assert left is second  # the remaining row widget is kept, not rebuilt
        row_parts(left)[2].click()
        assert kit.get(keep) is None
        assert "jobkit-dead-empty" in dash.dead_letters.children[0]._dom_classes

    def test_click_on_a_job_gone_meanwhile_shows_an_error(self, kit, dash_factory):
        job = kit.enqueue("bad")
        kit.run_until_idle()
        dash = dash_factory(kit)
        (row,) = dead_rows(dash)
        kit.delete(job.id)  # someone else deleted it after the dashboard drew it
        row_parts(row)[1].click()  # does not raise
        assert "Could not retry job" in dash.last_error
        assert job.id in dash.error.value
        assert dash.error.layout.display != "none"
        assert dead_rows(dash) == []

    def test_recent_table_and_throughput(self, kit, dash_factory):
        dash = dash_factory(kit)
        assert "No finished attempts yet." in dash.recent.value
        for n in range(3):
            kit.enqueue("ok", {"n": n})
        kit.enqueue("bad")
        kit.run_until_idle()
        dash.refresh()
        assert dash.recent.value.count("<tr>") == 1 + 4  # header + 4 attempts
        assert "completed" in dash.recent.value and "&lt;script&gt;" in dash.recent.value
        assert '<span class="jobkit-processed-delta">4</span>' in dash.throughput.value
        assert '<span class="jobkit-processed">4</span>' in dash.throughput.value
        rate_value = float(re.search(r'data-rate="([\d.]+)"', dash.throughput.value).group(1))
        assert rate_value > 0
        dash.refresh()
        assert '<span class="jobkit-processed-delta">0</span>' in dash.throughput.value

    def test_recent_limit(self, kit, dash_factory):
        for _ in range(5):
            kit.enqueue("ok")
        kit.run_until_idle()
        dash = dash_factory(kit, recent=2)
        assert dash.recent.value.count("<tr>") == 1 + 2

    def test_timer_refreshes_and_pause_stops_it(self, kit, dash_factory):
        dash = dash_factory(kit, refresh=0.02, autostart=True)
        assert dash.running
        assert wait_for(lambda: dash.refresh_count >= 3, timeout=5)
        kit.enqueue("ok")
        assert wait_for(lambda: counts_of(dash)["pending"] == 1, timeout=5)
        dash.pause()
        assert dash.paused and dash.pause_button.description == "Resume"
        time.sleep(0.1)  # let a refresh already under way finish
        frozen = dash.refresh_count
        kit.enqueue("ok")
        time.sleep(0.2)
        assert dash.refresh_count == frozen
        assert counts_of(dash)["pending"] == 1
        assert dash.running  # paused, not stopped
        dash.resume()
        assert not dash.paused and dash.pause_button.description == "Pause"
        assert wait_for(lambda: counts_of(dash)["pending"] == 2, timeout=5)

    def test_pause_toggle_button(self, kit, dash_factory):
        dash = dash_factory(kit)
        dash.pause_button.value = True
        assert dash.paused
        dash.pause_button.value = False
        assert not dash.paused

    def test_close_stops_the_timer_within_a_second(self, kit):
        dash = Dashboard(kit, refresh=30)
        assert dash.running
        started = time.monotonic()
        dash.close()
        assert time.monotonic() - started < 1.0
        assert not dash.running and dash.closed
        dash.close()  # idempotent
        dash.refresh()  # a no-op once closed
        dash.start()
        assert not dash.running

    def test_timer_survives_backend_errors(self, kit, dash_factory, caplog):
        real_stats = kit.backend.stats
        broken = threading.Event()
        broken.set()

        def stats():
            if broken.is_set():
                raise ConnectionError("backend down")
            return real_stats()

        dash = dash_factory(kit, refresh=0.02)
        kit.backend.stats = stats
        dash.start()
        assert wait_for(lambda: dash.last_error is not None, timeout=5)
        assert "backend down" in dash.last_error
        assert "backend down" in dash.error.value
        assert dash.error.layout.display != "none"
        assert dash.running
        broken.clear()
        assert wait_for(lambda: dash.last_error is None, timeout=5)
        assert dash.error.layout.display == "none"
        assert dash.running
        assert "dashboard refresh failed" in caplog.text

    def test_clicks_while_the_timer_runs(self, kit, dash_factory):
        ids = [kit.enqueue("bad").id for _ in range(15)]
        kit.run_until_idle()
        dash = dash_factory(kit, refresh=0.005, dead_limit=50, autostart=True)
        for row in dead_rows(dash):
            row_parts(row)[1].click()
        assert all(kit.get(i).status is JobStatus.PENDING for i in ids)
        assert dash.last_error is None
        assert dead_rows(dash) == []
        assert dash.running

    def test_bad_options(self, kit):
        with pytest.raises(ValueError, match="refresh"):
            Dashboard(kit, refresh=0, autostart=False)
        with pytest.raises(ValueError, match="dead_limit"):
            Dashboard(kit, dead_limit=-1, autostart=False)

    def test_kit_dashboard(self, kit):
        dash = kit.dashboard(refresh=5, recent=3, autostart=False)
        try:
            assert isinstance(dash, Dashboard)
            assert dash.kit is kit and dash.interval == 5 and dash.recent_limit == 3
        finally:
            dash.close()

    def test_on_fakeredis(self):
        kit = make_kit("fakeredis://")
        try:
            kit.enqueue("ok", priority="critical")
            kit.enqueue("bad")
            kit.run_until_idle()
            kit.enqueue("ok", priority="critical")
            dash = Dashboard(kit, refresh=0.05)
            try:
                assert counts_of(dash)["dead"] == 1
                assert counts_of(dash)["completed"] == 1
                values = {(r.children[0].value, r.children[1].value) for r in dash.depth.children}
                assert ("<code>default</code> critical", 1) in values
                (row,) = dead_rows(dash)
                row_parts(row)[1].click()
                assert dead_rows(dash) == []
                assert counts_of(dash)["pending"] == 2
                assert dash.last_error is None
                assert wait_for(lambda: dash.refresh_count >= 3, timeout=5)
            finally:
                dash.close()
            assert not dash.running
        finally:
            kit.close()


# -- RetryTimeline ---------------------------------------------------------------------


class TestRetryTimeline:
    def test_default_schedule(self):
        timeline = RetryTimeline()
        assert "jobkit-retry-timeline" in timeline._dom_classes
        assert timeline.policy == RetryPolicy.default()
        assert timeline.schedule == [
            timedelta(0),
            timedelta(seconds=30),
            timedelta(minutes=5, seconds=30),
            timedelta(hours=1, minutes=5, seconds=30),
        ]
        assert timeline.frame["at_s"].tolist() == [0, 30, 330, 3930]
        assert list(timeline.frame.columns) == ["attempt", "delay_s", "at_s"]
        assert timeline.plot.value.startswith('<img src="data:image/png;base64,')
        assert "jobkit-timeline-plot" in timeline.plot._dom_classes
        assert "1 h 5 min 30 s" in timeline.table.value
        assert timeline.last_error is None
        assert timeline.error.layout.display == "none"

    def test_control_classes(self):
        timeline = RetryTimeline()
        names = ("strategy", "initial", "factor", "max_delay", "jitter", "max_retries", "delays")
        for name in names:
            css = "jobkit-" + name.replace("_", "-")
            assert css in getattr(timeline, name)._dom_classes
        assert timeline.strategy.options == ("schedule", "exponential", "linear", "constant")
        assert timeline.delays.value == "30, 300, 3600"
        assert timeline.delays.layout.display is None
        assert timeline.factor.layout.display == "none"

    def test_setting_controls_changes_the_schedule(self):
        timeline = RetryTimeline()
        before = timeline.plot.value
        timeline.strategy.value = "exponential"
        timeline.initial.value = 10
        timeline.factor.value = 3
        timeline.max_retries.value = 4
        assert timeline.schedule == [timedelta(seconds=s) for s in (0, 10, 40, 130, 400)]
        assert timeline.plot.value != before
        assert timeline.delays.layout.display == "none"
        assert timeline.factor.layout.display is None
        timeline.max_delay.value = 50
        assert timeline.frame["delay_s"].tolist() == [0, 10, 30, 50, 50]

    def test_set_many(self):
        timeline = RetryTimeline()
        timeline.set(strategy="linear", initial=60, max_retries=3)
        assert timeline.policy == RetryPolicy.linear(60)
        assert [t.total_seconds() for t in timeline.schedule] == [0, 60, 180, 360]
        assert timeline.initial.description == "Step (s)"
        timeline.set(strategy="constant", initial=5, max_retries=20)
        assert timeline.max_retries.value == 20
        assert timeline.schedule[-1] == timedelta(seconds=100)
        with pytest.raises(TypeError, match="unknown control"):
            timeline.set(colour="red")

    def test_schedule_text_with_units(self):
        timeline = RetryTimeline()
        timeline.delays.value = "10s, 2m, 1h"
        assert timeline.policy.delays == (10, 120, 3600)
        assert timeline.frame["at_s"].tolist() == [0, 10, 130, 3730]

    def test_jitter_does_not_move_the_schedule(self):
        timeline = RetryTimeline()
        without = timeline.plot.value
        timeline.jitter.value = 0.5
        assert timeline.policy.jitter == 0.5
        assert timeline.frame["at_s"].tolist() == [0, 30, 330, 3930]
        assert timeline.plot.value != without  # the jitter ranges are drawn
        assert timeline.last_error is None

    def test_from_a_policy(self):
        policy = RetryPolicy.exponential(5, factor=2, max_delay=60, jitter=0.1)
        timeline = RetryTimeline(policy, max_retries=5)
        assert timeline.strategy.value == "exponential"
        assert timeline.initial.value == 5 and timeline.max_delay.value == 60
        assert timeline.max_retries.value == 5
        assert timeline.policy == policy
        assert timeline.frame["delay_s"].tolist() == [0, 5, 10, 20, 40, 60]

    def test_bad_values_show_the_error(self):
        timeline = RetryTimeline()
        good_plot = timeline.plot.value
        timeline.strategy.value = "exponential"
        timeline.initial.value = -5  # does not raise
        assert "jobkit-error" in timeline.error._dom_classes
        assert timeline.error.layout.display != "none"
        assert "initial" in timeline.last_error and "-5" in timeline.error.value
        with pytest.raises(InvalidPolicyError):
            _ = timeline.policy
        timeline.initial.value = 5
        assert timeline.last_error is None and timeline.error.layout.display == "none"
        timeline.factor.value = 0.5
        assert "factor" in timeline.last_error
        timeline.strategy.value = "schedule"
        timeline.delays.value = "30, soon"
        assert "soon" in timeline.last_error
        timeline.delays.value = "<b>x</b>"
        assert "<b>" not in timeline.error.value
        timeline.delays.value = ""
        assert "at least one delay" in timeline.last_error
        timeline.delays.value = "30"
        assert timeline.last_error is None and timeline.plot.value != good_plot

    def test_bad_constructor_arguments(self):
        with pytest.raises(TypeError, match="RetryPolicy"):
            RetryTimeline({"strategy": "constant"})
        with pytest.raises(ValueError, match="max_retries"):
            RetryTimeline(max_retries=-1)

    def test_parse_delays(self):
        assert parse_delays("30, 300, 3600") == (30, 300, 3600)
        assert parse_delays(" 500ms, 1.5 min ,2h,1d") == (0.5, 90, 7200, 86400)
        for bad in ("", "  ", "a", "-1", "1, ,2", "1x"):
            with pytest.raises(InvalidPolicyError):
                parse_delays(bad)


# -- SimulationExplorer -----------------------------------------------------------------


class TestSimulationExplorer:
    def test_picks_jobs_and_shows_their_attempts(self, sim_result):
        explorer = SimulationExplorer(sim_result)
        assert "jobkit-simulation-explorer" in explorer._dom_classes
        assert "jobkit-job-picker" in explorer.picker._dom_classes
        ids = list(explorer.picker.options)
        assert ids == simulation_job_ids(sim_result)
        assert explorer.selected == ids[0]
        assert len(explorer.selected_attempts) > 1  # retried jobs come first
        for css in ("jobkit-attempts-plot", "jobkit-attempts-table", "jobkit-depth-plot"):
            part = next(c for c in explorer.children if css in c._dom_classes)
            assert part.value
        assert explorer.depth_plot.value.startswith("<img")

        single = next(i for i in ids if sim_result.jobs.set_index("id")["attempts"][i] == 1)
        explorer.select(single)
        assert explorer.selected == single
        expected = sim_result.attempts[sim_result.attempts["id"] == single].reset_index(drop=True)
        pd.testing.assert_frame_equal(explorer.selected_attempts, expected)
        assert explorer.attempts_table.value.count("<tr>") == 1 + 1
        assert single in explorer.attempts_plot.value  # alt text names the job

        explorer.picker.value = ids[0]
        rows = explorer.selected_attempts
        assert explorer.attempts_table.value.count("<tr>") == 1 + len(rows)
        for outcome in rows["outcome"].astype(str):
            assert outcome in explorer.attempts_table.value

    def test_select_unknown_job(self, sim_result):
        explorer = SimulationExplorer(sim_result)
        with pytest.raises(KeyError, match="nope"):
            explorer.select("nope")

    def test_select_beyond_the_listed_options(self, sim_result):
        explorer = SimulationExplorer(sim_result, max_options=2)
        assert len(explorer.picker.options) == 2
        last = simulation_job_ids(sim_result)[-1]
        explorer.select(last)
        assert explorer.selected == last and last in explorer.picker.options

    def test_needs_a_result(self):
        with pytest.raises(TypeError, match="SimulationResult"):
            SimulationExplorer(pd.DataFrame())


# -- ClockControl ----------------------------------------------------------------------


class TestClockControl:
    def test_steps_and_runs_due_retries(self, kit):
        job = kit.enqueue("flaky")  # fails once, retried after 30 s (the default policy)
        control = ClockControl(kit)
        assert "jobkit-clock" in control._dom_classes
        start = kit.clock.now()
        assert "2026-01-01 00:00:00Z" in control.now.value
        assert control.step(1) == 1  # the first attempt fails
        assert kit.get(job.id).status is JobStatus.RETRYING
        assert "jobkit-ran" in control.ran._dom_classes
        assert '<span class="jobkit-ran-count">1</span>' in control.ran.value
        control.step_second.click()
        assert control.last_ran == 0 and kit.clock.now() == start + timedelta(seconds=2)
        assert "00:00:02Z" in control.now.value
        assert control.jump_to_next_due() == 1
        assert kit.clock.now() == start + timedelta(seconds=31)
        assert kit.get(job.id).status is JobStatus.COMPLETED
        assert control.jump_to_next_due() == 0  # nothing scheduled: no move
        assert kit.clock.now() == start + timedelta(seconds=31)
        assert "Nothing scheduled" in control.ran.value

    def test_buttons(self, kit):
        kit.schedule("ok", delay=90)
        control = ClockControl(kit)
        start = kit.clock.now()
        classes = {
            "jobkit-step-second": 1,
            "jobkit-step-minute": 60,
            "jobkit-step-hour": 3600,
        }
        buttons = {
            css: b
            for box in control.children
            for b in getattr(box, "children", ())
            for css in b._dom_classes
        }
        buttons["jobkit-step-minute"].click()
        assert kit.clock.now() == start + timedelta(seconds=60) and control.last_ran == 0
        buttons["jobkit-next-due"].click()
        assert kit.clock.now() == start + timedelta(seconds=90) and control.last_ran == 1
        buttons["jobkit-step-second"].click()
        buttons["jobkit-step-hour"].click()
        assert kit.clock.now() == start + timedelta(seconds=90 + sum(classes.values()) - 60)
        assert buttons["jobkit-next-due"].description == "Next due"
        assert [buttons[c].description for c in classes] == ["+1 s", "+1 min", "+1 h"]

    def test_refuses_a_system_clock(self):
        kit = jobkit.connect("memory://")
        with pytest.raises(TypeError, match="FakeClock"):
            ClockControl(kit)

    def test_bad_step(self, kit):
        control = ClockControl(kit)
        with pytest.raises(ValueError, match="seconds"):
            control.step(-1)
        assert control.step(timedelta(minutes=2)) == 0
        assert kit.clock.now() == FakeClock().now() + timedelta(minutes=2)


# -- imports ---------------------------------------------------------------------------


def test_jobkit_does_not_import_the_notebook_stack():
    code = (
        "import sys, jobkit, jobkit.testing.plugin\n"
        "heavy = {'ipywidgets', 'pandas', 'matplotlib'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
