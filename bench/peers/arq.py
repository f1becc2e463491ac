"""arq: `pool.enqueue_job` per job, one `Worker` polling every millisecond.

arq's default `poll_delay` (0.5 s between polls when the worker has fewer than
`max_jobs` running) caps a worker at a few hundred no-op jobs/s; 1 ms and `max_jobs=100`
is its fast configuration. arq has no bulk enqueue. Results kept as by default
(`keep_result` 3600 s).

arq 0.28 pins redis < 6 but runs on the redis-py 8 that jobkit uses; it is installed
with `--no-deps` (see bench/requirements-peers.txt).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bench.peers.common import AsyncClient, Client, record

CONFIG = "Worker(max_jobs=100, poll_delay=0.001); results stored (default keep_result)"


async def noop(ctx: dict[str, Any], t: float = 0.0) -> None:
    """The no-op job."""
    record(t)


def _settings(url: str) -> Any:
    from arq.connections import RedisSettings

    parts = urlsplit(url)
    return RedisSettings(host=parts.hostname or "127.0.0.1", port=parts.port or 6379)


class ArqClient(AsyncClient):
    """`await pool.enqueue_job("noop", t)` per job."""

    def __init__(self, url: str) -> None:
        super().__init__()
        from arq import create_pool

        self.pool = self.run(create_pool(_settings(url)))

    def asend(self, t: float) -> Any:
        return self.pool.enqueue_job("noop", t)

    def close(self) -> None:
        self.run(self.pool.aclose())
        super().close()


def client(url: str) -> Client:
    """An arq client on `url`."""
    return ArqClient(url)


def run_worker(url: str) -> None:
    """One arq worker until SIGTERM."""
    from arq.worker import Worker

    Worker(
        functions=[noop],  # type: ignore[list-item]
        redis_settings=_settings(url),
        max_jobs=100,
        poll_delay=0.001,
    ).run()
