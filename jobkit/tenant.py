"""Tenant context: which tenant the running code acts for, and schema switching.

A worker sets the tenant around each handler, so `jobkit.current_tenant()` inside a
handler (and in threads started with a copied context) names the job's tenant; None
means the default context. A worker's `tenant_context` hook (`tenant_id -> context
manager`) is entered around each tenant's handler: `postgres_search_path` is the
built-in one, running the handler in the tenant's PostgreSQL schema (psycopg 3,
imported only when used).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any

from jobkit.core.errors import InvalidJobError
from jobkit.core.model import validate_name

#: The tenant of the running code; workers set it around each handler.
TENANT_VAR: ContextVar[str | None] = ContextVar("jobkit_tenant", default=None)


def current_tenant() -> str | None:
    """The tenant id the current code runs for, or None in the default context."""
    return TENANT_VAR.get()


@contextmanager
def tenant_scope(tenant_id: str | None) -> Iterator[str | None]:
    """Run the block as `tenant_id` (validated; None = default context), then restore."""
    if tenant_id is not None:
        validate_name("tenant_id", tenant_id)
    token = TENANT_VAR.set(tenant_id)
    try:
        yield tenant_id
    finally:
        TENANT_VAR.reset(token)


_CONNECTION: ContextVar[Any] = ContextVar("jobkit_tenant_connection", default=None)


def current_connection() -> Any:
    """The tenant-scoped database connection of the running handler (set by
    `postgres_search_path`), or None outside one."""
    return _CONNECTION.get()


def default_schema(tenant_id: str) -> str:
    """`tenant_<id>`: the schema `postgres_search_path` uses unless told otherwise."""
    return f"tenant_{tenant_id}"


def postgres_search_path(
    connect: Callable[[], Any],
    schema: Callable[[str], str] = default_schema,
) -> Callable[[str], AbstractContextManager[Any]]:
    """A worker `tenant_context` that runs each tenant's handler in its PostgreSQL schema.

    For a job of tenant `t` it validates `t` (InvalidJobError before any SQL for an id
    outside the tenant-id rule), takes a connection from `connect()` (psycopg 3: a
    `psycopg.Connection`, or a context manager yielding one such as
    `psycopg_pool.ConnectionPool.connection`), sets `search_path` to `schema(t)` then
    `public` — both quoted as identifiers with `psycopg.sql.Identifier`, so no tenant id
    or schema name can inject SQL — and makes the connection `current_connection()` for
    the handler. Afterwards the previous `search_path` is restored and the connection is
    left as `connect` handed it (a `Connection` is committed on success, rolled back on
    an error, and closed; a pool's context manager returns it to the pool).

        worker = kit.worker(tenant_context=postgres_search_path(
            lambda: psycopg.connect("dbname=app"), schema=lambda t: f"tenant_{t}"))
    """

    @contextmanager
    def enter(tenant_id: str) -> Iterator[Any]:
        validate_name("tenant_id", tenant_id)
        name = schema(tenant_id)
        if not isinstance(name, str) or not name:
            raise InvalidJobError("schema", name, "schema(tenant_id) must return a non-empty str")
        from psycopg import sql

        with _connection(connect) as conn:
            before = conn.execute("SELECT current_setting('search_path')").fetchone()[0]
            conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(name)))
            token = _CONNECTION.set(conn)
            try:
                yield conn
            finally:
                _CONNECTION.reset(token)
                if not conn.closed:
                    _restore(conn, before)

    return enter


@contextmanager
def _connection(connect: Callable[[], Any]) -> Iterator[Any]:
    """The connection `connect()` gives, inside its own context manager."""
    handed = connect()
    with handed as conn:
        # psycopg's Connection.__enter__ returns the connection; a pool's returns one too
        yield conn


def _restore(conn: Any, search_path: str) -> None:
    """Put back the search_path a connection had before the handler (a failed
    transaction is rolled back first, or the SET would be refused)."""
    from psycopg import pq

    if conn.info.transaction_status == pq.TransactionStatus.INERROR:
        conn.rollback()
    conn.execute("SELECT set_config('search_path', %s, false)", (search_path,))
