"""Huey: `task(t)` per job, one consumer process with 4 worker threads.

`RedisHuey` with its defaults (blocking BRPOP reads). 4 threads overlap the three round
trips each job costs (in one measurement 2,200 jobs/s where 1 thread did 1,200). Huey
has no bulk enqueue. Results:
Huey stores a task's return value unless it is None (`store_none=False`), so the no-op
stores none.
"""

from __future__ import annotations

import logging
from typing import Any

from bench.peers.common import Client, record

CONFIG = "RedisHuey, consumer workers=4 (threads), periodic off; None results not stored"


def _huey(url: str) -> tuple[Any, Any]:
    from huey import RedisHuey

    huey = RedisHuey("bench", url=url)

    @huey.task(name="noop")
    def noop(t: float = 0.0) -> None:
        record(t)

    return huey, noop


class HueyClient(Client):
    """`noop(t)` (enqueues) per job."""

    def __init__(self, url: str) -> None:
        self.huey, self.task = _huey(url)

    def send(self, t: float) -> None:
        self.task(t)


def client(url: str) -> Client:
    """A Huey client on `url`."""
    return HueyClient(url)


def run_worker(url: str) -> None:
    """One Huey consumer (4 worker threads) until SIGTERM."""
    logging.getLogger("huey").setLevel(logging.WARNING)
    huey, _ = _huey(url)
    consumer = huey.create_consumer(
        workers=4, worker_type="thread", periodic=False, check_worker_health=False
    )
    consumer.run()
