"""Fixtures for the real-browser tests: a JupyterLab server and Debian's chromium.

Each test gets its own JupyterLab server on 127.0.0.1 (free port, random token, config,
runtime, data, settings and workspace directories under the test's tmp_path, root_dir = a
temporary copy of the repo's notebooks/) whose python3 kernel is this interpreter, and its
own chromium page (Playwright's Python package driving Debian's /usr/bin/chromium through
`executable_path`; `playwright install` is never needed) in which no host name but loopback
resolves; requests for anything else are recorded. The server is stopped by process group
at teardown, and any kernel it started that is still alive afterwards is killed by pid, so
no jupyter, kernel or chromium process outlives the test.

Without chromium (or the playwright package) the tests skip; with CI=true they fail instead,
so a missing install step in .ci/run cannot turn them green.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page, Request

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts" / "browser"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

SERVER_START_TIMEOUT_S = 90.0
SERVER_STOP_TIMEOUT_S = 20.0
KERNEL_EXIT_TIMEOUT_S = 10.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # no host name resolves but loopback's: nothing can leave the machine, and fast
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
_LOCAL_URL = re.compile(r"^(?:(?:https?|wss?)://(?:127\.0\.0\.1|localhost)[:/]|data:|blob:)")
_BARE_PYTHONS = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info)}


def _unavailable(reason: str) -> NoReturn:
    """Skip the test for `reason`, or fail it under CI=true (where the browser is required)."""
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true; .ci/run installs it)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """The path of Debian's chromium; skips (fails under CI=true) when it is not installed."""
    path = shutil.which("chromium")
    if path is None:
        _unavailable("Debian's chromium is not installed (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    return path


@dataclass
class Stopwatch:
    """Wall time since the test's first fixture started, with named laps."""

    started: float = field(default_factory=time.perf_counter)
    laps: dict[str, float] = field(default_factory=dict)

    def elapsed(self) -> float:
        """Seconds since the stopwatch started."""
        return time.perf_counter() - self.started

    def lap(self, name: str) -> float:
        """Record and return the elapsed time under `name`."""
        self.laps[name] = self.elapsed()
        return self.laps[name]


@pytest.fixture
def stopwatch() -> Stopwatch:
    """Started before the server and the browser, so a test can report its whole run time."""
    return Stopwatch()


@dataclass
class LabServer:
    """A running JupyterLab server owned by one test."""

    process: subprocess.Popen[bytes]
    port: int
    token: str
    root: Path
    log_path: Path
    kernel_check: str

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        """The URL opening notebook `name` (relative to root) in a fresh (?reset) workspace."""
        return f"{self.base_url}/lab/tree/{quote(name)}?token={self.token}&reset"

    def api(self, path: str, method: str = "GET", timeout: float = 5.0) -> Any:
        """Call the server's REST API and return the decoded JSON (None for an empty body)."""
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 80) -> str:
        """The last `lines` lines of the server's (and its kernels') output."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "<no server log>"
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


def _write_lab_settings(settings_dir: Path) -> None:
    """No news toast, every cell kept in the DOM (no windowing), no autosave."""
    _write_json(
        settings_dir / "@jupyterlab/apputils-extension/notification.jupyterlab-settings",
        {"fetchNews": "false"},
    )
    _write_json(
        settings_dir / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings",
        {"windowingMode": "none"},
    )
    _write_json(
        settings_dir / "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings",
        {"autosave": False},
    )


def _ensure_python3_kernel(env: dict[str, str], kernels_dir: Path) -> str:
    """Make the server's python3 kernelspec run this interpreter; return what was found/done.

    Resolves python3 exactly as the server will (same environment variables, fresh
    interpreter). A bare `python`/`python3` argv[0] is replaced by jupyter_client with the
    server's sys.executable, which is ours; an absolute one must live next to sys.executable.
    Otherwise a python3 kernelspec running sys.executable is written into `kernels_dir`,
    which the caller has put first on JUPYTER_PATH.
    """
    probe = (
        "import json; from jupyter_client.kernelspec import KernelSpecManager as M\n"
        "try:\n"
        "    s = M().get_kernel_spec('python3'); print(json.dumps([s.argv, s.resource_dir]))\n"
        "except Exception as e:\n"
        "    print(json.dumps([[], repr(e)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    argv, where = json.loads(result.stdout.strip().splitlines()[-1])
    if argv:
        first = str(argv[0])
        if first in _BARE_PYTHONS:
            return f"python3 kernelspec {where}: {first!r} -> {sys.executable}"
        if Path(first).parent == Path(sys.executable).parent:
            return f"python3 kernelspec {where}: {first}"
    spec_dir = kernels_dir / "python3"
    _write_json(
        spec_dir / "kernel.json",
        {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3",
            "language": "python",
        },
    )
    return f"python3 kernelspec {where} was {argv!r}; wrote {spec_dir} -> {sys.executable}"


def _kernel_pids(server_pid: int) -> list[int]:
    """Pids of live processes started by the server as kernels (JPY_PARENT_PID=server_pid)."""
    marker = f"JPY_PARENT_PID={server_pid}".encode()
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and _alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is as good as gone (its parent, the server, is being reaped)
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _wait_for(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def start_lab(base: Path, root: Path) -> LabServer:
    """Start JupyterLab with root_dir `root` and per-run directories under `base`; wait for it.

    Retries on a new port if the free port was taken between picking and binding.
    """
    dirs = {name: base / name for name in ("config", "runtime", "data", "settings", "workspaces")}
    kernels_path = base / "jupyter-path"
    for path in [*dirs.values(), kernels_path / "kernels"]:
        path.mkdir(parents=True, exist_ok=True)
    _write_lab_settings(dirs["settings"])

    env = dict(os.environ)
    env.pop("JOBKIT_NOTEBOOK_SHUTDOWN", None)  # the notebook must keep its pool and dashboard
    env.pop("JUPYTER_TOKEN", None)
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        JUPYTER_PATH=os.pathsep.join(filter(None, [str(kernels_path), env.get("JUPYTER_PATH")])),
        # the kernel imports this checkout's jobkit whatever the notebook's directory is
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    kernel_check = _ensure_python3_kernel(env, kernels_path / "kernels")

    token = secrets.token_hex(16)
    log_path = base / "jupyter-lab.log"
    last_error = ""
    for _attempt in range(3):
        port = _free_port()
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None",
            "--LabApp.extension_manager=readonly",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.expose_app_in_browser=True",
        ]
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                cmd,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = LabServer(process, port, token, root, log_path, kernel_check)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            try:
                server.api("/api/status", timeout=2.0)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.2)
                continue
            return server
        last_error = server.log_tail()
        stop_lab(server)
        if "already in use" not in last_error:
            break
    raise RuntimeError(f"JupyterLab did not start; its log ends with:\n{last_error}")


def stop_lab(server: LabServer) -> list[int]:
    """Stop the server by process group (SIGTERM, then SIGKILL) and make sure its kernels die.

    Kernels run in sessions of their own, so the server's SIGTERM handler shuts them down;
    any that is still alive KERNEL_EXIT_TIMEOUT_S later is killed by pid. Returns those pids.
    """
    group = server.process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(timeout=SERVER_STOP_TIMEOUT_S)
    # anything left in the server's process group (the server itself included) gets SIGKILL
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    server.process.wait(timeout=10)
    _wait_for(lambda: not _kernel_pids(group), KERNEL_EXIT_TIMEOUT_S)
    killed = []
    for pid in _kernel_pids(group):  # re-read from /proc: never a recycled pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed


@pytest.fixture
def lab_root(tmp_path: Path) -> Path:
    """A temporary copy of notebooks/ to serve as root_dir (the repo's copies stay untouched)."""
    root = tmp_path / "lab-root"
    if NOTEBOOKS_DIR.is_dir():
        shutil.copytree(
            NOTEBOOKS_DIR, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
        )
    else:
        root.mkdir()
    return root


@pytest.fixture
def lab_server(
    stopwatch: Stopwatch, chromium_executable: str, tmp_path: Path, lab_root: Path
) -> Iterator[LabServer]:
    """A JupyterLab server serving `lab_root`, stopped (with its kernels) at teardown."""
    server = start_lab(tmp_path / "jupyter", lab_root)
    stopwatch.lap("server up")
    try:
        yield server
    finally:
        killed = stop_lab(server)
        if killed:
            print(f"kernels outlived the server and were killed: {killed}")


@dataclass
class PageLog:
    """What the page did besides rendering: non-loopback requests, console and page errors."""

    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A multi-line description for failure messages."""
        return (
            f"non-loopback requests (blocked): {self.blocked}\n"
            f"console errors: {self.console_errors[-20:]}\n"
            f"page errors: {self.page_errors[-20:]}"
        )


@pytest.fixture
def page_log() -> PageLog:
    """Filled by the `page` fixture."""
    return PageLog()


@pytest.fixture
def page(stopwatch: Stopwatch, chromium_executable: str, page_log: PageLog) -> Iterator[Page]:
    """A chromium page (1280x1400) that can only reach loopback; closed with its browser."""
    from playwright.sync_api import sync_playwright

    def record_external(request: Request) -> None:
        if not _LOCAL_URL.match(request.url):
            page_log.blocked.append(request.url)

    def record_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            page_log.console_errors.append(message.text)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1400})
            new_page = context.new_page()
            new_page.on("request", record_external)
            new_page.on("console", record_console)
            new_page.on("pageerror", lambda error: page_log.page_errors.append(str(error)))
            stopwatch.lap("browser up")
            yield new_page
            context.close()
        finally:
            browser.close()
