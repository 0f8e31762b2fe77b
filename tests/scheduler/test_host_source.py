"""The scheduler's host source over a real cell database (three backends): the first
refresh reads every node and service, later ones only what changed; deleted nodes
are forgotten; a claim is not undone by an older record."""
from __future__ import annotations

import datetime
import json
import uuid as uuidlib

from twisted.internet import defer
from twisted.trial import unittest

from nova_tx.db.main import models
from nova_tx.scheduler.host_source import CellHostSource
from nova_tx.scheduler.host_state import HostStates
from tests.db.fixtures import engine_for, migrated_database_url
from tests.scheduler.hosts import flavor, spec

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0)
NODES = models.ComputeNode.__table__
SERVICES = models.Service.__table__
INSTANCES = models.Instance.__table__


class HostSourceTests:
    backend: str

    def setUp(self):
        url = migrated_database_url(self, self.backend, "main", purpose="scheduler-hosts")
        self.conn = engine_for(self, url).connect()
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.begin().rollback)
        self.queries = 0

        def read_cells(fn, *args):
            self.queries += 1
            return defer.succeed({"cell1": fn(self.conn, *args)})

        self.source = CellHostSource(read_cells)
        self.states = HostStates(clock=lambda: T0.replace(
            tzinfo=datetime.UTC).timestamp() + 3600)

    def add_node(self, host, when=T0, **values):
        row = dict(uuid=str(uuidlib.uuid4()), host=host, hypervisor_hostname=host,
                   vcpus=8, memory_mb=8192, local_gb=100, vcpus_used=0,
                   memory_mb_used=0, local_gb_used=0, hypervisor_type="QEMU",
                   hypervisor_version=1, cpu_info="{}", created_at=when, updated_at=when,
                   stats=json.dumps({"num_instances": "0"}),
                   supported_instances=json.dumps([["x86_64", "qemu", "hvm"]]))
        row.update(values)
        self.conn.execute(NODES.insert().values(**row))
        return row["uuid"]

    def add_service(self, host, when=T0, disabled_flag=False):
        self.conn.execute(SERVICES.insert().values(
            host=host, binary="nova-compute", topic="compute", report_count=1,
            disabled=disabled_flag, forced_down=False, version=61, created_at=when,
            last_seen_up=when))

    async def test_first_refresh_reads_everything(self):
        a = self.add_node("a")
        self.add_node("b", memory_mb=16384, ram_allocation_ratio=None)
        self.add_service("a", disabled_flag=True)
        self.add_service("b")
        await self.source.refresh(self.states)
        rows = {self.states.host[r]: r for r in self.states.rows().tolist()}
        self.assertEqual(sorted(rows), ["a", "b"])
        self.assertEqual(self.states.uuid[rows["a"]], a)
        self.assertEqual(self.states.cell_uuid[rows["a"]], "cell1")
        self.assertTrue(self.states.service_disabled[rows["a"]])
        self.assertFalse(self.states.service_disabled[rows["b"]])
        # A NULL ratio takes the default.
        self.assertEqual(float(self.states.ram_allocation_ratio[rows["b"]]), 1.5)

    async def test_later_refreshes_see_changes_and_deletions(self):
        self.add_node("a")
        doomed = self.add_node("b")
        self.add_service("a")
        await self.source.refresh(self.states)
        later = T0 + datetime.timedelta(minutes=5)
        self.conn.execute(NODES.update().where(NODES.c.host == "a")
                          .values(memory_mb_used=4096, free_ram_mb=4096, updated_at=later))
        self.conn.execute(NODES.update().where(NODES.c.uuid == doomed)
                          .values(deleted=NODES.c.id, deleted_at=later))
        self.add_node("c", when=later)
        await self.source.refresh(self.states)
        self.assertEqual(sorted(self.states.host[r] for r in self.states.rows().tolist()),
                         ["a", "c"])
        row = self.states.row_of("a", "a")
        self.assertEqual(int(self.states.free_ram_mb[row]), 4096)

    async def test_a_claim_is_not_undone_by_an_older_record(self):
        self.add_node("a")
        self.add_service("a")
        await self.source.refresh(self.states)
        row = self.states.row_of("a", "a")
        self.states.consume_from_request(row, spec(flavor(memory_mb=1024)))
        await self.source.refresh(self.states)
        self.assertEqual(int(self.states.free_ram_mb[row]), 8192 - 1024)

    async def test_instances_of_host(self):
        for host, deleted in (("a", False), ("a", True), ("b", False)):
            uuid = str(uuidlib.uuid4())
            self.conn.execute(INSTANCES.insert().values(uuid=uuid, host=host,
                                                        created_at=T0))
            if deleted:
                self.conn.execute(INSTANCES.update().where(INSTANCES.c.uuid == uuid)
                                  .values(deleted=INSTANCES.c.id))
        self.assertEqual(len(await self.source.instances_of_host("a")), 1)
        self.assertEqual(await self.source.instances_of_host("nowhere"), [])


class SQLiteHostSourceTests(HostSourceTests, unittest.TestCase):
    backend = "sqlite"


class PostgreSQLHostSourceTests(HostSourceTests, unittest.TestCase):
    backend = "postgresql"


class MySQLHostSourceTests(HostSourceTests, unittest.TestCase):
    backend = "mysql"
