"""GET /os-availability-zone/detail (admin): the internal zone too, and per available
zone its hosts and enabled services with their up/down state."""
from __future__ import annotations

import datetime

from twisted.trial import unittest

from tests.api.operator_server import OperatorServer
from tests.api.quota_server import ADMIN, sample

PATH = "/v2.1/os-availability-zone/detail"
LONG_AGO = datetime.datetime(2000, 1, 1)


class AvailabilityZoneDetailTest(unittest.TestCase):

    def setUp(self):
        self.api = OperatorServer(self)

    async def detail(self, token=ADMIN, roles=None):
        headers = {"X-Roles": roles} if roles else None
        reply = await self.api.request("GET", PATH, token=token, headers=headers)
        return reply

    async def test_sample(self):
        self.api.add_compute("compute")
        self.api.add_service("conductor", binary="nova-conductor", topic="conductor")
        self.api.add_service("scheduler", binary="nova-scheduler", topic="scheduler")
        # API services are never listed.
        self.api.add_service("api", binary="nova-osapi_compute", topic=None)
        reply = await self.detail()
        self.assertEqual(200, reply.code, reply.raw)
        expected = sample("os-availability-zone", "availability-zone-detail-resp.json")
        got = reply.json
        # updated_at is the service row's; the sample's is null.
        updated = got["availabilityZoneInfo"][1]["hosts"]["compute"]["nova-compute"]
        self.assertRegex(updated.pop("updated_at"), r"^\d{4}-\d\d-\d\dT")
        expected["availabilityZoneInfo"][1]["hosts"]["compute"]["nova-compute"].pop(
            "updated_at")
        self.assertEqual(expected, got)

    async def test_zones_hosts_and_states(self):
        self.api.add_compute("a1")
        self.api.add_compute("a2", heartbeat=LONG_AGO)
        self.api.add_compute("b1", disabled=True)
        self.api.add_compute("n1", forced_down=True)
        self.api.add_aggregate("agg-a", ["a1", "a2"], "az-a")
        self.api.add_aggregate("agg-b", ["b1"], "az-b")
        reply = await self.detail()
        self.assertEqual(200, reply.code, reply.raw)
        zones = {z["zoneName"]: z for z in reply.json["availabilityZoneInfo"]}
        self.assertEqual(["az-a", "nova", "az-b"], list(zones))
        a_hosts = zones["az-a"]["hosts"]
        self.assertEqual({"a1": True, "a2": False},
                         {h: s["nova-compute"]["available"] for h, s in a_hosts.items()})
        self.assertTrue(all(s["nova-compute"]["active"] for s in a_hosts.values()))
        # Forced down: listed (enabled) but not available.
        self.assertFalse(zones["nova"]["hosts"]["n1"]["nova-compute"]["available"])
        self.assertEqual({"zoneName": "az-b", "zoneState": {"available": False},
                          "hosts": None}, zones["az-b"])
        # The list (any user) shows the same zones without hosts, never internal.
        reply = await self.api.request("GET", "/v2.1/os-availability-zone",
                                       token="demo:abc1")
        self.assertEqual(["az-a", "nova", "az-b"],
                         [z["zoneName"] for z in reply.json["availabilityZoneInfo"]])

    async def test_default_zone_option(self):
        self.api.conf.set_override("default_availability_zone", "elsewhere")
        self.api.add_compute("h")
        reply = await self.detail()
        self.assertEqual(["elsewhere"],
                         [z["zoneName"] for z in reply.json["availabilityZoneInfo"]])

    async def test_policy(self):
        self.api.add_compute("h")
        for token, roles, code in (
                (ADMIN, None, 200),
                ("alice:0wner", "member,reader", 403),
                ("rita:0wner", "reader", 403),
                ("bob:07her", "member,reader", 403)):
            reply = await self.detail(token, roles)
            self.assertEqual(code, reply.code, (token, reply.raw))
            if code == 403:
                self.assertEqual({"forbidden": {"code": 403, "message": (
                    "Policy doesn't allow os_compute_api:os-availability-zone:detail to be "
                    "performed.")}}, reply.json)

    async def test_policy_new_defaults(self):
        self.api = OperatorServer(self, enforce_new_defaults=True)
        await self.test_policy()
