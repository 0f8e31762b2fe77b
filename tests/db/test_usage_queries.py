"""The queries of os-migrations, server migrations and os-simple-tenant-usage on each
backend (a cell database): filters, the newest-first page after a marker with rows
without a creation time last, in-progress live migrations, and the instances active in
a window. Each test rolls back what it writes."""
from __future__ import annotations

import datetime
import json
import uuid as uuidlib

from twisted.trial import unittest

from nova_tx.db.main import migration_list, usage
from nova_tx.db.main import models as main_models
from tests.db.fixtures import engine_for, migrated_database_url

instances = main_models.Instance.__table__
instance_extra = main_models.InstanceExtra.__table__
migrations = main_models.Migration.__table__
T0 = datetime.datetime(2021, 3, 1, 12)


def hours(n: float) -> datetime.datetime:
    return T0 + datetime.timedelta(hours=n)


class QueriesTests:
    backend: str

    def setUp(self):
        url = migrated_database_url(self, self.backend, "main", purpose="usage-queries")
        self.conn = engine_for(self, url).connect()
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.begin().rollback)

    def instance(self, project_id="p1", *, launched_at=None, terminated_at=None,
                 deleted=False, flavor=True) -> str:
        uuid = str(uuidlib.uuid4())
        row_id = self.conn.execute(instances.insert().values(
            uuid=uuid, project_id=project_id, user_id="u", launched_at=launched_at,
            terminated_at=terminated_at, deleted=0, display_name="vm", vm_state="active",
            instance_type_id=7)).inserted_primary_key[0]
        if deleted:
            self.conn.execute(instances.update().where(instances.c.id == row_id)
                              .values(deleted=row_id))
        self.conn.execute(instance_extra.insert().values(
            instance_uuid=uuid, deleted=0,
            flavor=json.dumps({"cur": {"nova_object.data": {
                "flavorid": "1", "name": "tiny", "memory_mb": 512, "vcpus": 1,
                "root_gb": 1}}}) if flavor else None))
        return uuid

    def migration(self, **values) -> migration_list.MigrationRecord:
        instance_uuid = values.pop("instance_uuid", None) or self.instance()
        row = {"uuid": str(uuidlib.uuid4()), "source_compute": "h1", "dest_compute": "h2",
               "source_node": "n1", "dest_node": "n2", "status": "running",
               "migration_type": "live-migration", "hidden": False, "deleted": 0,
               "instance_uuid": instance_uuid, "created_at": T0, **values}
        row_id = self.conn.execute(migrations.insert().values(**row)).inserted_primary_key[0]
        return migration_list.get_by_id_and_instance(self.conn, row_id, instance_uuid)

    def test_migration_filters(self):
        a = self.migration(source_compute="x", dest_compute="y", status="done",
                           migration_type="resize", user_id="u1", project_id="p1",
                           updated_at=hours(1))
        b = self.migration(source_compute="y", dest_compute="z", hidden=True,
                           updated_at=hours(3))
        gone = self.migration(source_compute="y")
        self.conn.execute(migrations.update().where(migrations.c.id == gone.id)
                          .values(deleted=gone.id))

        def ids(**filters):
            return [m.id for m in migration_list.get_by_filters(self.conn, filters)
                    if m.id in (a.id, b.id, gone.id)]

        self.assertEqual([a.id, b.id], ids(host="y"))
        self.assertEqual([b.id], ids(source_compute="y"))
        self.assertEqual([a.id], ids(status="done"))
        self.assertEqual([a.id, b.id], ids(status=["done", "running"]))
        self.assertEqual([a.id], ids(migration_type="resize", user_id="u1",
                                     project_id="p1"))
        self.assertEqual([b.id], ids(hidden=True))
        self.assertEqual([b.id], ids(**{"changes-since": hours(2)}))
        self.assertEqual([a.id], ids(**{"changes-before": hours(1)}))
        self.assertEqual([a.id], ids(uuid=[a.uuid]))
        self.assertIsNone(migration_list.get_by_uuid(self.conn, gone.uuid))
        self.assertEqual(a, migration_list.get_by_uuid(self.conn, a.uuid))

    def test_page_newest_first_after_a_marker(self):
        instance = self.instance()
        made = [self.migration(instance_uuid=instance, created_at=when)
                for when in (hours(1), hours(2), hours(2), None, hours(0))]
        filters = {"instance_uuid": instance}
        page = migration_list.get_page(self.conn, filters, limit=None)
        # hours(2) twice: the higher id first; no creation time last.
        expected = [made[2], made[1], made[0], made[4], made[3]]
        self.assertEqual([m.id for m in expected], [m.id for m in page])
        for i, marker in enumerate(expected):
            after = migration_list.get_page(self.conn, filters, limit=2,
                                            after=(marker.created_at, marker.id))
            self.assertEqual([m.id for m in expected[i + 1:i + 3]], [m.id for m in after])

    def test_in_progress_live_migrations(self):
        instance = self.instance()
        running = self.migration(instance_uuid=instance)
        self.migration(instance_uuid=instance, status="completed")
        self.migration(instance_uuid=instance, migration_type="resize")
        self.assertEqual([running.id], [m.id for m in migration_list.get_in_progress_by_instance(
            self.conn, instance, "live-migration")])
        self.assertIsNone(migration_list.get_by_id_and_instance(
            self.conn, running.id, str(uuidlib.uuid4())))

    def test_active_by_window(self):
        project = "usage-" + str(uuidlib.uuid4())
        ran = self.instance(project, launched_at=hours(-5))
        ended = self.instance(project, launched_at=hours(-5), terminated_at=hours(1),
                              deleted=True)
        self.instance(project, launched_at=hours(-5), terminated_at=hours(-1))
        self.instance(project, launched_at=hours(5))
        self.instance(project)
        bare = self.instance(project, launched_at=hours(0), flavor=False)
        found = usage.get_active_by_window(self.conn, T0, hours(2), project_id=project)
        self.assertEqual(sorted([ran, ended, bare]), [i.uuid for i in found])
        by_uuid = {i.uuid: i for i in found}
        self.assertTrue(by_uuid[ended].deleted)
        self.assertEqual(("tiny", None), (by_uuid[ran].flavor.name, by_uuid[bare].flavor))
        self.assertEqual(7, by_uuid[bare].instance_type_id)
        first = sorted([ran, ended, bare])[0]
        after = usage.get_sort_values(self.conn, first)
        self.assertEqual(sorted([ran, ended, bare])[1:], [i.uuid for i in
                         usage.get_active_by_window(self.conn, T0, hours(2),
                                                    project_id=project, after=after)])
        self.assertIsNone(usage.get_sort_values(self.conn, str(uuidlib.uuid4())))


class SQLiteQueriesTest(QueriesTests, unittest.SynchronousTestCase):
    backend = "sqlite"


class PostgreSQLQueriesTest(QueriesTests, unittest.SynchronousTestCase):
    backend = "postgresql"


class MySQLQueriesTest(QueriesTests, unittest.SynchronousTestCase):
    backend = "mysql"
