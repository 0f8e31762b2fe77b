"""The compute manager served over the bus as nova-compute serves it (its 6.x endpoint
and the 5.x proxy), called through ``nova_tx.compute.rpcapi.ComputeAPI``; and the
wait for Neutron's ``network-vif-plugged`` events during a build."""
from __future__ import annotations

import os

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from nova_tx.bus.rpc import RPCServer, Target
from nova_tx.compute import states
from nova_tx.compute.manager import ComputeV5Proxy, common
from nova_tx.compute.manager.image_cache import base_name
from nova_tx.compute.rpcapi import ComputeAPI
from nova_tx.db.main import instances
from tests.compute.harness import HOST, ComputeHarness


async def wait_until(condition, timeout: float = 10.0) -> None:
    waited = 0.0
    while not await condition():
        if waited > timeout:
            raise AssertionError("condition never held")
        await task.deferLater(reactor, 0.05, lambda: None)
        waited += 0.05


class RPCTest(unittest.TestCase):
    timeout = 60

    async def setUp(self):
        self.h = await ComputeHarness(self).start()
        server = RPCServer(self.h.bus, Target(topic="compute", server=HOST),
                           [self.h.manager, ComputeV5Proxy(self.h.manager)],
                           conf=self.h.conf)
        await server.start()
        self.addCleanup(server.stop)
        self.api = ComputeAPI(self.h.bus, self.h.conf)

    async def test_uptime_through_the_5x_proxy(self):
        uptime = await self.api.get_host_uptime(self.h.ctxt, HOST)
        self.assertIn("load average", uptime)

    async def test_cache_images_fetches_into_the_image_cache(self):
        await self.api.cache_images(self.h.ctxt, HOST, [self.h.image_id])
        path = os.path.join(self.h.conf.instances_path, "_base", base_name(self.h.image_id))

        async def cached():
            return os.path.exists(path)

        await wait_until(cached)

    async def test_build_then_console_and_pause_over_the_bus(self):
        instance = await self.h.make_instance()
        await self.api.build_and_run_instance(
            self.h.ctxt, instance, HOST, {"id": self.h.image_id}, None,
            {"retry": {"num_attempts": 1, "hosts": [[HOST, HOST]]}},
            requested_networks=[{"network_id": self.h.private_network}],
            node=self.h.nodename, limits={}, host_list=[], accel_uuids=[])

        async def active():
            return (await self.h.read(instance.uuid)).vm_state == states.ACTIVE

        await wait_until(active)
        console = await self.api.get_console_output(
            self.h.ctxt, await self.h.read(instance.uuid), None)
        self.assertIn("Linux version fake", console)
        pausing = await self.h.pool.do(instances.update, instance.uuid,
                                       {"task_state": states.PAUSING})
        await self.api.pause_instance(self.h.context(), pausing)

        async def paused():
            return (await self.h.read(instance.uuid)).vm_state == states.PAUSED

        await wait_until(paused)


class InactivePorts:
    """The network port, with the ports of a build not active yet (their agent has
    not plugged them), as Neutron answers before ``network-vif-plugged``."""

    def __init__(self, network_api):
        self.network_api = network_api

    def __getattr__(self, name):
        return getattr(self.network_api, name)

    async def allocate_for_instance(self, *args, **kwargs):
        network_info = await self.network_api.allocate_for_instance(*args, **kwargs)
        return [dict(vif, active=False) for vif in network_info]


class VifPluggingTest(unittest.TestCase):
    timeout = 60
    overrides = {"vif_plugging_timeout": 2}

    async def setUp(self):
        self.h = await ComputeHarness(self, **self.overrides).start()
        self.h.manager.network_api = InactivePorts(self.h.network_api)

    async def test_the_build_waits_for_the_plugged_event(self):
        instance = await self.h.make_instance()
        building = defer.Deferred.fromCoroutine(self.h.build(instance))

        async def spawned():
            return instance.uuid in self.h.driver.guests

        await wait_until(spawned)
        self.assertFalse(building.called)
        [port] = await self.h.ports_of(instance.uuid)
        await self.h.manager.external_instance_event(
            self.h.ctxt, [instance.to_primitive()],
            [{"name": "network-vif-plugged", "tag": port["id"], "status": "completed",
              "instance_uuid": instance.uuid}])
        self.assertEqual(common.ACTIVE, await building)

    async def test_a_timeout_is_fatal_by_default(self):
        instance = await self.h.make_instance()
        self.assertEqual(common.FAILED, await self.h.build(
            instance, host_list=[self.h.selection("compute2")]))
        failed = await self.h.read(instance.uuid)
        self.assertEqual(states.ERROR, failed.vm_state)
        self.assertIn("Failed to allocate the network(s), not rescheduling.",
                      failed.fault.message)
        self.assertNotIn(instance.uuid, self.h.driver.guests)
        self.assertEqual([], self.h.tasks.reschedules)


class VifPluggingNotFatalTest(unittest.TestCase):
    timeout = 60

    async def setUp(self):
        self.h = await ComputeHarness(self, vif_plugging_timeout=1,
                                      vif_plugging_is_fatal=False).start()
        self.h.manager.network_api = InactivePorts(self.h.network_api)

    async def test_a_timeout_is_not_fatal_when_configured_so(self):
        instance = await self.h.make_instance()
        self.assertEqual(common.ACTIVE, await self.h.build(instance))
