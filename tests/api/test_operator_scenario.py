"""The operator scenario of issue 11: make a zone with an aggregate, move hosts between
zones as spec C allows and refuses, disable a compute service and see the scheduler
(reading the same cell database) avoid it, force a service down, and read hypervisor
statistics that match what placement holds for the enabled computes."""
from __future__ import annotations

import uuid as uuidlib

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.db.cells import CellEngines
from nova_tx.scheduler.host_source import CellHostSource, all_cells
from nova_tx.scheduler.manager import Scheduler
from tests.api.operator_server import OperatorServer
from tests.api.quota_server import ADMIN, version
from tests.scheduler.hosts import flavor, make_conf, spec

AGG = "/v2.1/os-aggregates"


class OperatorScenarioTest(unittest.TestCase):

    async def setUp(self):
        self.api = OperatorServer(self)
        self.hosts = {}
        for host, memory in (("A", 8192), ("B", 16384)):
            ids = self.api.add_compute(host, memory_mb=memory, free_ram_mb=memory,
                                       memory_mb_used=0, vcpus=8, vcpus_used=0,
                                       local_gb=100, local_gb_used=0, free_disk_gb=100)
            self.hosts[host] = ids
            await self.api.add_provider(host, ids["node_uuid"])
            response = await self.api.placement.put(
                f"/resource_providers/{ids['node_uuid']}/inventories",
                {"resource_provider_generation": 0, "inventories": {
                    "VCPU": {"total": 8}, "MEMORY_MB": {"total": memory},
                    "DISK_GB": {"total": 100}}}, version="1.26")
            self.assertEqual(200, response.status_code, response.text)
        cells = CellEngines(self.api.conf)
        self.addCleanup(cells.dispose)
        self.scheduler = Scheduler(
            make_conf(filter_scheduler__host_subset_size=1), placement=self.api.placement,
            host_source=CellHostSource(all_cells(self.api.pool, cells)))

    async def call(self, method, path, body=None, microversion="2.53", status=200):
        reply = await self.api.request(method, path, body=body, token=ADMIN,
                                       headers=version(microversion))
        self.assertEqual(status, reply.code, (method, path, body, reply.raw))
        return reply.json

    async def zones(self):
        body = await self.call("GET", "/v2.1/os-availability-zone")
        return {z["zoneName"]: z["zoneState"]["available"]
                for z in body["availabilityZoneInfo"]}

    async def schedule(self):
        request = spec(flavor(vcpus=1, memory_mb=512, root_gb=1))
        request.instance_uuid = None
        [[chosen]] = await self.scheduler.select(None, request, [str(uuidlib.uuid4())])
        return chosen.service_host

    async def test_scenario(self):
        # A zone made by an aggregate; B stays in the default zone.
        az1 = (await self.call("POST", AGG, {"aggregate": {
            "name": "rack1", "availability_zone": "az1"}}))["aggregate"]
        await self.call("POST", f"{AGG}/{az1['id']}/action", {"add_host": {"host": "A"}})
        self.assertEqual({"az1": True, "nova": True}, await self.zones())
        # A host is in one zone: not into az2 while in az1, yes once taken out.
        az2 = (await self.call("POST", AGG, {"aggregate": {
            "name": "rack2", "availability_zone": "az2"}}))["aggregate"]
        await self.call("POST", f"{AGG}/{az2['id']}/action", {"add_host": {"host": "A"}},
                        status=409)
        await self.call("POST", f"{AGG}/{az1['id']}/action", {"remove_host": {"host": "A"}})
        await self.call("POST", f"{AGG}/{az2['id']}/action", {"add_host": {"host": "A"}})
        self.assertEqual({"az2": True, "nova": True}, await self.zones())
        # With a server on A, az2 cannot be renamed; B (idle) can join az2.
        self.api.add_instance_on("A")
        await self.call("PUT", f"{AGG}/{az2['id']}",
                        {"aggregate": {"availability_zone": "az3"}}, status=400)
        self.assertEqual(["A"], (await self.call("GET", f"{AGG}/{az2['id']}"))
                         ["aggregate"]["hosts"])

        # The weigher prefers B (more free memory) ...
        self.assertEqual("B", await self.schedule())
        # ... until B's service is disabled: then every request goes to A.
        await self.call("PUT", f"/v2.1/os-services/{self.hosts['B']['service_uuid']}",
                        {"status": "disabled", "disabled_reason": "maintenance"})
        self.assertEqual(["A", "A", "A"], [await self.schedule() for _ in range(3)])
        await self.call("PUT", f"/v2.1/os-services/{self.hosts['B']['service_uuid']}",
                        {"status": "enabled"})
        self.assertEqual("B", await self.schedule())
        # A forced-down compute is down at once, and avoided as well.
        await self.call("PUT", "/v2.1/os-services/force-down", {
            "host": "B", "binary": "nova-compute", "forced_down": True}, microversion="2.11")
        services = (await self.call("GET", "/v2.1/os-services?host=B"))["services"]
        self.assertEqual("down", services[0]["state"])
        self.assertEqual("A", await self.schedule())
        # Both out: nothing is left.
        await self.call("PUT", f"/v2.1/os-services/{self.hosts['A']['service_uuid']}",
                        {"status": "disabled"})
        with self.assertRaises(exception.NoValidHost):
            await self.schedule()
        await self.call("PUT", f"/v2.1/os-services/{self.hosts['A']['service_uuid']}",
                        {"status": "enabled"})

        # Statistics over the enabled computes match placement's inventories.
        stats = (await self.call("GET", "/v2.1/os-hypervisors/statistics",
                                 microversion="2.87"))["hypervisor_statistics"]
        totals = {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
        for ids in self.hosts.values():
            response = await self.api.placement.get(
                f"/resource_providers/{ids['node_uuid']}/inventories", version="1.26")
            for rc, inventory in response.json()["inventories"].items():
                totals[rc] += inventory["total"]
        self.assertEqual((2, totals["VCPU"], totals["MEMORY_MB"], totals["DISK_GB"]),
                         (stats["count"], stats["vcpus"], stats["memory_mb"],
                          stats["local_gb"]))
