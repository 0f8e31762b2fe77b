"""The query modules of a cell's database: compute_nodes, services, instances.

They run on each backend, in a database that only these tests use (migrated once per
backend and run), and each test rolls back what it writes, so a count sees the test's
own rows and nothing else.
"""
from __future__ import annotations

import datetime
import uuid as uuidlib

import sqlalchemy as sa
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.db.main import compute_nodes, instances, services
from nova_tx.objects.compute_node import ComputeNode
from nova_tx.objects.instance import Instance
from tests.db.fixtures import engine_for, migrated_database_url

T0 = datetime.datetime(2022, 9, 21, 12, 0, 0)


class CellQueriesTests:
    backend: str

    def setUp(self):
        url = migrated_database_url(self, self.backend, "main", purpose="cell-queries")
        self.conn = engine_for(self, url).connect()
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.begin().rollback)

    # --- rows -----------------------------------------------------------------------------

    def soft_delete(self, table: sa.Table, row_id: int) -> None:
        self.conn.execute(table.update().where(table.c.id == row_id)
                          .values(deleted=table.c.id, deleted_at=T0))

    def add_node(self, host: str | None, node: str | None = None, *, mapped: int | None = 0,
                 deleted: bool = False) -> ComputeNode:
        table = compute_nodes.compute_nodes
        node_uuid = str(uuidlib.uuid4())
        node = node or host
        node_id = self.conn.execute(table.insert().values(
            uuid=node_uuid, host=host, hypervisor_hostname=node, vcpus=8, memory_mb=8192,
            local_gb=100, vcpus_used=0, memory_mb_used=0, local_gb_used=0,
            hypervisor_type="fake", hypervisor_version=1, cpu_info="{}", mapped=mapped,
        )).inserted_primary_key[0]
        if deleted:
            self.soft_delete(table, node_id)
        return ComputeNode(id=node_id, uuid=node_uuid, host=host, hypervisor_hostname=node,
                           mapped=mapped or 0)

    def mapped(self) -> dict[int, tuple[int, int]]:
        """node id -> (mapped, deleted), of every row."""
        table = compute_nodes.compute_nodes
        return {row.id: (row.mapped, row.deleted) for row in self.conn.execute(
            sa.select(table.c.id, table.c.mapped, table.c.deleted))}

    def add_service(self, host: str | None, binary: str = "nova-compute", *,
                    disabled: bool = False, deleted: bool = False, version: int = 0,
                    forced_down: bool = False) -> None:
        table = services.services
        service_id = self.conn.execute(table.insert().values(
            host=host, binary=binary, topic=binary.split("-", 1)[-1], report_count=0,
            disabled=disabled, version=version, forced_down=forced_down,
        )).inserted_primary_key[0]
        if deleted:
            self.soft_delete(table, service_id)

    def add_instance(self, created_at: datetime.datetime | None, *, host: str = "host1",
                     deleted: bool = False) -> Instance:
        table = instances.instances
        instance = Instance(uuid=str(uuidlib.uuid4()), project_id="p1", user_id="u1",
                            deleted=deleted)
        instance_id = self.conn.execute(table.insert().values(
            uuid=instance.uuid, project_id=instance.project_id, user_id=instance.user_id,
            host=host, created_at=created_at)).inserted_primary_key[0]
        if deleted:
            self.soft_delete(table, instance_id)
        return instance

    # --- compute_nodes --------------------------------------------------------------------

    def test_get_unmapped_leaves_out_mapped_and_deleted_nodes(self):
        first = self.add_node("host1")
        self.add_node("host2", mapped=1)
        never = self.add_node("host3", mapped=None)
        self.add_node("host4", deleted=True)
        ironic = self.add_node("ironic", "node-a")
        self.assertEqual([first, never, ironic], compute_nodes.get_unmapped(self.conn))

    def test_get_hosts_once_each_in_the_order_they_were_added(self):
        self.add_node("ironic", "node-a")
        self.add_node("host2")
        self.add_node("ironic", "node-b", mapped=1)
        self.add_node("host3", deleted=True)
        self.add_node(None, "orphan")
        self.assertEqual(["ironic", "host2"], compute_nodes.get_hosts(self.conn))

    def test_count_leaves_out_deleted_nodes(self):
        self.assertEqual(0, compute_nodes.count(self.conn))
        self.add_node("host1")
        self.add_node("host2", mapped=1)
        self.add_node("host3", deleted=True)
        self.assertEqual(2, compute_nodes.count(self.conn))

    def test_set_mapped_by_ids_by_host_or_all_live_nodes(self):
        a = self.add_node("host1")
        b = self.add_node("ironic", "node-b")
        c = self.add_node("ironic", "node-c")
        gone = self.add_node("host1", "old", deleted=True)
        self.assertEqual(0, compute_nodes.set_mapped(self.conn, 1, ids=[]))
        self.assertEqual({a.id: (0, 0), b.id: (0, 0), c.id: (0, 0), gone.id: (0, gone.id)},
                         self.mapped())
        self.assertEqual(1, compute_nodes.set_mapped(self.conn, 1, ids=[a.id, gone.id]))
        self.assertEqual(2, compute_nodes.set_mapped(self.conn, 1, host="ironic"))
        self.assertEqual({a.id: (1, 0), b.id: (1, 0), c.id: (1, 0), gone.id: (0, gone.id)},
                         self.mapped())
        # Rows that already have the value count too (MySQL counts matched rows).
        self.assertEqual(1, compute_nodes.set_mapped(self.conn, 0, ids=[b.id], host="ironic"))
        self.assertEqual(3, compute_nodes.set_mapped(self.conn, 0))
        self.assertEqual({a.id: (0, 0), b.id: (0, 0), c.id: (0, 0), gone.id: (0, gone.id)},
                         self.mapped())

    # --- services -------------------------------------------------------------------------

    def test_get_compute_hosts(self):
        self.add_service("host1")
        self.add_service("host1", "nova-conductor")
        self.add_service("conductor1", "nova-conductor")
        self.add_service("host2", disabled=True)
        self.add_service("host3", deleted=True)
        self.add_service(None)
        self.assertEqual(["host1", "host2"], services.get_compute_hosts(self.conn))

    def test_get_minimum_version_of_live_services_that_are_not_forced_down(self):
        self.add_service("host1", version=64)
        self.add_service("host2", version=63, deleted=True)
        self.add_service("host3", version=62, forced_down=True)
        self.add_service("host4", version=65, disabled=True)
        self.add_service("conductor1", "nova-conductor", version=61)
        self.assertEqual({"nova-compute": 64, "nova-conductor": 61, "nova-scheduler": 0},
                         services.get_minimum_version(
                             self.conn, ["nova-compute", "nova-conductor", "nova-scheduler"]))

    # --- instances ------------------------------------------------------------------------

    def test_get_by_uuid_includes_deleted_instances(self):
        live = self.add_instance(T0)
        deleted = self.add_instance(T0, deleted=True)
        self.assertEqual(live, instances.get_by_uuid(self.conn, live.uuid))
        self.assertEqual(deleted, instances.get_by_uuid(self.conn, deleted.uuid))
        self.assertTrue(instances.get_by_uuid(self.conn, deleted.uuid).deleted)

    def test_get_by_uuid_of_an_archived_instance(self):
        unknown = str(uuidlib.uuid4())
        error = self.assertRaises(exception.InstanceNotFound, instances.get_by_uuid,
                                  self.conn, unknown)
        self.assertEqual(f"Instance {unknown} could not be found.", error.format_message())

    def test_get_after_oldest_first_without_created_at_first(self):
        later = self.add_instance(T0 + datetime.timedelta(seconds=2))
        first = self.add_instance(T0)
        undated = self.add_instance(None)
        same_time = self.add_instance(T0)
        deleted = self.add_instance(T0 + datetime.timedelta(seconds=3), deleted=True)
        self.assertEqual([undated, first, same_time, later, deleted],
                         instances.get_after(self.conn, None, 10))
        self.assertEqual([undated, first], instances.get_after(self.conn, None, 2))
        self.assertEqual([first, same_time], instances.get_after(self.conn, undated.uuid, 2))
        self.assertEqual([later, deleted], instances.get_after(self.conn, same_time.uuid, 5))
        self.assertEqual([], instances.get_after(self.conn, deleted.uuid, 5))

    def test_get_after_a_marker_that_is_gone(self):
        self.add_instance(T0)
        marker = str(uuidlib.uuid4())
        error = self.assertRaises(exception.MarkerNotFound, instances.get_after,
                                  self.conn, marker, 5)
        self.assertEqual(f"Marker {marker} could not be found.", error.format_message())

    def test_count_live_instances_of_the_cell_or_of_a_host(self):
        self.add_instance(T0, host="host1")
        self.add_instance(T0, host="host1")
        self.add_instance(T0, host="host2")
        self.add_instance(T0, host="host2", deleted=True)
        self.assertEqual(3, instances.count(self.conn))
        self.assertEqual(2, instances.count(self.conn, host="host1"))
        self.assertEqual(1, instances.count(self.conn, host="host2"))
        self.assertEqual(0, instances.count(self.conn, host="host3"))


class SQLiteCellQueriesTests(CellQueriesTests, unittest.SynchronousTestCase):
    backend = "sqlite"


class PostgreSQLCellQueriesTests(CellQueriesTests, unittest.SynchronousTestCase):
    backend = "postgresql"


class MySQLCellQueriesTests(CellQueriesTests, unittest.SynchronousTestCase):
    backend = "mysql"

