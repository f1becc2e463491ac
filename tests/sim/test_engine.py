"""The simulation engine: real worker code on a fake clock, results as typed frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

import jobkit
from jobkit import Failure, RetryPolicy
from jobkit.sim import (
    Behavior,
    Simulation,
    Workload,
    compare,
    constant,
    exponential,
    first_attempts,
    rate,
    window,
)
from tests.adapters.backends import REDIS_URL, redis_client

PRIORITIES = ["critical", "high", "default", "low", "bulk"]
START = datetime(2026, 1, 1, tzinfo=UTC)


def mixed_workload(count: int = 400, seed: int = 3) -> Workload:
    """Several priorities, queues and tenants, busy enough to queue, with failures."""
    return Workload.poisson(
        4.5,
        count=count,
        seed=seed,
        job_type={"send_email": 3, "resize": 1},
        priority=PRIORITIES,
        queue={"default": 3, "media": 1},
        tenant_id={"acme": 5, "tiny": 1},
    ).with_behaviors(
        {
            "send_email": Behavior(duration=exponential(0.8), failure=rate(0.2)),
            "resize": Behavior(duration=constant(1.5), failure=first_attempts(1)),
        }
    )


def all_frames(result: jobkit.sim.SimulationResult) -> dict[str, pd.DataFrame]:
    return result.frames()


class TestDeterminism:
    def test_same_workload_and_seed_give_equal_frames(self) -> None:
        workload = mixed_workload()
        first = all_frames(Simulation(workers=3, seed=7).run(workload))
        second = all_frames(Simulation(workers=3, seed=7).run(workload))
        for name, frame in first.items():
            assert frame.equals(second[name]), name
            assert (frame.dtypes == second[name].dtypes).all(), name

    def test_another_seed_gives_other_frames(self) -> None:
        workload = mixed_workload()
        one = Simulation(workers=3, seed=7).run(workload)
        other = Simulation(workers=3, seed=8).run(workload)
        assert not one.jobs.equals(other.jobs)
        assert not one.attempts.equals(other.attempts)


class TestSeedRetrySchedule:
    def test_dead_jobs_have_four_attempts_on_the_seed_schedule(self) -> None:
        # one arrival a minute, attempts take no time, so no job ever waits for a worker
        workload = Workload.from_records([{"at": 60.0 * n, "job_type": "flaky"} for n in range(12)])
        result = Simulation(
            workers=2,
            seed=0,
            behaviors={"flaky": Behavior(duration=constant(0), failure=rate(1.0))},
        ).run(workload)
        jobs, attempts = result.jobs, result.attempts
        assert (jobs["status"] == "dead").all()
        assert (jobs["attempts"] == 4).all()
        assert (jobs["wait_s"] == 0).all()
        expected = [timedelta(0), timedelta(seconds=30), timedelta(minutes=5, seconds=30)]
        expected.append(timedelta(hours=1, minutes=5, seconds=30))
        for _, rows in attempts.groupby("id"):
            offsets = list(rows["started_at"] - rows["started_at"].iloc[0])
            assert offsets == expected
            assert list(rows["attempt"]) == [1, 2, 3, 4]
            assert list(rows["outcome"]) == ["retrying", "retrying", "retrying", "dead"]
            # each retrying attempt says when the next one is due: exactly when it starts
            assert list(rows["next_run_at"].iloc[:-1]) == list(rows["started_at"].iloc[1:])
            assert pd.isna(rows["next_run_at"].iloc[-1])
            assert set(rows["error_type"]) == {"SimulatedFailure"}
        assert result.stats.loc["global", "dead"] == 12
        assert result.stats.loc["global", "retried"] == 36

    def test_a_custom_policy_changes_the_timeline(self) -> None:
        workload = Workload.from_records([{"at": 0, "job_type": "flaky"}])
        result = Simulation(
            workers=1,
            retry_policy=RetryPolicy.constant(10),
            behaviors={"flaky": Behavior(duration=constant(0), failure=first_attempts(2))},
        ).run(workload)
        starts = result.attempts["started_at"] - START
        assert list(starts) == [timedelta(0), timedelta(seconds=10), timedelta(seconds=20)]
        assert list(result.jobs["status"]) == ["completed"]


class TestPriorities:
    def test_under_overload_critical_waits_less_than_bulk(self) -> None:
        workload = Workload.poisson(
            3.0, count=600, seed=1, job_type="work", priority=["critical", "bulk"]
        )  # 3 jobs/s for 2 workers at 1 s each: overloaded 1.5x, critical alone is not
        result = Simulation(workers=2, behaviors={"work": Behavior(duration=constant(1.0))}).run(
            workload
        )
        waits = result.jobs.groupby("priority", observed=True)["wait_s"]
        assert waits.quantile(0.95)["critical"] < waits.median()["bulk"]
        assert waits.quantile(0.95)["critical"] < 5.0
        assert waits.median()["bulk"] > 30.0  # the backlog is all bulk
        summary = result.summary()
        assert (
            summary.loc[("priority", "critical"), "wait_p99_s"]
            < summary.loc[("priority", "bulk"), "wait_p50_s"]
        )

    def test_a_burst_is_served_in_strict_priority_order(self) -> None:
        records = [{"at": 0, "job_type": "work", "priority": p} for p in reversed(PRIORITIES)] * 4
        result = Simulation(workers=1, behaviors={"work": Behavior(duration=constant(1))}).run(
            Workload.from_records(records)
        )
        order = result.jobs.sort_values("first_started_at")["priority"].astype(str).tolist()
        assert order == [p for p in PRIORITIES for _ in range(4)]


class TestBackends:
    def test_memory_and_fakeredis_give_equal_frames(self) -> None:
        workload = mixed_workload(count=250)
        memory = all_frames(Simulation(workers=3, seed=5).run(workload))
        fake = all_frames(Simulation(workers=3, seed=5, backend="fakeredis://").run(workload))
        for name, frame in memory.items():
            assert frame.equals(fake[name]), name

    def test_real_redis_gives_the_same_frames_and_leaves_nothing_behind(self) -> None:
        client = redis_client()
        try:
            before = client.dbsize()
            workload = mixed_workload(count=120)
            memory = all_frames(Simulation(workers=3, seed=5).run(workload))
            real = all_frames(Simulation(workers=3, seed=5, backend=REDIS_URL).run(workload))
            for name, frame in memory.items():
                assert frame.equals(real[name]), name
            assert client.dbsize() == before  # the run's private prefix was cleared
        finally:
            client.close()


@pytest.fixture(scope="module")
def result() -> jobkit.sim.SimulationResult:
    return Simulation(workers=3, seed=2).run(mixed_workload())


class TestFrames:
    def test_jobs_frame_columns_and_types(self, result: jobkit.sim.SimulationResult) -> None:
        jobs = result.jobs
        assert list(jobs.columns) == [
            "id", "job_type", "queue", "priority", "tenant_id", "status", "enqueued_at",
            "first_started_at", "finished_at", "attempts", "wait_s", "run_s", "turnaround_s",
        ]  # fmt: skip
        for column in ("enqueued_at", "first_started_at", "finished_at"):
            assert str(jobs[column].dtype) == "datetime64[ns, UTC]"
        assert list(jobs["priority"].cat.categories) == PRIORITIES
        assert jobs["priority"].cat.ordered
        assert isinstance(jobs["status"].dtype, pd.CategoricalDtype)
        assert jobs["attempts"].dtype == "int64"
        assert len(jobs) == 400 and jobs["id"].is_unique
        assert (jobs["first_started_at"] >= jobs["enqueued_at"]).all()
        finished = jobs.dropna(subset=["finished_at"])
        assert (finished["turnaround_s"] >= finished["run_s"]).all()

    def test_attempts_add_up_to_the_jobs(self, result: jobkit.sim.SimulationResult) -> None:
        attempts = result.attempts
        per_job = attempts.groupby("id").size()
        assert (per_job.reindex(result.jobs["id"]).to_numpy() == result.jobs["attempts"]).all()
        assert len(attempts) == result.stats.loc["global", "processed"]
        assert set(attempts["outcome"].astype(str)) <= {"completed", "retrying", "dead"}
        assert (attempts["finished_at"] >= attempts["started_at"]).all()
        assert attempts["worker"].between(0, 2).all()
        # one worker never runs two attempts at once
        for _, rows in attempts.sort_values("started_at").groupby("worker"):
            assert (
                rows["started_at"].iloc[1:].to_numpy() >= rows["finished_at"].iloc[:-1].to_numpy()
            ).all()

    def test_queue_depth_is_a_typed_time_series(self, result: jobkit.sim.SimulationResult) -> None:
        depth = result.queue_depth
        assert list(depth.columns) == ["at", "queue", "priority", "pending", "running", "retrying"]
        assert str(depth["at"].dtype) == "datetime64[ns, UTC]"
        assert set(depth["queue"].astype(str)) == {"default", "media"}
        running = depth.groupby("at")["running"].sum()
        assert running.between(0, 3).all() and running.max() > 0
        assert depth["retrying"].max() > 0
        assert depth["at"].is_monotonic_increasing

    def test_stats_match_the_jobs(self, result: jobkit.sim.SimulationResult) -> None:
        stats, jobs = result.stats, result.jobs
        assert list(stats.index) == ["global", "default", "media"]
        assert stats.loc["global", "enqueued"] == len(jobs)
        assert stats.loc["global", "dead"] == (jobs["status"] == "dead").sum()
        assert stats.loc["global", "succeeded"] == (jobs["status"] == "completed").sum()
        assert stats.loc["global", "lease_lost"] == 0 and stats.loc["global", "reclaimed"] == 0

    def test_summary_per_priority_tenant_and_job_type(
        self, result: jobkit.sim.SimulationResult
    ) -> None:
        summary = result.summary()
        assert set(summary.index.get_level_values("scope")) == {
            "all", "priority", "tenant", "job_type",
        }  # fmt: skip
        assert summary.loc[("all", "all"), "jobs"] == 400
        assert (
            summary.loc[("tenant", "acme"), "jobs"] + summary.loc[("tenant", "tiny"), "jobs"] == 400
        )
        assert summary.loc[("all", "all"), "throughput_per_s"] > 0
        row = summary.loc[("all", "all")]
        assert row["wait_p50_s"] <= row["wait_p95_s"] <= row["wait_p99_s"] <= row["wait_max_s"]

    def test_csv_and_parquet(self, result: jobkit.sim.SimulationResult, tmp_path) -> None:  # type: ignore[no-untyped-def]
        result.to_csv(tmp_path / "csv")
        result.to_parquet(tmp_path / "pq")
        for name in ("jobs", "attempts", "queue_depth", "stats", "summary"):
            assert (tmp_path / "csv" / f"{name}.csv").stat().st_size > 0
        back = pd.read_parquet(tmp_path / "pq" / "jobs.parquet")
        pd.testing.assert_frame_equal(back, result.jobs)
        csv_jobs = pd.read_csv(tmp_path / "csv" / "jobs.csv")
        assert list(csv_jobs.columns) == list(result.jobs.columns)

    def test_repr(self, result: jobkit.sim.SimulationResult) -> None:
        assert "400 jobs, 3 workers, seed 2" in repr(result)


class TestWhatIf:
    def test_compare_is_one_tidy_frame(self) -> None:
        workload = Workload.poisson(3.5, count=300, seed=4, job_type="work", priority=PRIORITIES)
        behaviors = {"work": Behavior(duration=exponential(1.0), failure=rate(0.1))}
        three = Simulation(workers=3, behaviors=behaviors).run(workload)
        five = Simulation(workers=5, behaviors=behaviors).run(workload)
        table = compare({"3 workers": three, "5 workers": five})
        assert list(table.columns[:3]) == ["scenario", "scope", "group"]
        assert list(table["scenario"].cat.categories) == ["3 workers", "5 workers"]
        overall = table[table["scope"] == "all"].set_index("scenario")
        assert overall.loc["5 workers", "wait_p95_s"] < overall.loc["3 workers", "wait_p95_s"]
        assert Simulation.compare({"a": three}).shape[0] == three.summary().shape[0]
        with pytest.raises(ValueError, match="at least one"):
            compare({})


class TestBehaviorsAndHandlers:
    def test_real_handlers_run_with_their_args_and_registered_policy(self) -> None:
        kit = jobkit.connect("memory://", clock=jobkit.FakeClock())
        seen: list[int] = []

        @kit.handler("charge", retry_policy=RetryPolicy.constant(5), max_retries=1)
        def charge(args: dict) -> dict:  # type: ignore[type-arg]
            seen.append(args["n"])
            if args["n"] == 2:
                raise RuntimeError("card declined")
            if args["n"] == 3:
                return Failure("fraud", type="Fraud", retryable=False)  # type: ignore[return-value]
            return {"charged": args["n"]}

        records = [{"at": n, "job_type": "charge", "args": {"n": n}} for n in (1, 2, 3)]
        result = Simulation(kit, workers=1, default_duration=2.0).run(
            Workload.from_records(records)
        )
        jobs = result.jobs.set_index("id")
        assert list(jobs["status"].astype(str)) == ["completed", "dead", "dead"]
        assert list(jobs["attempts"]) == [1, 2, 1]  # max_retries=1 from the registration
        attempts = result.attempts
        retry = attempts[(attempts["id"] == jobs.index[1]) & (attempts["attempt"] == 1)].iloc[0]
        assert retry["error_type"] == "RuntimeError"
        assert retry["next_run_at"] - retry["finished_at"] == timedelta(seconds=5)
        assert sorted(seen) == [1, 2, 2, 3]
        assert (result.jobs["run_s"] == 2.0 * result.jobs["attempts"]).all()
        assert kit.backend.stats()["enqueued"] == 0  # the kit's own backend is untouched

    def test_an_outage_window_causes_a_retry_storm(self) -> None:
        workload = Workload.poisson(1.0, duration=1800, seed=2, job_type="send_email")
        outage = Behavior(
            duration=constant(0.5),
            failure=window(START + timedelta(minutes=10), START + timedelta(minutes=20)),
        )
        result = Simulation(workers=2, behaviors={"send_email": outage}).run(workload)
        attempts = result.attempts
        minutes = (attempts["started_at"] - START).dt.total_seconds() / 60
        in_window = attempts[(minutes >= 10) & (minutes < 20)]
        assert (in_window["outcome"] == "retrying").all() and len(in_window) > 300
        assert (attempts[minutes < 10]["outcome"] == "completed").all()
        # every job hit by the outage completes on a later attempt; none is dead
        assert (result.jobs["status"] == "completed").all()
        assert result.jobs["attempts"].max() >= 3

    def test_failing_attempts_can_take_their_own_time(self) -> None:
        kit = jobkit.connect("memory://", clock=jobkit.FakeClock())
        kit.register("call", lambda args: 1 / args["d"])  # d=0: ZeroDivisionError
        timeout = Behavior(
            duration=constant(1), failure=first_attempts(1), failure_duration=constant(10)
        )
        behaviors = {"flaky": timeout, "call": Behavior(
            duration=constant(1), failure_duration=constant(7), handler=True
        )}  # fmt: skip
        records = [
            {"at": 0, "job_type": "flaky"},
            {"at": 0, "job_type": "call", "args": {"d": 0}},
        ]
        result = Simulation(
            kit, workers=2, behaviors=behaviors, retry_policy=RetryPolicy.constant(1)
        ).run(Workload.from_records(records))
        took = result.attempts.assign(
            s=(result.attempts["finished_at"] - result.attempts["started_at"]).dt.total_seconds()
        )
        flaky, call = (took[took["id"] == i] for i in sorted(took["id"].unique()))
        assert list(flaky["s"]) == [10.0, 1.0] and list(flaky["outcome"]) == [
            "retrying",
            "completed",
        ]
        assert list(call["s"]) == [7.0] * 4 and set(call["error_type"]) == {"ZeroDivisionError"}

    def test_long_attempts_keep_their_lease(self) -> None:
        workload = Workload.from_records([{"at": 0, "job_type": "report"}] * 3)
        result = Simulation(workers=2, behaviors={"report": Behavior(duration=constant(600))}).run(
            workload
        )
        assert (result.jobs["status"] == "completed").all()
        assert result.stats.loc["global", ["reclaimed", "lease_lost"]].sum() == 0
        assert list(result.jobs["run_s"]) == [600.0] * 3

    def test_job_types_without_behavior_or_handler_use_the_default(self) -> None:
        workload = Workload.from_records([{"at": 0, "job_type": "unknown"}])
        result = Simulation(default_behavior=Behavior(duration=constant(3))).run(workload)
        assert list(result.jobs["run_s"]) == [3.0]


class TestUntilAndQueues:
    def test_until_stops_mid_run(self) -> None:
        workload = Workload.from_records([{"at": n, "job_type": "slow"} for n in range(10)])
        result = Simulation(workers=1, behaviors={"slow": Behavior(duration=constant(4))}).run(
            workload, until=10
        )
        assert result.end == START + timedelta(seconds=10)
        statuses = result.jobs["status"].astype(str).value_counts().to_dict()
        assert statuses == {"completed": 2, "running": 1, "pending": 7}
        cut = result.attempts[result.attempts["outcome"] == "running"]
        assert len(cut) == 1 and pd.isna(cut["finished_at"].iloc[0])

    def test_until_before_late_arrivals_leaves_them_out(self) -> None:
        workload = Workload.from_records([{"at": 0, "job_type": "a"}, {"at": 100, "job_type": "a"}])
        result = Simulation().run(workload, until=START + timedelta(seconds=50))
        assert len(result.jobs) == 1

    def test_workers_serve_only_their_queues(self) -> None:
        workload = Workload.from_records(
            [
                {"at": 0, "job_type": "a", "queue": "fast"},
                {"at": 0, "job_type": "a", "queue": "slow"},
            ]
        )
        result = Simulation(queues=["fast"]).run(workload)
        by_queue = result.jobs.set_index("queue", drop=False)["status"].astype(str)
        assert by_queue["fast"] == "completed" and by_queue["slow"] == "pending"


class TestProgressAndErrors:
    def test_progress_is_reported(self) -> None:
        calls: list[tuple[int, int]] = []
        workload = Workload.poisson(50, count=20_000, seed=1, job_type="t")
        Simulation(workers=80, behaviors={"t": Behavior(duration=constant(1))}).run(
            workload, progress=lambda done, total: calls.append((done, total))
        )
        assert calls[-1] == (20_000, 20_000)
        assert len(calls) >= 2 and all(t == 20_000 for _, t in calls)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"workers": 0}, "workers=0"),
            ({"sample_every": 0}, "sample_every=0"),
        ],
    )
    def test_bad_settings_are_named(self, kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
        with pytest.raises(ValueError, match=message):
            Simulation(**kwargs)

    def test_bad_until_is_named(self) -> None:
        with pytest.raises(ValueError, match="until=-1"):
            Simulation().run(Workload(), until=-1)

    def test_an_empty_workload_gives_empty_frames(self) -> None:
        result = Simulation().run(Workload())
        assert len(result.jobs) == 0 and len(result.attempts) == 0
        assert str(result.jobs["enqueued_at"].dtype) == "datetime64[ns, UTC]"
        assert result.summary().loc[("all", "all"), "jobs"] == 0
