"""jobkit.frames: live state as typed DataFrames."""

import pandas as pd

import jobkit
from jobkit.core.stats import COUNTERS
from jobkit.frames import JOB_COLUMNS


def make_kit():
    kit = jobkit.connect("memory://", clock=jobkit.FakeClock())
    kit.register("ok", lambda args: {"n": args["n"]})
    kit.register("bad", lambda args: jobkit.Failure("nope", type="Nope", retryable=False))
    return kit


def test_jobs_frame_has_one_typed_row_per_job():
    kit = make_kit()
    kit.enqueue("ok", {"n": 1}, priority="high")
    kit.enqueue("bad", priority="bulk", tenant_id="acme")
    kit.schedule("ok", {"n": 2}, delay=60)
    kit.run_until_idle()

    frame = kit.jobs_frame()

    assert list(frame.columns) == list(JOB_COLUMNS)
    assert len(frame) == 3
    for col in ("created_at", "run_at", "started_at", "finished_at", "updated_at"):
        assert str(frame[col].dtype) == "datetime64[ns, UTC]"
    assert frame["priority"].cat.ordered
    assert list(frame["priority"].cat.categories) == ["critical", "high", "default", "low", "bulk"]
    assert set(frame["status"].cat.categories) == {s.value for s in jobkit.JobStatus}
    by_type = frame.set_index("job_type")
    assert frame["status"].tolist() == ["completed", "dead", "scheduled"]
    assert by_type.loc["bad", "error_type"] == "Nope"
    assert by_type.loc["bad", "tenant_id"] == "acme"
    assert frame["attempts"].tolist() == [1, 1, 0]
    assert pd.isna(frame.loc[2, "started_at"])


def test_jobs_frame_filters_and_is_reproducible():
    kit = make_kit()
    for n in range(5):
        kit.enqueue("ok", {"n": n})
    kit.enqueue("bad")
    kit.run_until_idle()

    assert len(kit.jobs_frame(job_type="ok")) == 5
    assert len(kit.jobs_frame(status="dead")) == 1
    assert kit.jobs_frame().equals(kit.jobs_frame())


def test_empty_jobs_frame_keeps_its_types():
    frame = make_kit().jobs_frame()
    assert frame.empty
    assert str(frame["run_at"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["retry_count"].dtype) == "int64"


def test_stats_frame_has_global_and_per_queue_rows():
    kit = make_kit()
    kit.enqueue("ok", {"n": 1})
    kit.enqueue("ok", {"n": 2}, queue="mail")
    kit.enqueue("bad", queue="mail")
    kit.run_until_idle()

    frame = kit.stats_frame()

    assert list(frame.index) == ["global", "default", "mail"]
    assert set(COUNTERS) <= set(frame.columns)
    assert frame.loc["global", "processed"] == 3
    assert frame.loc["mail", "dead"] == 1
    assert frame.loc["default", "completed"] == 1
    assert (frame.dtypes == "int64").all()
