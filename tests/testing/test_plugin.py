"""The pytest plugin, used the way a downstream project uses it: a throwaway project that
only installs jobkit, run by pytester in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.adapters.backends import REDIS_URL, redis_client

HERE = Path(__file__).parent
APP = (HERE / "downstream_app.py").read_text()
TESTS = (HERE / "downstream_tests.py").read_text()


@pytest.fixture
def shop(pytester: pytest.Pytester) -> pytest.Pytester:
    """A downstream project: the shop's jobs module, its tests, and one ini line."""
    pytester.mkpydir("shop")
    (pytester.path / "shop" / "jobs.py").write_text(APP)
    pytester.makeini("[pytest]\npythonpath = .\njobkit_app = shop.jobs:kit\n")
    pytester.makepyfile(test_shop=TESTS)
    return pytester


def test_the_downstream_suite_passes_on_memory(shop: pytest.Pytester) -> None:
    result = shop.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=10)


def test_the_same_suite_passes_on_redis(shop: pytest.Pytester) -> None:
    client = redis_client()  # skips locally, fails in CI, when Redis is not up
    try:
        before = client.dbsize()
        result = shop.runpytest_subprocess(
            "-p", "no:cacheprovider", "--jobkit-backend", "redis", "--jobkit-redis-url", REDIS_URL
        )
        result.assert_outcomes(passed=10)
        assert client.dbsize() == before  # every test's prefix was wiped
    finally:
        client.close()


def test_the_same_suite_passes_on_fakeredis(shop: pytest.Pytester) -> None:
    result = shop.runpytest_subprocess("-p", "no:cacheprovider", "--jobkit-backend", "fakeredis")
    result.assert_outcomes(passed=10)


def test_fresh_fixtures_without_an_app(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import jobkit
        from jobkit.testing import assert_enqueued, drain

        def test_fixtures_fit_together(jobkit, jobkit_clock, jobkit_backend, jobkit_registry,
                                       jobkit_worker):
            assert jobkit.backend is jobkit_backend and jobkit.clock is jobkit_clock
            assert jobkit.registry is jobkit_registry and jobkit_registry.job_types() == []
            assert jobkit_worker.backend is jobkit_backend

        def test_handlers_registered_in_a_test(jobkit):
            jobkit.register("greet", lambda args: "hi " + args["name"])
            job = jobkit.enqueue("greet", {"name": "Ada"})
            assert_enqueued(jobkit, "greet", {"name": "Ada"})
            assert drain(jobkit).succeeded == 1
            assert jobkit.get(job.id).result == "hi Ada"

        def test_the_next_test_sees_nothing(jobkit):
            assert jobkit.registry.job_types() == [] and jobkit.stats()["enqueued"] == 0
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_assert_enqueued_fails_with_what_was_enqueued(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from jobkit.testing import assert_enqueued, assert_not_enqueued

        def test_wrong_recipient(jobkit):
            jobkit.enqueue("email.send", {"to": "bob@example.com"}, queue="mail")
            jobkit.enqueue("report.build", {"day": 1}, priority="low", delay=3600)
            assert_enqueued(jobkit, "email.send", {"to": "ada@example.com"})

        def test_unexpected_job(jobkit):
            jobkit.enqueue("email.send", {"to": "bob@example.com"})
            assert_not_enqueued(jobkit, "email.send")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: expected at least 1 enqueued job(s) matching job_type='email.send',"
            " args ⊇ {'to': 'ada@example.com'}; found 0. Enqueued jobs (2):",
            "*- email.send args={'to': 'bob@example.com'} queue=mail priority=default pending",
            "*- report.build args={'day': 1} queue=default priority=low scheduled for"
            " 2026-01-01T01:00:00+00:00",
            "*AssertionError: expected no enqueued job matching job_type='email.send'; found 1:",
        ]
    )


def test_options_are_in_their_own_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(
        [
            "jobkit (background jobs) test fixtures:",
            "*--jobkit-backend=*",
            "*--jobkit-redis-url=URL*",
        ]
    )


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('backend="oracle"', "jobkit backend 'oracle' is not one of memory, fakeredis, redis"),
        ("start=1", "must be a timezone-aware datetime"),
        ("colour=1", "got unknown ['colour']"),
        ('app="nomodule"', "must be 'module:attribute'"),
        ('app="json:dumps"', "is a function, not a JobKit"),
        ('backend="redis", redis_url="redis://127.0.0.1:1/0"', "cannot reach Redis"),
    ],
)
def test_bad_settings_fail_clearly(pytester: pytest.Pytester, marker: str, message: str) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.jobkit({marker})
        def test_it(jobkit):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    assert message in result.stdout.str()


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, jobkit.testing.plugin, jobkit.testing; "
        "heavy = {'pandas', 'ipywidgets', 'redis', 'hypothesis', 'numpy'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
