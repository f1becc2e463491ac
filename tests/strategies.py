"""Hypothesis strategies for jobkit's own tests: the public ones (jobkit.testing.strategies)
plus jobs in any status and errors, which only jobkit's tests need."""

from __future__ import annotations

from hypothesis import strategies as st

from jobkit.core.model import Job, JobError, JobStatus, build_job
from jobkit.testing.strategies import (
    aware_datetimes,
    build_kwargs,
    job_ids,
    job_types,
    json_dicts,
    json_values,
    names,
    priorities,
    utc_datetimes,
)

__all__ = [
    "any_jobs",
    "aware_datetimes",
    "build_kwargs",
    "job_errors",
    "job_ids",
    "job_types",
    "json_dicts",
    "json_values",
    "names",
    "priorities",
    "utc_datetimes",
    "valid_jobs",
]


def valid_jobs() -> st.SearchStrategy[Job]:
    """Fresh jobs (pending or scheduled) built by `build_job` from arbitrary valid inputs."""
    return build_kwargs().map(lambda kw: build_job(**kw))


def job_errors() -> st.SearchStrategy[JobError]:
    """Arbitrary JobErrors, with and without a traceback."""
    return st.builds(
        JobError,
        st.text(min_size=1, max_size=30),
        st.text(max_size=60),
        st.one_of(st.none(), st.text(max_size=200)),
    )


@st.composite
def any_jobs(draw: st.DrawFn) -> Job:
    """Valid jobs in any status with every optional field possibly filled in."""
    job = draw(valid_jobs())
    retries = draw(st.integers(min_value=0, max_value=job.max_retries))
    return job.evolve(
        status=draw(st.sampled_from(list(JobStatus))),
        retry_count=retries,
        updated_at=draw(utc_datetimes()),
        started_at=draw(st.one_of(st.none(), utc_datetimes())),
        finished_at=draw(st.one_of(st.none(), utc_datetimes())),
        result=draw(json_values()),
        error=draw(st.one_of(st.none(), job_errors())),
        reclaim_count=draw(st.integers(min_value=0, max_value=50)),
    )
