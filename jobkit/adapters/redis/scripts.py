"""Loads the Lua scripts in `lua/` and runs them with EVALSHA.

Each script is sent as: a generated prelude (counter names and indexes, the number of
priorities, from the core, so Lua and Python cannot disagree), `lua/_lib.lua`, then
the script's own file. Script text is static: nothing from a caller ever becomes code.
A NOSCRIPT reply (the server restarted, failed over, or ran SCRIPT FLUSH) is answered
by sending the full script with EVAL, which also caches it again on that node.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from redis.exceptions import NoScriptError

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
    script = load(name)
    try:
        return client.evalsha(script.sha, len(keys), *keys, *args)
    except NoScriptError:
        return client.eval(script.source, len(keys), *keys, *args)
