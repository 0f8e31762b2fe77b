"""openstacksdk against os-migrations, server migrations, os-simple-tenant-usage,
os-quota-class-sets and os-server-external-events (with the microversions it
negotiates). The stock ``openstack server migration list`` and ``usage list`` look up
projects in Keystone v3 first, which this fixture does not serve."""
from __future__ import annotations

import datetime
import json

from twisted.internet import threads
from twisted.trial import unittest

from nova_tx.api.compute import quota_classes, server_external_events, simple_tenant_usage
from nova_tx.bus.interfaces import TOPIC, Binding
from tests.api.test_keypairs_openstacksdk import connect
from tests.api.test_server_migrations import SERVER, ServerMigrationsServer
from tests.bus import Collector, settle
from tests.helpers import unavailable

PROJECT = "proj1"


class AllServer(ServerMigrationsServer):
    RESOURCES = [*ServerMigrationsServer.RESOURCES, simple_tenant_usage.routes,
                 quota_classes.routes, server_external_events.routes]


def _setup(testcase) -> AllServer:
    api = AllServer(testcase)
    api.server(project_id=PROJECT)
    with api.cell_engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE instances SET launched_at = ?, display_name = 'vm1' WHERE uuid = ?",
            (datetime.datetime(2020, 1, 1), SERVER))
        conn.exec_driver_sql(
            "INSERT INTO instance_extra (instance_uuid, flavor, deleted) VALUES (?, ?, 0)",
            (SERVER, json.dumps({"cur": {"nova_object.data": {
                "flavorid": "1", "name": "m1.tiny", "memory_mb": 512, "vcpus": 1,
                "root_gb": 1, "ephemeral_gb": 0}}})))
    api.live_migration(project_id=PROJECT)
    return api


class SDKTests(unittest.TestCase):

    def scenario(self, api: AllServer) -> None:
        try:
            import openstack  # noqa: F401
        except ImportError:
            unavailable("openstacksdk is not installed")
        admin = connect(api.base + "/v2.1", "admin:" + PROJECT)
        try:
            compute = admin.compute
            migrations = list(compute.migrations())
            self.assertEqual([("running", "live-migration", SERVER)],
                             [(m.status, m.migration_type, m.server_id)
                              for m in migrations])
            self.assertEqual([("running", 123456)],
                             [(m.status, m.memory_total_bytes)
                              for m in compute.server_migrations(SERVER)])

            start, end = datetime.datetime(2020, 1, 1), datetime.datetime(2020, 1, 2)
            usage = compute.get_usage(PROJECT, start, end)
            self.assertEqual((24.0, 24 * 512.0), (usage.total_hours,
                                                  usage.total_memory_mb_usage))
            self.assertEqual(["vm1"], [s["name"] for s in usage.server_usages])
            self.assertEqual([PROJECT], [u.project_id for u in compute.usages(start, end)])

            quotas = compute.get_quota_class_set("default")
            self.assertEqual(20, quotas.cores)
            compute.update_quota_class_set("default", cores=30)
            self.assertEqual(30, compute.get_quota_class_set("default").cores)

            events = list(compute.create_server_external_events([
                {"name": "network-changed", "server_uuid": SERVER}]))
            self.assertEqual([(200, "completed")], [(e.code, e.status) for e in events])
        finally:
            admin.close()

    async def test_sdk(self):
        api = _setup(self)
        computes = Collector()
        exchange = api.conf.control_exchange
        api.transport.declare_exchange(exchange, TOPIC)
        api.transport.declare_queue("compute-hosts", [Binding(exchange, "compute.*")])
        api.transport.consume("compute-hosts", computes)
        await threads.deferToThread(self.scenario, api)
        await settle()
        self.assertEqual(["compute.compute1"], [m.routing_key for m in computes.messages])
