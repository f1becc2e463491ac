"""A real, throw-away `redis-server` for tests that kill, restart or starve Redis itself.

Plain functions and classes, no pytest fixtures, so fault tests can build whatever they need::

    with RedisServer(tmp_path, appendonly=True, appendfsync="always") as server:
        with server.client() as r:
            r.set("k", "v")
        server.kill()  # SIGKILL, like a crash
        server.restart()  # same port and --dir: the AOF is replayed
        with server.client() as r:
            assert r.get("k") == b"v"

The server runs in the foreground (not daemonized) in its own session, so `kill()` hits its
whole process group (including any fork for an AOF rewrite) and nothing outlives the `with`.
Its stdout/stderr (the Redis log) go to `log_path`, which is appended to across restarts.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = ["RedisServer", "RedisServerError", "free_port"]

HOST = "127.0.0.1"
REDIS_SERVER = shutil.which("redis-server") or "redis-server"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
_START_ATTEMPTS = 5  # new ports to try when a freshly picked port was taken in the meantime


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it; races are possible)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServerError(RuntimeError):
    """`redis-server` could not be started, or did not become ready in time."""


class RedisServer:
    """A `redis-server` subprocess on a free loopback port; a context manager that stops it.

    The server starts in the constructor and is ready (answers PING, done loading) when it
    returns. Leaving the `with` block stops it and guarantees that no process is left behind.
    """

    def __init__(
        self,
        tmp_dir: pathlib.Path,
        *,
        appendonly: bool = False,
        appendfsync: str = "everysec",
        extra_args: Sequence[str] = (),
    ) -> None:
        """Start `redis-server` with `--dir tmp_dir --save ""` and the given AOF settings.

        `extra_args` are appended last, so they can override any default (e.g.
        `["--maxmemory", "20mb"]` or `["--enable-debug-command", "local"]`).
        Raises `RedisServerError` (with the tail of the log) if it is not ready within 10 s.
        """
        self.dir: pathlib.Path = pathlib.Path(tmp_dir).resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.appendonly: bool = appendonly
        self.appendfsync: str = appendfsync
        self.extra_args: tuple[str, ...] = tuple(extra_args)
        self.log_path: pathlib.Path = self.dir / "redis-server.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int = 0
        self._starts: int = 0
        for attempt in range(_START_ATTEMPTS):
            self._port = free_port()
            try:
                self._start()
                return
            except RedisServerError:
                port_taken = "Address already in use" in self._last_start_log()
                if attempt + 1 < _START_ATTEMPTS and port_taken:
                    continue
                raise

    # ----------------------------------------------------------------- properties

    @property
    def port(self) -> int:
        """The TCP port the server listens on (kept across `restart()`)."""
        return self._port

    @property
    def url(self) -> str:
        """`redis://127.0.0.1:<port>/0`."""
        return f"redis://{HOST}:{self._port}/0"

    @property
    def pid(self) -> int:
        """The pid of the current `redis-server` process (it changes on `restart()`)."""
        if self._proc is None:
            raise RedisServerError("redis-server has not been started")
        return self._proc.pid

    def is_running(self) -> bool:
        """True while the current `redis-server` process has not exited."""
        return self._proc is not None and not self._exited()

    def args(self) -> list[str]:
        """The full command line used to (re)start the server."""
        return [
            REDIS_SERVER,
            "--port",
            str(self._port),
            "--bind",
            HOST,
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            self.appendfsync,
            "--daemonize",
            "no",
            "--logfile",
            "",
            *self.extra_args,
        ]

    # ----------------------------------------------------------------- clients

    def client(self, **kwargs: Any) -> redis.Redis:
        """A new `redis.Redis` for this server (socket_timeout 5 s); the caller must close it.

        Use it as `with server.client() as r: ...` (filterwarnings=error turns an unclosed
        client into a failure). `kwargs` override the defaults; note that redis-py's default
        `retry` retries connection errors 10 times with backoff, so after `kill()` a call
        takes a few seconds to fail — pass `retry=Retry(NoBackoff(), 0)` to fail at once.
        """
        options: dict[str, Any] = {
            "host": HOST,
            "port": self._port,
            "db": 0,
            "socket_timeout": 5,
            "socket_connect_timeout": 5,
        }
        options.update(kwargs)
        return redis.Redis(**options)

    def _probe_client(self, timeout: float = 1.0) -> redis.Redis:
        """A client that fails fast (no retries) for readiness checks and SHUTDOWN."""
        return self.client(
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )

    # ----------------------------------------------------------------- lifecycle

    def _start(self) -> None:
        """Spawn the process on `self._port` and wait until it is ready, or clean up and raise."""
        self._starts += 1
        with self.log_path.open("ab") as log:
            log.write(
                f"=== jobkit tests: start #{self._starts} on port {self._port} ===\n".encode()
            )
            log.flush()
            self._proc = subprocess.Popen(
                self.args(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                start_new_session=True,
            )
        try:
            self._wait_ready(START_TIMEOUT_S)
        except BaseException:
            self._kill_group()
            raise

    def _wait_ready(self, timeout: float) -> None:
        """Wait until our process answers PING and reports `loading:0`, else raise."""
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        with self._probe_client() as probe:
            while True:
                if self._exited():
                    self._kill_group()  # reap it (and any straggler) to learn the exit code
                    raise RedisServerError(
                        f"redis-server on port {self._port} exited with code "
                        f"{self._proc.returncode} while starting\n{self._log_tail_block()}"
                    )
                try:
                    if probe.ping():
                        info = probe.info("persistence")
                        if int(info.get("loading", 1)) == 0:
                            owner = int(probe.info("server")["process_id"])
                            if owner != self._proc.pid:
                                raise RedisServerError(
                                    f"port {self._port} is answered by another redis-server "
                                    f"(pid {owner}, ours is {self._proc.pid})"
                                )
                            return
                        last_error = "still loading the dataset"
                except redis.BusyLoadingError:
                    last_error = "still loading the dataset"
                except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
                if time.monotonic() >= deadline:
                    raise RedisServerError(
                        f"redis-server (pid {self._proc.pid}) on port {self._port} not ready "
                        f"after {timeout:.0f} s ({last_error})\n{self._log_tail_block()}"
                    )
                time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL the server (and any child it forked) and wait for it: a crash, not a shutdown."""
        self._kill_group()

    def restart(self) -> None:
        """Start the server again on the same port and `--dir`, so its AOF/RDB is reloaded.

        Stops it first (SHUTDOWN NOSAVE) if it is still running. Returns once it answers PING
        and `INFO persistence` shows `loading:0`.
        """
        self.stop()
        self._start()

    def stop(self) -> None:
        """Stop the server: SIGCONT, SHUTDOWN NOSAVE, else SIGTERM, else SIGKILL; always reaped.

        With `appendonly yes`, SHUTDOWN still flushes and fsyncs the AOF, so a later
        `restart()` sees every acknowledged write. Safe to call more than once.
        """
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        if not self._exited():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGCONT)  # a SIGSTOPped server cannot shut down
            with contextlib.suppress(redis.RedisError, OSError), self._probe_client(2.0) as probe:
                probe.shutdown(nosave=True)
            if not self._wait_exited(STOP_TIMEOUT_S):
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                if not self._wait_exited(STOP_TIMEOUT_S):
                    self._kill_group()
                    return
        self._kill_group()  # the leader has exited: sweep stragglers, then reap it

    def _exited(self) -> bool:
        """True once the leader has exited, *without* reaping it (its pid stays reserved)."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return True
        try:
            info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def _wait_exited(self, timeout: float) -> bool:
        """Poll `_exited()` for up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not self._exited():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def _kill_group(self) -> None:
        """SIGKILL the server's process group, then reap the leader.

        The group is signalled before the leader is reaped, so its id cannot have been reused.
        """
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    # ----------------------------------------------------------------- logs

    def log_tail(self, lines: int = 20) -> str:
        """The last `lines` lines of the server log (stdout/stderr of every start)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _last_start_log(self) -> str:
        """The log written since the most recent start."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return text.rsplit("=== jobkit tests: start #", 1)[-1]

    def _log_tail_block(self) -> str:
        """The log tail, labelled, for error messages."""
        return f"--- last lines of {self.log_path} ---\n{self.log_tail()}"

    # ----------------------------------------------------------------- context manager

    def __enter__(self) -> Self:
        """Return the (already running) server."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server; whatever happens, no process is left behind."""
        try:
            self.stop()
        finally:
            self._kill_group()

    def __repr__(self) -> str:
        """`<RedisServer 127.0.0.1:port pid=N running|stopped>`."""
        pid = self._proc.pid if self._proc is not None else None
        state = "running" if self.is_running() else "stopped"
        return f"<RedisServer {HOST}:{self._port} pid={pid} {state}>"
