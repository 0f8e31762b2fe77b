"""/os-hypervisors: list, detail, show, search, servers, statistics and uptime as each
microversion shapes them (2.28 cpu_info, 2.33 paging, 2.53 uuids and query
parameters, 2.75 empty servers, 2.88 removals), checked against Nova's samples, with
bad input and the policy matrix."""
from __future__ import annotations

import datetime

from twisted.trial import unittest

from nova_tx.bus.rpc import RPCServer, Target
from tests.api.operator_server import OperatorServer
from tests.api.quota_server import ADMIN, sample, version

PATH = "/v2.1/os-hypervisors"
LONG_AGO = datetime.datetime(2000, 1, 1)
UPTIME = " 08:32:11 up 93 days, 18:25, 12 users,  load average: 0.20, 0.12, 0.14"


class FakeCompute:
    """The compute RPC endpoint's ``get_host_uptime``."""

    target = Target(version="5.13")

    def __init__(self, answer=UPTIME):
        self.answer = answer

    def get_host_uptime(self, ctxt):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def keys(*path):
    """The keys of the (first) hypervisor of a sample."""
    body = sample("os-hypervisors", *path)
    return set(body["hypervisor"] if "hypervisor" in body else body["hypervisors"][0])


class HypervisorsTestCase(unittest.TestCase):

    def setUp(self):
        self.api = OperatorServer(self)

    async def call(self, path, *, microversion="2.1", token=ADMIN, roles=None):
        headers = version(microversion)
        if roles:
            headers["X-Roles"] = roles
        return await self.api.request("GET", path, token=token, headers=headers)

    async def get(self, path, microversion="2.1", status=200):
        reply = await self.call(path, microversion=microversion)
        self.assertEqual(status, reply.code, (path, microversion, reply.raw))
        return reply.json

    async def serve_compute(self, host, answer=UPTIME):
        server = RPCServer(self.api.transport, Target(topic="compute", server=host),
                           [FakeCompute(answer)], conf=self.api.conf, stop_timeout=2.0)
        await server.start()
        self.addCleanup(server.stop)


