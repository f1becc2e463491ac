"""The backends the contract suite runs on: name -> factory(FakeClock) -> JobBackend.

Real Redis (127.0.0.1:6379, or $JOBKIT_REDIS_URL) and Redis Cluster
($JOBKIT_REDIS_CLUSTER_URL, started by `.ci/redis-cluster`) each get a fresh prefix per
backend, wiped at teardown. Where a server is missing the test is skipped with the
reason — except under CI=true, where it fails: CI never skips them silently.
"""

from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from jobkit.adapters.memory import InMemoryBackend
from jobkit.adapters.redis import RedisBackend
from jobkit.clock import FakeClock
from jobkit.ports import JobBackend

#: clock (and backend options, e.g. fair=False) -> a fresh backend
BackendFactory = Callable[..., JobBackend]

REDIS_URL = os.environ.get("JOBKIT_REDIS_URL", "redis://127.0.0.1:6379/0")
CLUSTER_URL = os.environ.get("JOBKIT_REDIS_CLUSTER_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(what: str) -> None:
    """Skip (locally) or fail (in CI) because a server the test needs is missing."""
    if IN_CI:
        pytest.fail(f"{what} (CI=true: the Redis tests must run here, not skip)")
    pytest.skip(what)


def unique_prefix() -> str:
    """A key prefix no other test uses."""
    return f"jobkit-test-{uuid.uuid4().hex[:12]}"


def make_memory(clock: FakeClock, **options: Any) -> JobBackend:
    """The embedded in-memory backend on `clock`."""
    return InMemoryBackend(clock, **options)


def make_fakeredis(clock: FakeClock, **options: Any) -> JobBackend:
    """RedisBackend on a private fakeredis server (its Lua runtime runs the scripts)."""
    import fakeredis

    return RedisBackend(fakeredis.FakeRedis(), unique_prefix(), clock, owns_client=True, **options)


def redis_client() -> Any:
    """A client of the real local Redis (skip or fail when it does not answer)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=10, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        client.close()
        unavailable(f"no Redis at {REDIS_URL}: {exc}")
    return client


def make_redis(clock: FakeClock, **options: Any) -> JobBackend:
    """RedisBackend on the real local Redis under a fresh prefix."""
    return RedisBackend(redis_client(), unique_prefix(), clock, owns_client=True, **options)


_cluster_clients: list[Any] = []


def cluster_client() -> Any:
    """One RedisCluster client for the whole session (closed at exit).

    Made once because every RedisCluster discovers the cluster with connections of its
    own, which its close() may not all reach; hundreds of backends per run would leave
    sockets for the garbage collector (a ResourceWarning, an error under pytest)."""
    from redis.cluster import RedisCluster
    from redis.exceptions import RedisClusterException, RedisError

    if not CLUSTER_URL:
        unavailable("JOBKIT_REDIS_CLUSTER_URL is not set (.ci/redis-cluster starts one)")
    if not _cluster_clients:
        try:
            client = RedisCluster.from_url(CLUSTER_URL, socket_timeout=10, socket_connect_timeout=2)
        except (RedisClusterException, RedisError) as exc:
            unavailable(f"no Redis Cluster at {CLUSTER_URL}: {exc}")
        _cluster_clients.append(client)
        atexit.register(client.close)
    return _cluster_clients[0]


def make_redis_cluster(clock: FakeClock, **options: Any) -> JobBackend:
    """RedisBackend on the local Redis Cluster through redis.cluster.RedisCluster."""
    return RedisBackend(cluster_client(), unique_prefix(), clock, **options)


BACKENDS: dict[str, BackendFactory] = {
    "memory": make_memory,
    "fakeredis": make_fakeredis,
    "redis": make_redis,
    "redis_cluster": make_redis_cluster,
}


def dispose(backend: JobBackend) -> None:
    """Wipe a backend made by a factory and release it (Redis keys must not leak)."""
    try:
        backend.clear()
    finally:
        backend.close()
