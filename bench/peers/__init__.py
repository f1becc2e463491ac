"""jobkit and its peers side by side on one private Redis (see bench/README.md).

Run ``python -m bench.peers --help`` from the repository root. One module per library
(``bench/peers/<name>.py``) with the interface described in :mod:`bench.peers.common`;
the harness (:mod:`bench.peers.harness`) runs each library's client and worker in their
own processes, so a library that fails to import or to run is reported, not fatal.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: every library measured, jobkit first, then the bare redis-py floor (not a peer)
LIBRARIES = ("jobkit", "rq", "dramatiq", "huey", "arq", "saq", "taskiq", "celery", "bare")
#: measured beside the libraries as a floor; never counted as the best peer
FLOORS = ("bare",)


def load(name: str) -> ModuleType:
    """The peer module for library `name` (imports the library only when it is used)."""
    if name not in LIBRARIES:
        raise ValueError(f"unknown library {name!r}; known: {', '.join(LIBRARIES)}")
    return importlib.import_module(f"bench.peers.{name}")
