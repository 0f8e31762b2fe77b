"""DBThreadPool with the real reactor: work off the reactor thread, transactions, stop."""
from __future__ import annotations

import threading

import sqlalchemy as sa
from twisted.internet import defer
from twisted.trial import unittest

from nova_tx.db import engines, migration
from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.pool import DEFAULT_THREADS, DBThreadPool, threads_for
from tests.db.fixtures import engine_for, fresh_database_url, require_backend

METADATA = sa.MetaData()
ITEMS = sa.Table(
    "items", METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
)


def create_items(conn: sa.Connection) -> None:
    METADATA.create_all(conn)


def insert_item(conn: sa.Connection, name: str) -> int:
    return conn.execute(ITEMS.insert().values(name=name)).inserted_primary_key[0]


def item_names(conn: sa.Connection) -> list[str]:
    return list(conn.execute(sa.select(ITEMS.c.name).order_by(ITEMS.c.id)).scalars())


class Boom(Exception):
    pass


class DBThreadPoolTests(unittest.TestCase):
    def setUp(self):
        self.engine = engines.create_engine(fresh_database_url(self, "sqlite"))
        self.pool = DBThreadPool(self.engine)
        self.pool.start()
        self.addCleanup(self.pool.stop)
        return self.pool.do(create_items)

    @defer.inlineCallbacks
    def test_work_runs_off_the_reactor_thread(self):
        reactor_thread = threading.current_thread()

        def thd(conn):
            return threading.current_thread()

        worker = yield self.pool.do(thd)
        self.assertIsNot(reactor_thread, worker)
        # ... and the result arrives back in the reactor thread.
        self.assertIs(reactor_thread, threading.current_thread())

    @defer.inlineCallbacks
    def test_arguments_and_result(self):
        item_id = yield self.pool.do(insert_item, "one")
        self.assertEqual(1, item_id)
        second = yield self.pool.do(insert_item, name="two")
        self.assertEqual(2, second)

    @defer.inlineCallbacks
    def test_commit_on_success(self):
        yield self.pool.do(insert_item, "kept")
        names = yield self.pool.do(item_names)
        self.assertEqual(["kept"], names)
        # Committed for every connection, not only the pool's.
        with self.engine.connect() as conn:
            self.assertEqual(["kept"], item_names(conn))

    @defer.inlineCallbacks
    def test_rollback_and_exception_on_failure(self):
        def insert_then_fail(conn):
            insert_item(conn, "lost")
            raise Boom("after the insert")

        yield self.assertFailure(self.pool.do(insert_then_fail), Boom)
        names = yield self.pool.do(item_names)
        self.assertEqual([], names)

    @defer.inlineCallbacks
    def test_unique_violation_is_duplicate_entry(self):
        yield self.pool.do(insert_item, "twice")
        error = yield self.assertFailure(self.pool.do(insert_item, "twice"), DBDuplicateEntry)
        self.assertEqual(["name"], error.columns)

    @defer.inlineCallbacks
    def test_duplicate_entry_with_plain_engine(self):
        # An Engine not made by nova_tx.db.engines gets the same contract from the pool.
        engine = sa.create_engine(self.engine.url)
        pool = DBThreadPool(engine)
        pool.start()
        self.addCleanup(pool.stop)
        yield pool.do(insert_item, "twice")
        error = yield self.assertFailure(pool.do(insert_item, "twice"), DBDuplicateEntry)
        self.assertEqual(["name"], error.columns)

    @defer.inlineCallbacks
    def test_do_with_engine_runs_migrations(self):
        engine = engines.create_engine(fresh_database_url(self, "sqlite"))
        pool = DBThreadPool(engine)
        pool.start()
        self.addCleanup(pool.stop)
        yield pool.do_with_engine(migration.db_sync, "api")
        version = yield pool.do_with_engine(migration.db_version, "api")
        self.assertEqual(migration.head_revision("api"), version)

    @defer.inlineCallbacks
    def test_stop_joins_threads_and_disposes_engine(self):
        yield self.pool.do(item_names)
        threads = list(self.pool._pool.threads)
        self.assertEqual(1, len(threads))
        self.assertTrue(threads[0].is_alive())
        disposed = []
        self.patch(self.engine, "dispose", lambda: disposed.append(True))
        yield self.pool.stop()
        self.assertFalse(threads[0].is_alive())
        self.assertEqual([True], disposed)
        self.assertFalse(self.pool.running)
        yield self.assertFailure(self.pool.do(item_names), RuntimeError)
        # Stopping again is harmless.
        yield self.pool.stop()

    @defer.inlineCallbacks
    def test_stop_waits_for_running_work(self):
        started, release = threading.Event(), threading.Event()

        def slow(conn):
            started.set()
            release.wait(10)
            insert_item(conn, "finished")

        work = self.pool.do(slow)
        started.wait(10)
        stopping = self.pool.stop()
        self.assertFalse(stopping.called)
        release.set()
        yield stopping
        yield work
        with self.engine.connect() as conn:
            self.assertEqual(["finished"], item_names(conn))

    def test_not_started(self):
        pool = DBThreadPool(self.engine)
        return self.assertFailure(pool.do(item_names), RuntimeError)


class PoolSizeTests(unittest.SynchronousTestCase):
    def test_sqlite_has_one_thread(self):
        self.assertEqual(1, threads_for(engines.create_engine("sqlite://")))
        self.assertEqual(1, DBThreadPool(engines.create_engine("sqlite://")).max_threads)

    def test_server_threads_follow_max_pool_size(self):
        url = "postgresql+psycopg2://nova@127.0.0.1/nova"
        self.assertEqual(3, threads_for(engines.create_engine(url, max_pool_size=3)))
        self.assertEqual(5, threads_for(engines.create_engine(url)))
        self.assertEqual(DEFAULT_THREADS,
                         threads_for(engines.create_engine(url, max_pool_size=0)))
        self.assertEqual(2, DBThreadPool(engines.create_engine(url), max_threads=2).max_threads)


class ConcurrentPoolTests(unittest.TestCase):
    """On a server database the pool's threads really work side by side."""

    @defer.inlineCallbacks
    def test_threads_run_concurrently(self):
        require_backend(self, "postgresql")
        engine = engine_for(self, fresh_database_url(self, "postgresql"), max_pool_size=3)
        pool = DBThreadPool(engine)
        pool.start()
        self.addCleanup(pool.stop)
        barrier = threading.Barrier(3, timeout=10)

        def meet(conn):
            conn.exec_driver_sql("SELECT 1")
            barrier.wait()  # BrokenBarrierError unless all three are in at once
            return threading.current_thread().name

        names = yield defer.gatherResults([pool.do(meet) for _ in range(3)])
        self.assertEqual(3, len(set(names)))
