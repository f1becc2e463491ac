"""enqueue.lua's two argument shapes write the same thing.

A batch whose jobs are all pending, in one queue, at one priority and of one tenant
goes in the uniform shape (three values per job, the ready pushes settled as one run);
any other batch in the mixed shape (eight values per job, one push at a time). Forcing
the mixed shape on the same batch must leave Redis exactly as the uniform shape does:
every key, value and ready score, and the order jobs are then served in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobkit.adapters.redis import RedisBackend
from jobkit.adapters.redis import backend as backend_module
from jobkit.clock import FakeClock
from jobkit.core import lifecycle
from jobkit.core.model import PRIORITIES, Job, build_job
from tests.adapters.backends import make_fakeredis, make_redis

KINDS: dict[str, Callable[..., Any]] = {"fakeredis": make_fakeredis, "redis": make_redis}
TENANTS = st.sampled_from([None, "acme", "globex"])


def dump(backend: RedisBackend) -> dict[str, Any]:
    """Every key under the backend's prefix (prefix cut off) with its whole value."""
    client, out = backend.client, {}
    for raw in client.scan_iter(match=backend.keys.pattern):
        key = raw.decode()
        kind = client.type(raw).decode()
        if kind == "hash":
            value: Any = client.hgetall(raw)
        elif kind == "zset":
            value = client.zrange(raw, 0, -1, withscores=True)
        elif kind == "list":
            value = client.lrange(raw, 0, -1)
        elif kind == "set":
            value = client.smembers(raw)
        else:
            value = client.get(raw)
        out[key.removeprefix(backend.prefix)] = (kind, value)
    return out


def served(backend: RedisBackend, queue: str) -> list[str]:
    """Ids in the order workers get them."""
    order = []
    while (claim := backend.dequeue(queue, "w")) is not None:
        order.append(claim.job.id)
    return order


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=40, deadline=None)
@given(
    fair=st.booleans(),
    before=st.lists(st.tuples(st.sampled_from(PRIORITIES), TENANTS), max_size=6),
    released=st.integers(min_value=0, max_value=2),
    priority=st.sampled_from(PRIORITIES),
    tenant=TENANTS,
    size=st.integers(min_value=1, max_value=30),
)
def test_the_uniform_shape_writes_what_the_mixed_shape_writes(
    kind: str,
    fair: bool,
    before: list[tuple[str, str | None]],
    released: int,
    priority: str,
    tenant: str | None,
    size: int,
) -> None:
    clock = FakeClock()
    now = clock.now()

    def job(n: int, priority: str, tenant: str | None) -> Job:
        at = now + timedelta(milliseconds=n)
        return build_job("t", {"n": n}, id=f"j{n}", now=at, priority=priority, tenant_id=tenant)

    earlier = [job(n, p, t) for n, (p, t) in enumerate(before)]
    batch = [job(100 + n, priority, tenant) for n in range(size)]
    assert backend_module._uniform(batch)
    dumps, orders = [], []
    for uniform in (True, False):
        backend = KINDS[kind](clock, fair=fair)
        assert isinstance(backend, RedisBackend)
        try:
            # jobs already waiting, some put back at the front (release), so the batch's
            # pushes start from a level's head, top and tenant tails that are not empty
            backend.enqueue_many(earlier)
            claims = [c for _ in range(released) if (c := backend.dequeue("default", "w"))]
            backend.release(claims)
            if uniform:
                backend.enqueue_many(batch)
            else:
                with mock.patch.object(backend_module, "_uniform", lambda jobs: False):
                    backend.enqueue_many(batch)
            dumps.append(dump(backend))
            orders.append(served(backend, "default"))
        finally:
            backend.clear()
            backend.close()
    assert dumps[0] == dumps[1]
    assert orders[0] == orders[1]
    assert sorted(orders[0]) == sorted(j.id for j in earlier + batch)


def test_a_batch_that_differs_in_anything_goes_mixed() -> None:
    now = FakeClock().now()

    def job(**options: Any) -> Job:
        return build_job("t", id=f"j{len(options)}", now=now, **options)

    base = job()
    assert backend_module._uniform([base, job()])
    assert not backend_module._uniform([base, job(queue="other")])
    assert not backend_module._uniform([base, job(priority="high")])
    assert not backend_module._uniform([base, job(tenant_id="acme")])
    assert not backend_module._uniform([base, job(run_at=now + timedelta(seconds=5))])
    assert not backend_module._uniform([lifecycle.cancel(base, now)])
