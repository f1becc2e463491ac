"""SimulationExplorer: pick a simulated job, see its attempts; queue depth over time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd

from jobkit import frames
from jobkit.core.display import STATUS_COLORS, escape, format_duration
from jobkit.core.model import PRIORITIES
from jobkit.widgets._common import (
    close_tree,
    figure_html,
    frame_table,
    html_widget,
    new_figure,
    seconds_axis,
    seconds_text,
)

if TYPE_CHECKING:
    from jobkit.sim.result import SimulationResult

#: Most jobs the picker lists (jobs with retries first); `select` reaches any job.
MAX_OPTIONS = 1000
_OUTCOME_COLORS = {
    "completed": STATUS_COLORS["completed"],
    "retrying": STATUS_COLORS["retrying"],
    "dead": STATUS_COLORS["dead"],
    "running": STATUS_COLORS["running"],
    "lease_lost": "#7c3aed",
}
_PRIORITY_COLORS = dict(
    zip(
        (p.value for p in PRIORITIES),
        ("#dc2626", "#ea580c", "#2563eb", "#16a34a", "#6b7280"),
        strict=True,
    )
)
_ATTEMPT_COLUMNS = (
    "attempt",
    "started_at",
    "finished_at",
    "took_s",
    "outcome",
    "error_type",
    "next_run_at",
    "worker",
)


class SimulationExplorer(widgets.VBox):
    """Browse a SimulationResult: a job picker (`jobkit-job-picker`, jobs with more than
    one attempt first), the picked job's attempts on a timeline (`jobkit-attempts-plot`)
    and in a table (`jobkit-attempts-table`), and ready jobs per priority over time
    (`jobkit-depth-plot`). Root class `jobkit-simulation-explorer`."""

    def __init__(self, result: SimulationResult, *, max_options: int = MAX_OPTIONS) -> None:
        from jobkit.sim.result import SimulationResult

        if not isinstance(result, SimulationResult):
            raise TypeError(
                f"SimulationExplorer needs a SimulationResult (Simulation(...).run(workload)), "
                f"not {type(result).__name__}"
            )
        self.result = result
        ids = frames.simulation_job_ids(result, limit=max_options)
        self.picker = widgets.Dropdown(
            options=ids, value=ids[0] if ids else None, description="Job"
        )
        self.picker.add_class("jobkit-job-picker")
        self.job_info = html_widget("jobkit-job-info")
        self.attempts_plot = html_widget("jobkit-attempts-plot")
        self.attempts_table = html_widget("jobkit-attempts-table")
        self.depth_plot = html_widget("jobkit-depth-plot", _depth_plot(result))
        summary = html_widget("jobkit-simulation-summary", _summary_line(result))
        super().__init__(
            [
                summary,
                self.picker,
                self.job_info,
                self.attempts_plot,
                self.attempts_table,
                html_widget("jobkit-heading", "<b>Ready jobs per priority over time</b>"),
                self.depth_plot,
            ]
        )
        self.add_class("jobkit-simulation-explorer")
        self.picker.observe(lambda _change: self._show(), names="value")
        self._show()

    @property
    def selected(self) -> str | None:
        """The picked job's id (None when the simulation has no jobs)."""
        value = self.picker.value
        return None if value is None else str(value)

    @property
    def selected_attempts(self) -> pd.DataFrame:
        """The rows of `result.attempts` for the picked job (`frames.simulation_attempts`)."""
        if self.selected is None:
            return self.result.attempts.iloc[0:0]
        return frames.simulation_attempts(self.result, self.selected)

    def select(self, job_id: str) -> None:
        """Pick `job_id` (added to the picker if it was not listed); KeyError if the
        simulation has no such job."""
        frames.simulation_attempts(self.result, job_id)  # KeyError for an unknown id
        if job_id not in self.picker.options:
            self.picker.options = (job_id, *self.picker.options)
        self.picker.value = job_id

    def close(self) -> None:
        """Close the explorer and its parts."""
        for child in list(self.children):
            close_tree(child)
        super().close()

    def _show(self) -> None:
        job_id = self.selected
        if job_id is None:
            self.job_info.value = "No jobs arrived in this simulation."
            self.attempts_plot.value = ""
            self.attempts_table.value = ""
            return
        attempts = self.selected_attempts
        job = self.result.jobs.loc[self.result.jobs["id"] == job_id].iloc[0]
        self.job_info.value = _job_line(job)
        self.attempts_plot.value = _attempts_plot(job, attempts)
        table = attempts.assign(
            took_s=(attempts["finished_at"] - attempts["started_at"]).dt.total_seconds()
        )
        self.attempts_table.value = frame_table(
            table,
            _ATTEMPT_COLUMNS,
            header=(
                "attempt",
                "started",
                "finished",
                "took",
                "outcome",
                "error",
                "next run",
                "worker",
            ),
            css_class="jobkit-attempts",
            empty="This job never started.",
            formatters={"took_s": seconds_text},
        )


