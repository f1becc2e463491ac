"""Dramatiq: `actor.send`, one `Worker` with 8 threads (the default) and a prefetch of 200.

Dramatiq has no bulk enqueue (a group sends its messages one by one). The worker runs
in-process (`dramatiq.Worker`, not the CLI's process fork) with the default middleware;
`dramatiq_queue_prefetch=200` lets the consumer fetch 200 messages per script call
instead of 16 (in one measurement 8 threads did 3,000 jobs/s where 1 did 1,700: the
consumer thread's acks overlap the handlers). No result backend (the
default).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from bench.peers.common import Client, record

CONFIG = "Worker(worker_threads=8), prefetch 200, default middleware; no results"
#: environment for the worker process (read by dramatiq.worker at import time)
WORKER_ENV = {"dramatiq_queue_prefetch": "200"}


def _actor(url: str) -> Any:
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=url)
    dramatiq.set_broker(broker)

    @dramatiq.actor(actor_name="noop", max_retries=0)
    def noop(t: float = 0.0) -> None:
        record(t)

    return noop


class DramatiqClient(Client):
    """`noop.send(t)` per job."""

    def __init__(self, url: str) -> None:
        self.actor = _actor(url)

    def send(self, t: float) -> None:
        self.actor.send(t)

    def close(self) -> None:
        self.actor.broker.close()


def client(url: str) -> Client:
    """A Dramatiq client on `url`."""
    return DramatiqClient(url)


def run_worker(url: str) -> None:
    """One Dramatiq worker process (8 threads) until SIGTERM."""
    os.environ.update(WORKER_ENV)
    from dramatiq import Worker

    actor = _actor(url)
    worker = Worker(actor.broker, worker_threads=8)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker.start()
    stop.wait()
    worker.stop()
    actor.broker.close()
