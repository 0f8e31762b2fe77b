"""The database fixtures other tests rely on: fresh databases, skip or fail when down."""
from __future__ import annotations

import os

import sqlalchemy as sa
from twisted.trial import unittest

from tests.db import fixtures


class RequireBackendTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.patch(fixtures, "_availability", {"postgresql": "connection refused"})

    def test_skips_outside_ci(self):
        self.patch(os, "environ", {})
        error = self.assertRaises(unittest.SkipTest, fixtures.require_backend, self,
                                  "postgresql")
        self.assertIn("connection refused", str(error))

    def test_fails_under_ci(self):
        self.patch(os, "environ", {"CI": "true"})
        error = self.assertRaises(self.failureException, fixtures.require_backend, self,
                                  "postgresql")
        self.assertIn("postgresql is not available for tests: connection refused", str(error))

    def test_sqlite_is_always_available(self):
        self.patch(os, "environ", {"CI": "true"})
        fixtures.require_backend(self, "sqlite")

    def test_unknown_backend(self):
        self.assertRaises(ValueError, fixtures.require_backend, self, "oracle")


class FreshDatabaseTests:
    backend: str

    def test_fresh_database_is_empty_and_dropped(self):
        url, drop = fixtures.create_database(self.backend)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            self.assertEqual([], sa.inspect(conn).get_table_names())
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        other_url, other_drop = fixtures.create_database(self.backend)
        self.addCleanup(other_drop)
        self.assertNotEqual(url, other_url)
        drop()
        self.assertRaises(sa.exc.OperationalError, engine.connect)


class SQLiteFreshDatabaseTests(FreshDatabaseTests, unittest.SynchronousTestCase):
    backend = "sqlite"


class PostgreSQLFreshDatabaseTests(FreshDatabaseTests, unittest.SynchronousTestCase):
    backend = "postgresql"

    def setUp(self):
        fixtures.require_backend(self, self.backend)


class MySQLFreshDatabaseTests(FreshDatabaseTests, unittest.SynchronousTestCase):
    backend = "mysql"

    def setUp(self):
        fixtures.require_backend(self, self.backend)
