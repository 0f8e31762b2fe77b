"""The queries ResourceRequest writes, asked of our Placement (in process, through
``nova_tx.placement.client.LocalPlacementClient``) over a small set of providers: the
translation checked against a real Placement implementation, not only as strings."""
from __future__ import annotations

from twisted.internet import reactor
from twisted.trial import unittest

from nova_tx.db.pool import DBThreadPool
from nova_tx.objects.request_spec import Destination, RequestGroup
from nova_tx.placement.api.app import PlacementAPI
from nova_tx.placement.client import LocalPlacementClient
from nova_tx.scheduler import request_filter as rf
from nova_tx.scheduler import resource_request as rr
from tests.placement.db import placement_engine
from tests.scheduler.helpers import flavor, make_conf, spec
from tests.scheduler.test_request_filter import MemoryAggregates, agg

CN = {name: f"00000000-0000-4000-8000-00000000000{i}"
      for i, name in enumerate(("legacy", "pinned", "disabled", "sriov", "gpu"), 1)}
PF1 = "00000000-0000-4000-8000-0000000000a1"
PF2 = "00000000-0000-4000-8000-0000000000a2"
GPU = "00000000-0000-4000-8000-0000000000b1"
AGG_TENANT = "00000000-0000-4000-8000-0000000000c1"
AGG_ISO = "00000000-0000-4000-8000-0000000000c2"
PORT1 = "00000000-0000-4000-8000-0000000000d1"
PORT2 = "00000000-0000-4000-8000-0000000000d2"

BASE = {"MEMORY_MB": {"total": 16384}, "DISK_GB": {"total": 200}}


