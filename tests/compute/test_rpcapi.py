"""``nova_tx.compute.rpcapi.ComputeAPI``: what the casts of the build and the power
actions put on the bus (Nova's 6.0 methods, arguments as Nova sends them), received
by a recording compute."""
from __future__ import annotations

import uuid as uuidlib

from twisted.internet import defer
from twisted.trial import unittest

from nova_tx.bus.memory import MemoryBroker, MemoryBus
from nova_tx.bus.rpc import RPCServer, Target
from nova_tx.compute.rpcapi import ComputeAPI
from nova_tx.context import RequestContext
from nova_tx.objects.instance import Instance
from nova_tx.objects.request_spec import NetworkRequest, RequestSpec, SchedulerLimits
from nova_tx.objects.selection import Selection
from tests.compute.harness import FLAVOR
from tests.servicegroup import make_conf


class Recorder:
    target = Target(version="6.1")

    def __init__(self):
        self.received = defer.DeferredQueue()

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)

        def record(ctxt, **kwargs):
            self.received.put((name, kwargs))
            return "console text" if name == "get_console_output" else None

        return record


class ComputeAPITest(unittest.TestCase):
    timeout = 20

    async def setUp(self):
        conf = make_conf(rpc_response_timeout=5)
        broker = MemoryBroker()
        server_bus, client_bus = MemoryBus(broker), MemoryBus(broker)
        for bus in (server_bus, client_bus):
            await bus.connect()
            self.addCleanup(bus.close)
        self.compute = Recorder()
        server = RPCServer(server_bus, Target(topic="compute", server="compute1"),
                           [self.compute], conf=conf)
        await server.start()
        self.addCleanup(server.stop)
        self.api = ComputeAPI(client_bus, conf)
        self.ctxt = RequestContext(user_id="u1", project_id="p1")
        self.instance = Instance(uuid=str(uuidlib.uuid4()), host="compute1",
                                 project_id="p1", flavor=FLAVOR)

    async def test_build_and_run_instance_sends_nova_primitives(self):
        chosen = Selection("compute1", "node1", str(uuidlib.uuid4()), None,
                           limits=SchedulerLimits(vcpu=16))
        alternate = Selection("compute2", "node2", str(uuidlib.uuid4()), None)
        spec = RequestSpec.from_components(flavor=FLAVOR, instance_uuid=self.instance.uuid,
                                           project_id="p1", user_id="u1")
        await self.api.build_and_run_instance(
            self.ctxt, self.instance, "compute1", {"id": "image-1"}, spec,
            {"retry": {"num_attempts": 1}}, admin_password="secret",
            requested_networks=[NetworkRequest(network_id="net-1")],
            security_groups=["default"],
            block_device_mapping=[{"source_type": "image", "destination_type": "local",
                                   "boot_index": 0, "image_id": "image-1"}],
            node="node1", limits=chosen.limits, host_list=[chosen, alternate])
        method, kwargs = await self.compute.received.get()
        self.assertEqual("build_and_run_instance", method)
        self.assertEqual(
            {"instance", "image", "request_spec", "filter_properties", "admin_password",
             "injected_files", "requested_networks", "security_groups",
             "block_device_mapping", "node", "limits", "host_list", "accel_uuids"},
            set(kwargs))
        self.assertEqual(self.instance.uuid, Instance.from_primitive(kwargs["instance"]).uuid)
        self.assertEqual("RequestSpec", kwargs["request_spec"]["nova_object.name"])
        self.assertEqual({"vcpu": 16}, kwargs["limits"])
        self.assertEqual(["compute1", "compute2"], [
            Selection.from_primitive(s).service_host for s in kwargs["host_list"]])
        self.assertEqual("BlockDeviceMappingList",
                         kwargs["block_device_mapping"]["nova_object.name"])
        self.assertEqual("net-1", kwargs["requested_networks"][0]["nova_object.data"]
                         ["network_id"])
        self.assertEqual([], kwargs["accel_uuids"])

    async def test_power_casts_go_to_the_instance_host(self):
        for method, args, extra in (
                ("reboot_instance", (None, "HARD"), {"block_device_info": None,
                                                     "reboot_type": "HARD"}),
                ("stop_instance", (), {"clean_shutdown": True}),
                ("start_instance", (), {}), ("pause_instance", (), {}),
                ("unpause_instance", (), {}), ("suspend_instance", (), {}),
                ("resume_instance", (), {}), ("soft_delete_instance", (), {})):
            await getattr(self.api, method)(self.ctxt, self.instance, *args)
            received, kwargs = await self.compute.received.get()
            self.assertEqual(method, received)
            self.assertEqual(self.instance.uuid,
                             Instance.from_primitive(kwargs.pop("instance")).uuid)
            self.assertEqual(extra, kwargs)
        await self.api.terminate_instance(self.ctxt, self.instance, [])
        received, kwargs = await self.compute.received.get()
        self.assertEqual(("terminate_instance", "BlockDeviceMappingList"),
                         (received, kwargs["bdms"]["nova_object.name"]))

    async def test_console_output_is_a_call(self):
        output = await self.api.get_console_output(self.ctxt, self.instance, 10)
        self.assertEqual("console text", output)
        received, kwargs = await self.compute.received.get()
        self.assertEqual(("get_console_output", 10), (received, kwargs["tail_length"]))
