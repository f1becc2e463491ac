"""Unit tests for jobkit.registry.Registry and HandlerSpec."""

from __future__ import annotations

import functools
import threading

import pytest

from jobkit.core.errors import DuplicateHandlerError, InvalidJobError
from jobkit.core.model import MAX_JOB_TYPE_LENGTH, Priority
from jobkit.core.retry import RetryPolicy
from jobkit.registry import HandlerSpec, Registry


def handler(args):
    return args


async def async_handler(args):
    return args


class CallableHandler:
    def __call__(self, args):
        return args


def test_decorator_registers_and_returns_the_function():
    registry = Registry()

    @registry.handler("email.send")
    def send(args):
        return {"sent": args["to"]}

    assert send({"to": "x"}) == {"sent": "x"}  # still the plain function
    assert registry.get("email.send") is send
    assert "email.send" in registry
    assert len(registry) == 1


def test_decorator_passes_options():
    registry = Registry()

    @registry.handler("report", queue="reports", priority="low", max_retries=7)
    def report(args):
        return None

    spec = registry.spec("report")
    assert spec.queue == "reports"
    assert spec.priority is Priority.LOW
    assert spec.max_retries == 7


def test_register_returns_the_function():
    registry = Registry()
    assert registry.register("x", handler) is handler
    assert registry.get("x") is handler


def test_spec_defaults():
    registry = Registry()
    registry.register("x", handler)
    spec = registry.spec("x")
    assert spec == HandlerSpec(job_type="x", fn=handler, is_async=False)
    assert spec.queue is None
    assert spec.priority is None
    assert spec.max_retries is None
    assert spec.retry_policy is None


def test_spec_with_every_option():
    policy = RetryPolicy.constant(5)
    registry = Registry()
    registry.register(
        "x", handler, queue="q1", priority=Priority.HIGH, max_retries=0, retry_policy=policy
    )
    spec = registry.spec("x")
    assert spec.queue == "q1"
    assert spec.priority is Priority.HIGH
    assert spec.max_retries == 0
    assert spec.retry_policy is policy


@pytest.mark.parametrize(
    ("fn", "is_async"),
    [
        (handler, False),
        (lambda args: args, False),
        (async_handler, True),
        (functools.partial(async_handler), True),  # partials are unwrapped
        (CallableHandler(), False),
        (print, False),  # a builtin is callable too
    ],
)
def test_async_detection(fn, is_async):
    registry = Registry()
    registry.register("x", fn)
    assert registry.spec("x").is_async is is_async


def test_duplicate_raises_and_keeps_the_first():
    registry = Registry()
    registry.register("x", handler)
    with pytest.raises(DuplicateHandlerError) as info:
        registry.register("x", async_handler)
    assert isinstance(info.value, ValueError)
    assert info.value.job_type == "x"
    assert "'x'" in str(info.value)
    assert "replace=True" in str(info.value)
    assert registry.get("x") is handler


def test_duplicate_through_the_decorator_raises():
    registry = Registry()
    registry.register("x", handler)
    with pytest.raises(DuplicateHandlerError):

        @registry.handler("x")
        def again(args):
            return None


def test_replace_overrides():
    registry = Registry()
    registry.register("x", handler, queue="a")
    registry.register("x", async_handler, replace=True)
    spec = registry.spec("x")
    assert spec.fn is async_handler
    assert spec.is_async
    assert spec.queue is None  # the new registration's options, not a merge
    assert len(registry) == 1


def test_replace_works_for_a_new_type_too():
    registry = Registry()
    registry.register("x", handler, replace=True)
    assert registry.get("x") is handler


INVALID = [
    # (field, job_type, fn, options)
    ("job_type", "", handler, {}),
    ("job_type", "   ", handler, {}),
    ("job_type", None, handler, {}),
    ("job_type", 5, handler, {}),
    ("job_type", "x" * (MAX_JOB_TYPE_LENGTH + 1), handler, {}),  # no job could be built
    ("handler", "x", None, {}),
    ("handler", "x", "handler", {}),
    ("handler", "x", 42, {}),
    ("max_retries", "x", handler, {"max_retries": -1}),
    ("max_retries", "x", handler, {"max_retries": 1.5}),
    ("max_retries", "x", handler, {"max_retries": True}),
    ("max_retries", "x", handler, {"max_retries": "3"}),
    ("queue", "x", handler, {"queue": ""}),
    ("queue", "x", handler, {"queue": "with space"}),
    ("queue", "x", handler, {"queue": "q" * 65}),
    ("queue", "x", handler, {"queue": "a{b}"}),
    ("priority", "x", handler, {"priority": "urgent"}),
    ("priority", "x", handler, {"priority": 1}),
]


@pytest.mark.parametrize(
    ("field", "job_type", "fn", "options"),
    INVALID,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(INVALID)],
)
def test_invalid_registration(field, job_type, fn, options):
    registry = Registry()
    with pytest.raises(InvalidJobError) as info:
        registry.register(job_type, fn, **options)
    assert info.value.field == field
    assert f"{field}=" in str(info.value)
    assert len(registry) == 0  # nothing half-registered


def test_max_job_type_length_is_accepted():
    registry = Registry()
    registry.register("x" * MAX_JOB_TYPE_LENGTH, handler)
    assert len(registry) == 1


def test_string_priority_is_coerced():
    registry = Registry()
    registry.register("x", handler, priority="CRITICAL")
    assert registry.spec("x").priority is Priority.CRITICAL


def test_unregister():
    registry = Registry()
    registry.register("x", handler)
    assert registry.unregister("x") is True
    assert registry.get("x") is None
    assert registry.spec("x") is None
    assert "x" not in registry
    assert registry.unregister("x") is False
    registry.register("x", async_handler)  # free to register again
    assert registry.get("x") is async_handler


def test_lookups_of_unknown_types():
    registry = Registry()
    assert registry.get("nope") is None
    assert registry.spec("nope") is None
    assert "nope" not in registry
    assert 5 not in registry
    assert registry.unregister("nope") is False


def test_job_types_sorted():
    registry = Registry()
    for name in ["zeta", "alpha", "Mid", "beta.two", "beta"]:
        registry.register(name, handler)
    assert registry.job_types() == ["Mid", "alpha", "beta", "beta.two", "zeta"]
    assert len(registry) == 5
    assert repr(registry) == "Registry(['Mid', 'alpha', 'beta', 'beta.two', 'zeta'])"


def test_empty_registry():
    registry = Registry()
    assert registry.job_types() == []
    assert len(registry) == 0
    assert repr(registry) == "Registry([])"


def test_registries_are_independent():
    a, b = Registry(), Registry()
    a.register("x", handler)
    assert "x" not in b


def test_concurrent_registration_of_distinct_types():
    registry = Registry()
    names = [f"t{i}" for i in range(400)]
    barrier = threading.Barrier(8)

    def work(chunk):
        barrier.wait()
        for name in chunk:
            registry.register(name, handler)

    threads = [threading.Thread(target=work, args=(names[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert registry.job_types() == sorted(names)


def test_concurrent_duplicate_registration_has_one_winner():
    registry = Registry()
    n = 16
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def work():
        barrier.wait()
        try:
            registry.register("x", handler)
            result = "ok"
        except DuplicateHandlerError:
            result = "dup"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["dup"] * (n - 1) + ["ok"]
