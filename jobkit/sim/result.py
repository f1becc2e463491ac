"""SimulationResult: what a run recorded, as typed pandas DataFrames.

- `jobs`: one row per job that arrived;
- `attempts`: one row per attempt, with its outcome and when the next one is due;
- `queue_depth`: pending / running / retrying jobs per queue and priority over time;
- `stats`: the backend's counters at the end (global, then per queue);
- `summary()`: throughput, waits (p50/p95/p99) and dead jobs, overall and per
  priority, tenant and job type;
- `compare({...})`: several results' summaries in one tidy frame.

Times are `datetime64[ns, UTC]`; priority, status and outcome are categoricals; the
same workload and seed give frames that are `DataFrame.equals`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from jobkit.core.model import PRIORITIES, JobStatus
from jobkit.core.stats import COUNTERS
from jobkit.frames import _pandas
from jobkit.sim.engine import ATTEMPT_FIELDS, STATUS_CODES, Recorder, Simulation

if TYPE_CHECKING:
    import pandas as pd

    from jobkit.sim.workload import Workload

_PRIORITY_NAMES = [p.value for p in PRIORITIES]
_STATUS_NAMES = [s.value for s in JobStatus]
#: attempt outcomes: the job's status after the attempt, or lease_lost when refused
OUTCOMES: tuple[str, ...] = ("completed", "retrying", "dead", "running", "lease_lost")
_OUTCOME_OF_CODE = {**{i: s.value for i, s in enumerate(STATUS_CODES)}, -1: "lease_lost"}
_STATUS_CODE_INDEX = {s: i for i, s in enumerate(STATUS_CODES)}
_FINAL_STATUS_POSITIONS = [_STATUS_NAMES.index("completed"), _STATUS_NAMES.index("dead")]


def _code_table(names: Sequence[str], fallback: str) -> Any:
    """Recorder outcome code + 1 -> position in `names` (`fallback` where not there)."""
    return np.array(
        [
            names.index(name) if name in names else names.index(fallback)
            for name in (_OUTCOME_OF_CODE[c] for c in range(-1, len(STATUS_CODES)))
        ]
    )


#: recorder outcome code + 1 -> OUTCOMES position (attempts) / status position (jobs);
#: a job whose last attempt was refused (lease lost) is pending again
_OUTCOME_POSITIONS = _code_table(OUTCOMES, "lease_lost")
_OUTCOME_TO_STATUS = _code_table(_STATUS_NAMES, "pending")

JOB_COLUMNS: tuple[str, ...] = (
    "id",
    "job_type",
    "queue",
    "priority",
    "tenant_id",
    "status",
    "enqueued_at",
    "first_started_at",
    "finished_at",
    "attempts",
    "wait_s",
    "run_s",
    "turnaround_s",
)
ATTEMPT_COLUMNS: tuple[str, ...] = (
    "id",
    "attempt",
    "started_at",
    "finished_at",
    "outcome",
    "error_type",
    "next_run_at",
    "worker",
)
DEPTH_COLUMNS: tuple[str, ...] = ("at", "queue", "priority", "pending", "running", "retrying")
SUMMARY_COLUMNS: tuple[str, ...] = (
    "jobs",
    "completed",
    "dead",
    "unfinished",
    "attempts",
    "throughput_per_s",
    "wait_p50_s",
    "wait_p95_s",
    "wait_p99_s",
    "wait_max_s",
    "turnaround_p50_s",
    "turnaround_p95_s",
)


class SimulationResult:
    """The frames of one simulation run (built on first use, then cached)."""

    def __init__(self, recorder: Recorder, simulation: Simulation, workload: Workload) -> None:
        self._rec = recorder
        self.workers = simulation.workers
        self.seed = simulation.seed
        self.backend_url = simulation.backend_url
        self.retry_policy = simulation.retry_policy
        self.workload_name = workload.name
        self.start = recorder.start
        self.end = recorder.start + timedelta(microseconds=recorder.end_us)

    # -- frames ------------------------------------------------------------------------

    @cached_property
    def jobs(self) -> pd.DataFrame:
        """One row per arrived job: JOB_COLUMNS. `wait_s` is the time from enqueue to the
        first start; `run_s` the time spent in finished attempts; `turnaround_s` enqueue
        to the final outcome (completed or dead; NaN while unfinished)."""
        pd = _pandas()
        rec = self._rec
        n = rec.arrived
        enqueued = _ints(rec.enqueued, n)
        kinds = np.array(rec.kinds, dtype="int64").reshape(-1, 4)[_ints(rec.kind, n)]
        col = self._attempt_columns
        job, started, finished = col["job"], col["started"], col["finished"]
        first_started = np.full(n, -1, dtype="int64")
        attempts = np.zeros(n, dtype="int64")
        outcome = np.full(n, _STATUS_CODE_INDEX[JobStatus.PENDING], dtype="int64")
        ended = np.full(n, -1, dtype="int64")
        if len(job):
            jobs_run, first, count = np.unique(job, return_index=True, return_counts=True)
            last = first + count - 1  # rows are sorted by job, then attempt
            first_started[jobs_run] = started[first]
            attempts[jobs_run] = col["number"][last]
            outcome[jobs_run] = col["outcome"][last]
            ended[jobs_run] = finished[last]
        status = _OUTCOME_TO_STATUS[outcome + 1]
        final = np.isin(status, _FINAL_STATUS_POSITIONS)
        ended = np.where(final, ended, -1)
        spent = np.where(finished < 0, 0, finished - started)
        run_us = np.bincount(job, weights=spent, minlength=n)[:n] if len(job) else np.zeros(n)
        return pd.DataFrame(
            {
                "id": self._ids(np.arange(n)),
                "job_type": _categorical(rec.names["job_type"], kinds[:, 0]),
                "queue": _categorical(rec.names["queue"], kinds[:, 1]),
                "priority": pd.Categorical.from_codes(
                    kinds[:, 2], categories=_PRIORITY_NAMES, ordered=True
                ),
                "tenant_id": _categorical(rec.names["tenant"], kinds[:, 3]),
                "status": pd.Categorical.from_codes(status, categories=_STATUS_NAMES),
                "enqueued_at": self._times(enqueued),
                "first_started_at": self._times(first_started),
                "finished_at": self._times(ended),
                "attempts": attempts,
                "wait_s": _seconds(first_started, enqueued),
                "run_s": run_us / 1e6,
                "turnaround_s": _seconds(ended, enqueued),
            }
        )

    @cached_property
    def _attempt_columns(self) -> dict[str, np.ndarray]:
        """The recorded attempts as int64 columns (ATTEMPT_FIELDS), by job then attempt."""
        rows = _ints(self._rec.attempt_rows).reshape(-1, len(ATTEMPT_FIELDS))
        rows = rows[np.lexsort((rows[:, 1], rows[:, 0]))]
        return dict(zip(ATTEMPT_FIELDS, rows.T, strict=True))

    @cached_property
    def attempts(self) -> pd.DataFrame:
        """One row per attempt, by job then attempt number: ATTEMPT_COLUMNS. `outcome`
        is the job's status after the attempt (completed, retrying, dead), `running` for
        an attempt cut off by `until`, or `lease_lost`; `next_run_at` is when a
        retrying job's next attempt is due."""
        pd = _pandas()
        column = self._attempt_columns
        return pd.DataFrame(
            {
                "id": self._ids(column["job"]),
                "attempt": column["number"],
                "started_at": self._times(column["started"]),
                "finished_at": self._times(column["finished"]),
                "outcome": pd.Categorical.from_codes(
                    _OUTCOME_POSITIONS[column["outcome"] + 1], categories=list(OUTCOMES)
                ),
                "error_type": _categorical(self._rec.names["error"], column["error"]),
                "next_run_at": self._times(column["next"]),
                "worker": column["worker"],
            }
        )

    @cached_property
    def queue_depth(self) -> pd.DataFrame:
        """Samples over time, one row per (at, queue, priority): DEPTH_COLUMNS.
        `pending` is ready to run, `running` in a worker's hands, `retrying` waiting
        for its next attempt."""
        pd = _pandas()
        rows = np.array(self._rec.depth, dtype="int64").reshape(-1, 6)
        return pd.DataFrame(
            {
                "at": self._times(rows[:, 0]),
                "queue": _categorical(self._rec.names["queue"], rows[:, 1]),
                "priority": pd.Categorical.from_codes(
                    rows[:, 2], categories=_PRIORITY_NAMES, ordered=True
                ),
                "pending": rows[:, 3],
                "running": rows[:, 4],
                "retrying": rows[:, 5],
            }
        )

    @cached_property
    def stats(self) -> pd.DataFrame:
        """The backend's counters when the run ended: one row `global`, then one per queue."""
        pd = _pandas()
        frame = pd.DataFrame(
            [
                {"scope": scope, **{c: counters.get(c, 0) for c in COUNTERS}}
                for scope, counters in self._rec.counters
            ]
        )
        return frame.set_index("scope").astype("int64")

    def summary(self) -> pd.DataFrame:
        """Throughput, waits and outcomes: a row for all jobs, then one per priority,
        tenant (when jobs carry tenants) and job type; columns SUMMARY_COLUMNS, indexed
        by (scope, group). Waits are seconds from enqueue to first start."""
        pd = _pandas()
        jobs = self.jobs
        attempts = self.attempts
        span = (self.end - self.start).total_seconds()
        rows = [_summary_row("all", "all", jobs, len(attempts), span)]
        per_job = attempts.groupby("id", sort=False).size()
        for scope, column in (
            ("priority", "priority"),
            ("tenant", "tenant_id"),
            ("job_type", "job_type"),
        ):
            if column == "tenant_id" and jobs[column].isna().all():
                continue
            for group, part in jobs.groupby(column, observed=True, sort=True, dropna=False):
                label = "(none)" if pd.isna(group) else str(group)
                count = int(per_job.reindex(part["id"]).fillna(0).sum())
                rows.append(_summary_row(scope, label, part, count, span))
        frame = pd.DataFrame(rows).set_index(["scope", "group"])
        return frame[list(SUMMARY_COLUMNS)]

    # -- writing --------------------------------------------------------------------------

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every frame by name: jobs, attempts, queue_depth, stats, summary."""
        return {
            "jobs": self.jobs,
            "attempts": self.attempts,
            "queue_depth": self.queue_depth,
            "stats": self.stats,
            "summary": self.summary(),
        }

    def to_csv(self, directory: str | Path) -> Path:
        """Write each frame to `<directory>/<name>.csv` (created if missing); the directory."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in self.frames().items():
            keep_index = name in ("stats", "summary")
            frame.to_csv(out / f"{name}.csv", index=keep_index)
        return out

    def to_parquet(self, directory: str | Path) -> Path:
        """Write each frame to `<directory>/<name>.parquet` (needs pyarrow); the directory.
        Column types (datetimes, categoricals) survive the round trip."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in self.frames().items():
            frame.to_parquet(out / f"{name}.parquet")
        return out

    def __repr__(self) -> str:
        counts = self.jobs["status"].value_counts()
        shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        label = f" {self.workload_name!r}" if self.workload_name else ""
        return (
            f"SimulationResult{label}({len(self.jobs)} jobs, {self.workers} workers, "
            f"seed {self.seed}: {shown or 'nothing ran'})"
        )

    def _repr_html_(self) -> str:
        """An HTML overview for Jupyter: the run's parameters and its `summary()` for
        all jobs and per priority, escaped (`jobkit.core.display.table_html`)."""
        from jobkit.core.display import Markup, escape, fields_html, format_duration, table_html

        summary = self.summary()
        rows = []
        for (scope, group), row in summary.iterrows():
            if scope not in ("all", "priority"):
                continue
            rows.append(
                [
                    "all jobs" if scope == "all" else group,
                    int(row["jobs"]),
                    int(row["completed"]),
                    int(row["dead"]),
                    int(row["unfinished"]),
                    int(row["attempts"]),
                    _number(row["throughput_per_s"], "{:.3g}/s"),
                    _number(row["wait_p50_s"], "{:.3g} s"),
                    _number(row["wait_p95_s"], "{:.3g} s"),
                    _number(row["wait_max_s"], "{:.3g} s"),
                ]
            )
        title = "SimulationResult" + (f" {self.workload_name!r}" if self.workload_name else "")
        params = fields_html(
            [
                ("workers", self.workers),
                ("seed", self.seed),
                ("backend", self.backend_url),
                ("retry policy", self.retry_policy),
                (
                    "simulated",
                    f"{format_duration((self.end - self.start).total_seconds())} "
                    f"from {self.start.isoformat()}",
                ),
            ],
            caption=Markup(f"<b>{escape(title)}</b>"),
        )
        table = table_html(
            rows,
            [
                "",
                "jobs",
                "completed",
                "dead",
                "unfinished",
                "attempts",
                "throughput",
                "wait p50",
                "wait p95",
                "wait max",
            ],
            css_class="jobkit-summary",
        )
        return f'<div class="jobkit-simulation">{params}{table}</div>'

    # -- helpers ---------------------------------------------------------------------------

    def _ids(self, numbers: np.ndarray) -> list[str]:
        """The job ids of arrival numbers (as the engine named them)."""
        width = len(str(max(len(self._rec.enqueued) - 1, 0)))
        name = f"sim-{{:0{width}d}}".format
        return [name(i) for i in numbers.tolist()]

    def _times(self, us: np.ndarray) -> pd.Series:
        """µs offsets from the start as datetime64[ns, UTC]; negative means NaT."""
        pd = _pandas()
        start_ns = pd.Timestamp(self.start).value
        ns = np.where(us < 0, np.iinfo("int64").min, us * 1000 + start_ns)
        return pd.Series(ns.view("datetime64[ns]")).dt.tz_localize("UTC")


def compare(results: dict[str, SimulationResult] | Any) -> pd.DataFrame:
    """Several results' summaries as one tidy DataFrame: one row per (scenario, scope,
    group) with the SUMMARY_COLUMNS, ready for side-by-side plots, e.g.
    `compare({"3 workers": r3, "5 workers": r5})`."""
    pd = _pandas()
    if not results:
        raise ValueError("compare() needs at least one result, e.g. {'5 workers': result}")
    parts = []
    for name, result in results.items():
        if not isinstance(result, SimulationResult):
            raise TypeError(
                f"compare() got {type(result).__name__} for {name!r}; pass SimulationResults"
            )
        part = result.summary().reset_index()
        part.insert(0, "scenario", name)
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    frame["scenario"] = pd.Categorical(frame["scenario"], categories=list(results), ordered=True)
    return frame


def _summary_row(
    scope: str, group: str, jobs: pd.DataFrame, attempts: int, span: float
) -> dict[str, Any]:
    status = jobs["status"]
    completed = int((status == "completed").sum())
    dead = int((status == "dead").sum())
    wait = jobs["wait_s"].dropna()
    turnaround = jobs.loc[status == "completed", "turnaround_s"]
    return {
        "scope": scope,
        "group": group,
        "jobs": len(jobs),
        "completed": completed,
        "dead": dead,
        "unfinished": len(jobs) - completed - dead,
        "attempts": attempts,
        "throughput_per_s": completed / span if span > 0 else float("nan"),
        "wait_p50_s": _quantile(wait, 0.50),
        "wait_p95_s": _quantile(wait, 0.95),
        "wait_p99_s": _quantile(wait, 0.99),
        "wait_max_s": float(wait.max()) if len(wait) else float("nan"),
        "turnaround_p50_s": _quantile(turnaround, 0.50),
        "turnaround_p95_s": _quantile(turnaround, 0.95),
    }


def _number(value: float, template: str) -> str:
    """`value` through `template`, or an empty string for NaN."""
    return "" if value != value else template.format(value)


def _quantile(values: pd.Series, q: float) -> float:
    return float(values.quantile(q)) if len(values) else float("nan")


def _ints(column: Any, n: int | None = None) -> np.ndarray:
    values = (
        np.frombuffer(column, dtype=f"i{column.itemsize}") if len(column) else np.zeros(0, "int64")
    )
    return (values if n is None else values[:n]).astype("int64")


def _categorical(names: list[str | None], codes: np.ndarray) -> pd.Categorical:
    """Interned codes as a categorical of the names (None becomes missing)."""
    pd = _pandas()
    present = [n for n in names if n is not None]
    position = np.array([present.index(n) if n is not None else -1 for n in names] or [-1])
    return pd.Categorical.from_codes(position[codes] if len(codes) else codes, categories=present)


def _seconds(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    return np.where(later < 0, np.nan, (later - earlier) / 1e6)
