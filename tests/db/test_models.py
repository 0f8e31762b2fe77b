"""Nova's schema semantics: soft delete, shadow tables, timestamps."""
from __future__ import annotations

import datetime
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session
from twisted.trial import unittest

from nova_tx.db.api import models as api_models
from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.main import models
from tests.db.fixtures import engine_for, migrated_database_url


class ShadowTableTests(unittest.SynchronousTestCase):
    def soft_deletable(self) -> list[sa.Table]:
        return [t for t in models.MainBase.metadata.sorted_tables if models.is_soft_deletable(t)]

    def test_every_soft_deletable_table_has_a_shadow(self):
        names = {t.name for t in self.soft_deletable()}
        self.assertEqual(names, set(models.SHADOW_TABLES))
        self.assertNotIn("tags", models.SHADOW_TABLES)
        self.assertNotIn("console_auth_tokens", models.SHADOW_TABLES)
        for name in names:
            self.assertIs(models.MainBase.metadata.tables["shadow_" + name],
                          models.shadow_table(name))

    def test_shadow_columns_equal_base_columns(self):
        for table in self.soft_deletable():
            shadow = models.shadow_table(table.name)
            self.assertEqual(
                [(c.name, type(c.type), getattr(c.type, "length", None), c.nullable,
                  c.primary_key) for c in table.columns],
                [(c.name, type(c.type), getattr(c.type, "length", None), c.nullable,
                  c.primary_key) for c in shadow.columns],
                table.name)

    def test_shadow_tables_have_no_constraints_or_indexes(self):
        for table in self.soft_deletable():
            shadow = models.shadow_table(table.name)
            self.assertEqual(set(), shadow.foreign_keys, table.name)
            self.assertEqual([], [c for c in shadow.constraints
                                  if isinstance(c, sa.UniqueConstraint)], table.name)
            self.assertEqual(set(), shadow.indexes, table.name)

    def test_shadow_enums_have_their_own_names(self):
        self.assertEqual("shadow_instances0locked_by",
                         models.shadow_table("instances").c.locked_by.type.name)
        self.assertEqual("shadow_migration_type",
                         models.shadow_table("migrations").c.migration_type.type.name)


class APIModelTests(unittest.SynchronousTestCase):
    def test_no_soft_delete_in_api_database(self):
        for table in api_models.APIBase.metadata.sorted_tables:
            self.assertNotIn("deleted", table.c, table.name)
            self.assertIn("created_at", table.c, table.name)
            self.assertIn("updated_at", table.c, table.name)

    def test_timestamps_and_relationships(self):
        engine = engine_for(self, "sqlite://")
        api_models.APIBase.metadata.create_all(engine)
        with Session(engine) as session:
            flavor = api_models.Flavors(name="m1.tiny", memory_mb=512, vcpus=1, flavorid="1")
            flavor.extra_specs.append(api_models.FlavorExtraSpecs(key="hw:cpu_policy",
                                                                  value="dedicated"))
            session.add(flavor)
            session.commit()
            self.assertIsInstance(flavor.created_at, datetime.datetime)
            self.assertIsNone(flavor.updated_at)
            self.assertEqual(0, flavor.swap)
            self.assertTrue(flavor.is_public)
            flavor.vcpus = 2
            session.commit()
            self.assertIsInstance(flavor.updated_at, datetime.datetime)
            self.assertEqual(["hw:cpu_policy"], [s.key for s in flavor.extra_specs])


class SoftDeleteTests:
    """Nova's soft delete on ``services``: ``deleted = id`` frees the unique name."""

    backend: str

    def setUp(self):
        self.engine = engine_for(self, migrated_database_url(self, self.backend, "main"))
        self.services = models.Service.__table__
        self.host = "soft-" + uuid.uuid4().hex

    def insert(self, conn) -> int:
        return conn.execute(self.services.insert().values(
            host=self.host, binary="nova-compute", topic="compute", report_count=0,
        )).inserted_primary_key[0]

    def soft_delete(self, conn, service_id: int) -> None:
        conn.execute(self.services.update().where(self.services.c.id == service_id).values(
            deleted=self.services.c.id, deleted_at=datetime.datetime(2022, 9, 21)))

    def test_soft_delete_frees_the_unique_key(self):
        with self.engine.begin() as conn:
            first = self.insert(conn)
        with self.engine.begin() as conn:
            self.assertRaises(DBDuplicateEntry, self.insert, conn)
        with self.engine.begin() as conn:
            self.soft_delete(conn, first)
            second = self.insert(conn)
            self.soft_delete(conn, second)
            # Two deleted rows differ by their deleted value, so a third live row fits.
            third = self.insert(conn)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(self.services.c.id, self.services.c.deleted)
                .where(self.services.c.host == self.host).order_by(self.services.c.id)).all()
        self.assertEqual([(first, first), (second, second), (third, 0)], [tuple(r) for r in rows])

    def test_archive_into_shadow_table(self):
        # What archive_deleted_rows does: copy deleted rows column for column, then
        # delete them; the shadow table must accept the base table's rows as they are.
        shadow = models.shadow_table("services")
        with self.engine.begin() as conn:
            service_id = self.insert(conn)
            self.soft_delete(conn, service_id)
            deleted = sa.select(self.services).where(self.services.c.id == service_id)
            conn.execute(shadow.insert().from_select(list(self.services.c.keys()), deleted))
            conn.execute(self.services.delete().where(self.services.c.id == service_id))
            archived = conn.execute(sa.select(shadow).where(shadow.c.id == service_id)).one()
        self.assertEqual((self.host, "nova-compute", service_id),
                         (archived.host, archived.binary, archived.deleted))

    def test_new_row_is_live(self):
        with self.engine.begin() as conn:
            service_id = self.insert(conn)
            row = conn.execute(
                sa.select(self.services).where(self.services.c.id == service_id)).one()
        self.assertEqual((0, None, False, False, 0),
                         (row.deleted, row.deleted_at, row.disabled, row.forced_down,
                          row.version))
        self.assertIsInstance(row.created_at, datetime.datetime)


class SQLiteSoftDeleteTests(SoftDeleteTests, unittest.SynchronousTestCase):
    backend = "sqlite"


class PostgreSQLSoftDeleteTests(SoftDeleteTests, unittest.SynchronousTestCase):
    backend = "postgresql"


class MySQLSoftDeleteTests(SoftDeleteTests, unittest.SynchronousTestCase):
    backend = "mysql"
