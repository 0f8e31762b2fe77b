"""The conductor's instance gateway (``nova_tx.conductor.instances``) over a MemoryBus,
against a real cell database on SQLite and PostgreSQL: what a compute reads and writes
of its instances without opening a database."""
from __future__ import annotations

import datetime
import uuid as uuidlib

from twisted.internet import defer
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.bus.memory import MemoryBroker, MemoryBus
from nova_tx.bus.rpc import RPCServer, Target
from nova_tx.compute import states
from nova_tx.conductor.instances import InstanceGateway
from nova_tx.conductor.instances_api import InstanceGatewayAPI
from nova_tx.context import RequestContext
from nova_tx.db import engines
from nova_tx.db.main import instance_actions, instances
from nova_tx.db.pool import DBThreadPool
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.instance import Instance, InstanceFault
from nova_tx.objects.numa import InstanceNUMACell, InstanceNUMATopology
from tests.db.fixtures import migrated_database_url
from tests.servicegroup import make_conf, sqlite_cell_database

FLAVOR = Flavor(flavorid="1", name="m1.tiny", memory_mb=512, vcpus=1, root_gb=1, id=6)
NETWORK_INFO = [{"id": "port-1", "address": "fa:16:3e:00:00:01",
                 "network": {"id": "net-1", "label": "private", "subnets": []}}]


