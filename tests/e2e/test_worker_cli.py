"""`jobkit worker` run as a real subprocess: start, graceful and hard shutdown, errors.

Each test writes a small application module to `tmp_path` and runs
`python -m jobkit worker --app app:...` there. The in-memory backend lives in the
worker's process, so the application enqueues its jobs at import, and its handlers
write marker files into `tmp_path` for the test to see.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WAIT = 5.0  # longest wait for anything the worker should do within a fraction of that

APP = """\
import pathlib
import time

import jobkit

OUT = pathlib.Path({out!r})
kit = jobkit.connect("memory://")


@kit.handler("record")
def record(args):
    with open(OUT / "done.txt", "a") as f:
        f.write(args["name"] + "\\n")


@kit.handler("slow")
def slow(args):
    (OUT / "slow.started").touch()
    time.sleep(args["seconds"])
    (OUT / "slow.finished").touch()


for name in ("a", "b", "c"):
    kit.enqueue("record", {{"name": name}})
kit.enqueue("record", {{"name": "mail-1"}}, queue="mail")
kit.enqueue("slow", {{"seconds": {slow_seconds!r}}}, priority="low")

# the same handlers on a backend of its own, holding one job per tenant (and one without)
tenant_kit = jobkit.connect("memory://", registry=kit.registry)
for tenant in ("acme", "globex", None):
    tenant_kit.enqueue("record", {{"name": str(tenant)}}, tenant_id=tenant)

registry = jobkit.Registry()
number = 42


def make_kit():
    return kit


def needs_args(x):
    return kit


def make_text():
    return "not a kit"
"""

BROKEN = "import jobkit_no_such_dependency_xyz\n"


def write_app(directory: Path, *, slow_seconds: float = 1.0) -> None:
    (directory / "app.py").write_text(APP.format(out=str(directory), slow_seconds=slow_seconds))
    (directory / "broken.py").write_text(BROKEN)


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "JOBKIT_URL"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "jobkit", "worker", *args]


@dataclass
class Running:
    """A worker subprocess whose stdout and stderr go to files (read them any time)."""

    popen: subprocess.Popen[bytes]
    directory: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stderr(self) -> str:
        return (self.directory / "stderr.log").read_text()

    def output(self) -> str:
        return (self.directory / "stdout.log").read_text() + self.stderr()

    def send(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def wait(self, timeout: float = WAIT) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker did not exit within {timeout}s; stderr:\n{self.stderr()}")

    def wait_for(self, what: str, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.popen.poll() is not None:
                pytest.fail(
                    f"the worker exited ({self.popen.returncode}) before {what}; "
                    f"stderr:\n{self.stderr()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"timed out after {timeout}s waiting for {what}; stderr:\n{self.stderr()}"
                )
            time.sleep(0.02)

    def wait_for_log(self, needle: str) -> None:
        self.wait_for(f"{needle!r} in the log", lambda: needle in self.stderr())


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start `jobkit worker ARGS...` in tmp_path; kills whatever is left at teardown."""
    started: list[Running] = []

    def _start(*args: str) -> Running:
        with (
            open(tmp_path / "stdout.log", "wb") as out,
            open(tmp_path / "stderr.log", "wb") as err,
        ):
            popen = subprocess.Popen(
                command(*args), cwd=tmp_path, stdout=out, stderr=err, env=child_env()
            )
        running = Running(popen, tmp_path)
        started.append(running)
        return running

    yield _start
    for running in started:
        if running.popen.poll() is None:
            running.popen.kill()
        running.popen.wait(WAIT)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


FAST = ("--poll-interval", "0.05")


