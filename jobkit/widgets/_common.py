"""Helpers the widgets share: error boxes, frame tables, matplotlib figures as HTML."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd

from jobkit.core.display import escape, format_duration, format_time, table_html

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: The figure size (inches) and resolution of the widgets' plots.
FIGSIZE = (7.5, 2.8)
DPI = 96


def html_widget(css_class: str, value: str = "") -> widgets.HTML:
    """An `ipywidgets.HTML` carrying `css_class`."""
    widget = widgets.HTML(value=value)
    widget.add_class(css_class)
    return widget


def error_widget() -> widgets.HTML:
    """A hidden HTML with class `jobkit-error`; `show_error` fills and shows it."""
    widget = html_widget("jobkit-error")
    widget.layout.display = "none"
    return widget


def show_error(widget: widgets.HTML, message: str | None) -> None:
    """Show `message` (escaped, red) in an error widget, or hide it when None."""
    if message is None:
        if widget.value:
            widget.value = ""
        widget.layout.display = "none"
    else:
        widget.value = f'<div style="color:#dc2626;white-space:pre-wrap">{escape(message)}</div>'
        widget.layout.display = None


def cell_text(value: Any) -> str:
    """A frame cell as display text: times as UTC text, NaN/NaT/None as empty."""
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return format_time(value.to_pydatetime())
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)


def frame_table(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    header: Sequence[str] | None = None,
    css_class: str = "jobkit-table",
    empty: str = "(none)",
    formatters: dict[str, Callable[[Any], str]] | None = None,
) -> str:
    """`columns` of `frame` as an escaped HTML table (`jobkit.core.display.table_html`)."""
    formatters = formatters or {}
    rows = [
        [formatters.get(c, cell_text)(value) for c, value in zip(columns, record, strict=True)]
        for record in frame[list(columns)].itertuples(index=False, name=None)
    ]
    return table_html(rows, list(header or columns), css_class=css_class, empty=empty)


def seconds_text(value: Any) -> str:
    """Seconds as a readable duration (`5 min 30 s`), NaN as empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return format_duration(float(value))


def new_figure(size: tuple[float, float] = FIGSIZE) -> tuple[Figure, Axes]:
    """A matplotlib Figure on the Agg canvas (no pyplot, no GUI, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def figure_html(figure: Figure, alt: str) -> str:
    """The figure as a PNG `<img>` with a data URI: self-contained, shows the same in
    JupyterLab, classic Notebook, VS Code and a headless nbclient run."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}" '
        'style="max-width:100%;height:auto"/>'
    )


def seconds_axis(values: Sequence[float]) -> tuple[float, str]:
    """A divisor and unit name that make the largest of `values` readable on an axis."""
    top = max((v for v in values if math.isfinite(v)), default=0.0)
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if top >= 2 * size:
            return size, unit
    return 1.0, "s"


def close_tree(widget: widgets.Widget) -> None:
    """Close `widget` and every widget below it (children, layouts and styles too)."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    widget.close()
