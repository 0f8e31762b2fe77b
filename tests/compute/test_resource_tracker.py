"""The resource tracker over the fake driver, an embedded Placement and an in-memory
compute node gateway: inventories for each CPU layout, reserved amounts and ratios,
traits and provider config files, claims that pin what the kernel chose, release,
drift healed by update_available_resource, conflicts retried, the periodic task."""
from __future__ import annotations

import copy
import itertools
import json
import logging
import uuid as uuidlib

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.compute import resource_tracker as rt
from nova_tx.db.pool import DBThreadPool
from nova_tx.objects import numa as obj
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.instance import Instance
from nova_tx.placement.api.app import PlacementAPI
from nova_tx.placement.client import LocalPlacementClient, PlacementClientResponse
from nova_tx.scheduler import host_state, kernel
from nova_tx.virt import constraints, fake
from tests.compute.helpers import make_conf
from tests.placement.db import placement_engine

_ids = itertools.count(1)


class MemoryNodes:
    """The conductor's compute node gateway, kept in a dict (the gateway itself is
    exercised over the bus by tests.functional.test_two_computes)."""

    def __init__(self):
        self.records: dict[int, dict] = {}

    async def compute_node_get_by_host_and_nodename(self, ctxt, host, nodename):
        for record in self.records.values():
            if (record["host"], record["hypervisor_hostname"]) == (host, nodename):
                return dict(record)
        raise exception.ComputeHostNotFound(host=host)

    async def compute_node_get_all_by_host(self, ctxt, host):
        return [dict(r) for r in self.records.values() if r["host"] == host]

    async def compute_node_create(self, ctxt, values):
        node_id = next(_ids)
        self.records[node_id] = {"id": node_id, **values}
        return dict(self.records[node_id])

    async def compute_node_update(self, ctxt, node_id, values):
        self.records[node_id].update(values)
        return dict(self.records[node_id])

    async def compute_node_delete(self, ctxt, node_id):
        del self.records[node_id]


def flavor(vcpus=2, memory_mb=1024, root_gb=1, **extra_specs) -> Flavor:
    return Flavor(id=1, flavorid="f1", name="f1", vcpus=vcpus, memory_mb=memory_mb,
                  root_gb=root_gb, extra_specs=extra_specs)


def instance(f: Flavor, *, host="host1", node="host1", **fields) -> Instance:
    requested = constraints.numa_get_constraints(f.for_numa(), obj.ImageMeta())
    values = dict(flavor=f, vcpus=f.vcpus, memory_mb=f.memory_mb, root_gb=f.root_gb,
                  ephemeral_gb=0, host=host, node=node, vm_state="building",
                  numa_topology=requested)
    values.update(fields)
    return Instance(uuid=str(uuidlib.uuid4()), **values)


class TrackerTestCase(unittest.TestCase):
    conf_overrides: dict = {}

    async def setUp(self):
        pool = DBThreadPool(placement_engine(self), reactor=reactor)
        pool.start()
        self.addCleanup(pool.stop)
        self.api = PlacementAPI(pool)
        self.addCleanup(self.api.close)
        self.placement = LocalPlacementClient(self.api)
        self.conf = make_conf(**self.conf_overrides)
        self.driver = fake.FakeDriver(self.conf)
        await self.driver.init_host("host1")
        self.nodes = MemoryNodes()
        self.configs: dict = {}
        self.tracker = self.make_tracker()
        self.instances: list[Instance] = []

    def make_tracker(self) -> rt.ResourceTracker:
        return rt.ResourceTracker("host1", self.driver, self.conf, self.nodes,
                                  self.placement, provider_configs=self.configs)

    async def update(self) -> dict:
        await self.tracker.update_available_resource(None, self.instances)
        return self.record()

    def record(self) -> dict:
        (record,) = self.nodes.records.values()
        return record

    async def get(self, path: str, version: str = "1.26"):
        response = await self.placement.get(path, version=version)
        self.assertEqual(200, response.status_code, response.text)
        return response.json()

    async def inventories(self) -> dict:
        return (await self.get(f"/resource_providers/{self.record()['uuid']}/inventories")
                )["inventories"]

    async def traits(self) -> set:
        return set((await self.get(f"/resource_providers/{self.record()['uuid']}/traits",
                                   "1.6"))["traits"])


