"""The bridge between the reactor and the database (Buildbot's ``db/pool.py`` pattern).

SQLAlchemy and the database drivers block, so database work never runs in the reactor
thread: a connector method defines a synchronous ``thd(conn)`` and hands it to
:meth:`DBThreadPool.do`, which runs it in one of the pool's threads inside a transaction
and delivers the result (or the exception) to the reactor thread through a Deferred::

    def get_service(self, host, binary):
        def thd(conn):
            row = conn.execute(select(services).where(...)).one_or_none()
            return Service.from_row(row) if row else None   # never an ORM object
        return self.pool.do(thd)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from twisted.internet import defer, threads
from twisted.internet.interfaces import IReactorFromThreads, IReactorThreads
from twisted.python.threadpool import ThreadPool

from nova_tx.db.exception import duplicate_entry_from

T = TypeVar("T")

#: Threads when the engine's pool does not say (``[database] max_pool_size`` of 0).
DEFAULT_THREADS = 5


def threads_for(engine: sa.Engine) -> int:
    """How many threads may usefully talk to ``engine`` at once.

    SQLite serialises writers anyway, so one thread; otherwise one per pooled
    connection (``[database] max_pool_size``), so a thread never waits for a connection.
    """
    if engine.dialect.name == "sqlite":
        return 1
    size = engine.pool.size() if isinstance(engine.pool, sa.pool.QueuePool) else 0
    return size if size > 0 else DEFAULT_THREADS


class DBThreadPool:
    """A thread pool that owns an Engine and runs transactions for the reactor.

    It registers nothing global (no reactor shutdown trigger): the service that owns
    it calls :meth:`start` in ``startService`` and returns :meth:`stop` from
    ``stopService``.
    """

    def __init__(self, engine: sa.Engine, *, max_threads: int | None = None,
                 name: str = "nova-db", reactor: Any = None):
        if reactor is None:
            from twisted.internet import reactor
        self.engine = engine
        self._reactor: IReactorFromThreads = reactor
        self.max_threads = max_threads if max_threads is not None else threads_for(engine)
        self._pool = ThreadPool(minthreads=0, maxthreads=self.max_threads, name=name)
        self.running = False

    def start(self) -> None:
        if self.running:
            return
        self._pool.start()
        self.running = True

    def stop(self) -> defer.Deferred[None]:
        """Let running work finish, join the threads and close the Engine's connections.

        The join happens off the reactor thread (it waits for work in progress); the
        Deferred fires in the reactor thread once everything is closed.
        """
        if not self.running:
            return defer.succeed(None)
        self.running = False
        reactor: IReactorThreads = self._reactor  # type: ignore[assignment]

        def _stop() -> None:
            self._pool.stop()
            self.engine.dispose()

        return threads.deferToThreadPool(self._reactor, reactor.getThreadPool(), _stop)

    def do(self, fn: Callable[..., T], *args: Any, **kw: Any) -> defer.Deferred[T]:
        """Run ``fn(conn, *args, **kw)`` in a pool thread inside one transaction.

        The transaction commits when ``fn`` returns and rolls back when it raises; the
        Deferred fires with ``fn``'s result or fails with its exception, unique
        violations arriving as ``DBDuplicateEntry``.
        """

        def in_transaction() -> T:
            with self.engine.begin() as conn:
                return fn(conn, *args, **kw)

        return self._defer(in_transaction)

    def do_with_engine(self, fn: Callable[..., T], *args: Any, **kw: Any) -> defer.Deferred[T]:
        """Run ``fn(engine, *args, **kw)`` in a pool thread; ``fn`` manages transactions.

        For work that needs its own transactions or none, such as ``db_sync``.
        """
        return self._defer(fn, self.engine, *args, **kw)

    def _defer(self, fn: Callable[..., T], *args: Any, **kw: Any) -> defer.Deferred[T]:
        if not self.running:
            return defer.fail(RuntimeError("The database thread pool is not running"))
        dialect = self.engine.dialect.name

        def call() -> T:
            try:
                return fn(*args, **kw)
            except sa.exc.IntegrityError as e:
                # Engines from nova_tx.db.engines translate this already; an Engine
                # made elsewhere (a test's, a tool's) gets the same contract here.
                duplicate = duplicate_entry_from(e, dialect)
                if duplicate is None:
                    raise
                raise duplicate from e

        return threads.deferToThreadPool(self._reactor, self._pool, call)