class GatewayTests:
    backend: str
    timeout = 30

    def database_url(self) -> str:
        if self.backend == "sqlite":
            return sqlite_cell_database(self)
        return migrated_database_url(self, self.backend, "main", purpose="compute-gateway")

    def setUp(self):
        self.conf = make_conf(host="conductor1", rpc_response_timeout=5)
        self.engine = engines.create_engine(self.database_url())
        self.addCleanup(self.engine.dispose)
        self.pool = DBThreadPool(self.engine)
        self.pool.start()
        self.addCleanup(self.pool.stop)
        broker = MemoryBroker()
        server_bus, client_bus = MemoryBus(broker), MemoryBus(broker)
        self.server = RPCServer(server_bus, Target(topic="conductor", server="conductor1"),
                                [InstanceGateway(lambda: self.pool)], conf=self.conf)
        self.addCleanup(client_bus.close)
        self.addCleanup(server_bus.close)
        self.addCleanup(self.server.stop)
        self.api = InstanceGatewayAPI(client_bus, self.conf)
        self.ctxt = RequestContext(user_id="u1", project_id="p1", is_admin=True)
        self.host = "compute-" + uuidlib.uuid4().hex[:8]
        return defer.gatherResults([server_bus.connect(), client_bus.connect()]
                                   ).addCallback(lambda _: self.server.start())

    def make(self, **fields) -> Instance:
        values = dict(uuid=str(uuidlib.uuid4()), project_id="p1", user_id="u1",
                      display_name="vm", vm_state=states.BUILDING,
                      task_state=states.SCHEDULING, flavor=FLAVOR, host=self.host,
                      node=self.host)
        values.update(fields)
        with self.engine.begin() as conn:
            return instances.create(conn, Instance(**values))

    def read(self, instance_uuid: str, **kwargs) -> Instance:
        with self.engine.connect() as conn:
            return instances.get(conn, instance_uuid, **kwargs)

    # -- reads ---------------------------------------------------------------------

    async def test_get_by_uuid_gives_the_instance_with_what_was_asked(self):
        made = self.make(metadata={"a": "1"}, network_info=NETWORK_INFO)
        got = await self.api.instance_get_by_uuid(
            self.ctxt, made.uuid, expected_attrs=["metadata", "info_cache", "flavor"])
        self.assertIsInstance(got, Instance)
        self.assertEqual((made.uuid, {"a": "1"}, NETWORK_INFO, "m1.tiny", 512,
                          states.BUILDING),
                         (got.uuid, got.metadata, got.network_info, got.flavor.name,
                          got.flavor.memory_mb, got.vm_state))

    async def test_get_of_an_unknown_instance_is_instance_not_found(self):
        with self.assertRaises(exception.InstanceNotFound):
            await self.api.instance_get_by_uuid(self.ctxt, str(uuidlib.uuid4()))

    async def test_a_deleted_instance_is_found_only_when_asked(self):
        made = self.make()
        await self.api.instance_destroy(self.ctxt, made.uuid)
        with self.assertRaises(exception.InstanceNotFound):
            await self.api.instance_get_by_uuid(self.ctxt, made.uuid)
        got = await self.api.instance_get_by_uuid(self.ctxt, made.uuid, read_deleted="yes")
        self.assertTrue(got.deleted)

    async def test_get_all_by_host_lists_the_live_and_soft_deleted_of_that_host(self):
        first = self.make()
        soft = self.make(vm_state=states.SOFT_DELETED, task_state=None)
        gone = self.make()
        self.make(host="elsewhere")
        await self.api.instance_destroy(self.ctxt, gone.uuid)
        found = await self.api.instance_get_all_by_host(self.ctxt, self.host)
        self.assertEqual([first.uuid, soft.uuid], [i.uuid for i in found])
        soft_only = await self.api.instance_get_all_by_host(
            self.ctxt, self.host, filters={"vm_state": states.SOFT_DELETED,
                                           "task_state": None})
        self.assertEqual([soft.uuid], [i.uuid for i in soft_only])

    async def test_get_all_by_host_refuses_filters_a_compute_has_no_use_for(self):
        with self.assertRaises(exception.InvalidInput):
            await self.api.instance_get_all_by_host(self.ctxt, self.host,
                                                    filters={"display_name": "x"})

    # -- compare-and-swap updates --------------------------------------------------------

    async def test_update_with_the_expected_task_state_saves(self):
        made = self.make()
        launched = datetime.datetime(2026, 1, 2, 3, 4, 5)
        updated = await self.api.instance_update(
            self.ctxt, made.uuid, {"vm_state": states.ACTIVE, "task_state": None,
                                   "power_state": states.RUNNING, "launched_at": launched},
            expected_task_state=[states.SCHEDULING, None])
        self.assertEqual((states.ACTIVE, None, states.RUNNING, launched),
                         (updated.vm_state, updated.task_state, updated.power_state,
                          updated.launched_at))
        stored = self.read(made.uuid)
        self.assertEqual((states.ACTIVE, launched), (stored.vm_state, stored.launched_at))

    async def test_update_carries_a_claimed_numa_topology(self):
        made = self.make()
        topology = InstanceNUMATopology(cells=[InstanceNUMACell(
            id=1, pcpuset={0, 1}, memory=512, cpu_policy="dedicated",
            cpu_pinning={0: 6, 1: 7})])
        await self.api.instance_update(self.ctxt, made.uuid, {"numa_topology": topology,
                                                              "host": self.host})
        [cell] = self.read(made.uuid, expected_attrs=["numa_topology"]).numa_topology.cells
        self.assertEqual((1, {0: 6, 1: 7}), (cell.id, cell.cpu_pinning))

    async def test_update_that_lost_the_race_changes_nothing(self):
        made = self.make(task_state=states.SPAWNING)
        with self.assertRaises(exception.UnexpectedTaskStateError):
            await self.api.instance_update(self.ctxt, made.uuid,
                                           {"vm_state": states.ACTIVE},
                                           expected_task_state=None)
        self.assertEqual(states.BUILDING, self.read(made.uuid).vm_state)

    async def test_update_of_an_instance_being_deleted_says_so(self):
        made = self.make(task_state=states.DELETING)
        with self.assertRaises(exception.UnexpectedDeletingTaskStateError):
            await self.api.instance_update(self.ctxt, made.uuid,
                                           {"task_state": states.SPAWNING},
                                           expected_task_state=states.SCHEDULING)

    async def test_update_compares_the_vm_state_too(self):
        made = self.make(vm_state=states.STOPPED, task_state=None)
        with self.assertRaises(exception.InstanceUpdateConflict):
            await self.api.instance_update(self.ctxt, made.uuid,
                                           {"task_state": states.POWERING_OFF},
                                           expected_vm_state=states.ACTIVE)
        self.assertIsNone(self.read(made.uuid).task_state)

    async def test_update_of_a_deleted_instance_is_instance_not_found(self):
        made = self.make()
        await self.api.instance_destroy(self.ctxt, made.uuid)
        with self.assertRaises(exception.InstanceNotFound):
            await self.api.instance_update(self.ctxt, made.uuid, {"progress": 10})

    # -- info cache and faults -----------------------------------------------------------

    async def test_info_cache_update_replaces_the_network_info(self):
        made = self.make()
        await self.api.instance_info_cache_update(self.ctxt, made.uuid, NETWORK_INFO)
        self.assertEqual(NETWORK_INFO,
                         self.read(made.uuid, expected_attrs=["info_cache"]).network_info)
        await self.api.instance_info_cache_update(self.ctxt, made.uuid, [])
        self.assertEqual([], self.read(made.uuid, expected_attrs=["info_cache"]).network_info)

    async def test_fault_create_is_the_latest_fault(self):
        made = self.make()
        fault = await self.api.instance_fault_create(self.ctxt, InstanceFault(
            instance_uuid=made.uuid, code=500, message="libvirtError",
            details="Traceback ...", host=self.host))
        self.assertIsNotNone(fault.id)
        stored = self.read(made.uuid, expected_attrs=["fault"]).fault
        self.assertEqual((500, "libvirtError", "Traceback ...", self.host),
                         (stored.code, stored.message, stored.details, stored.host))

    # -- instance actions --------------------------------------------------------------

    async def test_action_and_event_are_recorded_under_the_request_id(self):
        made = self.make()
        action = await self.api.instance_action_start(self.ctxt, made.uuid, "create")
        self.assertEqual(("create", self.ctxt.request_id, "u1", "p1"),
                         (action.action, action.request_id, action.user_id,
                          action.project_id))
        event = await self.api.action_event_start(
            self.ctxt, made.uuid, "compute__do_build_and_run_instance", host=self.host)
        self.assertEqual(self.host, event.host)
        finished = await self.api.action_event_finish(
            self.ctxt, made.uuid, "compute__do_build_and_run_instance", result="Error",
            traceback="Traceback ...", details="boom")
        self.assertEqual(("Error", "boom"), (finished.result, finished.details))
        done = await self.api.instance_action_finish(self.ctxt, made.uuid)
        self.assertIsNotNone(done.finish_time)
        with self.engine.connect() as conn:
            stored = instance_actions.get_by_request_id(conn, made.uuid,
                                                        self.ctxt.request_id)
            [stored_event] = instance_actions.get_events(conn, stored.id)
        self.assertEqual("Error", stored.message)
        self.assertEqual(("compute__do_build_and_run_instance", "Error"),
                         (stored_event.event, stored_event.result))

    async def test_event_without_an_action_is_instance_action_not_found(self):
        made = self.make()
        with self.assertRaises(exception.InstanceActionNotFound):
            await self.api.action_event_start(self.ctxt, made.uuid, "compute_x")


class SQLiteGatewayTest(GatewayTests, unittest.TestCase):
    backend = "sqlite"


class PostgreSQLGatewayTest(GatewayTests, unittest.TestCase):
    backend = "postgresql"