# -- graceful shutdown -------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_lets_the_job_in_hand_finish_then_exits_0(tmp_path, start, signum):
    write_app(tmp_path, slow_seconds=1.0)
    worker = start("--app", "app:kit", "--workers", "2", *FAST)

    worker.wait_for("the slow job to start", (tmp_path / "slow.started").exists)
    worker.wait_for("the quick jobs", lambda: len(lines(tmp_path / "done.txt")) == 4)
    assert not (tmp_path / "slow.finished").exists()  # in hand when the signal arrives
    worker.send(signum)

    assert worker.wait() == 0, worker.stderr()
    assert (tmp_path / "slow.finished").exists()  # finished before the process ended
    assert sorted(lines(tmp_path / "done.txt")) == ["a", "b", "c", "mail-1"]
    log = worker.stderr()
    assert "jobkit worker starting: 2 worker(s), queues=all, backend=InMemoryBackend" in log
    assert f"pid={worker.pid}" in log
    assert f"received {signal.Signals(signum).name}: stopping" in log
    assert "jobkit worker stopped: processed 5 job(s) (5 succeeded, 0 failed)" in log
    assert "INFO jobkit.cli:" in log
    assert (tmp_path / "stdout.log").read_text() == ""  # logging only, never print


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        (signal.SIGTERM, signal.SIGTERM, 143),
        (signal.SIGINT, signal.SIGINT, 130),
        (signal.SIGTERM, signal.SIGINT, 130),
    ],
    ids=["TERM-TERM", "INT-INT", "TERM-INT"],
)
def test_a_second_signal_exits_at_once(tmp_path, start, first, second, code):
    write_app(tmp_path, slow_seconds=30.0)
    worker = start("--app", "app:kit", *FAST)
    worker.wait_for("the slow job to start", (tmp_path / "slow.started").exists)
    worker.send(first)
    worker.wait_for_log("stopping")  # the first signal is being handled: now shutting down

    sent = time.monotonic()
    worker.send(second)

    assert worker.wait() == code, worker.stderr()
    assert time.monotonic() - sent < 2.0
    assert not (tmp_path / "slow.finished").exists()
    assert f"received {signal.Signals(second).name} again: exiting now with {code}" in (
        worker.stderr()
    )


def test_a_shutdown_timeout_with_a_job_still_in_hand_exits_1(tmp_path, start):
    write_app(tmp_path, slow_seconds=30.0)
    worker = start("--app", "app:kit", "--shutdown-timeout", "0.3", *FAST)
    worker.wait_for("the slow job to start", (tmp_path / "slow.started").exists)
    worker.wait_for("the quick jobs", lambda: len(lines(tmp_path / "done.txt")) == 4)

    worker.send(signal.SIGTERM)

    assert worker.wait() == 1, worker.stderr()
    log = worker.stderr()
    assert "processed 4 job(s)" in log
    assert "shutdown timed out after 0.3s with 1 job(s) still in hand" in log


# -- what it serves ----------------------------------------------------------------------


def test_queue_limits_the_queues_served(tmp_path, start):
    write_app(tmp_path)
    worker = start("--app", "app:kit", "--queue", "mail", "--workers", "1", *FAST)
    worker.wait_for("the mail job", lambda: lines(tmp_path / "done.txt") == ["mail-1"])
    worker.send(signal.SIGTERM)

    assert worker.wait() == 0, worker.stderr()
    assert lines(tmp_path / "done.txt") == ["mail-1"]
    assert not (tmp_path / "slow.started").exists()
    assert "1 worker(s), queues=mail," in worker.stderr()
    assert "processed 1 job(s)" in worker.stderr()


@pytest.mark.parametrize(
    ("flags", "served", "shown"),
    [
        (("--tenant", "acme"), ["acme"], "tenants=acme,"),
        (("--tenant", "globex", "--without-tenant"), ["None", "globex"], "tenants=globex, (none),"),
        (("--without-tenant",), ["None"], "tenants=(none),"),
    ],
)
def test_tenant_limits_the_jobs_served(tmp_path, start, flags, served, shown):
    write_app(tmp_path)
    worker = start("--app", "app:tenant_kit", "--workers", "1", *flags, *FAST)
    worker.wait_for("its jobs", lambda: sorted(lines(tmp_path / "done.txt")) == served)
    worker.send(signal.SIGTERM)

    assert worker.wait() == 0, worker.stderr()
    assert sorted(lines(tmp_path / "done.txt")) == served
    assert shown in worker.stderr()


