"""What every peer module shares: the client interface, and the recorder its handler calls.

A peer module (``bench/peers/<name>.py``) provides:

- ``CONFIG: str`` — one line saying how the library is configured (worker knobs, results);
- ``client(url: str) -> Client`` — enqueues no-op jobs from the client process;
- ``run_worker(url: str) -> None`` — runs ONE worker of the library in this process,
  forever, with a no-op handler that calls :func:`record` with the job's ``t`` argument.

Every no-op job carries one float argument ``t``: ``0`` for throughput jobs, the client's
``time.time()`` just before the enqueue call for latency jobs, and ``-1`` for the warm-up
job that tells the client the worker is up.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

import redis

#: list the worker pushes one JSON record to when it has seen the expected number of jobs
DONE_KEY = "peerbench:done"
#: list the worker pushes to when it runs the warm-up job
READY_KEY = "peerbench:ready"
#: environment variables the harness hands the worker process
ENV_URL = "PEERBENCH_URL"
ENV_EXPECT = "PEERBENCH_EXPECT"
#: jobs per enqueue_many call where a library has bulk enqueue
BULK_CHUNK = 1_000

_T = TypeVar("_T")


class Client:
    """Enqueues no-op jobs for one library (one instance per client process)."""

    #: whether :meth:`enqueue_bulk` is implemented (the library has a bulk enqueue)
    has_bulk: bool = False

    def enqueue(self, count: int) -> None:
        """Enqueue `count` no-op jobs (``t=0``), one library call each."""
        for _ in range(count):
            self.send(0.0)

    def enqueue_bulk(self, count: int) -> None:
        """Enqueue `count` no-op jobs with the library's bulk call, `BULK_CHUNK` at a time."""
        raise NotImplementedError

    def send(self, t: float) -> None:
        """Enqueue one no-op job carrying `t`."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections."""


class AsyncClient(Client):
    """A Client for asyncio libraries: each call runs on one private event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run `coro` to completion on this client's loop."""
        return self.loop.run_until_complete(coro)

    def enqueue(self, count: int) -> None:
        """Enqueue `count` jobs one awaited call at a time (one loop entry for all)."""

        async def many() -> None:
            for _ in range(count):
                await self.asend(0.0)

        self.run(many())

    def send(self, t: float) -> None:
        self.run(self.asend(t))

    def asend(self, t: float) -> Awaitable[Any]:
        """The library's enqueue call for one job carrying `t`."""
        raise NotImplementedError

    def close(self) -> None:
        self.loop.close()


class Recorder:
    """Counts handler calls in the worker process; reports to the harness through Redis.

    Costs one ``time.time()``, one counter step and a comparison per job, so it does not
    distort throughput. It also reports the worker process's CPU time (all threads)
    between the first and the last job. It talks to Redis twice per phase (connect, and
    one RPUSH when the expected count is reached), not per job.
    """

    def __init__(self, url: str, expect: int) -> None:
        self.redis = redis.Redis.from_url(url)
        self.expect = expect
        self.counter = itertools.count(1)
        self.first = self.cpu_first = 0.0
        self.latencies: list[float] = []

    def hit(self, t: float) -> None:
        """One handler call for a job carrying `t` (see the module docstring)."""
        now = time.time()
        if t < 0:
            self.redis.rpush(READY_KEY, "1")
            return
        i = next(self.counter)  # atomic under the GIL, so worker threads may share it
        if i == 1:
            self.first = now
            self.cpu_first = time.process_time()
        if t > 0:
            self.latencies.append(now - t)
        if i == self.expect:
            record = {
                "first": self.first,
                "last": time.time(),
                "cpu": time.process_time() - self.cpu_first,
                "latencies": self.latencies,
            }
            self.redis.rpush(DONE_KEY, json.dumps(record))


_recorder: Recorder | None = None


def install_recorder() -> Recorder:
    """Create this worker process's recorder from the harness's environment variables."""
    global _recorder
    _recorder = Recorder(os.environ[ENV_URL], int(os.environ[ENV_EXPECT]))
    _recorder.redis.ping()  # connect now, not inside the first timed job
    return _recorder


def record(t: float = 0.0) -> None:
    """What every peer's no-op handler does: tell the recorder it ran a job carrying `t`."""
    if _recorder is None:
        raise RuntimeError("no recorder: run handlers through bench.peers.worker")
    _recorder.hit(t)
