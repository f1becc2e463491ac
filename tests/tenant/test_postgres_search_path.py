"""Schema switching against the real PostgreSQL: each tenant's handler writes into its
own schema, under a 5-thread pool too, and no tenant id or schema name reaches SQL
unquoted."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import jobkit
from jobkit.errors import InvalidJobError
from jobkit.tenant import current_connection, postgres_search_path
from tests.adapters.backends import unavailable

DSN = os.environ.get("JOBKIT_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")
psycopg = pytest.importorskip("psycopg")


def connect() -> Any:
    return psycopg.connect(DSN, connect_timeout=5)


@pytest.fixture
def tenants() -> Iterator[tuple[str, str]]:
    """Two tenants (ids with a '-' and a '.', so their schema names need quoting), each
    with a schema `tenant_<id>` holding an `events` table; dropped afterwards."""
    try:
        admin = psycopg.connect(DSN, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as exc:
        unavailable(f"no PostgreSQL at {DSN}: {exc}")
    suffix = uuid.uuid4().hex[:8]
    ids = (f"acme-{suffix}", f"globex.{suffix}")
    sql = psycopg.sql
    try:
        for tenant in ids:
            schema = sql.Identifier(f"tenant_{tenant}")
            admin.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
            admin.execute(
                sql.SQL("CREATE TABLE {}.events (job_id text, tenant text, thread text)").format(
                    schema
                )
            )
        yield ids
    finally:
        for tenant in ids:
            admin.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(f"tenant_{tenant}")
                )
            )
        admin.close()


def rows(tenant: str) -> list[tuple[str, str, str]]:
    with connect() as conn:
        query = psycopg.sql.SQL("SELECT job_id, tenant, thread FROM {}.events").format(
            psycopg.sql.Identifier(f"tenant_{tenant}")
        )
        return conn.execute(query).fetchall()


def record_event(args: dict[str, Any]) -> str:
    """A handler that knows nothing of schemas: it writes to plain `events`."""
    conn = current_connection()
    conn.execute(
        "INSERT INTO events (job_id, tenant, thread) VALUES (%s, %s, %s)",
        (jobkit.current_job().id, jobkit.current_tenant(), threading.current_thread().name),
    )
    return conn.execute("SHOW search_path").fetchone()[0]


def test_a_handler_writes_into_its_tenants_schema(tenants: tuple[str, str]) -> None:
    acme, globex = tenants
    kit = jobkit.connect("memory://", clock=jobkit.FakeClock())
    kit.register("event.record", record_event)
    job = kit.enqueue("event.record", tenant_id=acme)
    worker = kit.worker(tenant_context=postgres_search_path(connect))
    assert worker.run_until_idle() == 1
    done = kit.get(job.id)
    assert done.status == "completed", done.error
    assert done.result == f'"tenant_{acme}", public'
    assert [r[:2] for r in rows(acme)] == [(job.id, acme)]
    assert rows(globex) == []


def test_a_pool_of_five_threads_never_writes_into_the_wrong_schema(
    tenants: tuple[str, str],
) -> None:
    kit = jobkit.connect("memory://")
    kit.register("event.record", record_event)
    jobs = [kit.enqueue("event.record", tenant_id=tenants[n % 2]) for n in range(60)]
    with kit.pool(
        worker_count=5, poll_interval=0.02, tenant_context=postgres_search_path(connect)
    ) as pool:
        assert pool.wait_until_idle(timeout=60)
    assert all(kit.get(j.id).status == "completed" for j in jobs)
    for tenant in tenants:
        found = rows(tenant)
        assert len(found) == 30
        assert {r[1] for r in found} == {tenant}  # every row its own tenant's
        assert {r[0] for r in found} == {j.id for j in jobs if j.tenant_id == tenant}
    threads = {r[2] for t in tenants for r in rows(t)}
    assert len(threads) > 1  # the work really was spread over the pool's threads


def test_a_hostile_tenant_id_is_refused_before_any_sql() -> None:
    calls: list[int] = []

    def counting_connect() -> Any:
        calls.append(1)
        return connect()

    hook = postgres_search_path(counting_connect)
    for hostile in ("x'; DROP SCHEMA public CASCADE; --", 'a"b', "", "a b", "x" * 65):
        with pytest.raises(InvalidJobError, match="tenant_id"), hook(hostile):
            pass
    assert calls == []
    kit = jobkit.connect("memory://")
    with pytest.raises(InvalidJobError, match="tenant_id"):
        kit.enqueue("event.record", tenant_id="x'; DROP SCHEMA public CASCADE; --")


def test_schema_names_are_quoted_not_pasted(tenants: tuple[str, str]) -> None:
    evil = 'nope"; DROP TABLE events; --'
    kit = jobkit.connect("memory://", clock=jobkit.FakeClock())
    kit.register("event.record", record_event)
    job = kit.enqueue("event.record", tenant_id=tenants[0])
    worker = kit.worker(tenant_context=postgres_search_path(connect, schema=lambda t: evil))
    worker.run_until_idle()
    failed = kit.get(job.id)
    assert failed.status == "retrying"
    assert failed.error.type == "UndefinedTable"  # the name was one quoted identifier
    assert rows(tenants[0]) == []  # and the tenant's table is still there, empty


def test_the_search_path_is_restored_on_a_kept_connection(tenants: tuple[str, str]) -> None:
    """A pooled connection (here: one kept open) goes back with its old search_path,
    after a success and after a failure alike."""
    kept = connect()
    try:
        original = kept.execute("SHOW search_path").fetchone()[0]
        kept.commit()
        hook = postgres_search_path(lambda: contextlib.nullcontext(kept))
        kit = jobkit.connect("memory://", clock=jobkit.FakeClock())
        kit.register("event.record", record_event)
        kit.register("broken", lambda args: current_connection().execute("SELECT * FROM nowhere"))
        worker = kit.worker(tenant_context=hook)
        ok = kit.enqueue("event.record", tenant_id=tenants[0])
        bad = kit.enqueue("broken", tenant_id=tenants[1])
        worker.run_until_idle()
        assert kit.get(ok.id).status == "completed"
        assert kit.get(bad.id).error.type == "UndefinedTable"
        assert kept.execute("SHOW search_path").fetchone()[0] == original
    finally:
        kept.close()


def test_jobs_without_a_tenant_skip_the_hook() -> None:
    entered: list[str] = []

    @contextlib.contextmanager
    def hook(tenant_id: str) -> Iterator[None]:
        entered.append(tenant_id)
        yield

    kit = jobkit.connect("memory://", clock=jobkit.FakeClock())
    kit.register("plain", lambda args: jobkit.current_tenant())
    kit.enqueue("plain")
    kit.enqueue("plain", tenant_id="acme")
    kit.worker(tenant_context=hook).run_until_idle()
    assert entered == ["acme"]


def test_a_failing_hook_fails_the_attempt_not_the_worker() -> None:
    def broken(tenant_id: str) -> Any:
        raise ConnectionError(f"no database for {tenant_id}")

    kit = jobkit.connect("memory://", clock=jobkit.FakeClock())
    kit.register("plain", lambda args: "ran")
    job = kit.enqueue("plain", tenant_id="acme")
    assert kit.worker(tenant_context=broken).run_until_idle() == 1
    assert kit.get(job.id).error.type == "ConnectionError"
    assert kit.get(job.id).status == "retrying"
