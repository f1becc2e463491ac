"""Backends behind the jobkit ports: `memory` (embedded default)."""
