"""openstacksdk (what python-openstackclient uses) against aggregates, zones, services
and hypervisors, with the microversions it negotiates, and the stock ``openstack``
commands: the operator flows of spec C §2.7 and §15 (create, add host, set and unset a
property, rename, remove host, delete; list, disable with a reason, force down,
enable, delete a service)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from twisted.internet import threads
from twisted.trial import unittest

from nova_tx.bus.rpc import RPCServer, Target
from tests.api.operator_server import OperatorServer
from tests.api.test_hypervisors import UPTIME, FakeCompute
from tests.api.test_keypairs_openstacksdk import connect
from tests.helpers import unavailable

OPENSTACK = os.path.join(os.path.dirname(sys.executable), "openstack")


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


class OpenStackClientTests(unittest.TestCase):
    """The stock ``openstack`` commands of spec C §2.7 and §15 (python-openstackclient)."""

    def openstack(self, api: OperatorServer, *args: str) -> str:
        result = subprocess.run(
            [OPENSTACK, "--os-auth-type", "admin_token", "--os-endpoint",
             api.base + "/v2.1", "--os-token", "admin:proj1",
             "--os-compute-api-version", "2.53", *args],
            capture_output=True, text=True, timeout=120,
            env={k: v for k, v in os.environ.items() if not k.startswith("OS_")})
        self.assertEqual(0, result.returncode, (args, result.stdout, result.stderr))
        return result.stdout

    def scenario(self, api: OperatorServer) -> None:
        created = json.loads(self.openstack(api, "aggregate", "create", "--zone", "az1",
                                            "my-aggregate", "-f", "json"))
        self.openstack(api, "aggregate", "add", "host", "my-aggregate", "host1")
        self.openstack(api, "aggregate", "set", "--property", "pinned=true",
                       "--property", "ssd=true", "my-aggregate")
        self.openstack(api, "aggregate", "unset", "--property", "pinned", "my-aggregate")
        self.openstack(api, "aggregate", "set", "--name", "my-awesome-aggregate",
                       "my-aggregate")
        shown = json.loads(self.openstack(api, "aggregate", "show",
                                          "my-awesome-aggregate", "-f", "json"))
        self.assertEqual((created["id"], ["host1"], "az1"),
                         (shown["id"], shown["hosts"], shown["availability_zone"]))
        self.assertEqual({"ssd": "true"}, shown["properties"])
        self.openstack(api, "aggregate", "remove", "host", "my-awesome-aggregate", "host1")
        self.openstack(api, "aggregate", "delete", "my-awesome-aggregate")
        self.assertEqual([], json.loads(self.openstack(api, "aggregate", "list", "-f",
                                                       "json")))

        self.openstack(api, "compute", "service", "set", "--disable", "--disable-reason",
                       "trial log", "host2", "nova-compute")
        services = json.loads(self.openstack(api, "compute", "service", "list", "--long",
                                             "-f", "json"))
        host2 = next(s for s in services if s["Host"] == "host2")
        self.assertEqual(("disabled", "up", "nova", "trial log"),
                         (host2["Status"], host2["State"], host2["Zone"],
                          host2["Disabled Reason"]))
        self.assertEqual("internal", next(s["Zone"] for s in services
                                          if s["Binary"] == "nova-conductor"))
        self.openstack(api, "compute", "service", "set", "--enable", "host2", "nova-compute")
        hypervisors = json.loads(self.openstack(api, "hypervisor", "list", "-f", "json"))
        self.assertEqual(["node1", "node2"],
                         sorted(h["Hypervisor Hostname"] for h in hypervisors))

    async def test_openstack_client(self):
        if not os.path.exists(OPENSTACK):
            unavailable("python-openstackclient is not installed (test extra)")
        api = OperatorServer(self)
        api.add_compute("host1", node="node1")
        api.add_compute("host2", node="node2")
        api.add_service("ctl", binary="nova-conductor", topic="conductor")
        await threads.deferToThread(self.scenario, api)
