"""End-to-end: the widgets really render and work in JupyterLab in a real browser.

`test_live_inspection_dashboard` opens notebooks/03_live_inspection.ipynb (a temporary copy)
in JupyterLab in Debian's chromium, runs all cells, waits for the jobkit Dashboard to show the
two dead "webhook.call" jobs, clicks Retry on the first dead row and waits for the kernel's
answer to reach the page (one dead row and a dead count of 1 left, one more completed job).
It saves a screenshot and its run time under test-artifacts/browser/.

`test_harness_smoke` drives a tiny pure-ipywidgets notebook the same way (render, a kernel
thread's updates reaching the page, a click round-trip), so a failure of the first test with
this one passing points at jobkit rather than at the browser harness.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import ARTIFACTS_DIR, LabServer, PageLog, Stopwatch

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

DASHBOARD_NOTEBOOK = "03_live_inspection.ipynb"
SMOKE_NOTEBOOK = "browser_smoke.ipynb"

KERNEL_IDLE_TIMEOUT_MS = 90_000
RUN_ALL_TIMEOUT_MS = 120_000
RENDER_TIMEOUT_MS = 60_000
ROUND_TRIP_TIMEOUT_MS = 30_000

WIDGET_ERROR = "Error displaying widget"

# The notebook panel showing `name` is current and its kernel is connected and idle.
JS_NOTEBOOK_READY = """(name) => {
  const app = window.jupyterapp;
  const panel = app && app.shell && app.shell.currentWidget;
  if (!panel || !panel.context || !panel.context.path.endsWith(name)) return false;
  const session = panel.sessionContext && panel.sessionContext.session;
  const kernel = session && session.kernel;
  return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}"""

# Start "Run All Cells"; its promise (all cells done, false if one failed) lands in a global.
JS_RUN_ALL = """() => {
  window.__jobkitRunAll = {done: false};
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    (ok) => { window.__jobkitRunAll = {done: true, ok: ok}; },
    (err) => { window.__jobkitRunAll = {done: true, ok: false, error: String(err)}; });
}"""

JS_RUN_ALL_DONE = "() => window.__jobkitRunAll && window.__jobkitRunAll.done"

JS_RUN_ALL_RESULT = "() => window.__jobkitRunAll"

# Error outputs of the current notebook's code cells.
JS_CELL_ERRORS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const errors = [];
  panel.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    for (const out of cell.model.outputs.toJSON()) {
      if (out.output_type === 'error') errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
    }
  });
  return errors;
}"""

# Ask the notebook's kernel (directly, outside any cell) which interpreter it runs.
JS_KERNEL_PYTHON = """async () => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({
    code: "import json, sys; print(json.dumps([sys.executable, sys.prefix]), end='')",
    silent: false, store_history: false});
  let out = '';
  future.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') out += msg.content.text; };
  await future.done;
  return out;
}"""


def open_notebook(page: Page, server: LabServer, name: str) -> None:
    """Open notebook `name` and wait until its kernel is connected and idle."""
    page.goto(server.notebook_url(name))
    page.wait_for_function(JS_NOTEBOOK_READY, arg=name, timeout=KERNEL_IDLE_TIMEOUT_MS)


def kernel_python(page: Page) -> tuple[str, str]:
    """(sys.executable, sys.prefix) of the current notebook's kernel."""
    executable, prefix = json.loads(page.evaluate(JS_KERNEL_PYTHON))
    return executable, prefix


def assert_kernel_is_ours(page: Page) -> str:
    """The notebook's kernel runs in this interpreter's environment; returns its executable."""
    executable, prefix = kernel_python(page)
    assert Path(prefix) == Path(sys.prefix), (
        f"the notebook's kernel runs {executable} (prefix {prefix}), "
        f"not this environment's {sys.executable} (prefix {sys.prefix})"
    )
    return executable


def run_all_cells(page: Page) -> None:
    """Run all cells in the browser (as the Run menu does) and fail on any cell error."""
    page.evaluate(JS_RUN_ALL)
    page.wait_for_function(JS_RUN_ALL_DONE, timeout=RUN_ALL_TIMEOUT_MS)
    result: dict[str, Any] = page.evaluate(JS_RUN_ALL_RESULT)
    errors: list[str] = page.evaluate(JS_CELL_ERRORS)
    assert not errors, f"cells failed in the browser: {errors}"
    assert result.get("ok"), f"Run All Cells did not complete: {result}"


