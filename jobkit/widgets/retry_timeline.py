"""RetryTimeline: controls for a RetryPolicy and a plot of when each attempt would run."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from jobkit import frames
from jobkit.core.display import format_duration
from jobkit.core.errors import InvalidPolicyError
from jobkit.core.retry import STRATEGIES, RetryPolicy
from jobkit.widgets._common import (
    close_tree,
    error_widget,
    figure_html,
    frame_table,
    html_widget,
    new_figure,
    seconds_axis,
    seconds_text,
    show_error,
)

if TYPE_CHECKING:
    import pandas as pd

_UNITS = {"": 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DELAY = re.compile(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*(ms|min|s|m|h|d)?\s*", re.I)
#: Which controls each strategy uses (the others are hidden).
_CONTROLS = {
    "schedule": ("delays",),
    "exponential": ("initial", "factor", "max_delay"),
    "linear": ("initial", "max_delay"),
    "constant": ("initial",),
}
_INITIAL_LABEL = {"exponential": "Initial (s)", "linear": "Step (s)", "constant": "Delay (s)"}


def parse_delays(text: str) -> tuple[float, ...]:
    """Comma-separated delays as seconds: `"30, 300, 3600"` or with units
    `"30s, 5m, 1h"` (ms, s, m/min, h, d). Raises InvalidPolicyError naming the bad part."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidPolicyError("delays", text, "give at least one delay, e.g. '30, 300, 3600'")
    out = []
    for part in text.split(","):
        match = _DELAY.fullmatch(part)
        if match is None:
            raise InvalidPolicyError(
                "delays", part.strip(), "each delay must be a number of seconds >= 0 (or 5m, 1h)"
            )
        out.append(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])
    return tuple(out)


def _number_text(seconds: float) -> str:
    return f"{seconds:g}"


#: the control attributes, in display order (each also a CSS class: jobkit-<name>)
CONTROLS: tuple[str, ...] = (
    "strategy",
    "initial",
    "factor",
    "max_delay",
    "jitter",
    "max_retries",
    "delays",
)


