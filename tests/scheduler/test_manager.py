"""``Scheduler.select_destinations`` over host states and a real (embedded) Placement.

Each test builds hosts twice, as a deployment has them: a resource provider per
compute node in Placement (uuid = the node's uuid, inventories from the node) and the
node's record in ``HostStates``. Claims are read back from Placement.
"""
from __future__ import annotations

import uuid as uuidlib

from twisted.internet import defer, reactor
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.bus.memory import MemoryBroker, MemoryBus
from nova_tx.bus.rpc import RPCClient, RPCServer, Target
from nova_tx.db.pool import DBThreadPool
from nova_tx.objects.selection import Selection
from nova_tx.placement.api.app import PlacementAPI
from nova_tx.placement.client import LocalPlacementClient
from nova_tx.scheduler.manager import Scheduler
from nova_tx.scheduler.rpcapi import SchedulerAPI
from tests.placement.db import placement_engine
from tests.scheduler.hosts import (
    aggregate,
    flavor,
    group,
    make_conf,
    node,
    numa_guest,
    spec,
    states,
    two_cell_host,
)


def new_uuid() -> str:
    return str(uuidlib.uuid4())


class SchedulerTestCase(unittest.TestCase):
    conf_overrides: dict = {}

    async def setUp(self):
        engine = placement_engine(self)
        pool = DBThreadPool(engine, reactor=reactor)
        pool.start()
        self.addCleanup(pool.stop)
        self.api = PlacementAPI(pool)
        self.addCleanup(self.api.close)
        self.placement = LocalPlacementClient(self.api)
        self.conf = make_conf(filter_scheduler__host_subset_size=1,
                              **self.conf_overrides)
        # A deployment with NUMA guests enables the NUMA filter (not a Zed default).
        self.conf.set_override(
            "enabled_filters",
            [*self.conf.filter_scheduler.enabled_filters, "NUMATopologyFilter"],
            group="filter_scheduler")
        self.records = []

    async def add_hosts(self, *records):
        for record in records:
            uuid = record.uuid
            await self.call("post", "/resource_providers",
                            {"name": record.hypervisor_hostname, "uuid": uuid}, 200)
            inventories = {
                "MEMORY_MB": {"total": record.memory_mb,
                              "allocation_ratio": record.ram_allocation_ratio},
                "DISK_GB": {"total": record.local_gb,
                            "allocation_ratio": record.disk_allocation_ratio}}
            pcpus = sum(len(c.pcpuset) for c in record.numa_topology.cells) \
                if record.numa_topology else 0
            if pcpus:
                inventories["PCPU"] = {"total": pcpus}
            else:
                inventories["VCPU"] = {"total": record.vcpus,
                                       "allocation_ratio": record.cpu_allocation_ratio}
            await self.call("put", f"/resource_providers/{uuid}/inventories",
                            {"resource_provider_generation": 0, "inventories": inventories},
                            200)
            self.records.append(record)
        self.states = states(*self.records)
        self.scheduler = Scheduler(self.conf, placement=self.placement,
                                   host_states=self.states)

    async def call(self, method, url, body=None, expect=None, version="1.39"):
        args = (url,) if method in ("get", "delete") else (url, body)
        response = await getattr(self.placement, method)(*args, version=version)
        if expect is not None:
            self.assertEqual(expect, response.status_code, f"{method} {url}: {response.text}")
        return response.json() if response.content else None

    async def allocated_on(self, instance_uuid):
        body = await self.call("get", f"/allocations/{instance_uuid}", expect=200)
        return {self.node_of(rp): resources["resources"]
                for rp, resources in body["allocations"].items()}

    def node_of(self, rp_uuid):
        return next(r.hypervisor_hostname for r in self.records if r.uuid == rp_uuid)

    def request(self, flavor_=None, **fields):
        result = spec(flavor_ or flavor(vcpus=2, memory_mb=2048, root_gb=10), **fields)
        result.instance_uuid = None
        return result