def assert_no_widget_error(page: Page) -> None:
    """No widget fell back to JupyterLab's "Error displaying widget" placeholder."""
    from playwright.sync_api import expect

    expect(page.get_by_text(WIDGET_ERROR)).to_have_count(0)


def button(row: Locator, css_class: str) -> Locator:
    """The button with `css_class` in `row` (ipywidgets puts the class on <button> itself)."""
    return row.locator(f"button.{css_class}, .{css_class} button").first


def save_artifacts(
    page: Page,
    stem: str,
    stopwatch: Stopwatch,
    details: dict[str, object],
    target: Locator | None = None,
) -> float:
    """Save a full-page screenshot and a run-time note as test-artifacts/browser/<stem>.*.

    Returns the test's run time so far (first fixture to screenshot), which it also prints.
    """
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS_DIR.glob(f"{stem}-failure.*"):
        stale.unlink()
    if target is not None:
        target.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS_DIR / f"{stem}.png"), full_page=True)
    run_time = stopwatch.lap("screenshot saved")
    laps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in stopwatch.laps.items())
    lines = [
        f"run time: {run_time:.2f} s (server start to screenshot saved)",
        f"laps: {laps}",
        *(f"{key}: {value}" for key, value in details.items()),
    ]
    (ARTIFACTS_DIR / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    print(f"{stem}: run time {run_time:.2f} s ({laps})")
    return run_time


def save_failure(page: Page, stem: str, server: LabServer, page_log: PageLog) -> None:
    """Keep what a failed run saw: a screenshot, the server log tail and the page's errors."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(ARTIFACTS_DIR / f"{stem}-failure.png"), full_page=True)
    except Exception as exc:  # the page may be gone; the text note still helps
        print(f"no failure screenshot: {exc}")
    (ARTIFACTS_DIR / f"{stem}-failure.txt").write_text(
        f"{page_log.summary()}\n\n--- server log (tail) ---\n{server.log_tail(200)}\n"
    )


def _notebook(cells: list[str]) -> dict[str, object]:
    """An nbformat 4 notebook of code cells with the python3 kernel metadata."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{i}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


SMOKE_CELLS = [
    """\
import threading

import ipywidgets as w

dead = ["job-1", "job-2"]
counts = w.HTML()
counts.add_class("smoke-status-counts")
rows = w.VBox()
rows.add_class("smoke-dead-letters")
ticks = w.IntText(value=0, disabled=True)
ticks.add_class("smoke-ticks")


def make_row(job_id):
    label = w.HTML(f"<b>{job_id}</b> webhook.call: boom")
    label.add_class("smoke-dead-label")
    retry = w.Button(description="Retry")
    retry.add_class("smoke-retry")
    retry.on_click(lambda _button: (dead.remove(job_id), render()))
    row = w.HBox([label, retry])
    row.add_class("smoke-dead-row")
    return row


def render():
    counts.value = f'<span class="smoke-count" data-status="dead">{len(dead)}</span>'
    rows.children = [make_row(job_id) for job_id in dead]


def tick(stop=threading.Event()):
    while not stop.wait(0.2):
        ticks.value += 1


render()
threading.Thread(target=tick, daemon=True).start()""",
    """\
dash = w.VBox([counts, rows, ticks])
dash.add_class("smoke-dashboard")
dash""",
]


def test_harness_smoke(
    lab_server: LabServer, page: Page, page_log: PageLog, stopwatch: Stopwatch
) -> None:
    """A plain ipywidgets view renders; kernel-thread updates and a click round-trip arrive."""
    from playwright.sync_api import expect

    (lab_server.root / SMOKE_NOTEBOOK).write_text(json.dumps(_notebook(SMOKE_CELLS)))
    try:
        open_notebook(page, lab_server, SMOKE_NOTEBOOK)
        assert_kernel_is_ours(page)
        run_all_cells(page)
        dash = page.locator(".smoke-dashboard")
        expect(dash).to_be_visible(timeout=RENDER_TIMEOUT_MS)
        expect(dash.locator('.smoke-count[data-status="dead"]')).to_have_text("2")
        rows = dash.locator(".smoke-dead-row")
        expect(rows).to_have_count(2)

        # kernel -> browser: the background thread's updates keep arriving
        ticks = dash.locator(".smoke-ticks input")
        first = int(ticks.input_value())
        page.wait_for_function(
            "([el, n]) => Number(el.value) >= n",
            arg=[ticks.element_handle(), first + 2],
            timeout=ROUND_TRIP_TIMEOUT_MS,
        )

        # browser -> kernel -> browser: Retry removes the row
        button(rows.first, "smoke-retry").click()
        expect(rows).to_have_count(1, timeout=ROUND_TRIP_TIMEOUT_MS)
        expect(rows.first).to_contain_text("job-2")
        expect(dash.locator('.smoke-count[data-status="dead"]')).to_have_text("1")
        assert_no_widget_error(page)
    except BaseException:
        save_failure(page, "harness_smoke", lab_server, page_log)
        raise
    save_artifacts(page, "harness_smoke", stopwatch, {"kernel": lab_server.kernel_check}, dash)


def test_live_inspection_dashboard(
    lab_server: LabServer, page: Page, page_log: PageLog, stopwatch: Stopwatch
) -> None:
    """Notebook 03's Dashboard shows the 2 dead jobs; Retry in the browser revives one."""
    from playwright.sync_api import expect

    if not (lab_server.root / DASHBOARD_NOTEBOOK).is_file():
        pytest.fail(f"notebooks/{DASHBOARD_NOTEBOOK} is missing", pytrace=False)
    stem = DASHBOARD_NOTEBOOK.removesuffix(".ipynb")
    try:
        open_notebook(page, lab_server, DASHBOARD_NOTEBOOK)
        stopwatch.lap("kernel idle")
        kernel_executable = assert_kernel_is_ours(page)
        run_all_cells(page)
        stopwatch.lap("all cells run")

        dash = page.locator(".jobkit-dashboard")
        expect(dash).to_have_count(1, timeout=RENDER_TIMEOUT_MS)
        expect(dash).to_be_visible()
        dead_count = dash.locator('.jobkit-status-counts .jobkit-count[data-status="dead"]')
        completed_count = dash.locator(
            '.jobkit-status-counts .jobkit-count[data-status="completed"]'
        )
        rows = dash.locator(".jobkit-dead-letters .jobkit-dead-row")
        expect(dead_count).to_have_text("2", timeout=RENDER_TIMEOUT_MS)
        expect(rows).to_have_count(2)
        expect(rows.locator(".jobkit-dead-label")).to_have_count(2)
        for label in rows.locator(".jobkit-dead-label").all():
            expect(label).to_contain_text("webhook.call")
        completed_before = int(completed_count.inner_text())
        stopwatch.lap("dashboard rendered")

        retried_label = rows.first.locator(".jobkit-dead-label").inner_text()
        kept_label = rows.nth(1).locator(".jobkit-dead-label").inner_text()
        button(rows.first, "jobkit-retry").click()
        expect(rows).to_have_count(1, timeout=ROUND_TRIP_TIMEOUT_MS)
        expect(dead_count).to_have_text("1", timeout=ROUND_TRIP_TIMEOUT_MS)
        expect(rows.first.locator(".jobkit-dead-label")).to_have_text(kept_label)
        # the pool re-ran the retried job, which now succeeds
        expect(completed_count).to_have_text(
            str(completed_before + 1), timeout=ROUND_TRIP_TIMEOUT_MS
        )
        expect(dash.locator(".jobkit-dead-empty")).to_have_count(0)
        stopwatch.lap("retry round-trip")
        assert_no_widget_error(page)
    except BaseException:
        save_failure(page, stem, lab_server, page_log)
        raise
    browser = page.context.browser
    save_artifacts(
        page,
        stem,
        stopwatch,
        {
            "chromium": browser.version if browser else "?",
            "kernel": kernel_executable,
            "kernelspec": lab_server.kernel_check,
            "retried": retried_label,
            "still dead": kept_label,
            "non-loopback requests (blocked)": len(page_log.blocked),
        },
        dash,
    )
