"""The "Testing your jobs" example in README.md runs as printed, as a downstream project."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def example_blocks() -> list[str]:
    text = README.read_text()
    section = text.split("## Testing your jobs", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:python|ini)\n(.*?)```", section, flags=re.S)


def test_the_readme_example_passes(pytester: pytest.Pytester) -> None:
    app, ini, tests = example_blocks()
    assert app.startswith("# shop/jobs.py") and tests.startswith("# tests/test_shop.py")
    pytester.mkpydir("shop")
    (pytester.path / "shop" / "jobs.py").write_text(app)
    pytester.makeini(ini.replace("[pytest]", "[pytest]\npythonpath = .", 1))
    pytester.makepyfile(test_shop=tests)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)
