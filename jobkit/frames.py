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

    from jobkit.kit import JobKit
    from jobkit.ports import JobBackend

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
