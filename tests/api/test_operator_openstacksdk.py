"""openstacksdk (what python-openstackclient uses) against aggregates, zones, services
and hypervisors, with the microversions it negotiates: the operator flows of spec C
§2.7 and §15 (create, add host, set and unset a property, rename, remove host,
delete; list, disable with a reason, force down, enable, delete a service)."""
from __future__ import annotations

from twisted.internet import threads
from twisted.trial import unittest

from nova_tx.bus.rpc import RPCServer, Target
from tests.api.operator_server import OperatorServer
from tests.api.test_hypervisors import UPTIME, FakeCompute
from tests.api.test_keypairs_openstacksdk import connect
from tests.helpers import unavailable


class OperatorSDKTests(unittest.TestCase):

    def scenario(self, api: OperatorServer, nodes: dict) -> None:
        try:
            import openstack  # noqa: F401
        except ImportError:
            unavailable("openstacksdk is not installed")
        admin = connect(api.base + "/v2.1", "admin:proj1")
        try:
            compute = admin.compute
            agg = compute.create_aggregate(name="my-aggregate", availability_zone="az1")
            self.assertEqual("az1", agg.availability_zone)
            agg = compute.add_host_to_aggregate(agg, "host1")
            self.assertEqual(["host1"], agg.hosts)
            agg = compute.set_aggregate_metadata(agg, {"pinned": "true"})
            self.assertEqual({"availability_zone": "az1", "pinned": "true"}, agg.metadata)
            # openstack aggregate unset --property pinned / availability_zone
            agg = compute.set_aggregate_metadata(agg, {"pinned": None,
                                                       "availability_zone": None})
            self.assertEqual({}, agg.metadata)
            renamed = compute.update_aggregate(agg, name="my-awesome-aggregate")
            self.assertEqual((agg.id, agg.uuid), (renamed.id, renamed.uuid))
            self.assertEqual(["my-awesome-aggregate"],
                             [a.name for a in compute.aggregates()])
            compute.remove_host_from_aggregate(agg, "host1")
            compute.delete_aggregate(agg)
            self.assertEqual([], list(compute.aggregates()))

            zones = {z.name: z for z in compute.availability_zones(details=True)}
            self.assertEqual({"internal", "nova"}, set(zones))

            services = {s.host: s for s in compute.services() if s.binary == "nova-compute"}
            self.assertEqual({"host1", "host2"}, set(services))
            disabled = compute.disable_service(services["host2"], disabled_reason="trial log")
            self.assertEqual(("disabled", "trial log"), (disabled.status,
                                                         disabled.disabled_reason))
            down = compute.update_service_forced_down(services["host2"], forced=True)
            self.assertTrue(down.is_forced_down)
            listed = {s.host: s for s in compute.services() if s.binary == "nova-compute"}
            self.assertEqual(("disabled", "down"), (listed["host2"].status,
                                                    listed["host2"].state))
            compute.update_service_forced_down(services["host2"], forced=False)
            compute.enable_service(services["host2"])
            listed = {s.host: s for s in compute.services() if s.binary == "nova-compute"}
            self.assertEqual(("enabled", "up"), (listed["host2"].status,
                                                 listed["host2"].state))

            hypervisors = {h.name: h for h in compute.hypervisors(details=True)}
            self.assertEqual({"node1", "node2"}, set(hypervisors))
            self.assertEqual(UPTIME, hypervisors["node1"].uptime)
            self.assertEqual(nodes["host1"], hypervisors["node1"].id)
            self.assertEqual("host1", compute.get_hypervisor(nodes["host1"]).service_details
                             ["host"])
            compute.delete_service(services["host2"])
            self.assertEqual(["host1"], sorted(s.host for s in compute.services()
                                               if s.binary == "nova-compute"))
        finally:
            admin.close()

    async def test_sdk(self):
        api = OperatorServer(self)
        first = api.add_compute("host1", node="node1")
        api.add_compute("host2", node="node2")
        api.add_service("ctl", binary="nova-conductor", topic="conductor")
        for host in ("host1", "host2"):
            server = RPCServer(api.transport, Target(topic="compute", server=host),
                               [FakeCompute()], conf=api.conf, stop_timeout=2.0)
            await server.start()
            self.addCleanup(server.stop)
        await threads.deferToThread(self.scenario, api, {"host1": first["node_uuid"]})
