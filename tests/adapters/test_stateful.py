"""The backend state machine (tests/adapters/stateful.py), once per backend in BACKENDS.

Each backend gets its own `unittest.TestCase` class, `TestStateMachine_<name>`.
"""

from __future__ import annotations

from tests.adapters.backends import BACKENDS
from tests.adapters.stateful import make_machine

for _name in sorted(BACKENDS):
    globals()[f"TestStateMachine_{_name}"] = make_machine(BACKENDS[_name], name=_name.title())
del _name
