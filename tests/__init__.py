"""jobkit test suite."""
