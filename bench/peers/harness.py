"""The harness: a private redis-server, and each phase of one library's run.

Per library and run, on a flushed database:

1. ``enqueue``: a client process enqueues N no-op jobs one call at a time;
2. ``process``: ONE worker process is started on those N jobs; jobs/s is N over the time
   from the first handler call to the last (the handler records both, see
   :class:`bench.peers.common.Recorder`; the worker's start-up is not timed);
3. ``bulk`` (libraries with a bulk enqueue): N jobs in chunks of 1,000, then discarded;
4. ``latency``: a worker is started, then a client sends jobs at a steady rate; the
   latency of a job is its handler's start minus the time just before its enqueue call.

Redis commands and round trips per job come from ``INFO commandstats`` (every command,
those run inside Lua scripts included, INFO and CONFIG left out) and
``total_reads_processed``, after ``CONFIG RESETSTAT`` at the start of each phase; the
harness's own commands (the BLPOP that waits for the worker) are subtracted.
"""

from __future__ import annotations

import json
import os
import queue
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import redis

from bench.peers import load
from bench.peers.common import DONE_KEY, ENV_EXPECT, ENV_URL

#: the repository root (the processes run there, so `bench.peers` imports)
ROOT = Path(__file__).resolve().parents[2]
#: CPU of redis-server, and of everything else, in pinned mode
REDIS_CPU, CLIENT_CPU = 0, 1


class PhaseError(Exception):
    """A phase could not be measured; the message says why."""


@dataclass(frozen=True)
class Settings:
    """What one benchmark run measures."""

    jobs: int = 20_000
    runs: int = 3
    pin: bool = False
    rate: float = 500.0
    latency_seconds: float = 3.0
    python: str = sys.executable

    def taskset(self, cpu: int) -> list[str]:
        """The command prefix pinning a process to `cpu` (empty unless pinned)."""
        return ["taskset", "-c", str(cpu)] if self.pin else []


@contextmanager
def private_redis(settings: Settings) -> Iterator[redis.Redis]:
    """A throwaway redis-server (no persistence) on a free loopback port."""
    with throwaway_redis(settings.taskset(REDIS_CPU)) as client:
        yield client


@contextmanager
def throwaway_redis(taskset: list[str] | None = None) -> Iterator[redis.Redis]:
    """A redis-server (no persistence) on a free loopback port, started under `taskset`
    (e.g. ["taskset", "-c", "0"]), stopped and wiped afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix="jobkit-bench-")
    proc = subprocess.Popen(
        [*(taskset or []), "redis-server", "--port", str(port),
         "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield client
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def redis_costs(admin: redis.Redis) -> tuple[int, int]:
    """(commands, reads) since the last CONFIG RESETSTAT, without INFO and CONFIG."""
    info = admin.info("stats", "commandstats")
    commands = sum(
        v["calls"]
        for k, v in info.items()
        if k.startswith("cmdstat_") and k != "cmdstat_info" and not k.startswith("cmdstat_config")
    )
    return commands, int(info["total_reads_processed"]) - 1  # minus this INFO


def busy_seconds(redis_pid: int) -> tuple[float, float]:
    """(CPU seconds every process on the machine used, CPU seconds of this harness: itself,
    its reaped children and redis-server) so far. Their difference over a run is the
    CPU that something else on the machine took meanwhile."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
    with open(f"/proc/{redis_pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    mine = sum(
        r.ru_utime + r.ru_stime
        for r in (resource.getrusage(resource.RUSAGE_SELF),
                  resource.getrusage(resource.RUSAGE_CHILDREN))
    ) + (int(fields[11]) + int(fields[12])) / tick  # fmt: skip
    return busy / tick, mine


