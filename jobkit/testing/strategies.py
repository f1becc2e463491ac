"""Hypothesis strategies for jobkit: valid jobs, workloads and retry policies.

    from hypothesis import given
    from jobkit.testing.strategies import jobs, retry_policies

    @given(jobs(job_types=["email.send"]), retry_policies())
    def test_my_handler_survives_any_retry_policy(job, policy): ...

Everything drawn is valid (what `create_job`, `Workload` and `RetryPolicy` accept), so a
property test exercises the code under test, not jobkit's input checks. The building
blocks (`json_dicts`, `names`, `priorities`, ...) are public too.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from jobkit.clock import FAKE_EPOCH
from jobkit.core.model import MAX_JOB_TYPE_LENGTH, Job, Priority, build_job
from jobkit.core.retry import MAX_SECONDS, RetryPolicy

__all__ = [
    "aware_datetimes",
    "build_kwargs",
    "job_ids",
    "job_types",
    "jobs",
    "json_dicts",
    "json_values",
    "names",
    "priorities",
    "retry_policies",
    "utc_datetimes",
    "workloads",
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


def _one_of_or(
    values: Sequence[Any] | None, fallback: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    return st.sampled_from(list(values)) if values is not None else fallback


def jobs(
    *,
    job_types: Sequence[str] | None = None,
    args: st.SearchStrategy[dict[str, Any]] | None = None,
    queues: Sequence[str] | None = None,
    tenants: Sequence[str | None] | None = None,
    now: datetime | None = None,
    scheduled: bool | None = None,
) -> st.SearchStrategy[Job]:
    """New valid jobs (pending, or scheduled for later), as `create_job` makes them.

    Args:
        job_types / queues / tenants: draw from these (default: any valid value; tenants
            may be None).
        args: a strategy for the args (default: any JSON object).
        now: the creation time (default: any time; pass your FakeClock's now).
        scheduled: True: always in the future; False: never; None: either.
    """
    base = build_kwargs()

    @st.composite
    def build(draw: st.DrawFn) -> Job:
        kw = draw(base)
        if job_types is not None:
            kw["job_type"] = draw(st.sampled_from(list(job_types)))
        if queues is not None:
            kw["queue"] = draw(st.sampled_from(list(queues)))
        if tenants is not None:
            kw["tenant_id"] = draw(st.sampled_from(list(tenants)))
        if args is not None:
            kw["args"] = draw(args)
        if now is not None:
            kw["now"] = now
        if scheduled is not None:
            later = st.integers(min_value=1, max_value=10**6).map(
                lambda s: kw["now"] + timedelta(seconds=s)
            )
            kw["run_at"] = draw(later) if scheduled else None
        return build_job(**kw)

    return build()


def retry_policies(
    jitter: st.SearchStrategy[float] | None = None,
) -> st.SearchStrategy[RetryPolicy]:
    """Any valid RetryPolicy: the default, schedules, exponential, linear, constant.

    `jitter` draws the jitter fraction (default: 0 to 1); pass `st.just(0.0)` for
    policies whose delays are exact."""
    jitters = jitter if jitter is not None else st.floats(min_value=0, max_value=1)
    seconds = st.floats(min_value=0, max_value=1e6, allow_nan=False)
    caps = st.one_of(st.none(), st.floats(min_value=0, max_value=MAX_SECONDS))
    return st.one_of(
        st.just(RetryPolicy.default()),
        st.builds(
            RetryPolicy.schedule,
            st.lists(st.floats(min_value=0, max_value=MAX_SECONDS), min_size=1, max_size=5),
            jitter=jitters,
        ),
        st.builds(
            RetryPolicy.exponential,
            seconds,
            factor=st.floats(min_value=1, max_value=1e6),
            max_delay=caps,
            jitter=jitters,
        ),
        st.builds(RetryPolicy.linear, seconds, max_delay=caps, jitter=jitters),
        st.builds(
            RetryPolicy.constant, st.floats(min_value=0, max_value=MAX_SECONDS), jitter=jitters
        ),
    )


def workloads(
    *,
    job_types: Sequence[str] = ("job",),
    max_arrivals: int = 50,
    span: float = 3600.0,
    start: datetime = FAKE_EPOCH,
    tenants: Sequence[str] | None = None,
) -> st.SearchStrategy[Any]:
    """`jobkit.sim.Workload`s of up to `max_arrivals` arrivals within `span` seconds, with
    drawn job types, priorities, queues and (if given) tenants."""
    from jobkit.sim.workload import Workload

    record = st.fixed_dictionaries(
        {
            "at": st.floats(min_value=0, max_value=span, allow_nan=False),
            "job_type": st.sampled_from(list(job_types)),
            "priority": st.sampled_from([p.value for p in Priority]),
            "queue": st.sampled_from(["default", "mail", "reports"]),
        },
        optional={
            "args": json_dicts(),
            **({"tenant_id": st.sampled_from(list(tenants))} if tenants else {}),
        },
    )
    return st.lists(record, max_size=max_arrivals).map(
        lambda records: Workload.from_records(records, start=start)
    )
