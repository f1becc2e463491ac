"""Celery on the Redis transport: `task.delay` per job, one worker with the solo pool.

`--pool=solo` runs tasks in the worker process itself (one process, as for every
library here); prefetch multiplier 100; gossip, mingle and heartbeat off. Celery has no
bulk enqueue (a group publishes its messages one by one). No result backend (the
default), so no results are stored.
"""

from __future__ import annotations

from typing import Any

from bench.peers.common import Client, record

CONFIG = "solo pool, prefetch multiplier 100, no gossip/mingle/heartbeat; no result backend"


def _app(url: str) -> tuple[Any, Any]:
    from celery import Celery

    app = Celery("bench", broker=url)
    app.conf.update(
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        task_ignore_result=True,
    )

    @app.task(name="noop")
    def noop(t: float = 0.0) -> None:
        record(t)

    return app, noop


class CeleryClient(Client):
    """`noop.delay(t)` per job."""

    def __init__(self, url: str) -> None:
        self.app, self.task = _app(url)

    def send(self, t: float) -> None:
        self.task.delay(t)

    def close(self) -> None:
        self.app.close()


def client(url: str) -> Client:
    """A Celery client on `url`."""
    return CeleryClient(url)


def run_worker(url: str) -> None:
    """One Celery worker (solo pool) until SIGTERM."""
    app, _ = _app(url)
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=WARNING",
            "--prefetch-multiplier=100",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )
