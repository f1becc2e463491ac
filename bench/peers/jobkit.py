"""jobkit on Redis: `kit.enqueue`, `kit.enqueue_many`, one `Worker` claiming 100 at a time.

The worker is jobkit's fastest configuration today (as in bench/redis_worker.py):
`kit.worker(batch_size=100, queues=["default"])` running its production loop
(`Worker.start`: claim up to 100 jobs in one script call, run them, ack them in one
script call; BLPOP on the queue's wake-up list when idle). Results are stored, leases
and token-checked acks, counters and the history list as in production.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from bench.peers.common import BULK_CHUNK, Client, record

CONFIG = "Worker(batch_size=100), production loop; results stored"


def _kit(url: str) -> Any:
    import jobkit

    kit = jobkit.connect(url, prefix="bench")

    @kit.handler("noop")
    def noop(args: dict[str, Any]) -> None:
        record(args.get("t", 0.0))

    return kit


class JobkitClient(Client):
    """`kit.enqueue` one job per call; `kit.enqueue_many` for bulk (jobs built in the timing)."""

    has_bulk = True

    def __init__(self, url: str) -> None:
        self.kit = _kit(url)

    def enqueue(self, count: int) -> None:
        enqueue = self.kit.enqueue
        for _ in range(count):
            enqueue("noop")

    def enqueue_bulk(self, count: int) -> None:
        kit = self.kit
        for start in range(0, count, BULK_CHUNK):
            kit.enqueue_many([kit.build("noop") for _ in range(min(BULK_CHUNK, count - start))])

    def send(self, t: float) -> None:
        self.kit.enqueue("noop", {"t": t})

    def close(self) -> None:
        self.kit.close()


def client(url: str) -> Client:
    """A jobkit client on `url`."""
    return JobkitClient(url)


def run_worker(url: str) -> None:
    """One jobkit worker (batch 100) on its background loop until SIGTERM."""
    kit = _kit(url)
    worker = kit.worker(batch_size=100, queues=["default"])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker.start()
    stop.wait()
    worker.stop(10)
    kit.close()