class LegacyLayoutTest(TrackerTestCase):
    async def test_inventories_record_and_traits(self):
        record = await self.update()
        inventories = await self.inventories()
        self.assertEqual({"VCPU", "MEMORY_MB", "DISK_GB"}, set(inventories))
        self.assertEqual((16, 0, 16.0), (inventories["VCPU"]["total"],
                                         inventories["VCPU"]["reserved"],
                                         inventories["VCPU"]["allocation_ratio"]))
        self.assertEqual((16384, 512, 1.5), (inventories["MEMORY_MB"]["total"],
                                             inventories["MEMORY_MB"]["reserved"],
                                             inventories["MEMORY_MB"]["allocation_ratio"]))
        self.assertEqual((200, 0, 1.0), (inventories["DISK_GB"]["total"],
                                         inventories["DISK_GB"]["reserved"],
                                         inventories["DISK_GB"]["allocation_ratio"]))
        traits = await self.traits()
        self.assertTrue({"COMPUTE_NODE", "HW_CPU_HYPERTHREADING",
                         "COMPUTE_SOCKET_PCI_NUMA_AFFINITY", "COMPUTE_IMAGE_TYPE_RAW",
                         "COMPUTE_VOLUME_MULTI_ATTACH"} <= traits, traits)
        self.assertNotIn("COMPUTE_IMAGE_TYPE_VHD", traits)
        self.assertEqual((16, 16384, 200, 0, 512, 0, 15872, 200, 0),
                         tuple(record[k] for k in (
                             "vcpus", "memory_mb", "local_gb", "vcpus_used",
                             "memory_mb_used", "local_gb_used", "free_ram_mb",
                             "free_disk_gb", "running_vms")))
        self.assertEqual((16.0, 1.5, 1.0), (record["cpu_allocation_ratio"],
                                            record["ram_allocation_ratio"],
                                            record["disk_allocation_ratio"]))
        # The scheduler reads the record as it is written.
        node = host_state.ComputeNodeRecord.from_primitive(record)
        self.assertEqual(([{0, 1, 2, 3, 8, 9, 10, 11}] * 2),
                         [c.cpuset for c in node.numa_topology.cells[:1]]
                         + [c.pcpuset for c in node.numa_topology.cells[:1]])
        self.assertEqual([["x86_64", "fake", "hvm"]],
                         [list(s) for s in node.supported_instances])

    async def test_second_update_writes_nothing_new(self):
        await self.update()
        provider = await self.get(f"/resource_providers/{self.record()['uuid']}", "1.14")
        await self.update()
        again = await self.get(f"/resource_providers/{self.record()['uuid']}", "1.14")
        self.assertEqual(provider["generation"], again["generation"])

    async def test_restart_finds_record_and_keeps_ratio_changed_in_placement(self):
        record = await self.update()
        uuid = record["uuid"]
        inventories = await self.get(f"/resource_providers/{uuid}/inventories")
        changed = copy.deepcopy(inventories["inventories"])
        changed["VCPU"]["allocation_ratio"] = 4.0
        response = await self.placement.put(
            f"/resource_providers/{uuid}/inventories",
            {"resource_provider_generation": inventories["resource_provider_generation"],
             "inventories": changed}, version="1.26")
        self.assertEqual(200, response.status_code, response.text)
        self.tracker = self.make_tracker()
        record = await self.update()
        self.assertEqual(uuid, record["uuid"])
        self.assertEqual(1, len(self.nodes.records))
        self.assertEqual(4.0, (await self.inventories())["VCPU"]["allocation_ratio"])
        self.assertEqual(4.0, record["cpu_allocation_ratio"])

    async def test_conflicting_writer_is_retried_and_its_traits_kept(self):
        await self.update()
        uuid = self.record()["uuid"]
        # Another writer (the API disabling the service) changes the provider: the
        # tracker's generation is stale, its next write is a 409 and is retried.
        current = await self.get(f"/resource_providers/{uuid}/traits", "1.6")
        response = await self.placement.put(
            f"/resource_providers/{uuid}/traits",
            {"resource_provider_generation": current["resource_provider_generation"],
             "traits": current["traits"] + ["COMPUTE_STATUS_DISABLED"]}, version="1.6")
        self.assertEqual(200, response.status_code, response.text)
        self.conf.set_override("cpu_allocation_ratio", 2.0)
        await self.update()
        self.assertEqual(2.0, (await self.inventories())["VCPU"]["allocation_ratio"])
        self.assertIn("COMPUTE_STATUS_DISABLED", await self.traits())

    async def test_record_is_written_when_placement_fails(self):
        await self.update()
        self.instances = [instance(flavor(vcpus=3), vm_state="active")]
        broken = LocalPlacementClient(self.api)

        def unavailable(method, url, data, version, request_id):
            return defer.succeed(PlacementClientResponse(503, {}, b"down"))

        broken.request = unavailable
        self.tracker.reporter.client = broken
        self.tracker.reporter.tree.remove(self.record()["uuid"])   # read it again
        with self.assertRaises(exception.PlacementAPIError):
            await self.tracker.update_available_resource(None, self.instances)
        self.assertEqual((3, 1), (self.record()["vcpus_used"], self.record()["running_vms"]))

    async def test_reset_reads_placement_again(self):
        await self.update()
        uuid = self.record()["uuid"]
        # An operator removes a trait the tracker manages behind its back: the tracker
        # believes placement still has it until a reset (SIGHUP) makes it read again.
        current = await self.get(f"/resource_providers/{uuid}/traits", "1.6")
        response = await self.placement.put(
            f"/resource_providers/{uuid}/traits",
            {"resource_provider_generation": current["resource_provider_generation"],
             "traits": [t for t in current["traits"] if t != "COMPUTE_NODE"]},
            version="1.6")
        self.assertEqual(200, response.status_code, response.text)
        await self.update()
        self.assertNotIn("COMPUTE_NODE", await self.traits())
        self.tracker.reset()
        await self.update()
        self.assertIn("COMPUTE_NODE", await self.traits())

    async def test_allocations_of_deleted_instances_are_removed(self):
        await self.update()
        rp = self.record()["uuid"]
        known = {}

        async def lookup(ctxt, uuid):
            if uuid not in known:
                raise exception.InstanceNotFound(instance_id=uuid)
            return known[uuid]

        self.tracker.instance_lookup = lookup
        deleted = instance(flavor(), vm_state="deleted", deleted=True)
        moved = instance(flavor(), host="host2", node="host2", vm_state="active")
        here = instance(flavor(), vm_state="active")
        known.update({i.uuid: i for i in (deleted, moved, here)})
        unknown = str(uuidlib.uuid4())        # a migration, or a build not yet recorded
        for consumer in (deleted.uuid, moved.uuid, here.uuid, unknown):
            response = await self.placement.put(f"/allocations/{consumer}", {
                "allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": "p",
                "user_id": "u", "consumer_generation": None}, version="1.28")
            self.assertEqual(204, response.status_code, response.text)
        self.instances = [here]
        with self.assertLogs(rt.LOG, logging.WARNING) as logs:
            await self.update()
        self.assertIn(f"Instance {moved.uuid} has been moved to another host host2",
                      "\n".join(logs.output))
        left = (await self.get(f"/resource_providers/{rp}/allocations", "1.14")
                )["allocations"]
        self.assertEqual({moved.uuid, here.uuid, unknown}, set(left))

    async def test_orphan_node_is_removed(self):
        old = await self.update()
        # The hypervisor is renamed (a new host file, a new hostname).
        self.driver.nodename = "host1.example.org"
        self.tracker = self.make_tracker()
        with self.assertLogs(rt.LOG, logging.INFO) as logs:
            await self.update()
        self.assertIn(f"Deleting orphan compute node {old['id']} hypervisor host is host1",
                      "\n".join(logs.output))
        (record,) = self.nodes.records.values()
        self.assertEqual("host1.example.org", record["hypervisor_hostname"])
        response = await self.placement.get(f"/resource_providers/{old['uuid']}",
                                            version="1.14")
        self.assertEqual(404, response.status_code)
        providers = (await self.get("/resource_providers", "1.14"))["resource_providers"]
        self.assertEqual(["host1.example.org"], [p["name"] for p in providers])

    async def test_provider_config_inventory_and_trait(self):
        self.configs["$COMPUTE_NODE"] = {
            "traits": {"additional": ["CUSTOM_GOLD"]},
            "inventories": {"additional": [{"CUSTOM_LICENSE": {"total": 4,
                                                               "max_unit": 1}}]},
            "__source_file": "/etc/nova/provider_config/gold.yaml"}
        self.tracker = self.make_tracker()
        await self.update()
        inventories = await self.inventories()
        self.assertEqual((4, 1), (inventories["CUSTOM_LICENSE"]["total"],
                                  inventories["CUSTOM_LICENSE"]["max_unit"]))
        self.assertIn("CUSTOM_GOLD", await self.traits())
        await self.update()     # and again, as every periodic update does
        self.assertIn("CUSTOM_LICENSE", await self.inventories())


