"""Building a RedisBackend from a URL (used by `jobkit.connect`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from jobkit.adapters.redis.backend import RedisBackend
from jobkit.ports import Clock

#: connect() options that configure the backend (the rest go to the JobKit)
BACKEND_OPTIONS = ("prefix", "max_reclaims", "history_size", "promote_batch", "fair")


def backend_from_url(url: str, clock: Clock | None, options: dict[str, Any]) -> RedisBackend:
    """A RedisBackend for `url`; pops the backend's options out of `options`.

    `redis://[user:password@]host:port/db`, `rediss://…` (TLS, certificates verified by
    default), `unix:///path/to/socket`, `redis+cluster://host:port` (Redis Cluster from
    one seed node), and `fakeredis://` (a private in-process server, for tests and
    notebooks). Clients get timeouts, TCP keepalive and retries with backoff on
    connection errors, so a dropped connection is re-made instead of failing the worker.
    """
    scheme = urlsplit(url).scheme
    backend_options = {k: options.pop(k) for k in BACKEND_OPTIONS if k in options}
    if scheme == "fakeredis":
        import fakeredis

        client: Any = fakeredis.FakeRedis()
    elif scheme.endswith("+cluster"):
        from redis.cluster import RedisCluster

        plain = url.replace("+cluster", "", 1)
        client = RedisCluster.from_url(plain, **_client_options())
    else:
        import redis

        client = redis.Redis.from_url(url, **_client_options(), health_check_interval=30)
    return RedisBackend(client, clock=clock, owns_client=True, **backend_options)


def _client_options() -> dict[str, Any]:
    from redis.backoff import ExponentialWithJitterBackoff
    from redis.exceptions import ConnectionError, TimeoutError
    from redis.retry import Retry

    return {
        "socket_timeout": 30,  # longer than any blocking wait the backend issues (5 s)
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=2.0), 6),
        "retry_on_error": [ConnectionError, TimeoutError],
    }
