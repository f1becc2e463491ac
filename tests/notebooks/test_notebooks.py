"""The notebooks in notebooks/ run top to bottom and are stored clean.

Each notebook is executed with nbclient in a kernel running this interpreter (a
`python3` kernelspec written to a temporary JUPYTER_PATH, which Jupyter searches first),
with notebooks/ as the working directory and JOBKIT_NOTEBOOK_SHUTDOWN=1 (so notebook 03
stops its worker pool and dashboard at the end). No cell may raise or print a warning,
and a few key outputs are checked per notebook.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbclient
import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
EXPECTED = (
    "01_prototype_handlers.ipynb",
    "02_retry_backoff_timelines.ipynb",
    "03_live_inspection.ipynb",
    "04_replay_a_workload.ipynb",
)
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
WIDGET = "application/vnd.jupyter.widget-view+json"
CELL_TIMEOUT = 120  # seconds per cell
#: appended to the in-memory copy of each notebook: which interpreter and directory ran it
PROBE = "import os, sys\nprint(sys.executable)\nprint(os.getcwd())"


# -- running ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A `python3` kernelspec for this interpreter, first on JUPYTER_PATH, and the
    environment the notebooks expect; yields the kernelspec's directory."""
    jupyter_path = tmp_path_factory.mktemp("jupyter")
    spec_dir = jupyter_path / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "Python 3", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(jupyter_path))
        # no platformdirs-migration DeprecationWarning from jupyter_core versions that emit one
        mp.setenv("JUPYTER_PLATFORM_DIRS", "1")
        mp.setenv("JOBKIT_NOTEBOOK_SHUTDOWN", "1")
        mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        yield spec_dir


@pytest.fixture(scope="module")
def executed(kernel_env: Path) -> dict[str, Any]:
    """The module's cache of executed notebooks (name -> notebook, or the error its run
    raised): each notebook runs once however many tests look at it."""
    return {}


def run(name: str, cache: dict[str, Any]) -> Any:
    """Execute notebooks/`name` top to bottom (memoised in `cache`); the executed notebook.

    Raises nbclient's CellExecutionError (with the cell and its traceback) on the first
    cell that fails."""
    if name not in cache:
        nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(PROBE))
        client = nbclient.NotebookClient(
            nb,
            timeout=CELL_TIMEOUT,
            kernel_name="python3",
            resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        )
        try:
            client.execute()
        except Exception as exc:  # a failed run is not repeated by the next test
            cache[name] = exc
        else:
            cache[name] = nb
    if isinstance(cache[name], Exception):
        raise cache[name]
    return cache[name]


def code_cells(nb: Any) -> list[Any]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def cell_with(nb: Any, text: str) -> Any:
    """The first code cell whose source contains `text`."""
    for cell in code_cells(nb):
        if text in cell.source:
            return cell
    raise AssertionError(f"no code cell contains {text!r}")


def stream(cell: Any, name: str = "stdout") -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == name)


def data(cell: Any) -> list[dict[str, Any]]:
    """The rich outputs (execute_result and display_data) of a cell."""
    return [o.data for o in cell.outputs if o.output_type in ("execute_result", "display_data")]


def shows_widget(cell: Any) -> bool:
    return any(WIDGET in d for d in data(cell))


# -- every notebook ------------------------------------------------------------------------


def test_the_four_notebooks_are_there() -> None:
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == list(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_is_stored_clean(name: str) -> None:
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=nbformat.NO_CONVERT)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.get("kernelspec") == KERNELSPEC
    for cell in code_cells(nb):
        assert cell.outputs == [], f"{name}: outputs not stripped in {cell.source[:60]!r}"
        assert cell.execution_count is None, f"{name}: execution count in {cell.source[:60]!r}"
    assert "widgets" not in nb.metadata, f"{name}: widget state stored in the metadata"


def test_notebooks_match_their_generator() -> None:
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOK_DIR / "_build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert build.main(["--check"]) == 0, "run: python notebooks/_build.py"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_runs_top_to_bottom(name: str, kernel_env: Path, executed: dict[str, Any]) -> None:
    nb = run(name, executed)
    for cell in code_cells(nb):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{name}: {cell.source[:60]!r} raised {errors[0].ename}"
        assert "Warning" not in stream(cell, "stderr"), f"{name}: {stream(cell, 'stderr')}"
    executable, cwd = stream(code_cells(nb)[-1]).splitlines()
    assert (executable, cwd) == (sys.executable, str(NOTEBOOK_DIR))


def test_the_kernelspec_is_this_interpreter(kernel_env: Path) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert Path(spec.resource_dir) == kernel_env
    assert spec.argv[0] == sys.executable


# -- what each notebook shows --------------------------------------------------------------


def test_01_runs_handlers_and_walks_the_clock(kernel_env: Path, executed: dict[str, Any]) -> None:
    nb = run(EXPECTED[0], executed)
    assert "ran 5 jobs" in stream(cell_with(nb, "kit.run_until_idle()"))
    assert "text/html" in data(cell_with(nb, "kit.get(resize.id)"))[0]  # Job._repr_html_
    assert "perform re-raised: TimeoutError" in stream(cell_with(nb, "perform(kit"))
    assert shows_widget(cell_with(nb, "ClockControl(kit)"))
    walked = stream(cell_with(nb, "controls.step(60)")).splitlines()
    assert [line.split(" ran ")[1].split()[0] for line in walked] == ["0", "1", "1", "0"]


def test_02_shows_the_seed_schedule(kernel_env: Path, executed: dict[str, Any]) -> None:
    nb = run(EXPECTED[1], executed)
    assert stream(cell_with(nb, "default.timeline")).splitlines() == [
        "attempt 1: +0:00:00",
        "attempt 2: +0:00:30",
        "attempt 3: +0:05:30",
        "attempt 4: +1:05:30",
    ]
    assert shows_widget(cell_with(nb, "timeline = RetryTimeline()"))
    table = data(cell_with(nb, 'attempts["on_time"]'))[0]["text/plain"]
    assert "False" not in table and table.count("True") == 4
    assert "after retry_dead: pending retry_count 0" in stream(cell_with(nb, "kit.retry_dead"))


def test_03_displays_the_dashboard(kernel_env: Path, executed: dict[str, Any]) -> None:
    nb = run(EXPECTED[2], executed)
    assert data(cell_with(nb, "pool.wait_until_idle"))[0]["text/plain"] == "True"
    dashboard = cell_with(nb, "Dashboard(kit, refresh=0.5)")
    assert dashboard.source.splitlines()[-1] == "dash"
    assert shows_widget(dashboard)
    redis_note = stream(cell_with(nb, "redis_reachable(REDIS_URL)"))
    assert "ran 3 jobs" in redis_note or "skipped" in redis_note
    last = code_cells(nb)[-2]  # the probe cell comes after the notebook's last cell
    assert "JOBKIT_NOTEBOOK_SHUTDOWN" in last.source and "pool.stop()" in last.source


def test_04_replays_the_outage(kernel_env: Path, executed: dict[str, Any]) -> None:
    nb = run(EXPECTED[3], executed)
    assert "5308 arrivals" in stream(cell_with(nb, "Workload.load"))
    plots = sum("image/png" in d for cell in code_cells(nb) for d in data(cell))
    assert plots >= 4
    assert shows_widget(cell_with(nb, "SimulationExplorer(r5)"))
    assert "8 workers" in data(cell_with(nb, "sim.compare"))[0]["text/plain"]
