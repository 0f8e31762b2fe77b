"""The build path of the compute manager (``build_and_run_instance``) on one host with
the fake driver, the resource tracker, Placement and the embedded network and image
services: the states Nova reports, the action's event, and what a failure leaves."""
from __future__ import annotations

import os

from twisted.internet import defer
from twisted.trial import unittest

from nova_tx.compute import states
from nova_tx.compute.manager import common
from nova_tx.compute.manager.image_cache import base_name
from nova_tx.db.main import instance_actions
from nova_tx.objects.numa import InstanceNUMACell, InstanceNUMATopology
from nova_tx.virt.fake import FakeDriver
from tests.compute.harness import FLAVOR, HOST, ComputeHarness


class BuildTest(unittest.TestCase):
    timeout = 60

    async def setUp(self):
        self.h = await ComputeHarness(self).start()

    async def test_a_build_ends_active_running_with_its_network_and_event(self):
        instance = await self.h.make_instance()
        result = await self.h.build(instance)
        self.assertEqual(common.ACTIVE, result)
        built = await self.h.read(instance.uuid)
        self.assertEqual((states.ACTIVE, None, states.RUNNING, HOST, self.h.nodename),
                         (built.vm_state, built.task_state, built.power_state, built.host,
                          built.node))
        self.assertIsNotNone(built.launched_at)
        self.assertEqual(HOST, built.launched_on)
        self.assertIsNone(built.fault)
        [vif] = built.network_info
        [port] = await self.h.ports_of(instance.uuid)
        self.assertEqual(port["id"], vif["id"])
        self.assertEqual(HOST, port["binding:host_id"])
        self.assertIn(instance.uuid, self.h.driver.guests)
        self.assertIn(instance.uuid, self.h.rt.tracked)
        self.assertEqual([("create", "compute__do_build_and_run_instance", "Success")],
                         await self.h.events(instance.uuid))
        self.assertIn(("update", {"host": HOST, "uuids": [instance.uuid]}),
                      self.h.scheduler.messages)

    async def test_the_image_is_fetched_once_into_the_cache(self):
        downloads = []
        download_to = self.h.image_api.download_to

        async def counted(ctxt, image_id, path):
            downloads.append(image_id)
            return await download_to(ctxt, image_id, path)

        self.h.image_api.download_to = counted
        first, second = await self.h.make_instance(), await self.h.make_instance()
        results = await defer.gatherResults([
            defer.Deferred.fromCoroutine(self.h.build(first)),
            defer.Deferred.fromCoroutine(self.h.build(second))])
        self.assertEqual([common.ACTIVE, common.ACTIVE], results)
        third = await self.h.make_instance()
        self.assertEqual(common.ACTIVE, await self.h.build(third))
        self.assertEqual([self.h.image_id], downloads)
        path = os.path.join(self.h.conf.instances_path, "_base", base_name(self.h.image_id))
        self.assertTrue(os.path.getsize(path) > 0)

    async def test_no_network_asked_is_no_port(self):
        instance = await self.h.make_instance()
        self.assertEqual(common.ACTIVE, await self.h.build(
            instance, requested_networks=[{"network_id": "none"}]))
        self.assertEqual([], (await self.h.read(instance.uuid)).network_info)
        self.assertEqual([], await self.h.ports_of(instance.uuid))

    async def test_an_instance_deleted_before_its_build_is_not_built(self):
        instance = await self.h.make_instance(task_state=states.DELETING)
        self.assertEqual(common.FAILED, await self.h.build(instance))
        self.assertNotIn(instance.uuid, self.h.driver.guests)
        self.assertNotIn(instance.uuid, self.h.rt.tracked)
        self.assertEqual(states.DELETING, (await self.h.read(instance.uuid)).task_state)

    async def test_an_unknown_image_aborts_without_reschedule(self):
        instance = await self.h.make_instance(image_ref="0b8a4e21-0000-4000-8000-000000000000")
        result = await self.h.build(instance, host_list=[self.h.selection("compute2")],
                                    image={"id": "0b8a4e21-0000-4000-8000-000000000000"})
        self.assertEqual(common.FAILED, result)
        failed = await self.h.read(instance.uuid)
        self.assertEqual((states.ERROR, None, None, None),
                         (failed.vm_state, failed.task_state, failed.host, failed.node))
        self.assertIn("aborted", failed.fault.message)
        self.assertIn("could not be found", failed.fault.message)
        self.assertEqual([], self.h.tasks.reschedules)
        self.assertEqual({}, await self.h.allocations(instance.uuid))
        self.assertEqual([], await self.h.ports_of(instance.uuid))

    async def test_a_volume_mapping_cannot_be_prepared_without_a_volume_service(self):
        instance = await self.h.make_instance()
        bdms = [{"source_type": "volume", "destination_type": "volume", "boot_index": 0,
                 "volume_id": "vol-1"}]
        self.assertEqual(common.FAILED,
                         await self.h.build(instance, block_device_mapping=bdms))
        failed = await self.h.read(instance.uuid)
        self.assertEqual(states.ERROR, failed.vm_state)
        self.assertIn("Failure prepping block device.", failed.fault.message)

    async def test_a_claim_that_does_not_fit_is_rescheduled_to_an_alternate(self):
        # A NUMA guest larger than any cell of the host: the kernel's fit refuses it.
        huge = FLAVOR.replace(memory_mb=10 ** 7, extra_specs={"hw:numa_nodes": "1"})
        topology = InstanceNUMATopology(cells=[InstanceNUMACell(id=0, cpuset={0},
                                                                memory=10 ** 7)])
        instance = await self.h.make_instance(flavor=huge, memory_mb=10 ** 7,
                                              numa_topology=topology)
        alternate = self.h.selection("compute2")
        result = await self.h.build(instance, host_list=[
            self.h.selection(HOST, self.h.nodename), alternate])
        self.assertEqual(common.RESCHEDULED, result)
        [cast] = self.h.tasks.reschedules
        self.assertEqual([[alternate]], cast["host_lists"])
        self.assertNotIn(instance.uuid, self.h.rt.tracked)

    async def test_the_claimed_pinning_is_saved_on_the_instance(self):
        pinned = FLAVOR.replace(vcpus=2, extra_specs={"hw:cpu_policy": "dedicated",
                                                      "hw:numa_nodes": "1"})
        topology = InstanceNUMATopology(cells=[InstanceNUMACell(
            id=0, pcpuset={0, 1}, memory=512, cpu_policy="dedicated")])
        first = await self.h.make_instance(flavor=pinned, vcpus=2, numa_topology=topology)
        second = await self.h.make_instance(flavor=pinned, vcpus=2, numa_topology=topology)
        self.assertEqual(common.ACTIVE, await self.h.build(first))
        self.assertEqual(common.ACTIVE, await self.h.build(second))
        host_cpus = []
        for instance in (first, second):
            stored = await self.h.read(instance.uuid, expected_attrs=["numa_topology"])
            [cell] = stored.numa_topology.cells
            self.assertEqual({0, 1}, set(cell.cpu_pinning))
            self.assertEqual(self.h.rt.tracked[instance.uuid].numa_topology.cells[0]
                             .cpu_pinning, cell.cpu_pinning)
            host_cpus.extend(cell.cpu_pinning.values())
        self.assertEqual(4, len(set(host_cpus)), "two guests pinned to the same CPU")

    async def test_the_create_action_is_started_when_the_conductor_did_not(self):
        instance = await self.h.make_instance()
        ctxt = self.h.context()
        self.assertEqual(common.ACTIVE, await self.h.build(instance, ctxt=ctxt))
        events = await self.h.events(instance.uuid)
        self.assertEqual([("create", "compute__do_build_and_run_instance", "Success")],
                         events)
        actions = await self.h.pool.do(instance_actions.get_by_instance, instance.uuid)
        self.assertEqual([ctxt.request_id, self.h.ctxt.request_id],
                         [a.request_id for a in actions])


