"""The Redis adapter: `RedisBackend` (atomic Lua scripts, leases, Cluster-ready keys)."""

from jobkit.adapters.redis.backend import RedisBackend
from jobkit.adapters.redis.server_clock import ServerClock

__all__ = ["RedisBackend", "ServerClock"]