class Proc:
    """A child process (its own session) with stdout lines on a queue, stderr in a file."""

    def __init__(self, argv: list[str], env: dict[str, str], *, stdin: bool = False) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.strip())
        self.lines.put("")  # EOF

    def line(self, timeout: float) -> str:
        """The next line it prints; PhaseError if it ends or says nothing in time."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise PhaseError(f"no answer within {timeout:.0f} s") from None
        if not line:
            self.popen.wait(5)
            raise PhaseError(f"exited with {self.popen.returncode}: {self.error()}")
        return line

    def send(self, text: str) -> None:
        """Write one line to its stdin."""
        assert self.popen.stdin is not None
        self.popen.stdin.write(text + "\n")
        self.popen.stdin.flush()

    def error(self) -> str:
        """The last line of its stderr (where a failing library says why)."""
        self.stderr.seek(0)
        lines = [x for x in self.stderr.read().decode(errors="replace").splitlines() if x.strip()]
        return lines[-1].strip() if lines else "(no error output)"

    def stop(self, timeout: float = 10.0, *, interrupt_first: bool = False) -> None:
        """SIGTERM to its process group, SIGKILL if it is still there after `timeout`.

        With `interrupt_first`, SIGINT goes to the leader alone first, and it gets
        `timeout` seconds to exit (a profiler writes its output then)."""
        if interrupt_first and self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGINT)
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout)
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self.stderr.close()


class Bench:
    """Runs the phases of one library against the private Redis."""

    def __init__(self, settings: Settings, admin: redis.Redis) -> None:
        self.settings = settings
        self.admin = admin
        port = admin.connection_pool.connection_kwargs["port"]
        self.url = f"redis://127.0.0.1:{port}/0"
        self.redis_pid = int(admin.info("server")["process_id"])

    # -- processes ------------------------------------------------------------------

    def client(self, name: str, phase: str, count: int) -> Proc:
        """A client process for `phase`, pinned beside the worker in pinned mode."""
        argv = [*self.settings.taskset(CLIENT_CPU), self.settings.python, "-m",
                "bench.peers.client", name, phase, "--url", self.url, "--count", str(count),
                "--rate", str(self.settings.rate)]  # fmt: skip
        return Proc(argv, {}, stdin=True)

    def worker(self, name: str, expect: int, wrapper: list[str] | None = None) -> Proc:
        """ONE worker process of library `name`; it reports after `expect` jobs."""
        argv = [*self.settings.taskset(CLIENT_CPU), *(wrapper or []), self.settings.python,
                "-m", "bench.peers.worker", name]  # fmt: skip
        return Proc(argv, {ENV_URL: self.url, ENV_EXPECT: str(expect)})

    # -- phases ---------------------------------------------------------------------

    def enqueue(self, name: str, phase: str) -> dict[str, float] | None:
        """`enqueue` or `bulk`: jobs/s and Redis costs; None if the library has no bulk."""
        n = self.settings.jobs
        proc = self.client(name, phase, n)
        try:
            first = json_or_text(proc.line(timeout=120))
            if first == {"unsupported": True}:
                return None
            if first != "ready":
                raise PhaseError(f"unexpected answer {first!r}")
            self.admin.config_resetstat()
            proc.send("go")
            out = json_or_text(proc.line(timeout=max(300.0, n / 50)))
            commands, reads = redis_costs(self.admin)
        finally:
            proc.stop()
        if not isinstance(out, dict):
            raise PhaseError(f"unexpected answer {out!r}")
        return {
            "jobs/s": n / out["seconds"],
            "commands/job": commands / n,
            "round trips/job": reads / n,
        }

    def process(self, name: str, wrapper: list[str] | None = None) -> dict[str, float]:
        """ONE worker process on the N jobs enqueued before: jobs/s and Redis costs.

        `wrapper` runs the worker under another program (a profiler), stopped with SIGINT."""
        n = self.settings.jobs
        self.admin.config_resetstat()
        proc = self.worker(name, n, wrapper)
        own = 0
        deadline = time.monotonic() + max(300.0, n / 20)
        try:
            while True:
                own += 1
                done = self.admin.blpop([DONE_KEY], timeout=1)
                if done is not None:
                    break
                if proc.popen.poll() is not None:
                    raise PhaseError(f"worker exited with {proc.popen.returncode}: {proc.error()}")
                if time.monotonic() > deadline:
                    raise PhaseError(f"worker did not finish {n} jobs in time")
            time.sleep(0.05)  # let the last ack land
            commands, reads = redis_costs(self.admin)
        finally:
            proc.stop(60 if wrapper else 10, interrupt_first=bool(wrapper))
        out = json.loads(done[1])
        seconds = out["last"] - out["first"]
        return {
            "jobs/s": n / seconds,
            "worker CPU us/job": out["cpu"] / n * 1e6,
            "commands/job": (commands - own) / n,
            "round trips/job": (reads - own) / n,
        }

    def latency(self, name: str) -> dict[str, float]:
        """p50 / p99 / max of enqueue-to-handler latency at the steady rate, in ms."""
        count = int(self.settings.rate * self.settings.latency_seconds)
        self.admin.flushall()
        worker = self.worker(name, count)
        try:
            proc = self.client(name, "latency", count)
            try:
                if proc.line(timeout=120) != "ready":
                    raise PhaseError("client not ready")
                proc.send("go")
                out = json_or_text(proc.line(timeout=self.settings.latency_seconds + 180))
            finally:
                proc.stop()
        finally:
            worker.stop()
        if not isinstance(out, dict):
            raise PhaseError(f"unexpected answer {out!r}")
        lat = sorted(out["latencies"])
        if len(lat) != count:
            raise PhaseError(f"{len(lat)} latencies for {count} jobs")
        return {
            "p50 ms": lat[len(lat) // 2] * 1e3,
            "p99 ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3,
            "max ms": lat[-1] * 1e3,
            "sent jobs/s": count / out["send_seconds"],
        }

    def wait_quiet(self, limit: float, threshold: float = 0.15) -> float:
        """Wait up to `limit` seconds for a second in which other processes take less than
        `threshold` of a CPU; the last such share measured."""
        deadline = time.monotonic() + limit
        while True:
            all_before, mine_before = busy_seconds(self.redis_pid)
            time.sleep(1.0)
            all_after, mine_after = busy_seconds(self.redis_pid)
            foreign = max(0.0, (all_after - all_before) - (mine_after - mine_before))
            if foreign < threshold or time.monotonic() > deadline:
                return foreign

    def run(self, name: str) -> dict[str, Any]:
        """One run of every phase for library `name`; a failed phase is a `failed` entry."""
        out: dict[str, Any] = {}
        all_before, mine_before = busy_seconds(self.redis_pid)
        t0 = time.monotonic()

        def attempt(phase: str, fn: Any, *args: Any) -> None:
            try:
                out[phase] = fn(*args)
            except Exception as exc:  # a peer's failure is a result, not a crash
                out[phase] = {"failed": f"{type(exc).__name__}: {exc}"}

        has_worker = getattr(load(name), "HAS_WORKER", True)  # False: the bare floor
        self.admin.flushall()
        attempt("enqueue", self.enqueue, name, "enqueue")
        if not has_worker:
            out["process"] = None
        elif "failed" in out["enqueue"]:
            out["process"] = {"failed": "nothing enqueued"}
        else:
            attempt("process", self.process, name)
        self.admin.flushall()
        attempt("bulk", self.enqueue, name, "bulk")
        self.admin.flushall()
        out["latency"] = None
        if has_worker:
            attempt("latency", self.latency, name)
        self.admin.flushall()
        all_after, mine_after = busy_seconds(self.redis_pid)
        # CPU others took, as a share of one CPU over the run: near 0 on a quiet machine
        foreign = (all_after - all_before) - (mine_after - mine_before)
        out["other load"] = max(0.0, foreign) / (time.monotonic() - t0)
        return out


def json_or_text(line: str) -> Any:
    """A line the client printed: its JSON value, or the text itself."""
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return line