def _summary_line(result: SimulationResult) -> str:
    jobs = result.jobs
    counts = jobs["status"].value_counts()
    shown = ", ".join(f"{n} {escape(s)}" for s, n in counts.items() if n)
    span = format_duration((result.end - result.start).total_seconds())
    name = f"<b>{escape(result.workload_name)}</b>: " if result.workload_name else ""
    return (
        f"{name}{len(jobs)} jobs ({shown or 'none'}), {len(result.attempts)} attempts, "
        f"{result.workers} workers, seed {result.seed}, {span} simulated"
    )


def _job_line(job: pd.Series) -> str:
    status = str(job["status"])
    color = STATUS_COLORS.get(status, "#6b7280")
    wait = seconds_text(job["wait_s"]) or "never started"
    return (
        f"<code>{escape(job['id'])}</code> <b>{escape(job['job_type'])}</b> "
        f"({escape(job['queue'])}, {escape(job['priority'])}) "
        f'<b style="color:{color}">{escape(status)}</b> after {int(job["attempts"])} '
        f"attempt(s); waited {escape(wait)} for its first start"
    )


def _attempts_plot(job: pd.Series, attempts: pd.DataFrame) -> str:
    enqueued = job["enqueued_at"]
    figure, ax = new_figure((7.5, 0.9 + 0.35 * max(len(attempts), 1)))

    def offset(value: Any) -> float:
        return float("nan") if pd.isna(value) else (value - enqueued).total_seconds()

    rows = [
        (
            int(a.attempt),
            offset(a.started_at),
            offset(a.finished_at),
            str(a.outcome),
            offset(a.next_run_at),
        )
        for a in attempts.itertuples(index=False)
    ]
    ends = [v for r in rows for v in (r[1], r[2], r[4]) if not pd.isna(v)]
    scale, unit = seconds_axis(ends or [0.0])
    for n, start, end, outcome, next_run in rows:
        stop = end if not pd.isna(end) else start
        width = max((stop - start) / scale, 0.0)
        ax.barh(
            n,
            width,
            left=start / scale,
            height=0.5,
            color=_OUTCOME_COLORS.get(outcome, "#6b7280"),
            edgecolor="black",
            linewidth=0.5,
        )
        ax.annotate(
            outcome, (stop / scale, n), textcoords="offset points", xytext=(4, -3), fontsize=8
        )
        if not pd.isna(next_run):
            ax.plot([stop / scale, next_run / scale], [n, n + 1], linestyle=":", color="#6b7280")
    ax.axvline(0, color="#9ca3af", linewidth=1)
    ax.set_yticks([r[0] for r in rows] or [1])
    top = max((r[0] for r in rows), default=1)
    ax.set_ylim(top + 0.7, 0.3)
    right = max(ends, default=1.0) / scale
    ax.set_xlim(-0.02 * max(right, 1e-9), max(right, 1e-9) * 1.2)
    ax.set_ylabel("attempt")
    ax.set_xlabel(f"time after enqueue ({unit})")
    ax.set_title(f"{job['id']}: attempts (dotted: wait until the next attempt)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return figure_html(figure, f"attempts of job {job['id']}")


def _depth_plot(result: SimulationResult) -> str:
    depth = frames.simulation_depth(result)
    figure, ax = new_figure()
    if depth.empty:
        ax.text(0.5, 0.5, "no queue depth samples", ha="center", va="center")
        return figure_html(figure, "queue depth: no samples")
    seconds = (depth["at"] - pd.Timestamp(result.start)).dt.total_seconds()
    scale, unit = seconds_axis(seconds.tolist())
    for priority, part in depth.assign(_t=seconds / scale).groupby("priority", observed=True):
        ax.step(
            part["_t"],
            part["pending"],
            where="post",
            label=str(priority),
            color=_PRIORITY_COLORS.get(str(priority)),
        )
    ax.set_xlabel(f"time since the start ({unit})")
    ax.set_ylabel("ready jobs")
    ax.set_title("Ready (pending) jobs per priority, all queues", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    return figure_html(figure, "queue depth per priority over time")