class StatsTest(TrackerTestCase):
    async def test_stats_the_scheduler_reads(self):
        building = instance(flavor(), vm_state="building", project_id="p1")
        snapshot = instance(flavor(), vm_state="active", task_state="image_snapshot",
                            project_id="p1", os_type="linux")
        idle = instance(flavor(), vm_state="active", project_id="p2", os_type="linux")
        self.instances = [building, snapshot, idle]
        record = await self.update()
        stats = json.loads(record["stats"])
        self.assertEqual({"num_instances": "3", "io_workload": "2", "failed_builds": "0",
                          "num_vm_building": "1", "num_vm_active": "2",
                          "num_task_None": "2", "num_task_image_snapshot": "1",
                          "num_os_type_None": "1", "num_os_type_linux": "2",
                          "num_proj_p1": "2", "num_proj_p2": "1"}, stats)
        node = host_state.ComputeNodeRecord.from_primitive(record)
        self.assertEqual("3", node.stats["num_instances"])

        await self.tracker.build_failed(None, "host1")
        await self.tracker.build_failed(None, "host1")
        self.assertEqual("2", json.loads(self.record()["stats"])["failed_builds"])
        await self.update()
        self.assertEqual("2", json.loads(self.record()["stats"])["failed_builds"])
        await self.tracker.build_succeeded(None, "host1")
        self.assertEqual("0", json.loads(self.record()["stats"])["failed_builds"])


