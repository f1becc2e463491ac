"""ClockControl: step a kit's FakeClock by hand and run whatever became due."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import ipywidgets as widgets

from jobkit.clock import FakeClock
from jobkit.core.display import escape, format_duration, format_time
from jobkit.widgets._common import close_tree, error_widget, html_widget, show_error

if TYPE_CHECKING:
    from jobkit.kit import JobKit

logger = logging.getLogger("jobkit.widgets.clock")


class ClockControl(widgets.VBox):
    """Buttons that move a kit's FakeClock (+1 s `jobkit-step-second`, +1 min
    `jobkit-step-minute`, +1 h `jobkit-step-hour`, Next due `jobkit-next-due`) and then
    run the due work with `kit.run_until_idle()`. Shows the clock (`jobkit-now`) and how
    many jobs the last step ran (`jobkit-ran`). Root class `jobkit-clock`.

    Raises TypeError for a kit on any other clock: real time cannot be stepped.
    """

    def __init__(self, kit: JobKit) -> None:
        clock = getattr(kit, "clock", None)
        if not isinstance(clock, FakeClock):
            raise TypeError(
                f"ClockControl needs a kit on a FakeClock, e.g. "
                f"jobkit.connect('memory://', clock=jobkit.FakeClock()); this kit's clock is "
                f"{clock!r}, which cannot be stepped"
            )
        self.kit = kit
        self.clock: FakeClock = clock
        self._lock = threading.Lock()
        #: jobs the last step ran (None before the first step)
        self.last_ran: int | None = None
        self.now = html_widget("jobkit-now")
        self.ran = html_widget("jobkit-ran", "No step yet.")
        self.next_due = html_widget("jobkit-next")
        self.error = error_widget()
        buttons = []
        for label, css, seconds in (
            ("+1 s", "jobkit-step-second", 1),
            ("+1 min", "jobkit-step-minute", 60),
            ("+1 h", "jobkit-step-hour", 3600),
        ):
            button = widgets.Button(description=label, tooltip=f"advance the clock {label[1:]}")
            button.add_class(css)
            button.on_click(lambda _b, seconds=seconds: self._click(self.step, seconds))
            buttons.append(button)
        self.next_due_button = widgets.Button(
            description="Next due", icon="forward", tooltip="jump to the next scheduled job"
        )
        self.next_due_button.add_class("jobkit-next-due")
        self.next_due_button.on_click(lambda _b: self._click(self.jump_to_next_due))
        buttons.append(self.next_due_button)
        self.step_second, self.step_minute, self.step_hour = buttons[:3]
        super().__init__(
            [widgets.HBox(buttons), widgets.HBox([self.now, self.ran]), self.next_due, self.error]
        )
        self.add_class("jobkit-clock")
        self._show()

    def step(self, seconds: float | timedelta) -> int:
        """Advance the clock by `seconds` (>= 0, or a timedelta), then run every job that
        is due with `kit.run_until_idle()`; returns how many ran."""
        amount = seconds.total_seconds() if isinstance(seconds, timedelta) else seconds
        if (
            isinstance(amount, bool)
            or not isinstance(amount, int | float)
            or not math.isfinite(amount)
            or amount < 0
        ):
            raise ValueError(f"seconds={seconds!r} must be a number >= 0 or a timedelta")
        with self._lock:
            self.clock.advance(amount)
            return self._run(f"+{format_duration(amount)}")

    def jump_to_next_due(self) -> int:
        """Move the clock to the earliest scheduled or retrying job's `run_at` (never
        backwards) and run the due work; 0 (and no move) when nothing is scheduled."""
        with self._lock:
            due = self.kit.backend.next_due_at()
            if due is None:
                self.last_ran = 0
                self.ran.value = "Nothing scheduled: the clock did not move."
                self._show()
                return 0
            before = self.clock.now()
            if due > before:
                self.clock.set(due)
            return self._run(f"to next due (+{format_duration((due - before).total_seconds())})")

    def close(self) -> None:
        """Close the control and its buttons."""
        for child in list(self.children):
            close_tree(child)
        super().close()

    def _run(self, what: str) -> int:
        ran = self.kit.run_until_idle()
        self.last_ran = ran
        self.ran.value = (
            f'{escape(what)}: ran <b><span class="jobkit-ran-count">{ran}</span></b> '
            f"job{'s' if ran != 1 else ''}"
        )
        self._show()
        return ran

    def _show(self) -> None:
        self.now.value = (
            f'<b>Clock</b> <span class="jobkit-now-time">'
            f"{escape(format_time(self.clock.now()))}</span> &nbsp;"
        )
        due = self.kit.backend.next_due_at()
        self.next_due.value = (
            "Nothing scheduled."
            if due is None
            else f"Next scheduled job due {escape(format_time(due))} "
            f"(in {escape(format_duration((due - self.clock.now()).total_seconds()))})"
        )

    def _click(self, action: Callable[..., int], *args: float) -> None:
        try:
            action(*args)
        except Exception as exc:
            logger.warning("clock control step failed: %s", exc, exc_info=True)
            show_error(self.error, f"{type(exc).__name__}: {exc}")
        else:
            show_error(self.error, None)
