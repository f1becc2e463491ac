"""Helpers of the fault tests: the shared Redis, worker subprocesses, the ledger."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.faults import app

ROOT = Path(__file__).resolve().parents[2]
SHARED_URL = "redis://127.0.0.1:6379/0"
IN_CI = os.environ.get("CI") == "true"

# short settings, so a lost lease is found in about two seconds
LEASE_S = 2.0
HEARTBEAT_S = 0.5


def unavailable(what: str) -> None:
    """Fail under CI=true (the fault tests must run there), else skip with the reason."""
    if IN_CI:
        pytest.fail(f"{what} (CI=true: the fault tests must run, not skip)")
    pytest.skip(what)


def require_shared_redis() -> None:
    """Skip (locally) or fail (CI) unless the shared Redis at 127.0.0.1:6379 answers."""
    import redis

    client = redis.Redis.from_url(SHARED_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        unavailable(f"no Redis at {SHARED_URL}: {exc}")
    finally:
        client.close()


def require_redis_server_binary() -> None:
    """Skip (locally) or fail (CI) unless `redis-server` is on PATH."""
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not on PATH (needed for a private server)")


def unique_prefix() -> str:
    """A key prefix no other test uses."""
    return f"jobkit-fault-{uuid.uuid4().hex[:12]}"


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess: this repo importable, no $JOBKIT_URL."""
    env = {k: v for k, v in os.environ.items() if k != "JOBKIT_URL"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


@dataclass
class Proc:
    """A subprocess whose stdout and stderr go to files."""

    popen: subprocess.Popen[bytes]
    out_path: Path
    err_path: Path
    started: float = field(default_factory=time.time)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace") if self.out_path.exists() else ""

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace") if self.err_path.exists() else ""

    def tail(self, lines: int = 30) -> str:
        text = self.stderr().splitlines()[-lines:]
        return f"--- stderr of pid {self.pid} (last {lines} lines) ---\n" + "\n".join(text)

    def kill9(self) -> None:
        """SIGKILL it and reap it."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM (a graceful stop) and wait; SIGKILL if it does not exit in time."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            pytest.fail(f"pid {self.pid} ignored SIGTERM for {timeout}s\n{self.tail()}")


class Procs:
    """Every subprocess a test starts; `kill_all` (in a finally) leaves none behind."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[Proc] = []

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        out_path = self.directory / f"{name}.out"
        err_path = self.directory / f"{name}.err"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            popen = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
            )
        proc = Proc(popen, out_path, err_path)
        self.started.append(proc)
        return proc

    def worker(
        self,
        name: str,
        *,
        url: str,
        prefix: str,
        ledger: Ledger,
        workers: int = 2,
        batch_size: int = 1,
        poll_interval: float = 0.1,
    ) -> Proc:
        """`python -m jobkit worker --app tests.faults.app:make_kit ...` on `url`/`prefix`."""
        argv = [
            sys.executable,
            "-m",
            "jobkit",
            "worker",
            "--app",
            "tests.faults.app:make_kit",
            "--queue",
            "default",
            "--workers",
            str(workers),
            "--visibility-timeout",
            str(LEASE_S),
            "--heartbeat-interval",
            str(HEARTBEAT_S),
            "--poll-interval",
            str(poll_interval),
            "--shutdown-timeout",
            "5",
            "--batch-size",
            str(batch_size),
        ]
        env = child_env(
            **{app.URL_ENV: url, app.PREFIX_ENV: prefix, app.LEDGER_ENV: str(ledger.path)}
        )
        return self.spawn(name, argv, env)

    def kill_all(self) -> None:
        for proc in self.started:
            with contextlib.suppress(Exception):
                proc.kill9()


def wait_until(
    what: str,
    predicate: Callable[[], bool],
    timeout: float,
    *,
    interval: float = 0.02,
    procs: list[Proc] | None = None,
) -> None:
    """Poll `predicate` until true; fail (with the processes' logs) on timeout, or as
    soon as one of `procs` has exited."""
    deadline = time.monotonic() + timeout
    while not predicate():
        for proc in procs or []:
            if not proc.alive():
                pytest.fail(
                    f"pid {proc.pid} exited ({proc.popen.returncode}) before {what}\n" + proc.tail()
                )
        if time.monotonic() > deadline:
            logs = "\n".join(p.tail() for p in procs or [])
            pytest.fail(f"timed out after {timeout}s waiting for {what}\n{logs}")
        time.sleep(interval)


class Ledger:
    """The executions the `work` handler recorded (see tests/faults/app.py)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            if line.endswith("}"):  # a line being written right now is skipped
                out.append(json.loads(line))
        return out

    def starts(self, pid: int | None = None) -> list[dict[str, Any]]:
        return [
            e for e in self.entries() if e["event"] == "start" and (pid is None or e["pid"] == pid)
        ]

    def executions(self, pid: int | None = None) -> Counter[str]:
        """job id -> how many times its handler started (in `pid`, or anywhere)."""
        return Counter(e["job_id"] for e in self.starts(pid))

    def open_jobs(self, pid: int) -> set[str]:
        """Jobs whose handler started in `pid` and has not recorded its end."""
        state: dict[str, int] = defaultdict(int)
        for e in self.entries():
            if e["pid"] == pid:
                state[e["job_id"]] += 1 if e["event"] == "start" else -1
        return {job_id for job_id, n in state.items() if n > 0}

    def done(self, pid: int) -> set[str]:
        return {e["job_id"] for e in self.entries() if e["pid"] == pid and e["event"] == "done"}