class GatedSpawnDriver(FakeDriver):
    """Spawns that wait until the test lets them finish."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gates: list[defer.Deferred] = []

    def spawn(self, *args, **kwargs):
        gate: defer.Deferred = defer.Deferred()
        self.gates.append(gate)
        return gate.addCallback(lambda _: FakeDriver.spawn(self, *args, **kwargs))


class ConcurrentBuildsTest(unittest.TestCase):
    timeout = 60

    async def setUp(self):
        self.h = await ComputeHarness(self, driver_class=GatedSpawnDriver,
                                      max_concurrent_builds=1).start()

    async def test_max_concurrent_builds_holds_the_next_build_back(self):
        from twisted.internet import reactor, task

        first, second = await self.h.make_instance(), await self.h.make_instance()
        builds = [defer.Deferred.fromCoroutine(self.h.build(i)) for i in (first, second)]
        for _ in range(200):
            if self.h.driver.gates:
                break
            await task.deferLater(reactor, 0.02, lambda: None)
        await task.deferLater(reactor, 0.3, lambda: None)
        self.assertEqual(1, len(self.h.driver.gates))
        self.assertEqual(states.BUILDING, (await self.h.read(second.uuid)).vm_state)
        self.h.driver.gates[0].callback(None)
        for _ in range(200):
            if len(self.h.driver.gates) == 2:
                break
            await task.deferLater(reactor, 0.02, lambda: None)
        self.h.driver.gates[1].callback(None)
        self.assertEqual([common.ACTIVE, common.ACTIVE], await defer.gatherResults(builds))


class LibvirtError(Exception):
    """What libvirt raises (``libvirt.libvirtError``), under its own name below."""


LibvirtError.__name__ = LibvirtError.__qualname__ = "libvirtError"


class FailingSpawnDriver(FakeDriver):
    """The fake hypervisor, whose domains fail to start as a broken QEMU's do."""

    def spawn(self, *args, **kwargs):
        return defer.fail(LibvirtError("internal error: qemu unexpectedly closed the "
                                       "monitor"))