class SelectDestinationsTests(SchedulerTestCase):
    async def test_one_instance_is_claimed_in_placement(self):
        await self.add_hosts(node("h1", uuid=new_uuid()),
                             node("h2", uuid=new_uuid(), memory_mb=16384))
        instance = new_uuid()
        [[chosen]] = await self.scheduler.select(None, self.request(), [instance])
        # RAMWeigher: the host with more free memory.
        self.assertEqual(chosen.service_host, "h2")
        self.assertEqual(await self.allocated_on(instance),
                         {"h2": {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 10}})
        self.assertEqual(chosen.allocations, {chosen.compute_node_uuid: {"resources": {
            "VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 10}}})
        self.assertEqual(chosen.allocation_request_version, "1.39")
        self.assertEqual(chosen.cell_uuid, "cell1")
        # The claim is consumed into the host state.
        row = self.states.row_of("h2", "h2")
        self.assertEqual(int(self.states.free_ram_mb[row]), 16384 - 2048)

    async def test_nothing_fits(self):
        await self.add_hosts(node("h1", uuid=new_uuid()))
        instance = new_uuid()
        with self.assertRaises(exception.NoValidHost):
            await self.scheduler.select(None, self.request(flavor(memory_mb=10 ** 6)),
                                        [instance])
        await self.call("get", f"/allocations/{instance}", expect=200)
        self.assertEqual(await self.allocated_on(instance), {})

    async def test_multiple_instances_each_claimed(self):
        await self.add_hosts(*(node(f"h{i}", uuid=new_uuid()) for i in range(3)))
        instances = [new_uuid() for _ in range(3)]
        result = await self.scheduler.select(None, self.request(num_instances=3), instances)
        self.assertEqual(len(result), 3)
        for instance, [chosen] in zip(instances, result, strict=True):
            self.assertEqual(list(await self.allocated_on(instance)), [chosen.nodename])

    async def test_anti_affinity_multi_create_rolls_back_when_short(self):
        await self.add_hosts(*(node(f"h{i}", uuid=new_uuid()) for i in range(2)))
        instances = [new_uuid() for _ in range(3)]
        request = self.request(num_instances=3,
                               instance_group=group("anti-affinity", members=instances))
        with self.assertRaises(exception.NoValidHost) as caught:
            await self.scheduler.select(None, request, instances)
        self.assertIn("There are not enough hosts available", str(caught.exception))
        for instance in instances:
            self.assertEqual(await self.allocated_on(instance), {})
        # Nothing is left recorded for the group either.
        self.assertEqual(self.scheduler._group_hosts, {})

    async def test_anti_affinity_multi_create_spreads(self):
        await self.add_hosts(*(node(f"h{i}", uuid=new_uuid()) for i in range(3)))
        instances = [new_uuid() for _ in range(3)]
        request = self.request(num_instances=3,
                               instance_group=group("anti-affinity", members=instances))
        result = await self.scheduler.select(None, request, instances)
        self.assertEqual(sorted(s[0].service_host for s in result), ["h0", "h1", "h2"])

    async def test_affinity_multi_create_stays_together(self):
        await self.add_hosts(*(node(f"h{i}", uuid=new_uuid(), memory_mb=16384)
                               for i in range(3)))
        instances = [new_uuid() for _ in range(3)]
        request = self.request(num_instances=3,
                               instance_group=group("affinity", members=instances))
        result = await self.scheduler.select(None, request, instances)
        self.assertEqual(len({s[0].service_host for s in result}), 1)

    async def test_alternates(self):
        self.conf.set_override("max_attempts", 3, group="scheduler")
        await self.add_hosts(*(node(f"h{i}", uuid=new_uuid(), memory_mb=8192 + 1024 * i)
                               for i in range(4)),
                             node("other-cell", uuid=new_uuid(), memory_mb=65536,
                                  cell_uuid="cell2"))
        instances = [new_uuid(), new_uuid()]
        result = await self.scheduler.select(None, self.request(num_instances=2),
                                             instances, return_alternates=True)
        self.assertEqual([s.service_host for s in result[0]], ["other-cell"])
        first, *alternates = result[1]
        self.assertEqual(first.service_host, "h3")
        self.assertEqual([s.service_host for s in alternates], ["h2", "h1"])
        for alternate in alternates:
            self.assertEqual(alternate.cell_uuid, "cell1")
            self.assertEqual(list(alternate.allocations), [alternate.compute_node_uuid])
            # Alternates are not claimed: that is the conductor's, on a retry.
        self.assertEqual(await self.allocated_on(instances[1]),
                         {"h3": {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 10}})

    async def test_availability_zone(self):
        await self.add_hosts(*(node(f"h{i}", uuid=new_uuid(), memory_mb=8192 * (i + 1))
                               for i in range(3)))
        self.states.update_aggregates([aggregate(1, ["h0"], availability_zone="az1")])
        self.conf.set_override("enabled_filters", ["AvailabilityZoneFilter"],
                               group="filter_scheduler")
        self.scheduler = Scheduler(self.conf, placement=self.placement,
                                   host_states=self.states)
        [[chosen]] = await self.scheduler.select(
            None, self.request(availability_zone="az1"), [new_uuid()])
        self.assertEqual(chosen.service_host, "h0")

    async def test_forced_host(self):
        await self.add_hosts(*(node(f"h{i}", uuid=new_uuid(), memory_mb=8192 * (i + 1))
                               for i in range(3)))
        [[chosen]] = await self.scheduler.select(
            None, self.request(force_hosts=["h0"]), [new_uuid()])
        self.assertEqual(chosen.service_host, "h0")

    async def test_pinned_numa_guest(self):
        await self.add_hosts(node("plain", uuid=new_uuid(), memory_mb=65536),
                             node("numa", uuid=new_uuid(), memory_mb=16384,
                                  numa_topology=two_cell_host()))
        pinned = flavor(vcpus=4, memory_mb=2048, **{"hw:cpu_policy": "dedicated",
                                                    "hw:numa_nodes": "2"})
        request = self.request(pinned, numa_topology=numa_guest(
            4, 2048, hw__cpu_policy="dedicated", hw__numa_nodes="2"))
        instance = new_uuid()
        [[chosen]] = await self.scheduler.select(None, request, [instance])
        self.assertEqual(chosen.service_host, "numa")
        self.assertEqual(await self.allocated_on(instance),
                         {"numa": {"PCPU": 4, "MEMORY_MB": 2048, "DISK_GB": 10}})
        self.assertEqual(chosen.limits.numa_topology["cpu_allocation_ratio"], 16.0)
        # The fit is accounted: all four pCPUs of one cell pair are now pinned.
        row = self.states.row_of("numa", "numa")
        pinned_cpus = set().union(*(c.pinned_cpus for c in
                                    self.states.arrays.topologies[row].cells))
        self.assertEqual(len(pinned_cpus), 4)
        # A second pinned guest of the same size still fits (four pCPUs remain) ...
        await self.scheduler.select(None, self.request(pinned, numa_topology=numa_guest(
            4, 2048, hw__cpu_policy="dedicated", hw__numa_nodes="2")), [new_uuid()])
        # ... and a third does not.
        with self.assertRaises(exception.NoValidHost):
            await self.scheduler.select(None, self.request(pinned, numa_topology=numa_guest(
                4, 2048, hw__cpu_policy="dedicated", hw__numa_nodes="2")), [new_uuid()])

    async def test_huge_pages(self):
        from nova_tx.objects.numa import NUMACell, NUMAPagesTopology, NUMATopology

        def paged(large_free):
            return NUMATopology(cells=[NUMACell(
                id=0, cpuset=set(range(8)), pcpuset=set(), memory=16384,
                siblings=[{c} for c in range(8)],
                mempages=[NUMAPagesTopology(size_kb=4, total=2097152, used=0),
                          NUMAPagesTopology(size_kb=1048576, total=large_free, used=0)])])
        await self.add_hosts(node("small", uuid=new_uuid(), memory_mb=65536,
                                  numa_topology=paged(0)),
                             node("large", uuid=new_uuid(), numa_topology=paged(4)))
        # The hosts report VCPU (no pCPUs): make their inventories match.
        request = self.request(flavor(vcpus=2, memory_mb=2048,
                                      **{"hw:mem_page_size": "large"}),
                               numa_topology=numa_guest(2, 2048, hw__mem_page_size="large"))
        [[chosen]] = await self.scheduler.select(None, request, [new_uuid()])
        self.assertEqual(chosen.service_host, "large")

    async def test_rebuild_stays_and_claims_nothing(self):
        from nova_tx.objects.request_spec import Destination

        await self.add_hosts(node("h1", uuid=new_uuid()),
                             node("h2", uuid=new_uuid(), memory_mb=65536))
        request = self.request(requested_destination=Destination(host="h1", node="h1"))
        request.scheduler_hints["_nova_check_type"] = ["rebuild"]
        instance = new_uuid()
        [[chosen]] = await self.scheduler.select(None, request, [instance])
        self.assertEqual(chosen.service_host, "h1")
        self.assertIsNone(chosen.allocation_request)
        self.assertEqual(await self.allocated_on(instance), {})

    async def test_parallel_anti_affinity_requests(self):
        """Two requests for members of one anti-affinity group, in flight together
        (each waiting on its claim): they never share a host, although each group
        object the conductor sent knows no host yet."""
        await self.add_hosts(node("big", uuid=new_uuid(), memory_mb=65536),
                             node("small", uuid=new_uuid()))
        real_put = self.placement.put
        gate = defer.Deferred()

        async def slow_put(url, data, **kwargs):
            await gate
            return await real_put(url, data, **kwargs)

        self.placement.put = slow_put
        members = [new_uuid(), new_uuid()]
        first = defer.ensureDeferred(self.scheduler.select(
            None, self.request(instance_group=group("anti-affinity", members=members)),
            [members[0]]))
        second = defer.ensureDeferred(self.scheduler.select(
            None, self.request(instance_group=group("anti-affinity", members=members)),
            [members[1]]))
        gate.callback(None)
        [[a]], [[b]] = await defer.gatherResults([first, second])
        self.assertEqual({a.service_host, b.service_host}, {"big", "small"})

    async def test_claim_refused_moves_to_the_next_host(self):
        await self.add_hosts(node("big", uuid=new_uuid(), memory_mb=65536),
                             node("small", uuid=new_uuid()))
        real_put = self.placement.put
        refused = []

        async def put(url, data, **kwargs):
            rp = next(iter(data["allocations"]))
            if self.node_of(rp) == "big" and not refused:
                refused.append(rp)
                # Someone else's claim took the host's memory meanwhile.
                other = new_uuid()
                await real_put(f"/allocations/{other}", {
                    "allocations": {rp: {"resources": {"MEMORY_MB": 98000}}},
                    "project_id": "p", "user_id": "u", "consumer_generation": None},
                    version="1.36")
            return await real_put(url, data, **kwargs)

        self.placement.put = put
        instance = new_uuid()
        [[chosen]] = await self.scheduler.select(None, self.request(), [instance])
        self.assertEqual(chosen.service_host, "small")
        self.assertEqual(list(await self.allocated_on(instance)), ["small"])


class BadRequestTests(SchedulerTestCase):
    async def test_unknown_and_invalid_hints(self):
        await self.add_hosts(node("h1", uuid=new_uuid()))
        for hints in ({"no_such_hint": ["x"]}, {"different_host": ["not-a-uuid"]},
                      {"same_host": ["nope"]}, {"build_near_host_ip": ["garbage"]},
                      {"cidr": ["/99"], "build_near_host_ip": ["10.0.0.1"]},
                      {"query": ["not json"]}, {"group": ["no-such-group"]}):
            request = spec(flavor(vcpus=1, memory_mb=512), hints=hints)
            try:
                await self.scheduler.select(None, request, [new_uuid()])
            except exception.NoValidHost:
                pass

    async def test_group_that_no_longer_exists(self):
        """The group was deleted after the conductor loaded it: what is left of it
        (its uuid, no policy) constrains nothing and fails nothing."""
        from nova_tx.objects.request_spec import InstanceGroup

        await self.add_hosts(node("h1", uuid=new_uuid()))
        request = self.request(instance_group=InstanceGroup(uuid="gone"))
        [[chosen]] = await self.scheduler.select(None, request, [new_uuid()])
        self.assertEqual(chosen.service_host, "h1")

    async def test_anti_affinity_with_a_member_already_there(self):
        await self.add_hosts(node("h1", uuid=new_uuid()))
        member = new_uuid()
        self.states.update_instance_info("h1", [member])
        request = self.request(instance_group=group("anti-affinity", members=[member],
                                                    hosts=["h1"]))
        with self.assertRaises(exception.NoValidHost):
            await self.scheduler.select(None, request, [new_uuid()])


class BusTests(SchedulerTestCase):
    """select_destinations through the bus, as the conductor calls it."""

    async def setUp(self):
        await super().setUp()
        await self.add_hosts(node("h1", uuid=new_uuid()))
        transport = MemoryBus(MemoryBroker(reactor))
        await transport.connect()
        self.addCleanup(transport.close)
        server = RPCServer(transport, Target(topic="scheduler", server="s1"),
                           [self.scheduler], conf=None, reactor=reactor)
        await server.start()
        self.addCleanup(server.stop)
        self.client = RPCClient(transport, Target(topic="scheduler", version="4.5"),
                                conf=None, reactor=reactor)
        from nova_tx.conf import messaging

        conf = make_conf()
        messaging.register_opts(conf)
        self.api = SchedulerAPI(transport, conf, reactor=reactor)

    async def test_scheduler_api(self):
        instance = new_uuid()
        [[selection]] = await self.api.select_destinations(
            None, self.request(), [instance], return_alternates=True)
        self.assertEqual(selection.service_host, "h1")
        self.assertEqual(list(await self.allocated_on(instance)), ["h1"])
        with self.assertRaises(exception.NoValidHost):
            await self.api.select_destinations(
                None, self.request(flavor(memory_mb=10 ** 6)), [new_uuid()])

    async def test_selections_over_the_bus(self):
        instance = new_uuid()
        answer = await self.client.call(
            None, "select_destinations", request_spec=None, filter_properties=None,
            spec_obj=self.request().to_primitive(), instance_uuids=[instance],
            return_objects=True, return_alternates=True)
        [[selection]] = answer
        self.assertEqual(Selection.from_primitive(selection).service_host, "h1")
        self.assertEqual(selection["nova_object.name"], "Selection")

    async def test_no_valid_host_over_the_bus(self):
        with self.assertRaises(exception.NoValidHost):
            await self.client.call(
                None, "select_destinations", request_spec=None, filter_properties=None,
                spec_obj=self.request(flavor(memory_mb=10 ** 6)).to_primitive(),
                instance_uuids=[new_uuid()], return_objects=True, return_alternates=False)

    async def test_legacy_answer(self):
        answer = await self.client.call(
            None, "select_destinations", request_spec=None, filter_properties=None,
            spec_obj=self.request().to_primitive(), instance_uuids=[new_uuid()],
            return_objects=False, return_alternates=False)
        self.assertEqual([a["host"] for a in answer], ["h1"])
