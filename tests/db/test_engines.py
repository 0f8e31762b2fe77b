"""Engines: per-backend connection settings, connection errors, unique violations."""
from __future__ import annotations

import threading
import uuid

import sqlalchemy as sa
from twisted.trial import unittest

from nova_tx.db import engines
from nova_tx.db.exception import DBConnectionError, DBDuplicateEntry
from nova_tx.db.main import models
from nova_tx.objects import cell_mapping
from tests.db.fixtures import (
    ADMIN_URLS,
    engine_for,
    fresh_database_url,
    migrated_database_url,
    require_backend,
)


class MaskPasswordTests(unittest.SynchronousTestCase):
    def test_password_is_masked(self):
        self.assertEqual("mysql+pymysql://nova:****@host/nova",
                         engines.mask_password("mysql+pymysql://nova:secret@host/nova"))

    def test_port_and_query_are_kept(self):
        self.assertEqual(
            "postgresql+psycopg2://nova:****@db.example.com:5433/nova?sslmode=require",
            engines.mask_password(
                "postgresql+psycopg2://nova:p%40ss@db.example.com:5433/nova?sslmode=require"))

    def test_url_without_password_is_unchanged(self):
        for url in ("sqlite:////var/lib/nova/nova.sqlite", "mysql+pymysql://nova@host/nova"):
            self.assertEqual(url, engines.mask_password(url))

    def test_url_object(self):
        url = sa.engine.make_url("postgresql://nova:secret@host/nova")
        self.assertEqual("postgresql://nova:****@host/nova", engines.mask_password(url))

    def test_unparsable_url_still_masked(self):
        self.assertEqual("not a url://nova:****@host",
                         engines.mask_password("not a url://nova:secret@host"))

    def test_user_name_with_an_at_sign(self):
        # SQLAlchemy reads "nova@server" as the user name and "secret" as the password.
        self.assertEqual("postgresql://nova@server:****@host/nova",
                         engines.mask_password("postgresql://nova@server:secret@host/nova"))

    def test_text_url_kept_as_written(self):
        url = "postgresql://nova:secret@host/nova?sslmode=require&application_name=nova"
        self.assertEqual(
            "postgresql://nova:****@host/nova?sslmode=require&application_name=nova",
            engines.mask_password(url))

    def test_same_masking_as_cell_mappings(self):
        for url in ("mysql+pymysql://nova:secret@host/nova", "rabbit://a:pa@h1,b:pb@h2/",
                    "postgresql://u:p/w@h/nova", "none:///"):
            self.assertEqual(cell_mapping.mask_password(url), engines.mask_password(url))


class CheckConnectionTests(unittest.SynchronousTestCase):
    def assertOneLineError(self, url: str, masked: str) -> DBConnectionError:
        engine = engine_for(self, url)
        error = self.assertRaises(DBConnectionError, engines.check_connection, engine)
        message = str(error)
        self.assertNotIn("\n", message)
        self.assertTrue(message.startswith(f"Cannot connect to database {masked}: "), message)
        self.assertNotIn("secret", message)
        self.assertEqual(masked, error.url)
        return error

    def test_postgresql_port_refused(self):
        error = self.assertOneLineError(
            "postgresql+psycopg2://nova:secret@127.0.0.1:1/nova",
            "postgresql+psycopg2://nova:****@127.0.0.1:1/nova")
        self.assertIn("refused", error.reason)

    def test_unknown_host(self):
        error = self.assertOneLineError(
            "postgresql+psycopg2://nova:secret@no-such-host.invalid/nova",
            "postgresql+psycopg2://nova:****@no-such-host.invalid/nova")
        self.assertIn("no-such-host.invalid", error.reason)

    def test_mysql_unknown_database(self):
        require_backend(self, "mysql")
        admin = sa.engine.make_url(ADMIN_URLS["mysql"])
        url = admin.set(database="nova_tx_no_such_db")
        masked = engines.mask_password(url.update_query_dict({"charset": "utf8mb4"}))
        error = self.assertOneLineError(url.render_as_string(hide_password=False), masked)
        self.assertIn("Unknown database 'nova_tx_no_such_db'", error.reason)

    def test_sqlite_in_missing_directory(self):
        error = self.assertOneLineError("sqlite:////nonexistent/nova-tx/nova.sqlite",
                                        "sqlite:////nonexistent/nova-tx/nova.sqlite")
        self.assertIn("unable to open database file", error.reason)

    def test_reachable_databases(self):
        for backend in ("sqlite", "postgresql", "mysql"):
            engines.check_connection(engine_for(self, fresh_database_url(self, backend)))


class SQLiteEngineTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.url = fresh_database_url(self, "sqlite")

    def pragma(self, engine: sa.Engine, name: str):
        with engine.connect() as conn:
            return conn.exec_driver_sql(f"PRAGMA {name}").scalar()

    def test_foreign_keys_enforced(self):
        engine = engine_for(self, self.url)
        models.MainBase.metadata.create_all(engine)
        self.assertEqual(1, self.pragma(engine, "foreign_keys"))
        insert = models.InstanceExtra.__table__.insert().values(instance_uuid="no-such-instance")
        with engine.begin() as conn:
            self.assertRaises(sa.exc.IntegrityError, conn.execute, insert)

    def test_file_database_uses_wal(self):
        engine = engine_for(self, self.url)
        self.assertEqual("wal", self.pragma(engine, "journal_mode"))
        self.assertEqual(2, self.pragma(engine, "synchronous"))  # FULL

    def test_sqlite_synchronous_false(self):
        engine = engine_for(self, self.url, sqlite_synchronous=False)
        self.assertEqual(0, self.pragma(engine, "synchronous"))

    def test_connection_usable_from_other_thread(self):
        engine = engine_for(self, "sqlite://")
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        seen = []

        def other_thread() -> None:
            with engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (1)")
                seen.append(conn.exec_driver_sql("SELECT count(*) FROM t").scalar())

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        # One in-memory database for every thread, not one per thread.
        self.assertEqual([1], seen)

    def test_rollback_undoes_writes(self):
        engine = engine_for(self, self.url)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with engine.connect() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            conn.rollback()
        with engine.connect() as conn:
            self.assertEqual(0, conn.exec_driver_sql("SELECT count(*) FROM t").scalar())


class ServerEngineTests(unittest.SynchronousTestCase):
    def test_pool_options(self):
        engine = engines.create_engine(
            "postgresql+psycopg2://nova:secret@127.0.0.1/nova", max_pool_size=7,
            max_overflow=3, pool_timeout=11, connection_recycle_time=120)
        self.assertEqual(7, engine.pool.size())
        self.assertEqual(3, engine.pool._max_overflow)
        self.assertEqual(11, engine.pool.timeout())
        self.assertEqual(120, engine.pool._recycle)

    def test_mysql_charset_added_when_absent(self):
        engine = engines.create_engine("mysql+pymysql://nova@127.0.0.1/nova")
        self.assertEqual("utf8mb4", engine.url.query["charset"])
        engine = engines.create_engine("mysql+pymysql://nova@127.0.0.1/nova?charset=utf8")
        self.assertEqual("utf8", engine.url.query["charset"])

    def test_mysql_sql_mode(self):
        url = fresh_database_url(self, "mysql")
        with engine_for(self, url).connect() as conn:
            modes = conn.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar().split(",")
        self.assertIn("TRADITIONAL", modes)
        self.assertIn("STRICT_ALL_TABLES", modes)
        with engine_for(self, url, mysql_sql_mode="ANSI_QUOTES").connect() as conn:
            modes = conn.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar().split(",")
        self.assertEqual(["ANSI_QUOTES"], modes)

    def test_mariadb_dialect_url_gets_the_same_setup(self):
        url = fresh_database_url(self, "mysql").replace("mysql+pymysql://", "mariadb+pymysql://")
        engine = engine_for(self, url)
        self.assertEqual("utf8mb4", engine.url.query["charset"])
        with engine.connect() as conn:
            modes = conn.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar().split(",")
        self.assertIn("TRADITIONAL", modes)

    def test_mysql_stores_four_byte_characters(self):
        engine = engine_for(self, migrated_database_url(self, "mysql", "main"))
        name = "\N{PENGUIN} " + uuid.uuid4().hex
        table = models.Instance.__table__
        with engine.begin() as conn:
            conn.execute(table.insert().values(uuid=str(uuid.uuid4()), display_name=name))
            stored = conn.execute(
                sa.select(table.c.display_name).where(table.c.display_name == name)).scalar()
        self.assertEqual(name, stored)


class DuplicateEntryTests:
    """Unique violations become DBDuplicateEntry naming the columns, on each backend."""

    backend: str

    def setUp(self):
        self.engine = engine_for(self, migrated_database_url(self, self.backend, "main"))
        self.host = "dup-" + uuid.uuid4().hex

    def insert_service(self, conn, binary: str = "nova-compute", topic: str = "compute"):
        conn.execute(models.Service.__table__.insert().values(
            host=self.host, binary=binary, topic=topic, report_count=0, deleted=0))

    def test_unique_violation(self):
        with self.engine.begin() as conn:
            self.insert_service(conn)
        with self.engine.begin() as conn:
            error = self.assertRaises(DBDuplicateEntry, self.insert_service, conn,
                                      topic="other")
        self.assertEqual(["host", "binary", "deleted"], error.columns)
        self.assertIsInstance(error.inner_exception, sa.exc.IntegrityError)

    def test_unique_index_violation(self):
        instance_uuid = str(uuid.uuid4())
        table = models.Instance.__table__
        with self.engine.begin() as conn:
            conn.execute(table.insert().values(uuid=instance_uuid))
        with self.engine.begin() as conn:
            error = self.assertRaises(DBDuplicateEntry, conn.execute,
                                      table.insert().values(uuid=instance_uuid))
        self.assertEqual(["uuid"], error.columns)

    def test_foreign_key_violation_is_not_a_duplicate(self):
        insert = models.InstanceExtra.__table__.insert().values(instance_uuid="no-such-instance")
        with self.engine.begin() as conn:
            error = self.assertRaises(sa.exc.IntegrityError, conn.execute, insert)
        self.assertNotIsInstance(error, DBDuplicateEntry)


class SQLiteDuplicateEntryTests(DuplicateEntryTests, unittest.SynchronousTestCase):
    backend = "sqlite"


class PostgreSQLDuplicateEntryTests(DuplicateEntryTests, unittest.SynchronousTestCase):
    backend = "postgresql"


class MySQLDuplicateEntryTests(DuplicateEntryTests, unittest.SynchronousTestCase):
    backend = "mysql"
