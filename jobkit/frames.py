"""Live state as pandas DataFrames (pandas is imported only here).

Columns are typed: datetimes are `datetime64[ns, UTC]`, priority and status are
ordered categoricals, counts are int64, so frames compare with `DataFrame.equals`
and plot without conversion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobkit.core.model import PRIORITIES, Job, JobStatus
from jobkit.core.stats import COUNTERS

if TYPE_CHECKING:
    import pandas as pd

    from jobkit.core.retry import RetryPolicy
    from jobkit.kit import JobKit
    from jobkit.ports import JobBackend
    from jobkit.sim.result import SimulationResult

JOB_COLUMNS: tuple[str, ...] = (
    "id",
    "job_type",
    "queue",
    "priority",
    "status",
    "tenant_id",
    "retry_count",
    "max_retries",
    "attempts",
    "reclaim_count",
    "created_at",
    "run_at",
    "started_at",
    "finished_at",
    "updated_at",
    "error_type",
    "error_message",
    "result",
    "args",
)
_TIME_COLUMNS = ("created_at", "run_at", "started_at", "finished_at", "updated_at")
_INT_COLUMNS = ("retry_count", "max_retries", "attempts", "reclaim_count")


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("jobkit.frames needs pandas: pip install 'jobkit[notebook]'") from exc
    return pandas


def _backend(source: JobKit | JobBackend) -> JobBackend:
    from jobkit.kit import JobKit

    return source.backend if isinstance(source, JobKit) else source


def job_rows(jobs: list[Job]) -> list[dict[str, Any]]:
    """One plain dict per job with the JOB_COLUMNS keys."""
    return [
        {
            "id": j.id,
            "job_type": j.job_type,
            "queue": j.queue,
            "priority": j.priority.value,
            "status": j.status.value,
            "tenant_id": j.tenant_id,
            "retry_count": j.retry_count,
            "max_retries": j.max_retries,
            "attempts": j.attempts,
            "reclaim_count": j.reclaim_count,
            "created_at": j.created_at,
            "run_at": j.run_at,
            "started_at": j.started_at,
            "finished_at": j.finished_at,
            "updated_at": j.updated_at,
            "error_type": j.error.type if j.error else None,
            "error_message": j.error.message if j.error else None,
            "result": j.result,
            "args": j.args,
        }
        for j in jobs
    ]


def jobs_to_frame(jobs: list[Job]) -> pd.DataFrame:
    """A typed DataFrame with one row per job, columns JOB_COLUMNS."""
    pd = _pandas()
    frame = pd.DataFrame(job_rows(jobs), columns=list(JOB_COLUMNS))
    for col in _TIME_COLUMNS:
        frame[col] = pd.to_datetime(frame[col], utc=True).astype("datetime64[ns, UTC]")
    for col in _INT_COLUMNS:
        frame[col] = frame[col].astype("int64")
    frame["priority"] = pd.Categorical(
        frame["priority"], categories=[p.value for p in PRIORITIES], ordered=True
    )
    frame["status"] = pd.Categorical(frame["status"], categories=[s.value for s in JobStatus])
    return frame


def jobs_frame(source: JobKit | JobBackend, **filters: Any) -> pd.DataFrame:
    """Every job of a kit or backend (or those matching `find` filters) as a DataFrame."""
    filters.setdefault("limit", None)
    return jobs_to_frame(source.find(**filters))  # a kit's find is tenant-scoped


def stats_frame(source: JobKit | JobBackend) -> pd.DataFrame:
    """Counters and jobs per status: one row for `global`, then one per queue."""
    pd = _pandas()
    backend = _backend(source)
    scopes = [("global", backend.stats())] + [(q, backend.queue_stats(q)) for q in backend.queues()]
    rows = []
    for scope, stats in scopes:
        row: dict[str, Any] = {"scope": scope}
        row.update({name: stats[name] for name in COUNTERS})
        row.update({s.value: stats.statuses.get(s.value, 0) for s in JobStatus})
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("scope")
    return frame.astype("int64")


# -- live views (what the Dashboard shows) ----------------------------------------------

DEPTH_COLUMNS: tuple[str, ...] = ("queue", "priority", "pending")


def depth_frame(source: JobKit | JobBackend) -> pd.DataFrame:
    """Ready (pending) jobs per queue and priority right now: one row per known queue x
    every priority (most urgent first), columns DEPTH_COLUMNS; `pending` is int64 and
    `priority` an ordered categorical. Empty (with the columns) when no queue exists."""
    pd = _pandas()
    backend = _backend(source)
    rows = [
        {"queue": queue, "priority": priority.value, "pending": n}
        for queue in backend.queues()
        for priority, n in sorted(backend.sizes(queue).items(), key=lambda item: item[0].rank)
    ]
    frame = pd.DataFrame(rows, columns=list(DEPTH_COLUMNS))
    frame["queue"] = frame["queue"].astype("object")
    frame["priority"] = pd.Categorical(
        frame["priority"], categories=[p.value for p in PRIORITIES], ordered=True
    )
    frame["pending"] = frame["pending"].astype("int64")
    return frame


def status_counts(source: JobKit | JobBackend) -> dict[str, int]:
    """Jobs in each status right now, every JobStatus present (in JobStatus order).

    Counts cover the whole backend (a tenant-scoped kit sees every tenant's counts)."""
    statuses = _backend(source).stats().statuses
    return {s.value: int(statuses.get(s.value, 0)) for s in JobStatus}


def processed_total(source: JobKit | JobBackend) -> int:
    """The backend's `processed` counter: attempts finished so far, either way."""
    return int(_backend(source).stats()["processed"])


def throughput(processed_before: int, processed_after: int, seconds: float) -> float:
    """Attempts finished per second between two readings of `processed_total` taken
    `seconds` apart; 0.0 when no time passed (or the counter went back, e.g. a clear)."""
    if seconds <= 0 or processed_after < processed_before:
        return 0.0
    return (processed_after - processed_before) / seconds


def dead_letters_frame(source: JobKit | JobBackend, limit: int | None = 20) -> pd.DataFrame:
    """The dead-letter queue, NEWEST death first, at most `limit` jobs (None: all), as a
    `jobs_to_frame` frame (JOB_COLUMNS). A kit only sees its own tenant's dead jobs."""
    jobs = source.dead_letters(None)  # oldest death first, on every backend
    jobs.reverse()
    return jobs_to_frame(jobs if limit is None else jobs[: max(limit, 0)])


def recent_jobs_frame(source: JobKit | JobBackend, limit: int = 10) -> pd.DataFrame:
    """The job as stored after each of the `limit` most recent attempts a worker finished
    (completed, retrying or dead), newest first (the backend's `history`), as a
    `jobs_to_frame` frame. A tenant-scoped kit only sees its own tenant's jobs."""
    backend = _backend(source)
    tenant = getattr(source, "tenant_id", None)
    if limit <= 0:
        return jobs_to_frame([])
    if tenant is None:
        return jobs_to_frame(backend.history(limit=limit))
    jobs = [j for j in backend.history(limit=max(limit * 20, 200)) if j.tenant_id == tenant]
    return jobs_to_frame(jobs[:limit])


# -- retry policies (what the RetryTimeline shows) --------------------------------------

RETRY_SCHEDULE_COLUMNS: tuple[str, ...] = ("attempt", "delay_s", "at_s")


def retry_schedule_frame(
    policy: RetryPolicy, max_retries: int = 3, *, jitter_bounds: bool = False
) -> pd.DataFrame:
    """When each attempt of a job that always fails would start under `policy`: one row
    per attempt (1 .. max_retries + 1), columns RETRY_SCHEDULE_COLUMNS: `delay_s` is the
    wait before that attempt (0 for the first), `at_s` its start in seconds after the
    first start (`policy.timeline`, no jitter). With `jitter_bounds=True` two more
    columns, `earliest_s` / `latest_s`, give the range jitter can move each start to.
    Raises InvalidPolicyError for a negative `max_retries`."""
    from jobkit.core.errors import InvalidPolicyError

    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidPolicyError("max_retries", max_retries, "must be an int >= 0")
    pd = _pandas()
    offsets = [t.total_seconds() for t in policy.timeline(max_retries)]
    delays = [0.0] + [policy.nominal_seconds(n) for n in range(1, max_retries + 1)]
    frame = pd.DataFrame(
        {
            "attempt": pd.Series(range(1, max_retries + 2), dtype="int64"),
            "delay_s": pd.Series(delays, dtype="float64"),
            "at_s": pd.Series(offsets, dtype="float64"),
        }
    )
    if jitter_bounds:
        low = [min(d * (1 - policy.jitter), _cap_of(policy)) for d in delays]
        high = [min(d * (1 + policy.jitter), _cap_of(policy)) for d in delays]
        frame["earliest_s"] = pd.Series(low, dtype="float64").cumsum()
        frame["latest_s"] = pd.Series(high, dtype="float64").cumsum()
    return frame


def _cap_of(policy: RetryPolicy) -> float:
    from jobkit.core.retry import MAX_SECONDS

    return MAX_SECONDS if policy.max_delay is None else min(policy.max_delay, MAX_SECONDS)


# -- simulation results (what the SimulationExplorer shows) -----------------------------


def simulation_job_ids(result: SimulationResult, limit: int | None = None) -> list[str]:
    """Job ids of a simulation for a picker: jobs with more than one attempt first (most
    attempts first, then by id), then the others by id; at most `limit` (None: all)."""
    jobs = result.jobs
    if jobs.empty:
        return []
    order = jobs.assign(_many=jobs["attempts"] > 1).sort_values(
        ["_many", "attempts", "id"], ascending=[False, False, True], kind="stable"
    )
    many = order[order["_many"]]["id"].tolist()
    rest = sorted(jobs.loc[jobs["attempts"] <= 1, "id"].tolist())
    ids = many + rest
    return ids if limit is None else ids[:limit]


def simulation_attempts(result: SimulationResult, job_id: str) -> pd.DataFrame:
    """The rows of `result.attempts` for one job (by attempt number, index reset);
    empty with the same columns if the job never started. KeyError if no such job."""
    jobs = result.jobs
    if not (jobs["id"] == job_id).any():
        raise KeyError(f"no job {job_id!r} in this simulation; ids look like {_first_id(jobs)}")
    attempts = result.attempts
    return attempts[attempts["id"] == job_id].reset_index(drop=True)


def _first_id(jobs: pd.DataFrame) -> str:
    return repr(jobs["id"].iloc[0]) if len(jobs) else "(no jobs arrived)"


SIM_DEPTH_COLUMNS: tuple[str, ...] = ("at", "priority", "pending", "running", "retrying")


def simulation_depth(result: SimulationResult) -> pd.DataFrame:
    """`result.queue_depth` summed over queues: one row per (at, priority) sample,
    columns SIM_DEPTH_COLUMNS (counts int64, priority an ordered categorical)."""
    depth = result.queue_depth
    frame = (
        depth.groupby(["at", "priority"], observed=True, sort=True)[
            ["pending", "running", "retrying"]
        ]
        .sum()
        .reset_index()
    )
    for col in ("pending", "running", "retrying"):
        frame[col] = frame[col].astype("int64")
    return frame[list(SIM_DEPTH_COLUMNS)]