class ListTest(HypervisorsTestCase):

    async def test_list_and_detail_shapes(self):
        first = self.api.add_compute("host1", node="fake-mini")
        body = await self.get(PATH)
        self.assertEqual([{"hypervisor_hostname": "fake-mini", "id": first["node_id"],
                           "state": "up", "status": "enabled"}], body["hypervisors"])
        self.assertEqual(keys("hypervisors-list-resp.json"), set(body["hypervisors"][0]))
        detail = (await self.get(PATH + "/detail"))["hypervisors"][0]
        self.assertEqual(keys("hypervisors-detail-resp.json"), set(detail))
        self.assertIsInstance(detail["cpu_info"], str)
        self.assertEqual((16384, 8, "fake", 1000, "192.168.1.7"),
                         (detail["memory_mb"], detail["vcpus"], detail["hypervisor_type"],
                          detail["hypervisor_version"], detail["host_ip"]))
        self.assertEqual({"host": "host1", "id": first["service_id"],
                          "disabled_reason": None}, detail["service"])
        detail = (await self.get(PATH + "/detail", "2.28"))["hypervisors"][0]
        self.assertEqual({"arch": "x86_64", "model": "Nehalem"}, detail["cpu_info"])
        detail = (await self.get(PATH + "/detail", "2.53"))["hypervisors"][0]
        self.assertEqual(keys("v2.53", "hypervisors-detail-resp.json"), set(detail))
        self.assertEqual((first["node_uuid"], first["service_uuid"]),
                         (detail["id"], detail["service"]["id"]))

    async def test_detail_288_has_uptime_not_resources(self):
        self.api.add_compute("host1")
        self.api.add_compute("host2", heartbeat=LONG_AGO)
        await self.serve_compute("host1")
        body = await self.get(PATH + "/detail", "2.88")
        expected = sample("os-hypervisors", "v2.88", "hypervisors-detail-resp.json")
        self.assertEqual(set(expected["hypervisors"][0]), set(body["hypervisors"][0]))
        self.assertEqual([UPTIME, None], [h["uptime"] for h in body["hypervisors"]])
        self.assertEqual(["up", "down"], [h["state"] for h in body["hypervisors"]])

    async def test_detail_288_silent_compute(self):
        """A compute that is up but does not answer: uptime null within the timeout."""
        self.api.conf.set_override("rpc_response_timeout", 1)
        self.api.add_compute("mute")
        self.api.add_compute("talks")
        await self.serve_compute("talks")
        body = await self.get(PATH + "/detail", "2.88")
        self.assertEqual({"mute": None, "talks": UPTIME},
                         {h["hypervisor_hostname"]: h["uptime"] for h in body["hypervisors"]})

    async def test_paging(self):
        nodes = [self.api.add_compute(f"host{i}") for i in range(3)]
        await self.get(PATH + "?limit=1", "2.32")  # ignored before 2.33
        body = await self.get(PATH + "?limit=2", "2.33")
        self.assertEqual([n["node_id"] for n in nodes[:2]],
                         [h["id"] for h in body["hypervisors"]])
        [link] = body["hypervisors_links"]
        self.assertTrue(link["href"].endswith(
            f"/os-hypervisors?limit=2&marker={nodes[1]['node_id']}"), link)
        body = await self.get(PATH + f"/detail?limit=2&marker={nodes[1]['node_id']}", "2.33")
        self.assertEqual([nodes[2]["node_id"]], [h["id"] for h in body["hypervisors"]])
        self.assertNotIn("hypervisors_links", body)
        body = await self.get(PATH + f"?limit=1&marker={nodes[0]['node_uuid']}", "2.53")
        self.assertEqual([nodes[1]["node_uuid"]], [h["id"] for h in body["hypervisors"]])
        self.assertIn(f"marker={nodes[1]['node_uuid']}", body["hypervisors_links"][0]["href"])
        for query, microversion in (("?marker=999", "2.33"), ("?marker=abc", "2.33"),
                                    (f"?marker={nodes[0]['node_id']}", "2.53"),
                                    ("?limit=-1", "2.33"), ("?limit=x", "2.53"),
                                    ("?unknown=1", "2.53"), ("?with_servers=maybe", "2.53")):
            reply = await self.call(PATH + query, microversion=microversion)
            self.assertEqual(400, reply.code, (query, microversion, reply.raw))
        # A limit of 0 is no limit, as in Nova.
        body = await self.get(PATH + "?limit=0", "2.33")
        self.assertEqual(3, len(body["hypervisors"]))
        self.assertNotIn("hypervisors_links", body)
        reply = await self.call(PATH + "?marker=999", microversion="2.33")
        self.assertEqual("marker [999] not found", reply.json["badRequest"]["message"])

    async def test_pattern_and_servers_253(self):
        self.api.add_compute("host1", node="node-a")
        self.api.add_compute("host2", node="node-b")
        first = self.api.add_instance_on("host1")
        second = self.api.add_instance_on("host1")
        self.api.add_instance_on("host1", deleted=True)
        body = await self.get(PATH + "?hypervisor_hostname_pattern=node-a&with_servers=1",
                              "2.53")
        [hyp] = body["hypervisors"]
        self.assertEqual([first, second], [s["uuid"] for s in hyp["servers"]])
        self.assertRegex(hyp["servers"][0]["name"], r"^instance-[0-9a-f]{8}$")
        body = await self.get(PATH + "/detail?hypervisor_hostname_pattern=node-b"
                              "&with_servers=true", "2.53")
        self.assertNotIn("servers", body["hypervisors"][0])
        body = await self.get(PATH + "?hypervisor_hostname_pattern=node-b&with_servers=true",
                              "2.75")
        self.assertEqual([], body["hypervisors"][0]["servers"])
        body = await self.get(PATH + "?hypervisor_hostname_pattern=node", "2.53")
        self.assertEqual(2, len(body["hypervisors"]))
        self.assertNotIn("hypervisors_links", body)
        reply = await self.call(PATH + "?hypervisor_hostname_pattern=zzz", microversion="2.53")
        self.assertEqual({"itemNotFound": {"code": 404, "message":
                                           "No hypervisor matching 'zzz' could be found."}},
                         reply.json)
        reply = await self.call(PATH + "?hypervisor_hostname_pattern=node&limit=1",
                                microversion="2.53")
        self.assertEqual({"badRequest": {"code": 400, "message": (
            "Paging over hypervisors with the hypervisor_hostname_pattern query parameter "
            "is not supported.")}}, reply.json)

    async def test_node_of_deleted_service_is_left_out(self):
        self.api.add_compute("host1")
        gone = self.api.add_compute("host2")
        with self.api.cell_engine.begin() as conn:
            conn.exec_driver_sql("UPDATE services SET deleted = id WHERE id = ?",
                                 (gone["service_id"],))
        body = await self.get(PATH)
        self.assertEqual(["host1"], [h["hypervisor_hostname"] for h in body["hypervisors"]])
        await self.get(f"{PATH}/{gone['node_id']}", status=404)


