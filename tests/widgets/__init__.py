"""Tests of jobkit.widgets (ipywidgets views over jobkit.frames)."""
