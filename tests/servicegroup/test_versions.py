"""``[upgrade_levels] ... = auto``: the cap from the oldest service's version, through
the conductor's gateway and on SIGHUP."""
from __future__ import annotations

from twisted.internet import defer
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.bus.memory import MemoryBroker, MemoryBus
from nova_tx.bus.rpc import RPCServer, Target
from nova_tx.compute.service import ComputeService
from nova_tx.conductor.manager import ConductorManager
from nova_tx.conductor.rpcapi import ConductorAPI
from nova_tx.context import RequestContext
from nova_tx.db import engines
from nova_tx.db.pool import DBThreadPool
from nova_tx.objects import service as service_obj
from nova_tx.servicegroup.api import DatabaseServiceRecords
from nova_tx.servicegroup.versions import AutoVersionCap, rpc_version_cap
from tests.bus import LogCapture
from tests.servicegroup import make_conf, sqlite_cell_database


class RPCVersionCapTests(unittest.SynchronousTestCase):

    def test_the_history_gives_the_cap(self):
        self.assertEqual("1.0", rpc_version_cap("nova-conductor", "conductor_rpc", 64))

    def test_no_service_yet_means_no_cap(self):
        self.assertIsNone(rpc_version_cap("nova-conductor", "conductor_rpc", 0))

    def test_older_than_supported(self):
        error = self.assertRaises(exception.ServiceTooOld, rpc_version_cap,
                                  "nova-conductor", "conductor_rpc", 30)
        self.assertIn("oldest nova-conductor in the deployment has service version 30",
                      str(error))

    def test_newer_than_known(self):
        newest = max(service_obj.SERVICE_VERSION_HISTORY)
        error = self.assertRaises(exception.ServiceTooNew, rpc_version_cap,
                                  "nova-conductor", "conductor_rpc", newest + 1)
        self.assertIn("upgrade this service", str(error))


class GatewayAutoTest(unittest.TestCase):
    """A compute-like client with ``auto`` asks the running conductor."""

    timeout = 20

    def setUp(self):
        self.conf = make_conf(host="compute1", rpc_response_timeout=5,
                              upgrade_levels__conductor="auto")
        self.engine = engines.create_engine(sqlite_cell_database(self))
        self.pool = DBThreadPool(self.engine)
        self.pool.start()
        self.addCleanup(self.pool.stop)
        self.records = DatabaseServiceRecords(self.pool)
        broker = MemoryBroker()
        server_bus, self.client_bus = MemoryBus(broker), MemoryBus(broker)
        server = RPCServer(server_bus, Target(topic="conductor", server="conductor1"),
                           [ConductorManager(self.records)], conf=self.conf)
        self.addCleanup(self.client_bus.close)
        self.addCleanup(server_bus.close)
        self.addCleanup(server.stop)
        self.ctxt = RequestContext(is_admin=True)
        return defer.gatherResults([server_bus.connect(), self.client_bus.connect()]
                                   ).addCallback(lambda _: server.start())

    def conductor_at(self, version: int) -> defer.Deferred:
        return self.records.create({"host": "conductor1", "binary": "nova-conductor",
                                    "topic": "conductor", "version": version})

    async def test_the_cap_follows_the_oldest_conductor_until_sighup(self):
        api = ConductorAPI(self.client_bus, self.conf)
        # No conductor recorded yet: nothing to cap, nothing cached.
        await api.service_create(self.ctxt, {"host": "compute1", "binary": "nova-compute",
                                             "topic": "compute", "version": 64})
        self.assertIsNone(api.client.version_cap)
        conductor = await self.conductor_at(64)
        logs = LogCapture(self, "nova_tx.servicegroup.versions")
        await api.service_get_by_host_and_binary(self.ctxt, "compute1", "nova-compute")
        self.assertEqual("1.0", api.client.version_cap)
        self.assertIn("Automatically selected conductor RPC version 1.0 from minimum "
                      "service version 64", logs.messages())

        # Cached: a conductor of a version this code does not know changes nothing...
        await self.records.update(conductor.id, {"version": 99})
        await api.service_get_by_host_and_binary(self.ctxt, "compute1", "nova-compute")
        # ...until SIGHUP resets the service tree.
        compute = ComputeService(self.conf, transport=self.client_bus)
        compute.conductor_api = api
        compute.reset()
        d = api.service_get_by_host_and_binary(self.ctxt, "compute1", "nova-compute")
        await self.assertFailure(d, exception.ServiceTooNew)

    async def test_a_conductor_too_old_fails_the_call_clearly(self):
        await self.conductor_at(40)
        api = ConductorAPI(self.client_bus, self.conf)
        d = api.service_get_by_host_and_binary(self.ctxt, "compute1", "nova-compute")
        error = await self.assertFailure(d, exception.ServiceTooOld)
        self.assertIn("service version 40", str(error))

    async def test_a_pinned_level_is_not_looked_up(self):
        await self.conductor_at(99)
        api = ConductorAPI(self.client_bus, make_conf(upgrade_levels__conductor="1.0"))
        self.assertIsNone(api.auto_cap)
        await api.service_create(self.ctxt, {"host": "compute1", "binary": "nova-compute",
                                             "topic": "compute", "version": 64})
        self.assertEqual("1.0", api.client.version_cap)

    async def test_with_a_database_the_records_are_read_directly(self):
        await self.conductor_at(64)
        auto = AutoVersionCap(self.records, "nova-conductor", "conductor_rpc")
        self.assertEqual("1.0", await auto.get())
