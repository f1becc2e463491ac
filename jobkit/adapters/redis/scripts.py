"""Loads the Lua scripts in `lua/` and runs them with EVALSHA.

Each script is sent as: a generated prelude (counter names and indexes, the number of
priorities, from the core, so Lua and Python cannot disagree), `lua/_lib.lua`, then
the script's own file. Script text is static: nothing from a caller ever becomes code.
A NOSCRIPT reply (the server restarted, failed over, or ran SCRIPT FLUSH) is answered
by sending the full script with EVAL, which also caches it again on that node.

`Runner` sends the calls. On a plain `redis.Redis` client with hiredis it packs each
call in one C call and sends it on a pooled connection itself (redis-py's retry policy
kept): redis-py's command path checks every argument in Python first, which costs more
than the packing (a bulk enqueue carries 8 arguments per job).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import DataError, NoScriptError
from redis.utils import HIREDIS_AVAILABLE

try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis comes with the redis extra
    hiredis = None

from jobkit.core.model import PRIORITIES
from jobkit.core.stats import COUNTERS

LUA_DIR = Path(__file__).with_name("lua")

#: every script a backend runs; each is one atomic state change
SCRIPT_NAMES: tuple[str, ...] = (
    "enqueue",
    "dequeue",
    "heartbeat",
    "ack",
    "promote_due",
    "reclaim",
    "move",
    "delete",
    "quarantine",
    "release",
)


@dataclass(frozen=True, slots=True)
class Script:
    """One script's full text and its SHA1."""

    name: str
    source: str
    sha: str


def _prelude() -> str:
    names = ", ".join(f"{c}={i}" for i, c in enumerate(COUNTERS, start=1))
    quoted = ", ".join(f"'{c}'" for c in COUNTERS)
    return (
        f"local NCOUNTERS = {len(COUNTERS)}\n"
        f"local COUNTER = {{{names}}}\n"
        f"local COUNTER_NAMES = {{{quoted}}}\n"
        f"local NPRIO = {len(PRIORITIES)}\n"
    )


@cache
def load(name: str) -> Script:
    """The script `lua/<name>.lua` with the prelude and the shared library in front."""
    if name not in SCRIPT_NAMES:
        raise KeyError(f"no script named {name!r}; known: {', '.join(SCRIPT_NAMES)}")
    source = "\n".join(
        (
            _prelude(),
            (LUA_DIR / "_lib.lua").read_text(encoding="utf-8"),
            (LUA_DIR / f"{name}.lua").read_text(encoding="utf-8"),
        )
    )
    return Script(name, source, hashlib.sha1(source.encode()).hexdigest())


def run(client: Any, name: str, keys: list[str], args: list[Any]) -> Any:
    """Run script `name` atomically: EVALSHA, or EVAL when the server lacks it."""
    return Runner(client)(name, keys, args)


class Runner:
    """Runs scripts on one client, as `run` does; on a plain pooled `redis.Redis` with
    hiredis, EVALSHA goes through `_call_packed` (the same reply, errors and retries,
    less Python)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._pool = client.connection_pool if _can_pack(client) else None

    def __call__(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run script `name` over `keys` with `args`; its reply."""
        script = load(name)
        try:
            if self._pool is None:
                return self.client.evalsha(script.sha, len(keys), *keys, *args)
            return self._call_packed(("EVALSHA", script.sha, len(keys), *keys, *args))
        except NoScriptError:
            return self.client.eval(script.source, len(keys), *keys, *args)

    def _call_packed(self, command: tuple[Any, ...]) -> Any:
        # what redis-py's execute_command does for a command without a response
        # callback: a pooled connection, the client's retry policy (a failed attempt
        # drops the connection, the next one reconnects), the reply parsed by hiredis
        try:
            packed = [hiredis.pack_command(command)]
        except TypeError as exc:  # an argument of a type Redis has no encoding for
            raise DataError(str(exc)) from exc
        pool = self._pool
        conn = pool.get_connection()

        def attempt() -> Any:
            conn.send_packed_command(packed, check_health=False)
            return conn.read_response()

        try:
            return conn.retry.call_with_retry(attempt, lambda _error: conn.disconnect())
        finally:
            pool.release(conn)


def _can_pack(client: Any) -> bool:
    """True for a plain `redis.Redis` with its own pool (not one shared connection, not
    fakeredis or Cluster) when hiredis is there to pack and parse."""
    return (
        hiredis is not None
        and HIREDIS_AVAILABLE
        and isinstance(client, redis.Redis)
        and type(client).__module__.startswith("redis.")
        and getattr(client, "connection", None) is None
        and getattr(client, "connection_pool", None) is not None
    )