class DedicatedAndSharedTest(TrackerTestCase):
    conf_overrides = {"compute__cpu_dedicated_set": "2-7,10-15",
                      "compute__cpu_shared_set": "0,1,8,9", "cpu_allocation_ratio": 8.0,
                      "reserved_host_memory_mb": 1024, "reserved_host_disk_mb": 1500}

    async def test_inventories(self):
        record = await self.update()
        inventories = await self.inventories()
        self.assertEqual((4, 8.0, 4), (inventories["VCPU"]["total"],
                                       inventories["VCPU"]["allocation_ratio"],
                                       inventories["VCPU"]["max_unit"]))
        self.assertEqual((12, 0, 1.0, 12), (inventories["PCPU"]["total"],
                                            inventories["PCPU"]["reserved"],
                                            inventories["PCPU"]["allocation_ratio"],
                                            inventories["PCPU"]["max_unit"]))
        self.assertEqual(1024, inventories["MEMORY_MB"]["reserved"])
        self.assertEqual(2, inventories["DISK_GB"]["reserved"])     # ceil(1500 MiB)
        self.assertEqual((4, 1024, 2), (record["vcpus"], record["memory_mb_used"],
                                        record["local_gb_used"]))

    async def test_claim_pins_what_the_kernel_chose(self):
        await self.update()
        host = copy.deepcopy(self.tracker.topologies["host1"])
        pinned = instance(flavor(vcpus=4, memory_mb=2048, **{"hw:cpu_policy": "dedicated"}))
        expected = kernel.fit_host(host, pinned.numa_topology)
        claim = await self.tracker.instance_claim(None, pinned, "host1", {}, {})
        self.assertEqual(expected.cpu_pinning, claim.numa_topology.cpu_pinning)
        self.assertIs(claim.numa_topology, pinned.numa_topology)
        self.assertEqual(4, len(set(claim.numa_topology.cpu_pinning.values())))
        chosen = set(claim.numa_topology.cpu_pinning.values())
        topology = self.tracker.topologies["host1"]
        self.assertEqual(chosen, set().union(*(c.pinned_cpus for c in topology.cells)))
        cell = claim.numa_topology.cells[0].id
        self.assertEqual(2048, topology.cells[cell].memory_usage)
        record = self.record()
        self.assertEqual((4, 1024 + 2048, 1, 1), (record["vcpus_used"],
                                                  record["memory_mb_used"],
                                                  record["local_gb_used"] - 2,
                                                  record["running_vms"]))
        written = json.loads(record["numa_topology"])["nova_object.data"]
        self.assertEqual(sorted(chosen),
                         sorted(itertools.chain(*(c["pinned_cpus"]
                                                  for c in written["cells"]))))

        # A second guest gets other CPUs; the same guest twice is refused.
        other = instance(flavor(vcpus=2, **{"hw:cpu_policy": "dedicated"}))
        second = await self.tracker.instance_claim(None, other, "host1")
        self.assertFalse(chosen & set(second.numa_topology.cpu_pinning.values()))
        with self.assertRaises(exception.ComputeResourcesUnavailable):
            await self.tracker.instance_claim(None, pinned, "host1")

        await self.tracker.abort_instance_claim(None, pinned, "host1")
        left = set().union(*(c.pinned_cpus for c in self.tracker.topologies["host1"].cells))
        self.assertEqual(set(second.numa_topology.cpu_pinning.values()), left)
        await self.tracker.drop_instance(None, other, "host1")
        topology = self.tracker.topologies["host1"]
        self.assertEqual((set(), 0), (set().union(*(c.pinned_cpus for c in topology.cells)),
                                      sum(c.memory_usage for c in topology.cells)))
        self.assertEqual((0, 1024, 0), (self.record()["vcpus_used"],
                                        self.record()["memory_mb_used"],
                                        self.record()["running_vms"]))
        # Releasing what is not claimed does nothing.
        await self.tracker.drop_instance(None, other, "host1")

    async def test_claim_that_no_longer_fits(self):
        await self.update()

        def one_cell(vcpus):
            return instance(flavor(vcpus=vcpus, **{"hw:cpu_policy": "dedicated",
                                                   "hw:numa_nodes": "1"}))

        # Cell 0 has 4 dedicated CPUs, cell 1 has 8.
        with self.assertRaises(exception.ComputeResourcesUnavailable) as caught:
            await self.tracker.instance_claim(None, one_cell(9), "host1")
        self.assertIn("cannot fit", caught.exception.format_message())
        self.assertEqual({}, self.tracker.tracked)
        await self.tracker.instance_claim(None, one_cell(8), "host1")
        await self.tracker.instance_claim(None, one_cell(4), "host1")
        with self.assertRaises(exception.ComputeResourcesUnavailable):
            await self.tracker.instance_claim(None, one_cell(1), "host1")
        self.assertEqual(2, len(self.tracker.tracked))

    async def test_claim_before_the_first_update(self):
        with self.assertRaises(exception.ComputeResourcesUnavailable):
            await self.tracker.instance_claim(None, instance(flavor()), "host1")

    async def test_update_heals_drift(self):
        await self.update()
        kept = instance(flavor(vcpus=2, **{"hw:cpu_policy": "dedicated"}))
        claim = await self.tracker.instance_claim(None, kept, "host1")
        gone = instance(flavor(vcpus=2, **{"hw:cpu_policy": "dedicated"}))
        await self.tracker.instance_claim(None, gone, "host1")
        # The manager saves the fitted topology on the instance; "gone" was deleted
        # while its drop never came. An instance the tracker never claimed (found on
        # the host after a restart) is there too, already fitted.
        kept.numa_topology = claim.numa_topology
        found = instance(flavor(vcpus=2, **{"hw:cpu_policy": "dedicated"}))
        found.numa_topology = kernel.fit_host(self.tracker.topologies["host1"],
                                              found.numa_topology)
        elsewhere = instance(flavor(), host="host2", node="host2")
        deleted = instance(flavor(), vm_state="deleted")
        self.instances = [kept, found, elsewhere, deleted]
        # A fresh tracker (a restart) and the same one agree.
        record = await self.update()
        self.assertEqual({kept.uuid, found.uuid}, set(self.tracker.tracked))
        pinned = set().union(*(c.pinned_cpus for c in self.tracker.topologies["host1"].cells))
        self.assertEqual(set(claim.numa_topology.cpu_pinning.values())
                         | set(found.numa_topology.cpu_pinning.values()), pinned)
        self.assertEqual((4, 2, 1024 + 2048), (record["vcpus_used"], record["running_vms"],
                                               record["memory_mb_used"]))
        self.tracker = self.make_tracker()
        restarted = await self.update()
        self.assertEqual((4, 2, 1024 + 2048), (restarted["vcpus_used"],
                                               restarted["running_vms"],
                                               restarted["memory_mb_used"]))

    async def test_claim_during_an_update_survives_it(self):
        await self.update()
        listed: list = []
        fresh = instance(flavor(vcpus=2, **{"hw:cpu_policy": "dedicated"}))
        gate = defer.Deferred()
        original = self.driver.get_available_resource

        async def slow(nodename):
            await gate
            return await original(nodename)

        self.driver.get_available_resource = slow
        updating = defer.Deferred.fromCoroutine(
            self.tracker.update_available_resource(None, listed))
        await self.tracker.instance_claim(None, fresh, "host1")
        gate.callback(None)
        await updating
        self.assertIn(fresh.uuid, self.tracker.tracked)
        self.assertEqual(2, self.record()["vcpus_used"])