class RetryTimeline(widgets.VBox):
    """Edit a retry policy and see when each attempt of an always-failing job would run.

    Controls (attributes, CSS classes): `strategy` Dropdown (`jobkit-strategy`),
    `initial` (`jobkit-initial`), `factor` (`jobkit-factor`), `max_delay`
    (`jobkit-max-delay`, 0 = no cap), `jitter` slider (`jobkit-jitter`), `max_retries`
    slider (`jobkit-max-retries`), `delays` text for the schedule strategy
    (`jobkit-delays`). The plot is an HTML (`jobkit-timeline-plot`) holding a PNG; a
    table (`jobkit-timeline-table`) lists the attempts. Impossible values show the
    InvalidPolicyError message in `jobkit-error` instead of raising.
    """

    def __init__(self, policy: RetryPolicy | None = None, max_retries: int = 3) -> None:
        policy = RetryPolicy.default() if policy is None else policy
        if not isinstance(policy, RetryPolicy):
            raise TypeError(
                f"policy must be a RetryPolicy (e.g. RetryPolicy.exponential(10)), "
                f"not {type(policy).__name__}"
            )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries={max_retries!r} must be an int >= 0")
        first = policy.delays[0] if policy.delays else 30.0
        style = {"description_width": "110px"}
        self.strategy = widgets.Dropdown(
            options=list(STRATEGIES), value=policy.strategy, description="Strategy", style=style
        )
        self.initial = widgets.FloatText(
            value=policy.initial if policy.strategy != "schedule" else first,
            description="Initial (s)",
            style=style,
        )
        self.factor = widgets.FloatText(value=policy.factor, description="Factor", style=style)
        self.max_delay = widgets.FloatText(
            value=policy.max_delay or 0.0, description="Max delay (s)", style=style
        )
        self.jitter = widgets.FloatSlider(
            value=policy.jitter, min=0.0, max=1.0, step=0.05, description="Jitter", style=style
        )
        self.max_retries = widgets.IntSlider(
            value=max_retries,
            min=0,
            max=max(10, max_retries),
            description="Max retries",
            style=style,
        )
        self.delays = widgets.Text(
            value=", ".join(_number_text(d) for d in (policy.delays or (30.0, 300.0, 3600.0))),
            description="Delays (s)",
            placeholder="30, 300, 3600  or  30s, 5m, 1h",
            style=style,
        )
        for name in CONTROLS:
            control = getattr(self, name)
            control.add_class("jobkit-" + name.replace("_", "-"))
            control.observe(self._on_change, names="value")
        self.error = error_widget()
        self.plot = html_widget("jobkit-timeline-plot")
        self.table = html_widget("jobkit-timeline-table")
        #: the message shown in the error box, None when the controls are valid
        self.last_error: str | None = None
        controls = widgets.VBox(
            [
                self.strategy,
                self.delays,
                self.initial,
                self.factor,
                self.max_delay,
                self.jitter,
                self.max_retries,
            ]
        )
        super().__init__([widgets.HBox([controls, self.table]), self.error, self.plot])
        self.add_class("jobkit-retry-timeline")
        self._update()

    # -- what the controls describe ---------------------------------------------------

    @property
    def policy(self) -> RetryPolicy:
        """The RetryPolicy the controls describe (InvalidPolicyError if they are invalid)."""
        strategy = self.strategy.value
        jitter = float(self.jitter.value)
        if strategy == "schedule":
            return RetryPolicy("schedule", delays=parse_delays(self.delays.value), jitter=jitter)
        cap = float(self.max_delay.value)
        return RetryPolicy(
            strategy,
            initial=float(self.initial.value),
            factor=float(self.factor.value) if strategy == "exponential" else 2.0,
            max_delay=None if cap == 0 or strategy == "constant" else cap,
            jitter=jitter,
        )

    @property
    def schedule(self) -> list[timedelta]:
        """When each attempt starts after the first: `[0, d1, d1 + d2, ...]`, one entry per
        attempt (max_retries + 1), no jitter."""
        return self.policy.timeline(int(self.max_retries.value))

    @property
    def frame(self) -> pd.DataFrame:
        """`jobkit.frames.retry_schedule_frame` of the policy: attempt, delay_s, at_s."""
        return frames.retry_schedule_frame(self.policy, int(self.max_retries.value))

    def set(self, **values: Any) -> None:
        """Set several controls at once and redraw once, e.g.
        `timeline.set(strategy="exponential", initial=10, factor=3, max_retries=5)`.
        Names: strategy, initial, factor, max_delay, jitter, max_retries, delays."""
        unknown = set(values) - set(CONTROLS)
        if unknown:
            raise TypeError(f"unknown control(s): {', '.join(sorted(unknown))}")
        self._batch = True
        try:
            for name, value in values.items():
                control = getattr(self, name)
                if name == "max_retries" and isinstance(value, int) and value > control.max:
                    control.max = value
                control.value = value
        finally:
            self._batch = False
        self._update()

    def close(self) -> None:
        """Close the timeline and its controls."""
        for child in list(self.children):
            close_tree(child)
        super().close()

    # -- drawing ----------------------------------------------------------------------

    _batch = False

    def _on_change(self, _change: dict[str, Any]) -> None:
        if not self._batch:
            self._update()

    def _update(self) -> None:
        strategy = self.strategy.value
        shown = _CONTROLS[strategy]
        for name in ("delays", "initial", "factor", "max_delay"):
            getattr(self, name).layout.display = None if name in shown else "none"
        self.initial.description = _INITIAL_LABEL.get(strategy, "Initial (s)")
        try:
            policy = self.policy
            retries = int(self.max_retries.value)
            frame = frames.retry_schedule_frame(policy, retries, jitter_bounds=True)
        except InvalidPolicyError as exc:
            self.last_error = str(exc)
            show_error(self.error, str(exc))
            return
        self.last_error = None
        show_error(self.error, None)
        self.table.value = frame_table(
            frame,
            ("attempt", "delay_s", "at_s"),
            header=("attempt", "waits", "starts after the first"),
            css_class="jobkit-timeline-rows",
            formatters={"attempt": str, "delay_s": seconds_text, "at_s": seconds_text},
        )
        self.plot.value = _plot(frame, policy)


def _plot(frame: pd.DataFrame, policy: RetryPolicy) -> str:
    at = frame["at_s"].tolist()
    low = frame["earliest_s"].tolist()
    high = frame["latest_s"].tolist()
    scale, unit = seconds_axis(high)
    figure, ax = new_figure()
    attempts = frame["attempt"].tolist()
    if policy.jitter:
        for n, lo, hi in zip(attempts, low, high, strict=True):
            ax.plot(
                [lo / scale, hi / scale],
                [n, n],
                color="#93c5fd",
                linewidth=6,
                solid_capstyle="butt",
            )
    ax.scatter([a / scale for a in at], attempts, color="#2563eb", zorder=3)
    for n, a in zip(attempts, at, strict=True):
        ax.annotate(
            "start" if n == 1 else f"+{format_duration(a)}",
            (a / scale, n),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=8,
        )
    ax.set_yticks(attempts)
    ax.set_ylim(max(attempts) + 0.7, 0.3)
    right = max(high + at) / scale if attempts else 1.0
    ax.set_xlim(-0.02 * max(right, 1e-9), max(right, 1e-9) * 1.25)
    ax.set_xlabel(f"time after the first attempt ({unit})")
    ax.set_ylabel("attempt")
    jitter = f", jitter ±{policy.jitter:.0%}" if policy.jitter else ""
    ax.set_title(f"{policy.strategy} retries: when each attempt runs{jitter}", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return figure_html(figure, "retry timeline: " + ", ".join(format_duration(a) for a in at))
