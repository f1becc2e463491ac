"""The `tests.redis_server` helper: start, crash, restart with AOF, clean shutdown."""

from __future__ import annotations

import os
import pathlib
import signal
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.redis_server import RedisServer, RedisServerError, free_port


def _process_gone(pid: int) -> bool:
    """True when no process with `pid` exists any more (reaped, not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _answers(port: int) -> bool:
    """True when something answers PING on 127.0.0.1:`port`."""
    with redis.Redis(
        port=port, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
    ) as r:
        try:
            return bool(r.ping())
        except redis.ConnectionError:
            return False


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 1024 <= port <= 65535


def test_start_and_ping(tmp_path: pathlib.Path) -> None:
    with RedisServer(tmp_path) as server:
        assert server.is_running()
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        with server.client() as r:
            assert r.ping() is True
            assert int(r.info("server")["process_id"]) == server.pid
            assert r.config_get("appendonly") == {"appendonly": "no"}
            assert r.config_get("dir") == {"dir": str(tmp_path.resolve())}
        with redis.Redis.from_url(server.url) as r:
            assert r.ping() is True


def test_kill_and_restart_replays_the_aof(tmp_path: pathlib.Path) -> None:
    with RedisServer(tmp_path, appendonly=True, appendfsync="always") as server:
        port, first_pid = server.port, server.pid
        with server.client() as r:
            assert r.config_get("appendfsync") == {"appendfsync": "always"}
            for i in range(100):
                r.set(f"key:{i}", f"value:{i}")

        server.kill()
        assert not server.is_running()
        assert _process_gone(first_pid)
        assert not _answers(port)

        server.restart()
        assert server.port == port
        assert server.pid != first_pid
        with server.client() as r:
            assert r.dbsize() == 100
            values = r.mget([f"key:{i}" for i in range(100)])
            assert values == [f"value:{i}".encode() for i in range(100)]


def test_stop_then_restart_keeps_aof_data(tmp_path: pathlib.Path) -> None:
    with RedisServer(tmp_path, appendonly=True) as server:
        with server.client() as r:
            r.set("k", "v")
        server.stop()
        assert not server.is_running()
        server.stop()  # idempotent
        server.restart()
        with server.client() as r:
            assert r.get("k") == b"v"


def test_process_is_gone_after_the_context_exits(tmp_path: pathlib.Path) -> None:
    with RedisServer(tmp_path) as server:
        pid, port = server.pid, server.port
    assert _process_gone(pid)
    assert not _answers(port)


def test_process_is_gone_after_an_error_in_the_block(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ZeroDivisionError), RedisServer(tmp_path) as server:
        pid = server.pid
        _ = 1 / 0
    assert _process_gone(pid)


def test_context_exit_after_kill_is_fine(tmp_path: pathlib.Path) -> None:
    with RedisServer(tmp_path) as server:
        pid = server.pid
        server.kill()
    assert _process_gone(pid)


def test_stop_resumes_a_sigstopped_server(tmp_path: pathlib.Path) -> None:
    with RedisServer(tmp_path, appendonly=True) as server:
        with server.client() as r:
            r.set("k", "v")
        pid = server.pid
        os.kill(pid, signal.SIGSTOP)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 5
        assert _process_gone(pid)
        server.restart()
        with server.client() as r:
            assert r.get("k") == b"v"


def test_bad_arguments_fail_with_the_log_tail(tmp_path: pathlib.Path) -> None:
    with pytest.raises(RedisServerError, match="exited with code") as info:
        RedisServer(tmp_path, extra_args=["--no-such-option", "x"])
    assert "no-such-option" in str(info.value)
