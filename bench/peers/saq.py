"""SAQ: `queue.enqueue` per job, one `Worker` with 10 concurrent jobs (the default).

SAQ has no bulk enqueue. Results: SAQ keeps each finished job (status and result) in
its hash for 600 s (the default `ttl`).

saq 0.26's `redis` extra pins redis < 8; it is installed without the extra and runs on
the redis-py 8 that jobkit uses.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from bench.peers.common import AsyncClient, Client, record

CONFIG = "Worker(concurrency=10); finished jobs kept (default ttl)"


async def noop(ctx: dict[str, Any], *, t: float = 0.0) -> None:
    """The no-op job."""
    record(t)


class SaqClient(AsyncClient):
    """`await queue.enqueue("noop", t=t)` per job."""

    def __init__(self, url: str) -> None:
        super().__init__()
        from saq import Queue

        self.queue = Queue.from_url(url)
        self.run(self.queue.connect())

    def asend(self, t: float) -> Any:
        return self.queue.enqueue("noop", t=t)

    def close(self) -> None:
        self.run(self.queue.disconnect())
        super().close()


def client(url: str) -> Client:
    """A SAQ client on `url`."""
    return SaqClient(url)


def run_worker(url: str) -> None:
    """One SAQ worker until SIGTERM."""
    from saq import Queue, Worker

    async def main() -> None:
        queue = Queue.from_url(url)
        worker = Worker(queue, functions=[noop], concurrency=10)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        task = asyncio.create_task(worker.start())
        await stop.wait()
        await worker.stop()
        task.cancel()

    asyncio.run(main())
