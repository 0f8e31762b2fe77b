"""The operator API's queries on each backend: aggregates (API database), services,
compute nodes and migrations (a cell database). Each test rolls back what it writes."""
from __future__ import annotations

import uuid as uuidlib

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.db.api import aggregates
from nova_tx.db.main import compute_nodes, migration_records, services
from nova_tx.db.main import models as main_models
from nova_tx.db.types import utcnow
from tests.db.fixtures import engine_for, migrated_database_url


class AggregateQueriesTests:
    backend: str

    def setUp(self):
        url = migrated_database_url(self, self.backend, "api", purpose="operator-queries")
        self.conn = engine_for(self, url).connect()
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.begin().rollback)

    def test_create_checked_and_lookups(self):
        agg = aggregates.create_checked(self.conn, "agg", metadata={"availability_zone": "z"})
        self.assertEqual(agg, aggregates.get(self.conn, agg.id))
        self.assertEqual(agg, aggregates.get_by_uuid(self.conn, agg.uuid))
        self.assertEqual("z", agg.availability_zone)
        with self.assertRaises(exception.AggregateNameExists):
            aggregates.create_checked(self.conn, "agg")
        with self.assertRaises(exception.AggregateNotFound):
            aggregates.get(self.conn, agg.id + 1000)
        with self.assertRaises(exception.AggregateNotFound):
            aggregates.get_by_uuid(self.conn, str(uuidlib.uuid4()))

    def test_update_merges_metadata_and_renames(self):
        agg = aggregates.create(self.conn, "a", metadata={"k1": "v1", "k2": "v2"})
        aggregates.create(self.conn, "taken")
        updated = aggregates.update(self.conn, agg.id, name="b",
                                    metadata={"k1": None, "k2": "new", "k3": "v3",
                                              "absent": None})
        self.assertEqual(("b", {"k2": "new", "k3": "v3"}), (updated.name, updated.metadata))
        self.assertIsNotNone(updated.updated_at)
        with self.assertRaises(exception.AggregateNameExists):
            aggregates.update(self.conn, agg.id, name="taken")
        # Its own name again is no clash.
        self.assertEqual("b", aggregates.update(self.conn, agg.id, name="b").name)

    def test_hosts(self):
        agg = aggregates.create(self.conn, "a")
        other = aggregates.create(self.conn, "o", hosts=["h1"])
        self.assertEqual(("h1",), aggregates.add_host(self.conn, agg.id, "h1").hosts)
        with self.assertRaises(exception.AggregateHostExists):
            aggregates.add_host(self.conn, agg.id, "h1")
        with self.assertRaises(exception.AggregateHostNotFound):
            aggregates.remove_host(self.conn, agg.id, "h2")
        with self.assertRaises(exception.InvalidAggregateActionDelete):
            aggregates.destroy(self.conn, agg.id)
        left = aggregates.remove_host_everywhere(self.conn, "h1")
        self.assertEqual({(agg.id, ()), (other.id, ())}, {(a.id, a.hosts) for a in left})
        aggregates.destroy(self.conn, agg.id)
        with self.assertRaises(exception.AggregateNotFound):
            aggregates.get(self.conn, agg.id)


