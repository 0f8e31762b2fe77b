"""GET /os-availability-zone: zones of the compute services (aggregate metadata, else
[DEFAULT] default_availability_zone), available or not, never the internal zone."""
from __future__ import annotations

from twisted.trial import unittest

from tests.api.quota_server import QuotaServer, sample

USER = "fake:abc1"


def zone(name: str, available: bool = True) -> dict:
    return {"zoneName": name, "zoneState": {"available": available}, "hosts": None}


class AvailabilityZoneListTest(unittest.TestCase):

    async def zones(self, api, token=USER):
        reply = await api.request("GET", "/v2.1/os-availability-zone", token=token)
        self.assertEqual(200, reply.code, reply.raw)
        return reply.json

    async def test_no_compute_services(self):
        api = QuotaServer(self)
        self.assertEqual({"availabilityZoneInfo": []}, await self.zones(api))
        # Internal services and zones without compute hosts list nothing either.
        api.add_service("ctl", binary="nova-conductor", topic="conductor")
        api.add_service("ctl", binary="nova-scheduler", topic="scheduler")
        api.add_aggregate("empty", [], "az-empty")
        api.add_aggregate("ctl", ["ctl"], "az-ctl")
        self.assertEqual({"availabilityZoneInfo": []}, await self.zones(api))

    async def test_sample(self):
        api = QuotaServer(self)
        api.add_service("compute1")
        api.add_service("ctl", binary="nova-conductor", topic="conductor")
        self.assertEqual(sample("os-availability-zone", "availability-zone-list-resp.json"),
                         await self.zones(api))

    async def test_aggregate_zones_and_disabled(self):
        api = QuotaServer(self)
        for host, disabled in (("h1", False), ("h2", False), ("h3", True), ("h4", True),
                               ("h5", False)):
            api.add_service(host, disabled=disabled)
        api.add_aggregate("a", ["h1", "h3"], "az1")
        api.add_aggregate("b", ["h4"], "az-off")
        api.add_aggregate("c", ["h5"], None)
        api.add_aggregate("d", ["h2"], "az2")
        api.add_aggregate("e", ["h2"], "az3")
        self.assertEqual({"availabilityZoneInfo": [
            zone("az1"), zone("az2,az3"), zone("nova"), zone("az-off", False)]},
            await self.zones(api))

    async def test_options(self):
        api = QuotaServer(self)
        api.conf.set_override("default_availability_zone", "zone-x")
        api.conf.set_override("internal_service_availability_zone", "zone-x")
        api.add_service("h1")
        # A compute zone named as the internal one is hidden too, as in Nova.
        self.assertEqual({"availabilityZoneInfo": []}, await self.zones(api))
        api.conf.set_override("internal_service_availability_zone", "internal")
        self.assertEqual({"availabilityZoneInfo": [zone("zone-x")]}, await self.zones(api))

    async def test_down_cell_left_out(self):
        from nova_tx.db.api import cell_mappings

        api = QuotaServer(self)
        api.add_service("h1")
        with api.engine.begin() as conn:
            cell_mappings.create(conn, transport_url="none:///", name="down",
                                 database_connection="sqlite:////nonexistent/dir/cell.db")
        self.assertEqual({"availabilityZoneInfo": [zone("nova")]}, await self.zones(api))
        self.flushLoggedErrors()
