"""RQ: `Queue.enqueue`, `Queue.enqueue_many` (one pipeline per chunk), one `SimpleWorker`.

SimpleWorker runs jobs in the worker process (the default `Worker` forks a child per
job, which no one would use for no-op jobs). Results kept as by default (result_ttl
500 s): RQ stores each job's result.
"""

from __future__ import annotations

import logging

from bench.peers.common import BULK_CHUNK, Client, record

CONFIG = "SimpleWorker (no fork per job); results stored (default result_ttl)"


def noop(t: float = 0.0) -> None:
    """The no-op job (imported by the worker by its dotted name)."""
    record(t)


class RQClient(Client):
    """`queue.enqueue(noop)` per job; `queue.enqueue_many` with `Queue.prepare_data`."""

    has_bulk = True

    def __init__(self, url: str) -> None:
        import redis
        from rq import Queue

        self.redis = redis.Redis.from_url(url)
        self.queue = Queue("default", connection=self.redis)

    def enqueue_bulk(self, count: int) -> None:
        from rq import Queue

        for start in range(0, count, BULK_CHUNK):
            n = min(BULK_CHUNK, count - start)
            self.queue.enqueue_many([Queue.prepare_data(noop) for _ in range(n)])

    def send(self, t: float) -> None:
        self.queue.enqueue(noop, t)

    def close(self) -> None:
        self.redis.close()


def client(url: str) -> Client:
    """An RQ client on `url`."""
    return RQClient(url)


def run_worker(url: str) -> None:
    """One RQ SimpleWorker on the default queue until SIGTERM."""
    import redis
    from rq import Queue, SimpleWorker

    connection = redis.Redis.from_url(url)
    worker = SimpleWorker([Queue("default", connection=connection)], connection=connection)
    worker.work(with_scheduler=False, logging_level=logging.WARNING)
