"""The example in the simulator's module docstring runs as written."""

import doctest

import jobkit.sim


def test_docstring_example() -> None:
    failures, attempted = doctest.testmod(jobkit.sim)
    assert attempted >= 4 and failures == 0
