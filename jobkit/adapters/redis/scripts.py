"""Loads the Lua scripts in `lua/` and runs them: as Redis functions (FCALL), or with
EVALSHA where the server has no functions.

The scripts share a generated prelude (counter names and indexes, the number of
priorities, from the core, so Lua and Python cannot disagree) and `lua/_lib.lua`. Text
is static: nothing from a caller ever becomes code.

Functions (Redis 7+): all scripts go to the server once, as one library named after a
hash of its text (`jobkit_<hash>`, each script a function `jobkit_<hash>_<script>`), so
versions of jobkit sharing a server never call each other's code. A call runs only the
script; under EVALSHA every call also ran the shared library's definitions again (about
a tenth of a one-job enqueue's server time). The library is replicated and persisted
with the data. "Function not found" (FUNCTION FLUSH, a restart without persistence, a
new Cluster node) is answered by loading it again (REPLACE: every primary) and calling
again; nothing ran, so nothing runs twice.

EVALSHA (a server without FUNCTION, or a user the ACL refuses FCALL): each script is
sent as the prelude, the library, then the script; NOSCRIPT is answered with EVAL.

`Runner` sends the calls. On a plain `redis.Redis` client with hiredis it packs each
call in one C call and sends it itself (redis-py's retry policy kept): redis-py's
command path checks every argument in Python first, which costs more than the packing
(a bulk enqueue carries 3 to 8 arguments per job). Each thread keeps one connection from the
client's pool for its script calls (threads beyond half the pool's size borrow one per
call): taking a connection from a redis-py 8 pool and giving it back costs about 40 µs
of Python per call (metrics hooks, a readiness poll), as much as the round trip itself.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import weakref
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, NoPermissionError, NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.utils import HIREDIS_AVAILABLE

try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis comes with the redis extra
    hiredis = None

from jobkit.core.model import PRIORITIES
from jobkit.core.stats import COUNTERS

LUA_DIR = Path(__file__).with_name("lua")
log = logging.getLogger("jobkit.redis")

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
    """One script's full text for EVAL and its SHA1."""

    name: str
    source: str
    sha: str


@dataclass(frozen=True, slots=True)
class Library:
    """Every script as one function library: its name, its text (for FUNCTION LOAD)
    and each script's function name."""

    name: str
    source: str
    functions: dict[str, str]


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
def _text(name: str) -> str:
    return (LUA_DIR / f"{name}.lua").read_text(encoding="utf-8")


@cache
def load(name: str) -> Script:
    """The script `lua/<name>.lua` for EVAL: the prelude and the shared library in front,
    started with the call's KEYS and ARGV."""
    if name not in SCRIPT_NAMES:
        raise KeyError(f"no script named {name!r}; known: {', '.join(SCRIPT_NAMES)}")
    source = "\n".join(
        (
            _prelude(),
            "local CALL_KEYS, CALL_ARGV = KEYS, ARGV",  # _lib.lua names its own KEYS, ARGV
            _text("_lib"),
            "begin(CALL_KEYS, CALL_ARGV)",
            _text(name),
        )
    )
    return Script(name, source, hashlib.sha1(source.encode()).hexdigest())


@cache
def library() -> Library:
    """All scripts as one Redis function library, named after a hash of their text."""
    parts = [_prelude(), _text("_lib"), *(_text(name) for name in SCRIPT_NAMES)]
    name = "jobkit_" + hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]
    functions = {script: f"{name}_{script}" for script in SCRIPT_NAMES}
    registered = [
        f"redis.register_function('{functions[script]}', function(KEYS, ARGV)\n"
        f"begin(KEYS, ARGV)\n{_text(script)}\nend)"
        for script in SCRIPT_NAMES
    ]
    source = "\n".join((f"#!lua name={name}", _prelude(), _text("_lib"), *registered))
    return Library(name, source, functions)


def run(client: Any, name: str, keys: list[str], args: list[Any]) -> Any:
    """Run script `name` atomically (FCALL, or EVALSHA where functions are missing)."""
    return Runner(client)(name, keys, args)


