"""A downstream test module: it only installs jobkit (pytester runs it as test_shop.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from shop.jobs import place_order

from jobkit import Failure
from jobkit.testing import assert_enqueued, assert_not_enqueued, drain, perform


def test_checkout_enqueues_the_mail_and_the_invoice(jobkit):
    place_order(42, "ada@example.com", ["tea", "scones"])

    assert_enqueued(jobkit, "email.send", {"to": "ada@example.com"}, queue="mail", count=1)
    assert_enqueued(jobkit, "invoice.render", {"order": 42}, priority="low")
    assert_not_enqueued(jobkit, "email.send", {"template": "refund"})


def test_drain_runs_everything(jobkit):
    place_order(7, "bob@example.com", ["jam"])

    result = drain(jobkit)

    assert (result.succeeded, result.failed) == (2, 0)
    assert_not_enqueued(jobkit, "email.send")


def test_a_bouncing_mail_plays_the_whole_retry_timeline(jobkit, jobkit_clock):
    start = jobkit_clock.now()
    job = jobkit.enqueue("email.send", {"to": "x@example.com", "bounce": True})

    result = drain(jobkit)  # +0, +30 s, +5 min 30 s, +1 h 5 min 30 s, then dead

    starts = [attempt.started_at - start for attempt in result.attempts]
    assert starts == [
        timedelta(0),
        timedelta(seconds=30),
        timedelta(minutes=5, seconds=30),
        timedelta(hours=1, minutes=5, seconds=30),
    ]
    assert (result.retried, result.dead) == (3, 1)
    assert jobkit.get(job.id).status == "dead"
    assert jobkit.dead_letters()[0].error.type == "ConnectionError"


def test_drain_can_stop_before_the_retries(jobkit):
    jobkit.enqueue("email.send", {"to": "x@example.com", "bounce": True})
    assert drain(jobkit, with_scheduled=False).retried == 1
    assert_enqueued(jobkit, "email.send", {"bounce": True})  # retrying counts as enqueued


def test_raise_errors_surfaces_the_handler_exception(jobkit):
    jobkit.enqueue("email.send", {"to": "x@example.com", "bounce": True})
    with pytest.raises(ConnectionError, match="unavailable"):
        drain(jobkit, raise_errors=True)


def test_perform_runs_one_handler_inline(jobkit):
    assert perform(jobkit, "invoice.render", {"lines": ["a", "b"]}) == {"pages": 2}
    with pytest.raises(ConnectionError):
        perform(jobkit, "email.send", {"to": "x", "bounce": True})
    assert_not_enqueued(jobkit, "invoice.render")  # perform enqueues nothing


def test_perform_catches_args_production_would_refuse(jobkit):
    with pytest.raises(ValueError, match="args"):
        perform(jobkit, "invoice.render", {"lines": {"a", "b"}})  # a set is not JSON


def test_failure_results(jobkit):
    jobkit.register(
        "charge", lambda args: Failure("card declined", type="Declined", retryable=False)
    )
    jobkit.enqueue("charge", {"amount": 5})
    result = drain(jobkit)
    assert (result.failed, result.dead, result.retried) == (1, 1, 0)


@pytest.mark.jobkit(start=datetime(2030, 6, 1, 9, 0, tzinfo=UTC))
def test_the_marker_sets_the_clock(jobkit, jobkit_clock):
    assert jobkit_clock.now() == datetime(2030, 6, 1, 9, 0, tzinfo=UTC)
    assert jobkit.enqueue("invoice.render", {"lines": []}).created_at == jobkit_clock.now()


def test_every_test_starts_empty(jobkit, jobkit_worker):
    assert jobkit.stats()["enqueued"] == 0
    jobkit.enqueue("invoice.render", {"lines": ["x"]})
    assert jobkit_worker.run_until_idle() == 1