class CellQueriesTests:
    backend: str

    def setUp(self):
        url = migrated_database_url(self, self.backend, "main", purpose="operator-queries")
        self.conn = engine_for(self, url).connect()
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.begin().rollback)

    def service(self, host, binary="nova-compute", disabled=False):
        return services.create(self.conn, host=host, binary=binary,
                               topic=binary.split("-", 1)[1], disabled=disabled)

    def node(self, host, name=None, service_id=None, **values):
        table = main_models.ComputeNode.__table__
        defaults = {"vcpus": 4, "memory_mb": 1000, "local_gb": 10, "vcpus_used": 1,
                    "memory_mb_used": 100, "local_gb_used": 1, "free_ram_mb": 900,
                    "free_disk_gb": 9, "current_workload": 0, "running_vms": 1,
                    "disk_available_least": 8}
        defaults.update(values)
        result = self.conn.execute(table.insert().values(
            uuid=str(uuidlib.uuid4()), host=host, hypervisor_hostname=name or host,
            service_id=service_id, hypervisor_type="fake", hypervisor_version=1,
            cpu_info="{}", host_ip="10.0.0.1", deleted=0, created_at=utcnow(),
            **defaults))
        return result.inserted_primary_key[0]

    def test_services(self):
        compute = self.service("h1")
        self.service("h1", "nova-scheduler")
        self.service("h2")
        self.assertEqual(["h1", "h1", "h2"], [s.host for s in services.get_all(self.conn)])
        self.assertEqual(["nova-scheduler"],
                         [s.binary for s in services.get_all(self.conn, host="h1",
                                                             binary="nova-scheduler")])
        self.assertEqual(compute, services.get_by_uuid(self.conn, compute.uuid))
        self.assertEqual(compute, services.get_by_compute_host(self.conn, "h1"))
        # Exact even where the database compares without case (MySQL).
        with self.assertRaises(exception.ComputeHostNotFound):
            services.get_by_compute_host(self.conn, "H1")
        with self.assertRaises(exception.ServiceNotFound):
            services.get_by_uuid(self.conn, str(uuidlib.uuid4()))
        self.assertEqual(["h1", "h2"], [s.host for s in services.get_compute_services_by_hosts(
            self.conn, ["h2", "h1", "h3"])])
        self.assertEqual([], services.get_compute_services_by_hosts(self.conn, ["H1"]))
        self.assertEqual([], services.get_compute_services_by_hosts(self.conn, []))

    def test_soft_delete_takes_the_nodes(self):
        compute = self.service("h1")
        node_id = self.node("h1", service_id=compute.id)
        other = self.node("h2")
        services.soft_delete(self.conn, compute.id)
        self.assertEqual([], services.get_all(self.conn))
        with self.assertRaises(exception.ComputeHostNotFound):
            compute_nodes.get_full(self.conn, node_id)
        self.assertEqual([other], [n.id for n in compute_nodes.get_all_full(self.conn)])
        # A new service of the same host and binary may be created afterwards.
        self.service("h1")

    def test_nodes_paging_search_and_statistics(self):
        enabled = self.service("h1")
        self.service("h2", disabled=True)
        first = self.node("h1", "alpha.example", vcpus=8)
        second = self.node("h1", "beta.example", vcpus=2)
        self.node("h2", "gamma", vcpus=100)
        self.assertEqual([first, second], [n.id for n in compute_nodes.get_all_full(
            self.conn, limit=2)])
        self.assertEqual([second], [n.id for n in compute_nodes.get_all_full(
            self.conn, limit=1, marker_id=first)])
        full = compute_nodes.get_full(self.conn, first)
        self.assertEqual((8, "fake", "10.0.0.1", "alpha.example"),
                         (full.vcpus, full.hypervisor_type, full.host_ip,
                          full.hypervisor_hostname))
        self.assertEqual(full, compute_nodes.get_full_by_uuid(self.conn, full.uuid))
        self.assertEqual([first, second], [n.id for n in compute_nodes.search_by_hypervisor(
            self.conn, ".example")])
        self.assertEqual([first, second], [n.id for n in compute_nodes.get_full_by_host(
            self.conn, "h1")])
        stats = compute_nodes.statistics(self.conn)
        self.assertEqual((2, 10, 2000, 2), (stats["count"], stats["vcpus"],
                                            stats["memory_mb"], stats["running_vms"]))
        self.assertEqual(enabled.host, "h1")

    def test_migration_counts(self):
        table = main_models.Migration.__table__
        for status, kind, source, dest in (
                ("migrating", "live-migration", "h1", "h2"),
                ("confirmed", "migration", "h1", "h2"),
                ("done", "evacuation", "h3", "h1"),
                ("done", "evacuation", "h1", "h3")):
            self.conn.execute(table.insert().values(
                source_compute=source, dest_compute=dest, source_node=source,
                dest_node=dest, status=status, migration_type=kind, deleted=0, hidden=False))
        self.assertEqual(1, migration_records.count_in_progress_by_host_and_node(
            self.conn, "h2", "h2"))
        self.assertEqual(0, migration_records.count_in_progress_by_host_and_node(
            self.conn, "h3", "h3"))
        self.assertEqual(1, migration_records.count_done_evacuations_from(self.conn, "h1"))
        self.assertEqual(0, migration_records.count_done_evacuations_from(self.conn, "h2"))


class SQLiteAggregateQueriesTests(AggregateQueriesTests, unittest.SynchronousTestCase):
    backend = "sqlite"


class PostgreSQLAggregateQueriesTests(AggregateQueriesTests, unittest.SynchronousTestCase):
    backend = "postgresql"


class MySQLAggregateQueriesTests(AggregateQueriesTests, unittest.SynchronousTestCase):
    backend = "mysql"


class SQLiteCellQueriesTests(CellQueriesTests, unittest.SynchronousTestCase):
    backend = "sqlite"


class PostgreSQLCellQueriesTests(CellQueriesTests, unittest.SynchronousTestCase):
    backend = "postgresql"


class MySQLCellQueriesTests(CellQueriesTests, unittest.SynchronousTestCase):
    backend = "mysql"