class OnlyDedicatedTest(TrackerTestCase):
    conf_overrides = {"compute__cpu_dedicated_set": "0-15"}

    async def test_no_vcpu_inventory(self):
        await self.update()
        inventories = await self.inventories()
        self.assertEqual({"PCPU", "MEMORY_MB", "DISK_GB"}, set(inventories))
        self.assertEqual(16, inventories["PCPU"]["total"])


class OnlySharedTest(TrackerTestCase):
    conf_overrides = {"compute__cpu_shared_set": "0-7", "ram_allocation_ratio": 1.0,
                      "disk_allocation_ratio": 2.0}

    async def test_no_pcpu_and_no_pinning(self):
        await self.update()
        inventories = await self.inventories()
        self.assertEqual({"VCPU", "MEMORY_MB", "DISK_GB"}, set(inventories))
        self.assertEqual((8, 1.0, 2.0), (inventories["VCPU"]["total"],
                                         inventories["MEMORY_MB"]["allocation_ratio"],
                                         inventories["DISK_GB"]["allocation_ratio"]))
        with self.assertRaises(exception.ComputeResourcesUnavailable):
            await self.tracker.instance_claim(
                None, instance(flavor(**{"hw:cpu_policy": "dedicated"})), "host1")
        # A floating NUMA guest fits on the shared CPUs.
        claim = await self.tracker.instance_claim(
            None, instance(flavor(**{"hw:numa_nodes": "1"})), "host1")
        self.assertEqual({}, claim.numa_topology.cpu_pinning)
        self.assertEqual(set(), set().union(
            *(c.pinned_cpus for c in self.tracker.topologies["host1"].cells)))