def test_a_factory_is_called_for_the_kit(tmp_path, start):
    write_app(tmp_path, slow_seconds=0.0)
    worker = start("--app", "app:make_kit", "--queue", "default", "--queue", "mail", *FAST)
    worker.wait_for("the jobs", lambda: len(lines(tmp_path / "done.txt")) == 4)
    worker.wait_for("the slow job", (tmp_path / "slow.finished").exists)
    worker.send(signal.SIGTERM)

    assert worker.wait() == 0, worker.stderr()
    assert "queues=default, mail," in worker.stderr()


def test_a_registry_runs_on_the_url(tmp_path, start):
    write_app(tmp_path)
    worker = start("--app", "app:registry", "--url", "memory://", *FAST)
    worker.wait_for_log("jobkit worker starting")
    worker.send(signal.SIGTERM)

    assert worker.wait() == 0, worker.stderr()
    log = worker.stderr()
    assert "url=memory://," in log
    assert "private to this process" in log  # a warning: nothing else can enqueue there
    assert "processed 0 job(s)" in log
    assert not (tmp_path / "done.txt").exists()


# -- errors ------------------------------------------------------------------------------


ERRORS = [
    (("--app", "app"), "must be MODULE:ATTR"),
    (("--app", "no_such_module_xyz:kit"), "cannot import module 'no_such_module_xyz'"),
    (("--app", "app:missing"), "module 'app' has no attribute 'missing'"),
    (("--app", "app:number"), "is 42 (of type int); expected a jobkit.JobKit, a jobkit"),
    (("--app", "app:jobkit.JobKit"), "is the class jobkit.kit.JobKit, not an instance"),
    (("--app", "app:registry"), "is a Registry, which has no backend: give --url"),
    (("--app", "app:needs_args"), "is a callable that needs arguments"),
    (("--app", "app:make_text"), "returned 'not a kit' (of type str); expected"),
    (("--app", "broken:kit"), "importing module 'broken' failed"),
    (("--app", "app:kit", "--workers", "0"), "--workers: must be an integer >= 1, got '0'"),
    (("--app", "app:kit", "--poll-interval", "nan"), "must be a number of seconds > 0"),
    (("--app", "app:kit", "--queue", ""), "queue"),
    (("--app", "app:kit", "--tenant", "bad tenant"), "tenant_id"),
    (
        ("--app", "app:kit", "--heartbeat-interval", "20", "--visibility-timeout", "10"),
        "heartbeat_interval=20.0 must be shorter than visibility_timeout=10.0",
    ),
    ((), "the following arguments are required: --app"),
]


@pytest.mark.parametrize(("args", "needle"), ERRORS, ids=[e[1][:40] for e in ERRORS])
def test_bad_arguments_exit_2_naming_the_problem(tmp_path, args, needle):
    write_app(tmp_path)
    done = subprocess.run(
        command(*args),
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "jobkit worker: error:" in done.stderr
    assert needle in done.stderr


def test_batches_process_every_job(tmp_path, start):
    write_app(tmp_path, slow_seconds=0.0)
    worker = start("--app", "app:kit", "--batch-size", "3", "--workers", "1", *FAST)
    worker.wait_for("the jobs", lambda: len(lines(tmp_path / "done.txt")) == 4)
    worker.wait_for("the slow job", (tmp_path / "slow.finished").exists)
    worker.send(signal.SIGTERM)

    assert worker.wait() == 0, worker.stderr()
    assert sorted(lines(tmp_path / "done.txt")) == ["a", "b", "c", "mail-1"]
    assert "processed 5 job(s)" in worker.stderr()


@pytest.mark.parametrize(
    "url",
    [
        "redis://user:secret@127.0.0.1:1/0",
        "rediss://:p%40ss-secret@127.0.0.1:1/0",
        "redis://127.0.0.1:1/0?password=secret",
    ],
)
def test_the_password_in_the_url_is_never_shown(tmp_path, start, url):
    write_app(tmp_path)
    worker = start("--app", "app:registry", "--url", url, "--shutdown-timeout", "1", *FAST)
    try:
        worker.popen.wait(1.5)  # today: an unsupported scheme, exit 2; later: it runs
    except subprocess.TimeoutExpired:
        worker.send(signal.SIGTERM)
        worker.wait()

    output = worker.output()
    assert "secret" not in output
    assert "127.0.0.1:1" in output  # the URL was shown, redacted