class TwoCellsTest(HypervisorsTestCase):

    async def test_paging_show_and_statistics_across_cells(self):
        cell2 = self.api.add_cell(self)
        first = self.api.add_compute("c1-a")
        second = self.api.add_compute("c1-b")
        third = self.api.add_compute("c2-a", cell=cell2)
        body = await self.get(PATH + "?limit=2", "2.53")
        self.assertEqual([first["node_uuid"], second["node_uuid"]],
                         [h["id"] for h in body["hypervisors"]])
        body = await self.get(PATH + f"?limit=2&marker={second['node_uuid']}", "2.53")
        self.assertEqual([third["node_uuid"]], [h["id"] for h in body["hypervisors"]])
        body = await self.get(PATH + f"?marker={first['node_uuid']}", "2.53")
        self.assertEqual([second["node_uuid"], third["node_uuid"]],
                         [h["id"] for h in body["hypervisors"]])
        shown = await self.get(f"{PATH}/{third['node_uuid']}", "2.53")
        self.assertEqual(third["service_uuid"], shown["hypervisor"]["service"]["id"])
        stats = (await self.get(PATH + "/statistics"))["hypervisor_statistics"]
        self.assertEqual((3, 24), (stats["count"], stats["vcpus"]))
        body = await self.get(PATH + "?hypervisor_hostname_pattern=a", "2.53")
        self.assertEqual(["c1-a", "c2-a"],
                         [h["hypervisor_hostname"] for h in body["hypervisors"]])


class ShowTest(HypervisorsTestCase):

    async def test_show(self):
        node = self.api.add_compute("host1", node="fake-mini")
        await self.serve_compute("host1")
        body = await self.get(f"{PATH}/{node['node_id']}")
        self.assertEqual(keys("hypervisors-show-resp.json"), set(body["hypervisor"]))
        body = await self.get(f"{PATH}/{node['node_uuid']}?with_servers=true", "2.53")
        self.assertNotIn("servers", body["hypervisor"])
        self.api.add_instance_on("host1")
        body = await self.get(f"{PATH}/{node['node_uuid']}?with_servers=true", "2.53")
        self.assertEqual(keys("v2.53", "hypervisors-show-with-servers-resp.json"),
                         set(body["hypervisor"]))
        body = await self.get(f"{PATH}/{node['node_uuid']}", "2.88")
        self.assertEqual(keys("v2.88", "hypervisors-show-resp.json"), set(body["hypervisor"]))

    async def test_show_bad_ids(self):
        node = self.api.add_compute("host1")
        for path, microversion, status, message in (
                (f"{PATH}/abc", "2.1", 404, "Hypervisor with ID 'abc' could not be found."),
                (f"{PATH}/999", "2.1", 404, "Hypervisor with ID '999' could not be found."),
                (f"{PATH}/99999999999999999999", "2.1", 404, None),
                (f"{PATH}/{node['node_uuid']}", "2.52", 404, None),
                (f"{PATH}/{node['node_id']}", "2.53", 400,
                 f"Invalid uuid {node['node_id']}"),
                (f"{PATH}/00000000-0000-4000-8000-0000000000ff", "2.53", 404, None),
                (f"{PATH}/{node['node_uuid']}?foo=1", "2.53", 400, None)):
            reply = await self.call(path, microversion=microversion)
            self.assertEqual(status, reply.code, (path, reply.raw))
            if message:
                self.assertEqual(message, next(iter(reply.json.values()))["message"])