class Runner:
    """Runs scripts on one client, as `run` does: as functions while the server has
    them, else by EVALSHA. On a plain pooled `redis.Redis` with hiredis, calls go
    through `_call_packed` (the same reply, errors and retries, less Python) on a
    connection each thread keeps."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._pool = client.connection_pool if _can_pack(client) else None
        self._local = threading.local()
        self._held: weakref.WeakSet[_Held] = weakref.WeakSet()  # every thread's
        self._held_lock = threading.Lock()
        self._heads: dict[tuple[str, ...], bytes] = {}  # (command, *keys) -> packed part
        self.functions = True  # False once the server refused functions: EVALSHA

    def __call__(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run script `name` over `keys` with `args`; its reply."""
        if self.functions:
            function = library().functions[name]
            try:
                return self._send("FCALL", function, keys, args)
            except ResponseError as exc:
                if _functions_refused(exc):
                    self._without_functions(exc)
                elif not str(exc).startswith("Function not found"):
                    raise
            if self.functions and self._load_library():
                return self._send("FCALL", function, keys, args)
        script = load(name)
        try:
            return self._send("EVALSHA", script.sha, keys, args)
        except NoScriptError:
            return self.client.eval(script.source, len(keys), *keys, *args)

    def _send(self, command: str, target: str, keys: list[str], args: list[Any]) -> Any:
        """`command target len(keys) *keys *args` (FCALL or EVALSHA); its reply."""
        if self._pool is None:
            return self.client.execute_command(command, target, len(keys), *keys, *args)
        return self._call_packed(self._pack(command, target, keys, args))

    def _load_library(self) -> bool:
        """Load the library (replacing a same-named one, on every Cluster primary); False,
        and EVALSHA from now on, when the server has no functions or refuses them."""
        try:
            self.client.function_load(library().source, replace=True)
            return True
        except ResponseError as exc:
            if not _functions_refused(exc):
                raise
            self._without_functions(exc)
            return False

    def _without_functions(self, exc: ResponseError) -> None:
        log.info("Redis functions unavailable (%s): running scripts by EVALSHA", exc)
        self.functions = False

    def close(self) -> None:
        """Give every thread's kept connection back to the pool (a later call takes a
        new one). Call it once the backend is no longer used."""
        with self._held_lock:
            held_now = list(self._held)
        for held in held_now:
            held.release()

    def _connection(self) -> Any:
        """This thread's connection, taken from the pool on first use (again after a
        fork or `close`; it goes back to the pool when the thread ends), checked as the
        pool checks a connection it lends: connected, no unread data, not closed by the
        server (else reconnected). None when half the pool's connections are kept
        already: this thread then borrows one per call, so many threads that call now
        and then cannot use up a bounded pool (redis-py's default holds 100)."""
        held = getattr(self._local, "held", None)
        if held is None or held.conn is None or held.pid != os.getpid():
            assert self._pool is not None
            with self._held_lock:
                if len(self._held) >= getattr(self._pool, "max_connections", 0) // 2:
                    return None
                held = _Held(self._pool)
                self._held.add(held)
            self._local.held = held
            return held.conn
        conn = held.conn
        try:
            conn.connect()
            if conn.can_read():
                raise RedisConnectionError("Connection has data")
        except (RedisConnectionError, RedisTimeoutError, OSError):
            conn.disconnect()
            conn.connect()
        return conn

    def _pack(self, command: str, target: str, keys: list[str], args: list[Any]) -> bytes:
        """`command target len(keys) *keys *args` in the wire format. The part up to the
        last key is the same on every call of a script on a queue, so it is packed once
        (it is most of a one-job call: 41 keys)."""
        head_key = (command, target, *keys)
        head = self._heads.get(head_key)
        if head is None:
            if len(self._heads) >= _MAX_HEADS:
                self._heads.clear()
            head = self._heads[head_key] = _without_count(
                hiredis.pack_command((command, target, len(keys), *keys))
            )
        try:
            tail = _without_count(hiredis.pack_command(tuple(args)))
        except TypeError as exc:  # an argument of a type Redis has no encoding for
            raise DataError(str(exc)) from exc
        return b"".join((b"*%d\r\n" % (3 + len(keys) + len(args)), head, tail))

    def _call_packed(self, packed: bytes) -> Any:
        # what redis-py's execute_command does for a command without a response
        # callback: the client's retry policy (a failed attempt drops the connection,
        # the next one reconnects), the reply parsed by hiredis
        conn = self._connection()
        borrowed = conn is None
        if borrowed:
            assert self._pool is not None
            conn = self._pool.get_connection()

        def attempt() -> Any:
            conn.send_packed_command((packed,), check_health=False)
            return conn.read_response()

        try:
            return conn.retry.call_with_retry(attempt, lambda _error: conn.disconnect())
        except ResponseError:
            raise  # an error reply, read whole: the connection is still in step
        except BaseException:
            conn.disconnect()  # interrupted mid-call: a reply may be left unread
            raise
        finally:
            if borrowed:
                self._pool.release(conn)


_MAX_HEADS = 1024  # packed command heads kept per Runner (script x queue combinations)


def _functions_refused(exc: ResponseError) -> bool:
    """The server has no functions (before Redis 7) or the ACL refuses FCALL or
    FUNCTION: nothing ran."""
    text = str(exc).lower()
    if isinstance(exc, NoPermissionError):
        return "'fcall'" in text or "'function" in text
    return text.startswith("unknown command") and ("'fcall'" in text or "'function'" in text)


def _without_count(packed: bytes) -> bytes:
    """A packed command without its leading "*<count>" line: its arguments alone."""
    return packed[packed.index(b"\r\n") + 2 :]


class _Held:
    """A pool connection kept by one thread; given back when released or collected
    (the thread ended)."""

    def __init__(self, pool: Any) -> None:
        self.pid = os.getpid()
        self.conn: Any = pool.get_connection()
        self._finalizer = weakref.finalize(self, pool.release, self.conn)

    def release(self) -> None:
        """Give the connection back to its pool now."""
        self.conn = None
        self._finalizer()


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