class ReservedCpusTest(TrackerTestCase):
    conf_overrides = {"reserved_host_cpus": 2, "initial_cpu_allocation_ratio": 4.0}

    async def test_reserved_and_initial_ratio(self):
        await self.update()
        inventories = await self.inventories()
        self.assertEqual((16, 2, 4.0), (inventories["VCPU"]["total"],
                                        inventories["VCPU"]["reserved"],
                                        inventories["VCPU"]["allocation_ratio"]))


class PeriodicTaskTest(TrackerTestCase):
    async def test_runs_on_the_clock_and_survives_failures(self):
        clock = task.Clock()
        self.conf.set_override("update_resources_interval", 30)
        calls = []

        def instances():
            calls.append(clock.seconds())
            if len(calls) == 2:
                raise RuntimeError("conductor unreachable")
            return self.instances

        periodic = rt.ResourcePeriodicTask(self.tracker, self.conf, instances,
                                           context=lambda: None, reactor=clock)
        periodic.startService()
        await periodic.first_update
        # The loop schedules its next run once the callbacks of this one are done.
        await task.deferLater(reactor, 0, lambda: None)
        self.assertEqual([0], calls)
        self.assertEqual(1, len(self.nodes.records))
        with self.assertLogs(rt.LOG, logging.ERROR) as logs:
            clock.advance(30)           # its instances cannot be listed: logged
        self.assertIn("Error updating resources for node(s) of host1: conductor "
                      "unreachable", logs.output[0])
        await periodic._current
        await task.deferLater(reactor, 0, lambda: None)
        clock.advance(30)
        stopping = periodic.stopService()   # waits for the update in flight
        await stopping
        self.assertEqual([0, 30, 60], calls)
        clock.advance(30)
        self.assertEqual(3, len(calls))

    async def test_default_and_disabled_interval(self):
        periodic = rt.ResourcePeriodicTask(self.tracker, self.conf, list,
                                           context=lambda: None, reactor=task.Clock())
        self.assertEqual(60, periodic.interval)
        self.conf.set_override("update_resources_interval", -1)
        clock = task.Clock()
        periodic = rt.ResourcePeriodicTask(self.tracker, self.conf, list,
                                           context=lambda: None, reactor=clock)
        periodic.startService()
        await periodic.first_update
        self.assertEqual([], clock.getDelayedCalls())
        await periodic.stopService()