class UptimeStatisticsSearchTest(HypervisorsTestCase):

    async def test_uptime(self):
        node = self.api.add_compute("host1", node="fake-mini")
        await self.serve_compute("host1")
        body = await self.get(f"{PATH}/{node['node_id']}/uptime")
        self.assertEqual(sample("os-hypervisors", "hypervisors-uptime-resp.json")
                         ["hypervisor"] | {"id": node["node_id"]}, body["hypervisor"])
        body = await self.get(f"{PATH}/{node['node_uuid']}/uptime", "2.53")
        self.assertEqual(node["node_uuid"], body["hypervisor"]["id"])
        await self.get(f"{PATH}/{node['node_uuid']}/uptime", "2.88", status=404)

    async def test_uptime_refusals(self):
        down = self.api.add_compute("down", heartbeat=LONG_AGO)
        reply = await self.call(f"{PATH}/{down['node_id']}/uptime")
        self.assertEqual({"badRequest": {"code": 400, "message":
                                         "Compute service of down is unavailable at this "
                                         "time."}}, reply.json)
        unsupported = self.api.add_compute("bare")
        await self.serve_compute("bare", NotImplementedError())
        reply = await self.call(f"{PATH}/{unsupported['node_id']}/uptime")
        self.assertEqual(501, reply.code, reply.raw)
        await self.get(f"{PATH}/999/uptime", status=404)

    async def test_statistics(self):
        self.api.add_compute("a", vcpus=4, memory_mb=1000, running_vms=2)
        self.api.add_compute("b", vcpus=8, memory_mb=3000, running_vms=1)
        self.api.add_compute("off", disabled=True, vcpus=100)
        body = await self.get(PATH + "/statistics")
        expected = sample("os-hypervisors", "hypervisors-statistics-resp.json")
        self.assertEqual(set(expected["hypervisor_statistics"]),
                         set(body["hypervisor_statistics"]))
        stats = body["hypervisor_statistics"]
        self.assertEqual((2, 12, 4000, 3), (stats["count"], stats["vcpus"],
                                            stats["memory_mb"], stats["running_vms"]))
        await self.get(PATH + "/statistics", "2.87")
        await self.get(PATH + "/statistics", "2.88", status=404)

    async def test_search_and_servers_before_253(self):
        self.api.add_compute("host1", node="fake-mini")
        self.api.add_compute("host2", node="other")
        instance = self.api.add_instance_on("host1")
        body = await self.get(PATH + "/fake/search")
        self.assertEqual(["fake-mini"], [h["hypervisor_hostname"] for h in body["hypervisors"]])
        self.assertEqual(keys("hypervisors-search-resp.json"), set(body["hypervisors"][0]))
        body = await self.get(PATH + "/fake/servers")
        self.assertEqual([instance], [s["uuid"] for s in body["hypervisors"][0]["servers"]])
        body = await self.get(PATH + "/other/servers")
        self.assertNotIn("servers", body["hypervisors"][0])
        reply = await self.call(PATH + "/nothing/search")
        self.assertEqual({"itemNotFound": {"code": 404, "message": (
            "No hypervisor matching 'nothing' could be found.")}}, reply.json)
        await self.get(PATH + "/nothing/servers", status=404)
        await self.get(PATH + "/fake/search", "2.53", status=404)
        await self.get(PATH + "/fake/servers", "2.53", status=404)


class PolicyTest(HypervisorsTestCase):

    async def test_matrix(self):
        node = self.api.add_compute("host1")
        await self.serve_compute("host1")
        routes = [(PATH, "list"), (PATH + "/detail", "list-detail"),
                  (f"{PATH}/{node['node_id']}", "show"),
                  (f"{PATH}/{node['node_id']}/uptime", "uptime"),
                  (PATH + "/statistics", "statistics"), (PATH + "/host/search", "search"),
                  (PATH + "/host/servers", "servers")]
        for token, roles in (("alice:0wner", "member,reader"), ("rita:0wner", "reader"),
                             ("bob:07her", "member,reader")):
            for path, action in routes:
                reply = await self.call(path, token=token, roles=roles)
                self.assertEqual({"forbidden": {"code": 403, "message": (
                    f"Policy doesn't allow os_compute_api:os-hypervisors:{action} to be "
                    "performed.")}}, reply.json, (token, path))
        for path, _action in routes:
            reply = await self.call(path)
            self.assertEqual(200, reply.code, (path, reply.raw))

    async def test_matrix_new_defaults(self):
        self.api = OperatorServer(self, enforce_new_defaults=True)
        await self.test_matrix()
