"""Dashboard: a live view of a kit's queues, statuses, throughput and dead letters."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from jobkit import frames
from jobkit.core.display import escape, format_time, status_counts_html
from jobkit.widgets._common import (
    cell_text,
    close_tree,
    error_widget,
    frame_table,
    html_widget,
    show_error,
)

if TYPE_CHECKING:
    import pandas as pd

    from jobkit.kit import JobKit

logger = logging.getLogger("jobkit.widgets.dashboard")

_RECENT_COLUMNS = (
    "finished_at",
    "id",
    "job_type",
    "queue",
    "priority",
    "status",
    "attempts",
    "error_type",
    "error_message",
)
_RECENT_HEADER = (
    "finished",
    "id",
    "job type",
    "queue",
    "priority",
    "status",
    "attempts",
    "error",
    "message",
)


class Dashboard(widgets.VBox):
    """Queue depth per queue and priority, jobs per status, throughput, the dead-letter
    queue (with Retry and Delete buttons) and the most recent finished jobs of `kit`.

    With `autostart` a daemon thread calls `refresh()` every `refresh` seconds unless
    paused; `close()` stops it (within a second) and closes the widgets. A backend error
    never stops the timer: it is logged and shown in the `jobkit-error` box until the
    next refresh succeeds. Refreshes, button clicks and `close()` are serialised by one
    lock, so a click never races the timer.

    Sections (CSS classes): `jobkit-depth` (rows `jobkit-depth-row`),
    `jobkit-status-counts`, `jobkit-throughput`, `jobkit-dead-letters` (rows
    `jobkit-dead-row` with `jobkit-dead-label`, `jobkit-retry`, `jobkit-delete`; or
    `jobkit-dead-empty`), `jobkit-recent`, the `jobkit-pause` toggle, a
    `jobkit-refresh` button and the `jobkit-error` box.
    """

    def __init__(
        self,
        kit: JobKit,
        refresh: float = 1.0,
        *,
        recent: int = 10,
        dead_limit: int = 20,
        autostart: bool = True,
    ) -> None:
        if (
            isinstance(refresh, bool)
            or not isinstance(refresh, int | float)
            or not math.isfinite(refresh)
            or refresh <= 0
        ):
            raise ValueError(f"refresh={refresh!r} must be a number of seconds > 0, e.g. 1.0")
        for name, value in (("recent", recent), ("dead_limit", dead_limit)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}={value!r} must be an int >= 0")
        self.kit = kit
        self.interval = float(refresh)
        self.recent_limit = recent
        self.dead_limit = dead_limit
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._last_processed: tuple[float, int] | None = None
        self._depth_rows: dict[
            tuple[str, str], tuple[widgets.HBox, widgets.IntProgress, widgets.HTML]
        ] = {}
        self._dead_rows: dict[str, tuple[widgets.HBox, widgets.HTML]] = {}
        #: the message of the last failed refresh or click, None after a good refresh
        self.last_error: str | None = None
        #: how many refreshes completed (timer, buttons and direct calls)
        self.refresh_count = 0

        self.title = html_widget("jobkit-title", f"<b>jobkit</b> · {escape(repr(kit.backend))}")
        self.updated = html_widget("jobkit-updated")
        self.pause_button = widgets.ToggleButton(
            value=False, description="Pause", icon="pause", tooltip="Pause the auto-refresh"
        )
        self.pause_button.add_class("jobkit-pause")
        self.pause_button.observe(self._on_pause, names="value")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.refresh_button.add_class("jobkit-refresh")
        self.refresh_button.on_click(lambda _button: self.refresh())
        self.error = error_widget()
        self.status_counts = html_widget("jobkit-status-counts")
        self.throughput = html_widget("jobkit-throughput")
        self.depth = widgets.VBox()
        self.depth.add_class("jobkit-depth")
        self._depth_empty = html_widget("jobkit-depth-empty", "No queues yet.")
        self.dead_letters = widgets.VBox()
        self.dead_letters.add_class("jobkit-dead-letters")
        self._dead_empty = html_widget("jobkit-dead-empty", "No dead jobs.")
        self._dead_more = html_widget("jobkit-dead-more")
        self.recent = html_widget("jobkit-recent")

        super().__init__(
            children=[
                widgets.HBox([self.title, self.pause_button, self.refresh_button, self.updated]),
                self.error,
                self.status_counts,
                self.throughput,
                html_widget("jobkit-heading", "<b>Ready jobs per queue and priority</b>"),
                self.depth,
                html_widget("jobkit-heading", "<b>Dead letters</b> (newest first)"),
                self.dead_letters,
                html_widget("jobkit-heading", "<b>Recent attempts</b> (newest first)"),
                self.recent,
            ]
        )
        self.add_class("jobkit-dashboard")
        self.refresh()
        if autostart:
            self.start()

    # -- state ------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """True while the timer skips its refreshes (`pause()` or the Pause toggle)."""
        return bool(self.pause_button.value)

    @property
    def running(self) -> bool:
        """True while the background timer thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def closed(self) -> bool:
        """True once `close()` was called."""
        return self._closed

    # -- control ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the background timer (a no-op if it runs or the dashboard is closed)."""
        with self._lock:
            if self._closed or self.running:
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="jobkit-dashboard-timer", daemon=True
            )
            self._thread.start()

    def pause(self) -> None:
        """Stop auto-refreshing (the timer keeps running; buttons still refresh)."""
        self.pause_button.value = True

    def resume(self) -> None:
        """Auto-refresh again."""
        self.pause_button.value = False

    def close(self) -> None:
        """Stop the timer thread (waits for it, at most one refresh), then close every
        widget of the dashboard. Idempotent."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        with self._lock:
            for child in list(self.children):
                close_tree(child)
            for row, _label in self._dead_rows.values():
                close_tree(row)
            for row, _bar, _count in self._depth_rows.values():
                close_tree(row)
            close_tree(self._depth_empty)
            close_tree(self._dead_empty)
            close_tree(self._dead_more)
            super().close()

    def refresh(self) -> None:
        """Re-read everything from the kit now and update the sections. Never raises: a
        backend error is logged, kept in `last_error` and shown in the `jobkit-error` box."""
        with self._lock:
            if self._closed:
                return
            try:
                self._refresh()
            except Exception as exc:
                logger.warning("dashboard refresh failed: %s", exc, exc_info=True)
                self._fail(f"Refresh failed: {type(exc).__name__}: {exc}")
            else:
                self.last_error = None
                show_error(self.error, None)

    def retry(self, job_id: str) -> None:
        """What the Retry button does: `kit.retry_dead(job_id)`, then `refresh()`."""
        self._act(lambda: self.kit.retry_dead(job_id), f"retry job {job_id}")

    def delete(self, job_id: str) -> None:
        """What the Delete button does: delete the job from the backend, then `refresh()`."""
        self._act(lambda: self.kit.delete(job_id), f"delete job {job_id}")

    # -- internals --------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if not self.paused:
                self.refresh()

    def _on_pause(self, change: dict[str, Any]) -> None:
        paused = bool(change["new"])
        self.pause_button.description = "Resume" if paused else "Pause"
        self.pause_button.icon = "play" if paused else "pause"
        self.pause_button.tooltip = (
            "Resume the auto-refresh" if paused else "Pause the auto-refresh"
        )

    def _act(self, action: Callable[[], object], what: str) -> None:
        with self._lock:
            if self._closed:
                return
            failure = None
            try:
                action()
            except Exception as exc:
                logger.warning("dashboard could not %s: %s", what, exc)
                failure = f"Could not {what}: {type(exc).__name__}: {exc}"
            self.refresh()
            if failure is not None:
                self._fail(failure)

    def _fail(self, message: str) -> None:
        self.last_error = message
        try:
            show_error(self.error, message)
        except Exception:  # the widgets themselves failed (closed comm...): keep going
            logger.debug("could not show the dashboard error", exc_info=True)

    def _refresh(self) -> None:
        kit = self.kit
        counts = frames.status_counts(kit)
        processed = frames.processed_total(kit)
        depth = frames.depth_frame(kit)
        dead = frames.dead_letters_frame(kit, self.dead_limit)
        recent = frames.recent_jobs_frame(kit, self.recent_limit)

        self.status_counts.value = status_counts_html(counts)
        self._show_throughput(processed)
        self._show_depth(depth)
        total_dead = counts.get("dead", 0) if getattr(kit, "tenant_id", None) is None else 0
        self._show_dead(dead, total_dead)
        self.recent.value = frame_table(
            recent,
            _RECENT_COLUMNS,
            header=_RECENT_HEADER,
            css_class="jobkit-recent-table",
            empty="No finished attempts yet.",
        )
        self.refresh_count += 1
        self.updated.value = (
            f'<span style="color:#6b7280">updated {escape(format_time(kit.clock.now()))}</span>'
        )

    def _show_throughput(self, processed: int) -> None:
        now = time.monotonic()
        if self._last_processed is None:
            rate, delta, elapsed = 0.0, 0, 0.0
        else:
            before_t, before = self._last_processed
            elapsed = now - before_t
            delta = max(processed - before, 0)
            rate = frames.throughput(before, processed, elapsed)
        self._last_processed = (now, processed)
        self.throughput.value = (
            f'Throughput <b><span class="jobkit-rate" data-rate="{rate:.3f}">{rate:.1f}</span>'
            f'</b> jobs/s (<span class="jobkit-processed-delta">{delta}</span> attempts in '
            f'{elapsed:.1f} s) · <span class="jobkit-processed">{processed}</span> processed'
        )

    def _show_depth(self, depth: pd.DataFrame) -> None:
        top = max(int(depth["pending"].max()) if len(depth) else 0, 1)
        children = []
        for queue, priority, pending in depth.itertuples(index=False, name=None):
            key = (str(queue), str(priority))
            entry = self._depth_rows.get(key)
            if entry is None:
                label = html_widget(
                    "jobkit-depth-label", f"<code>{escape(queue)}</code> {escape(priority)}"
                )
                label.layout.width = "220px"
                bar = widgets.IntProgress(value=0, min=0, max=1)
                bar.add_class("jobkit-depth-bar")
                count = html_widget("jobkit-depth-count")
                row = widgets.HBox([label, bar, count])
                row.add_class("jobkit-depth-row")
                entry = self._depth_rows[key] = (row, bar, count)
            row, bar, count = entry
            bar.max = top
            bar.value = int(pending)
            text = str(int(pending))
            if count.value != text:
                count.value = text
            children.append(row)
        new = tuple(children) if children else (self._depth_empty,)
        if new != tuple(self.depth.children):
            self.depth.children = new

    def _show_dead(self, dead: pd.DataFrame, total: int) -> None:
        children = []
        seen = set()
        for record in dead.itertuples(index=False):
            job_id = str(record.id)
            seen.add(job_id)
            text = _dead_label(record)
            entry = self._dead_rows.get(job_id)
            if entry is None:
                label = html_widget("jobkit-dead-label", text)
                label.layout.flex = "1 1 auto"
                retry = widgets.Button(description="Retry", icon="redo", tooltip=f"retry {job_id}")
                retry.add_class("jobkit-retry")
                retry.on_click(lambda _b, job_id=job_id: self.retry(job_id))
                delete = widgets.Button(
                    description="Delete",
                    icon="trash",
                    button_style="danger",
                    tooltip=f"delete {job_id}",
                )
                delete.add_class("jobkit-delete")
                delete.on_click(lambda _b, job_id=job_id: self.delete(job_id))
                row = widgets.HBox([label, retry, delete])
                row.add_class("jobkit-dead-row")
                entry = self._dead_rows[job_id] = (row, label)
            elif entry[1].value != text:
                entry[1].value = text
            children.append(entry[0])
        more = total - len(children)
        if children and more > 0:
            self._dead_more.value = f"… and {more} older dead job{'s' if more != 1 else ''}."
            children.append(self._dead_more)
        new = tuple(children) if children else (self._dead_empty,)
        if new != tuple(self.dead_letters.children):
            self.dead_letters.children = new
        for job_id in [j for j in self._dead_rows if j not in seen]:
            row, _label = self._dead_rows.pop(job_id)
            close_tree(row)


def _dead_label(record: Any) -> str:
    error = ""
    if record.error_type is not None and cell_text(record.error_type):
        error = (
            f' · <b style="color:#dc2626">{escape(record.error_type)}</b>: '
            f"{escape(cell_text(record.error_message))}"
        )
    return (
        f"<code>{escape(record.id)}</code> <b>{escape(record.job_type)}</b> "
        f"({escape(record.queue)}, {escape(record.priority)}, {_attempts(int(record.attempts))}"
        f", died {escape(cell_text(record.finished_at))}){error}"
    )


def _attempts(n: int) -> str:
    return f"{n} attempt{'s' if n != 1 else ''}"
