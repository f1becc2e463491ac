"""Pure HTML builders for rich display in notebooks (`_repr_html_`) and the widgets.

Pure and stdlib only: every function takes plain values and returns a self-contained
HTML string (inline styles, no external CSS or JavaScript). Every value that comes from
a job or a user goes through `html.escape`, so a job type, an argument or an error
message holding `<script>` shows as text and never runs.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from jobkit.core.model import Job, JobStatus

#: A colour per status, for badges.
STATUS_COLORS: dict[str, str] = {
    JobStatus.PENDING.value: "#6b7280",
    JobStatus.SCHEDULED.value: "#2563eb",
    JobStatus.RUNNING.value: "#d97706",
    JobStatus.COMPLETED.value: "#16a34a",
    JobStatus.RETRYING.value: "#ca8a04",
    JobStatus.DEAD.value: "#dc2626",
    JobStatus.CANCELLED.value: "#9ca3af",
}
_TABLE_STYLE = "border-collapse:collapse;font-size:12px;text-align:left"
_CELL_STYLE = "padding:2px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top"
#: Longest text shown for args, results and metadata before it is cut with "...".
PREVIEW_CHARS = 300


def escape(value: object) -> str:
    """`value` as HTML-escaped text (quotes too); None becomes the empty string."""
    return "" if value is None else html.escape(str(value), quote=True)


def format_duration(seconds: float) -> str:
    """A duration in the largest units that fit, e.g. `0 s`, `1.5 s`, `5 min 30 s`,
    `1 h 5 min 30 s`, `2 d 3 h`; negative durations get a leading minus, a
    non-finite one is shown as `inf s` / `nan s`."""
    if not math.isfinite(seconds):
        return f"{seconds} s"
    if seconds < 0:
        return "-" + format_duration(-seconds)
    whole = int(seconds)
    if whole < 60:
        return f"{seconds:.3g} s" if seconds != whole else f"{whole} s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        amount, whole = divmod(whole, size)
        if amount:
            parts.append(f"{amount} {unit}")
    return " ".join(parts)


def format_time(value: datetime | None) -> str:
    """An aware datetime as `YYYY-MM-DD HH:MM:SS[.ffffff]Z` in UTC; None as an empty string."""
    if value is None:
        return ""
    text = value.isoformat(sep=" ")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def preview(value: object, limit: int = PREVIEW_CHARS) -> str:
    """Compact JSON of `value` (its `str` if it is not JSON), cut to `limit` characters."""
    try:
        text = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = str(value)
    return text if len(text) <= limit else text[: max(limit - 3, 0)] + "..."


def status_badge(status: str) -> str:
    """A coloured badge for a status name (class `jobkit-badge`, `data-status`)."""
    color = STATUS_COLORS.get(status, "#6b7280")
    name = escape(status)
    return (
        f'<span class="jobkit-badge" data-status="{name}" style="background:{color};'
        f'color:#fff;border-radius:3px;padding:0 5px">{name}</span>'
    )


def table_html(
    rows: Sequence[Sequence[object]],
    header: Sequence[str] | None = None,
    *,
    caption: str | None = None,
    css_class: str = "jobkit-table",
    empty: str = "(none)",
) -> str:
    """A `<table>`: one `<tr>` per row, cells and caption escaped (wrap one in `Markup`
    to pass trusted HTML through), an optional header row; `empty` (escaped) in a
    single cell when there are no rows."""
    out = [f'<table class="{escape(css_class)}" style="{_TABLE_STYLE}">']
    if caption is not None:
        out.append(f'<caption style="text-align:left;font-weight:bold">{_cell(caption)}</caption>')
    if header is not None:
        cells = "".join(f'<th style="{_CELL_STYLE}">{escape(h)}</th>' for h in header)
        out.append(f"<thead><tr>{cells}</tr></thead>")
    out.append("<tbody>")
    if not rows:
        span = max(len(header), 1) if header is not None else 1
        out.append(f'<tr><td colspan="{span}" style="{_CELL_STYLE}">{escape(empty)}</td></tr>')
    for row in rows:
        cells = "".join(f'<td style="{_CELL_STYLE}">{_cell(c)}</td>' for c in row)
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


class Markup(str):
    """A string of trusted HTML that `table_html` and `fields_html` insert unescaped.
    Only wrap HTML you built from escaped parts."""

    __slots__ = ()


def _cell(value: object) -> str:
    return str(value) if isinstance(value, Markup) else escape(value)


def fields_html(
    pairs: Sequence[tuple[str, object]],
    *,
    caption: str | None = None,
    css_class: str = "jobkit-fields",
) -> str:
    """A two-column name/value table; names bold, values and caption escaped (or `Markup`)."""
    out = [f'<table class="{escape(css_class)}" style="{_TABLE_STYLE}">']
    if caption is not None:
        out.append(f'<caption style="text-align:left">{_cell(caption)}</caption>')
    for name, value in pairs:
        out.append(
            f'<tr><th style="{_CELL_STYLE}">{escape(name)}</th>'
            f'<td style="{_CELL_STYLE}">{_cell(value)}</td></tr>'
        )
    out.append("</table>")
    return "".join(out)


def status_counts_html(counts: Mapping[str, int]) -> str:
    """Jobs per status: for EVERY JobStatus, in JobStatus order, the status name and
    `<span class="jobkit-count" data-status="{status}">{n}</span>` (missing ones are 0)."""
    parts = []
    for status in JobStatus:
        n = int(counts.get(status.value, 0))
        color = STATUS_COLORS[status.value]
        parts.append(
            f'<span class="jobkit-status" style="margin-right:12px;white-space:nowrap">'
            f'<span style="color:{color}">&#9679;</span> {status.value} '
            f'<span class="jobkit-count" data-status="{status.value}">{n}</span></span>'
        )
    return '<div class="jobkit-status-line">' + "".join(parts) + "</div>"


def job_fields(job: Job) -> list[tuple[str, object]]:
    """The (name, value) rows `job_html` shows, values as display text or `Markup`;
    empty optional fields (tenant, times not reached, result, error, metadata) are left out."""
    rows: list[tuple[str, object]] = [
        ("id", job.id),
        ("job_type", job.job_type),
        ("status", Markup(status_badge(job.status.value))),
        ("queue", job.queue),
        ("priority", job.priority.value),
        ("attempts", f"{job.attempts} (retries {job.retry_count} of {job.max_retries})"),
    ]
    if job.tenant_id is not None:
        rows.append(("tenant_id", job.tenant_id))
    rows.append(("args", preview(job.args)))
    for name in ("created_at", "run_at", "started_at", "finished_at", "updated_at"):
        value: datetime | None = getattr(job, name)
        if value is not None:
            rows.append((name, format_time(value)))
    if job.started_at is not None and job.finished_at is not None:
        took = (job.finished_at - job.started_at).total_seconds()
        rows.append(("duration", format_duration(took)))
    if job.result is not None:
        rows.append(("result", preview(job.result)))
    if job.error is not None:
        error = job.error
        rows.append(("error", Markup(error_html(error.type, error.message, error.traceback))))
    if job.reclaim_count:
        rows.append(("reclaim_count", job.reclaim_count))
    if job.metadata:
        rows.append(("metadata", preview(job.metadata)))
    return rows


def error_html(error_type: str, message: str, traceback: str | None = None) -> str:
    """`type: message` in bold red, with the traceback (if any) in a collapsed
    `<details>` block; all escaped."""
    out = f'<b style="color:#dc2626">{escape(error_type)}</b>: {escape(message)}'
    if traceback:
        out += (
            '<details><summary>traceback</summary><pre style="font-size:11px;'
            f'white-space:pre-wrap">{escape(traceback)}</pre></details>'
        )
    return out


def job_html(job: Job) -> str:
    """A job as a small self-contained HTML table (what `Job._repr_html_` returns)."""
    caption = Markup(f"Job {escape(job.job_type)} {status_badge(job.status.value)}")
    return '<div class="jobkit-job">' + fields_html(job_fields(job), caption=caption) + "</div>"


def kit_html(
    *,
    backend: str,
    handlers: Sequence[str],
    counts: Mapping[str, int],
    counters: Mapping[str, int],
    queues: Mapping[str, Mapping[str, int]],
    tenant_id: str | None = None,
    clock: str | None = None,
) -> str:
    """A kit's overview (what `JobKit._repr_html_` returns): backend, clock, tenant,
    handlers, jobs per status, counters and ready jobs per queue and priority."""
    pairs: list[tuple[str, object]] = [("backend", backend)]
    if clock is not None:
        pairs.append(("clock", clock))
    if tenant_id is not None:
        pairs.append(("tenant_id", tenant_id))
    pairs.append(("handlers", ", ".join(handlers) or "(none registered)"))
    pairs.append(("jobs", Markup(status_counts_html(counts))))
    pairs.append(("counters", ", ".join(f"{k} {v}" for k, v in counters.items())))
    out = ['<div class="jobkit-kit">', fields_html(pairs, caption=Markup("<b>JobKit</b>"))]
    if queues:
        names = list(next(iter(queues.values())).keys())
        rows = [[queue, *(sizes.get(p, 0) for p in names)] for queue, sizes in queues.items()]
        out.append(table_html(rows, ["ready jobs", *names], css_class="jobkit-queues"))
    out.append("</div>")
    return "".join(out)