class SpawnFailureTest(unittest.TestCase):
    """Bad input of issue 9: a libvirt error during spawn."""

    timeout = 60

    async def setUp(self):
        self.h = await ComputeHarness(self, driver_class=FailingSpawnDriver).start()

    async def assert_released(self, instance):
        self.assertNotIn(instance.uuid, self.h.driver.guests)
        self.assertNotIn(instance.uuid, self.h.rt.tracked)
        self.assertEqual({}, await self.h.allocations(instance.uuid))
        self.assertEqual([], await self.h.ports_of(instance.uuid))

    async def test_without_alternates_the_instance_is_in_error_with_a_fault(self):
        instance = await self.h.make_instance()
        self.assertEqual(common.FAILED, await self.h.build(instance))
        failed = await self.h.read(instance.uuid)
        self.assertEqual((states.ERROR, None, None, None, []),
                         (failed.vm_state, failed.task_state, failed.host, failed.node,
                          failed.network_info))
        fault = failed.fault
        self.assertEqual((500, "internal error: qemu unexpectedly closed the monitor",
                          HOST), (fault.code, fault.message, fault.host))
        self.assertIn("libvirtError", fault.details)
        await self.assert_released(instance)
        self.assertEqual([("create", "compute__do_build_and_run_instance", "Error")],
                         await self.h.events(instance.uuid))
        self.assertEqual([], self.h.tasks.reschedules)

    async def test_without_retry_information_there_is_no_reschedule(self):
        instance = await self.h.make_instance()
        result = await self.h.build(instance, retry=False,
                                    host_list=[self.h.selection("compute2")])
        self.assertEqual(common.FAILED, result)
        self.assertEqual(states.ERROR, (await self.h.read(instance.uuid)).vm_state)
        self.assertEqual([], self.h.tasks.reschedules)
        await self.assert_released(instance)

    async def test_with_alternates_the_build_goes_back_to_the_conductor(self):
        instance = await self.h.make_instance()
        alternates = [self.h.selection("compute2"), self.h.selection("compute3")]
        result = await self.h.build(
            instance, host_list=[self.h.selection(HOST, self.h.nodename), *alternates])
        self.assertEqual(common.RESCHEDULED, result)
        [cast] = self.h.tasks.reschedules
        self.assertEqual([alternates], cast["host_lists"])
        self.assertEqual([instance.uuid],
                         [i["nova_object.data"]["uuid"] for i in cast["instances"]])
        self.assertEqual("internal error: qemu unexpectedly closed the monitor",
                         cast["filter_properties"]["retry"]["exc_reason"])
        rescheduled = await self.h.read(instance.uuid)
        self.assertEqual((states.BUILDING, states.SCHEDULING, None, None, None),
                         (rescheduled.vm_state, rescheduled.task_state, rescheduled.host,
                          rescheduled.node, rescheduled.fault))
        await self.assert_released(instance)