class PlacementQueryTests(unittest.TestCase):
    async def setUp(self):
        engine = placement_engine(self)
        pool = DBThreadPool(engine, reactor=reactor)
        pool.start()
        self.addCleanup(pool.stop)
        api = PlacementAPI(pool)
        self.addCleanup(api.close)
        self.client = LocalPlacementClient(api)
        self.conf = make_conf()
        for trait in ("CUSTOM_PHYSNET_A", "CUSTOM_PHYSNET_B", "CUSTOM_NVIDIA_11"):
            await self.call("put", f"/traits/{trait}", None, 201)
        await self.provider("legacy", {"VCPU": {"total": 16}},
                            ["HW_CPU_HYPERTHREADING", "COMPUTE_IMAGE_TYPE_QCOW2"])
        await self.provider("pinned", {"VCPU": {"total": 8}, "PCPU": {"total": 8}},
                            ["COMPUTE_IMAGE_TYPE_RAW"])
        await self.provider("disabled", {"VCPU": {"total": 16}},
                            ["COMPUTE_STATUS_DISABLED", "COMPUTE_IMAGE_TYPE_QCOW2"])
        await self.provider("sriov", {"VCPU": {"total": 16}}, [], [AGG_TENANT])
        await self.provider(PF1, {"SRIOV_NET_VF": {"total": 4}}, ["CUSTOM_PHYSNET_A"],
                            parent=CN["sriov"])
        await self.provider(PF2, {"SRIOV_NET_VF": {"total": 4}}, ["CUSTOM_PHYSNET_B"],
                            parent=CN["sriov"])
        await self.provider("gpu", {"VCPU": {"total": 16}}, [], [AGG_ISO])
        await self.provider(GPU, {"VGPU": {"total": 2}}, ["CUSTOM_NVIDIA_11"],
                            parent=CN["gpu"])

    async def call(self, method, url, body, expect, version="1.39"):
        args = (url,) if body is None and method in ("get", "delete") else (url, body)
        response = await getattr(self.client, method)(*args, version=version)
        self.assertEqual(expect, response.status_code, f"{method} {url}: {response.text}")
        return response.json()

    async def provider(self, name, inventories, traits, aggregates=(), parent=None):
        uuid = CN.get(name, name)
        body = {"name": name, "uuid": uuid}
        if parent:
            body["parent_provider_uuid"] = parent
        await self.call("post", "/resource_providers", body, 200)
        gen = (await self.call("put", f"/resource_providers/{uuid}/inventories", {
            "resource_provider_generation": 0,
            "inventories": {**({} if parent else BASE), **inventories}}, 200)
        )["resource_provider_generation"]
        if traits:
            gen = (await self.call("put", f"/resource_providers/{uuid}/traits", {
                "resource_provider_generation": gen, "traits": traits}, 200)
            )["resource_provider_generation"]
        if aggregates:
            await self.call("put", f"/resource_providers/{uuid}/aggregates", {
                "resource_provider_generation": gen, "aggregates": list(aggregates)}, 200)

    async def candidates(self, request_spec, *, aggregates=(), **conf):
        """The root providers of every candidate, and the allocation requests."""
        for key, value in conf.items():
            group, name = key.split("__")
            self.conf.set_override(name, value, group=group)
        sources = rf.RequestFilterSources(conf=self.conf,
                                          aggregates=MemoryAggregates(*aggregates))
        await rf.process_reqspec(sources, None, request_spec)
        requests, summaries, version = await rr.get_allocation_candidates(
            self.client, request_spec, self.conf,
            compute_nodes=lambda host, node, cell: [CN[host]])
        self.assertEqual("1.39", version)
        roots = {summary["root_provider_uuid"] for summary in summaries.values()}
        return {name for name, uuid in CN.items() if uuid in roots}, requests

    async def test_plain_flavor_skips_the_disabled_compute(self):
        roots, requests = await self.candidates(spec(flavor(2, 1024, 10)))
        self.assertEqual({"legacy", "pinned", "sriov", "gpu"}, roots)
        self.assertEqual(4, len(requests))

    async def test_pinned_guest_with_and_without_the_fallback(self):
        pinned = flavor(4, 1024, 10, hw__cpu_policy="dedicated")
        roots, requests = await self.candidates(spec(pinned))
        self.assertEqual({"legacy", "pinned", "sriov", "gpu"}, roots)
        # The PCPU candidate comes first, the legacy VCPU ones after it.
        self.assertEqual({"PCPU": 4, "MEMORY_MB": 1024, "DISK_GB": 10},
                         requests[0]["allocations"][CN["pinned"]]["resources"])
        self.assertEqual(5, len(requests))
        roots, requests = await self.candidates(
            spec(pinned), workarounds__disable_fallback_pcpu_query=True)
        self.assertEqual({"pinned"}, roots)

    async def test_isolate_thread_policy_needs_a_host_without_smt(self):
        isolate = flavor(2, 1024, 10, hw__cpu_policy="dedicated",
                         hw__cpu_thread_policy="isolate", hw__emulator_threads_policy="isolate")
        roots, requests = await self.candidates(
            spec(isolate), workarounds__disable_fallback_pcpu_query=True)
        self.assertEqual({"pinned"}, roots)
        self.assertEqual(3, requests[0]["allocations"][CN["pinned"]]["resources"]["PCPU"])

    async def test_granular_sriov_groups(self):
        f = flavor(2, 1024, 10, resources1__SRIOV_NET_VF="1",
                   trait1__CUSTOM_PHYSNET_A="required", resources2__SRIOV_NET_VF="1",
                   trait2__CUSTOM_PHYSNET_B="required", group_policy="isolate")
        roots, requests = await self.candidates(spec(f))
        self.assertEqual({"sriov"}, roots)
        self.assertEqual({"1": [PF1], "2": [PF2], "": [CN["sriov"]]},
                         requests[0]["mappings"])

    async def test_port_groups_with_any_of_traits(self):
        ports = [RequestGroup.from_port_request(PORT1, {
                     "resources": {"SRIOV_NET_VF": 1},
                     "required": ["in:CUSTOM_PHYSNET_A,CUSTOM_NVIDIA_11"]}),
                 RequestGroup.from_port_request(PORT2, {
                     "resources": {"SRIOV_NET_VF": 1}, "required": ["!CUSTOM_PHYSNET_A"]})]
        roots, requests = await self.candidates(
            spec(flavor(1, 512, 1), requested_resources=ports))
        self.assertEqual({"sriov"}, roots)
        self.assertEqual({PORT1: [PF1], PORT2: [PF2], "": [CN["sriov"]]},
                         requests[0]["mappings"])

    async def test_vgpu_from_a_child_provider(self):
        f = flavor(1, 512, 1, resources__VGPU="1", trait__CUSTOM_NVIDIA_11="required")
        roots, requests = await self.candidates(spec(f))
        self.assertEqual({"gpu"}, roots)
        self.assertEqual({"VGPU": 1}, requests[0]["allocations"][GPU]["resources"])

    async def test_tenant_aggregate(self):
        roots, _ = await self.candidates(
            spec(flavor(1, 512, 1)), aggregates=[agg(AGG_TENANT, filter_tenant_id="p1")],
            scheduler__limit_tenants_to_placement_aggregate=True)
        self.assertEqual({"sriov"}, roots)

    async def test_isolated_aggregate_is_forbidden(self):
        aggregates = [agg(AGG_ISO, trait__CUSTOM_NVIDIA_11="required")]
        roots, _ = await self.candidates(
            spec(flavor(1, 512, 1)), aggregates=aggregates,
            scheduler__enable_isolated_aggregate_filtering=True)
        self.assertEqual({"legacy", "pinned", "sriov"}, roots)
        roots, _ = await self.candidates(
            spec(flavor(1, 512, 1, trait__CUSTOM_NVIDIA_11="required",
                        resources__VGPU="1")), aggregates=aggregates)
        self.assertEqual({"gpu"}, roots)

    async def test_image_type_support(self):
        roots, _ = await self.candidates(
            spec(flavor(1, 512, 1), image={"id": "i", "disk_format": "qcow2"}),
            scheduler__query_placement_for_image_type_support=True)
        self.assertEqual({"legacy"}, roots)

    async def test_targeted_host_is_in_tree(self):
        roots, _ = await self.candidates(
            spec(flavor(1, 512, 1), requested_destination=Destination(host="gpu")))
        self.assertEqual({"gpu"}, roots)

    async def test_limit(self):
        roots, requests = await self.candidates(spec(flavor(1, 512, 1)),
                                                scheduler__max_placement_results=2)
        self.assertEqual(2, len(requests))

    async def test_nothing_fits(self):
        roots, requests = await self.candidates(spec(flavor(64, 512, 1)))
        self.assertEqual((set(), []), (roots, requests))
