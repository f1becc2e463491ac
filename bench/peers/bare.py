"""Bare redis-py, no queue library: the floor under every enqueue figure.

One job is one small JSON message (an id, the task name, the argument) pushed with one
`LPUSH` through a plain `redis.Redis` client, the least any Redis-backed queue can do per
call: one command, one round trip, redis-py's own command path. Bulk is one `LPUSH` of
1,000 messages per call. There is no worker, so it has no process or latency figures,
and it is never the "best peer": the summary reports jobkit's enqueue figures as a
share of it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from bench.peers.common import BULK_CHUNK, Client

CONFIG = "one LPUSH per job (bulk: 1,000 per LPUSH) through redis.Redis; no worker"
#: the harness skips the process and latency phases
HAS_WORKER = False
KEY = "bare:queue"


def _message(t: float) -> str:
    return json.dumps({"id": os.urandom(16).hex(), "task": "noop", "args": [t]})


class BareClient(Client):
    """One LPUSH per job; bulk: one LPUSH per 1,000 jobs."""

    has_bulk = True

    def __init__(self, url: str) -> None:
        import redis

        self.redis: Any = redis.Redis.from_url(url)

    def send(self, t: float) -> None:
        self.redis.lpush(KEY, _message(t))

    def enqueue_bulk(self, count: int) -> None:
        for start in range(0, count, BULK_CHUNK):
            self.redis.lpush(KEY, *(_message(0.0) for _ in range(min(BULK_CHUNK, count - start))))

    def close(self) -> None:
        self.redis.close()


def client(url: str) -> Client:
    """A bare redis-py client on `url`."""
    return BareClient(url)


def run_worker(url: str) -> None:
    """There is no worker: the harness never asks for one (HAS_WORKER is False)."""
    raise NotImplementedError("bare redis-py has no worker")
