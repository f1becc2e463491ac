"""Reusable Hypothesis strategies for valid jobkit jobs and their parts (import from tests)."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from jobkit.core.model import (
    MAX_JOB_TYPE_LENGTH,
    Job,
    JobError,
    JobStatus,
    Priority,
    build_job,
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

#: A few fixed offsets: build_job must normalise every one of them to UTC.
TIMEZONES = (
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-8)),
    timezone(timedelta(hours=14)),
)

#: Kept well inside datetime's range so adding retry delays can never overflow.
MIN_DT = datetime(2000, 1, 1)
MAX_DT = datetime(2100, 1, 1)

NAME_ALPHABET = string.ascii_letters + string.digits + "_.-"


def aware_datetimes() -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes in a handful of UTC offsets."""
    return st.datetimes(min_value=MIN_DT, max_value=MAX_DT, timezones=st.sampled_from(TIMEZONES))


def utc_datetimes() -> st.SearchStrategy[datetime]:
    """Timezone-aware UTC datetimes (what a Job holds)."""
    return st.datetimes(min_value=MIN_DT, max_value=MAX_DT, timezones=st.just(UTC))


def names() -> st.SearchStrategy[str]:
    """Valid queue names / tenant ids: 1-64 of A-Z a-z 0-9 _ . -"""
    return st.text(alphabet=NAME_ALPHABET, min_size=1, max_size=64)


def job_types() -> st.SearchStrategy[str]:
    """Any non-blank string of at most MAX_JOB_TYPE_LENGTH characters."""
    return st.text(min_size=1, max_size=MAX_JOB_TYPE_LENGTH).filter(lambda s: s.strip() != "")


def job_ids() -> st.SearchStrategy[str]:
    """Valid job ids: non-empty strings of at most 128 characters."""
    return st.text(min_size=1, max_size=128)


def priorities() -> st.SearchStrategy[Priority | str]:
    """A Priority member or its name in lower or upper case."""
    return st.one_of(
        st.sampled_from(list(Priority)),
        st.sampled_from([p.value for p in Priority]),
        st.sampled_from([p.value.upper() for p in Priority]),
    )


def json_values(max_leaves: int = 10) -> st.SearchStrategy[Any]:
    """Arbitrary JSON values (no NaN or infinities; string keys only)."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=10), children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


def json_dicts() -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects, as args and metadata are."""
    return st.dictionaries(st.text(max_size=10), json_values(), max_size=5)


def build_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments (job_type and args included) that `build_job` accepts."""
    return st.fixed_dictionaries(
        {
            "job_type": job_types(),
            "args": st.one_of(st.none(), json_dicts()),
            "id": job_ids(),
            "now": aware_datetimes(),
            "queue": names(),
            "priority": priorities(),
            "max_retries": st.integers(min_value=0, max_value=1000),
            "run_at": st.one_of(st.none(), aware_datetimes()),
            "tenant_id": st.one_of(st.none(), names()),
            "metadata": st.one_of(st.none(), json_dicts()),
        }
    )


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
