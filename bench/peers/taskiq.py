"""taskiq with taskiq-redis: `task.kiq` per job, one receiver on a Redis stream.

`RedisStreamBroker` (consumer group, XREADGROUP 100 at a time, XACK) is taskiq-redis's
faster broker (a list broker is slower per job); the receiver runs in-process
(`taskiq.api.run_receiver_task`, the same `Receiver` the `taskiq worker` CLI runs in its
child process) with up to 100 async tasks in flight. taskiq has no bulk enqueue. No
result backend (the default).
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from bench.peers.common import AsyncClient, Client, record

CONFIG = "RedisStreamBroker, receiver max_async_tasks=100, async task; no results"


def _broker(url: str) -> tuple[Any, Any]:
    from taskiq_redis import RedisStreamBroker

    # consumer_id "0": a group made after jobs were enqueued still gets them
    broker = RedisStreamBroker(url, consumer_id="0")

    @broker.task(task_name="noop")
    async def noop(t: float = 0.0) -> None:
        record(t)

    return broker, noop


class TaskiqClient(AsyncClient):
    """`await noop.kiq(t)` per job."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.broker, self.task = _broker(url)
        self.run(self.broker.startup())

    def asend(self, t: float) -> Any:
        return self.task.kiq(t)

    def close(self) -> None:
        self.run(self.broker.shutdown())
        super().close()


def client(url: str) -> Client:
    """A taskiq client on `url`."""
    return TaskiqClient(url)


def run_worker(url: str) -> None:
    """One taskiq receiver until SIGTERM."""
    from taskiq.api import run_receiver_task

    async def main() -> None:
        broker, _ = _broker(url)
        broker.is_worker_process = True
        await broker.startup()
        receiver = asyncio.create_task(
            run_receiver_task(broker, max_async_tasks=100, run_startup=False)
        )
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        receiver.cancel()
        await broker.shutdown()

    asyncio.run(main())
